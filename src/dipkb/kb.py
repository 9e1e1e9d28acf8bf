"""The knowledge base: its files loaded into a pyoxigraph store, one named graph per file."""
from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pyoxigraph import (BlankNode, Literal, NamedNode, Quad, QueryResultsFormat, QuerySolutions, RdfFormat,
                        Store, Variable)

from dipkb import sparql
from dipkb.errors import KBSyntaxError, QueryError, SyntaxProblem
from dipkb.layout import DATA_SUFFIXES, KBLayout, display_path
from dipkb.namespaces import DERIVED_GRAPH, DIP, FILE_GRAPH_PREFIX, PREFIXES, RDFS, XSD
from dipkb.temporal import TEMPORAL_DATATYPES, EventTime, Period, period_of

if TYPE_CHECKING:
    from dipkb.index import OpenIndex

Term = NamedNode | Literal
_FORMATS = {"turtle": RdfFormat.TURTLE, "ntriples": RdfFormat.N_TRIPLES}
_PARSER_PREFIX = re.compile(r"^Parser error at line \d+ (?:between columns \d+ and \d+|column \d+): ")
# Above this many bytes of derived N-Quads, Oxigraph's bulk loader beats a transaction by far
# (2M derived quads: minutes and 4 GB as one SPARQL update).
_BULK_BYTES = 8 << 20


def syntax_problem(path: Path, error: SyntaxError | UnicodeDecodeError) -> SyntaxProblem:
    """pyoxigraph's SyntaxError as file:line:col; its message repeats the place, so that part is cut."""
    if isinstance(error, UnicodeDecodeError):
        return SyntaxProblem(display_path(path), None, None, f"not valid UTF-8 ({error.reason})")
    message = _PARSER_PREFIX.sub("", error.msg or str(error))
    return SyntaxProblem(display_path(path), error.lineno, error.offset, message)


def rdf_format(path: Path) -> RdfFormat:
    """The parser for a data file, from its suffix."""
    return _FORMATS[DATA_SUFFIXES[path.suffix]]


def load_files(store: Store, layout: KBLayout, paths: Iterable[Path]) -> None:
    """Load each file into its own named graph; after trying them all, fail once listing every bad one.
    A file that fails leaves nothing of itself in the store."""
    problems = []
    for path in paths:
        graph = NamedNode(layout.graph_name(path))
        try:
            store.load(path=str(path), format=rdf_format(path), to_graph=graph)
        except (SyntaxError, UnicodeDecodeError) as error:
            store.clear_graph(graph)
            problems.append(syntax_problem(path, error))
    if problems:
        raise KBSyntaxError(problems)


# Derived triples. Those computed from file graph G live in graph "urn:dipkb:derived:" + G, so that
# replacing one file's graph can drop exactly its derived triples. Queries read the union of all
# graphs and exports take file graphs only, so neither cares which derived graph a triple is in.
# An event's derived triples come from its own triples, which the KB keeps in one file.

def derived_graph(file_graph: str) -> str:
    """The graph holding what is derived from the file graph named ``file_graph``."""
    return f"{DERIVED_GRAPH}:{file_graph}"


def is_derived_graph(graph: object) -> bool:
    """True for a graph of derived triples: never exported, never counted as authored data."""
    return isinstance(graph, NamedNode) and (graph.value == DERIVED_GRAPH
                                             or graph.value.startswith(DERIVED_GRAPH + ":"))


_TIME_FIELDS = {f"{DIP}{name}": field for name, field in (
    ("date", "date"), ("startDate", "start"), ("endDate", "end"),
    ("earliestDate", "earliest"), ("latestDate", "latest"))}
_FILE_GRAPHS = f'FILTER(STRSTARTS(STR(?g), "{FILE_GRAPH_PREFIX}"))'
_TIME_QUERY = f"""
SELECT ?g ?event ?p ?value WHERE {{
  %(values)s
  GRAPH ?g {{ VALUES ?p {{ {" ".join(f"<{p}>" for p in _TIME_FIELDS)} }} ?event ?p ?value }}
  FILTER(isLiteral(?value) && DATATYPE(?value) IN ({", ".join(f"<{t}>" for t in TEMPORAL_DATATYPES)}))
  FILTER(%(test)s(?event)) {_FILE_GRAPHS}
}}"""
_PARTICIPANT_QUERY = f"""
SELECT ?event ?participant ?actor ?dg WHERE {{
  %(values)s
  ?role <{RDFS}subPropertyOf>+ <{DIP}participant> .
  GRAPH ?g {{ ?event ?role ?actor }}
  FILTER(%(test)s(isIRI(?event) && isIRI(?actor))) {_FILE_GRAPHS}
  BIND(<{DIP}participant> AS ?participant)
  BIND(IRI(CONCAT("{DERIVED_GRAPH}:", STR(?g))) AS ?dg)
}}"""
_EARLIEST, _LATEST, _DAY = NamedNode(DIP + "earliestDay"), NamedNode(DIP + "latestDay"), NamedNode(XSD + "date")


def _bounds(rows: Iterable[tuple[object, object, str, str, str]]) -> Iterator[tuple[object, object, str | None, str | None]]:
    """(graph, event, first day, last day) as ISO dates, from rows of (graph, event, time property,
    lexical form, datatype), by the rules of temporal.EventTime.bounds."""
    periods: dict[tuple[str, str], Period | None] = {}
    times: dict[tuple[object, object], dict[str, Period]] = {}
    for graph, event, prop, lexical, datatype in rows:
        key = (lexical, datatype)
        if key not in periods:  # a KB repeats a few thousand dates: parse each one once
            periods[key] = period_of(lexical, datatype)
        if (period := periods[key]) is not None:
            times.setdefault((graph, event), {})[_TIME_FIELDS[prop]] = period
    for (graph, event), fields in times.items():
        low, high = EventTime(**fields).bounds()
        yield graph, event, low.isoformat() if low else None, high.isoformat() if high else None


def _tsv(store: Store, query: str) -> bytes:
    """A SELECT's rows as TSV without its header line, serialised by Oxigraph.

    Big result sets travel this way: making pyoxigraph terms costs ~7 µs a row, splitting TSV well
    under 1 µs. TSV writes IRIs and temporal literals exactly as N-Quads does, but shortens numbers
    and renames blank nodes, so rows holding a blank node or a literal take the slower path."""
    data = store.query(query, use_default_graph_as_union=True).serialize(format=QueryResultsFormat.TSV)
    return data[data.index(b"\n") + 1:]


def _time_rows_tsv(data: bytes) -> Iterator[tuple[str, str, str, str, str]]:
    for line in data.decode().splitlines():
        graph, event, prop, value = line.split("\t")
        lexical, datatype = value[1:].rsplit('"^^<', 1)  # "2021-07"^^<...#gYearMonth>
        yield graph, event, prop[1:-1], lexical, datatype[:-1]


def derived_data(store: Store, graphs: Collection[str] | None = None) -> tuple[bytes, list[Quad]]:
    """What is derived from the file graphs named ``graphs`` (every file graph when None): N-Quads
    for the usual rows of IRIs, and pyoxigraph quads for rows holding a blank node or a literal."""
    values = "" if graphs is None else "VALUES ?g { %s }" % " ".join(f"<{g}>" for g in graphs)
    lines = []
    for graph, event, low, high in _bounds(_time_rows_tsv(_tsv(store, _TIME_QUERY % {"values": values, "test": "isIRI"}))):
        target = f"<{DERIVED_GRAPH}:{graph[1:]}"
        if low:
            lines.append(f'{event} <{_EARLIEST.value}> "{low}"^^<{_DAY.value}> {target} .\n')
        if high:
            lines.append(f'{event} <{_LATEST.value}> "{high}"^^<{_DAY.value}> {target} .\n')
    # A TSV row "event participant actor graph" is the N-Quads line "event participant actor graph .".
    participants = _tsv(store, _PARTICIPANT_QUERY % {"values": values, "test": ""})
    nquads = "".join(lines).encode() + participants.replace(b"\t", b" ").replace(b"\n", b" .\n")

    quads = []
    rows = store.query(_TIME_QUERY % {"values": values, "test": "!isIRI"}, use_default_graph_as_union=True)
    for graph, event, low, high in _bounds((r["g"], r["event"], r["p"].value, r["value"].value,
                                            r["value"].datatype.value) for r in rows):
        target = NamedNode(derived_graph(graph.value))
        quads += [Quad(event, p, Literal(day, datatype=_DAY), target)
                  for p, day in ((_EARLIEST, low), (_LATEST, high)) if day]
    for row in store.query(_PARTICIPANT_QUERY % {"values": values, "test": "!"}, use_default_graph_as_union=True):
        quads.append(Quad(row["event"], row["participant"], row["actor"], row["dg"]))
    return nquads, quads


def derive(store: Store, graphs: Collection[str] | None = None) -> None:
    """Materialise what queries need to be simple and fast: each event's earliest and latest possible
    day (so date filters are range comparisons on xsd:date whatever the precision), and
    dip:participant for every role. ``graphs`` names the file graphs to (re)derive; None, all."""
    if graphs is None:
        stale = [g for g in store.named_graphs() if is_derived_graph(g)]
    else:
        stale = [NamedNode(derived_graph(g)) for g in graphs]
    for graph in stale:
        store.remove_graph(graph)
    nquads, quads = derived_data(store, graphs)
    if len(nquads) > _BULK_BYTES:
        store.bulk_load(input=nquads, format=RdfFormat.N_QUADS)
    elif nquads:
        store.load(input=nquads, format=RdfFormat.N_QUADS)
    if quads:
        store.extend(quads)


class KnowledgeBase:
    """A loaded knowledge base. Use :meth:`open`; query with :meth:`query` or :meth:`select`.

    ``index`` is the on-disk index the store comes from (its refresh report, its lease on the
    store's files), None for an in-memory store."""

    def __init__(self, layout: KBLayout, store: Store, index: OpenIndex | None = None):
        self.layout = layout
        self.store = store
        self.index = index

    @classmethod
    def open(cls, kb: str | Path | None = None, *, layout: KBLayout | None = None, index: bool = True,
             progress: bool | None = None) -> KnowledgeBase:
        """Open the KB for querying.

        With ``index`` (the default) the store is the on-disk index beside the KB, refreshed first
        for the files that changed, and opened read-only; ``progress`` shows the refresh on stderr
        (None: when stderr is a terminal). Without it, the ontology and KB files are loaded into a
        fresh in-memory store, which the caller may change."""
        layout = layout or KBLayout.locate(kb)
        if index:
            # Imported here: the index module builds on this one's loading and derivation.
            from dipkb.index import open_index

            opened = open_index(layout, progress=progress)
            return cls(layout, opened.store, opened)
        store = Store()
        load_files(store, layout, layout.ontology_files() + layout.kb_files())
        derive(store)
        return cls(layout, store)

    def query(self, text: str, bindings: Mapping[str, Term] | None = None, *, allow_service: bool = False):
        """Run a read-only SPARQL query over the union of all graphs, with ``bindings`` substituted
        as RDF terms (never spliced into the text)."""
        sparql.check_query(text, allow_service=allow_service)
        substitutions = {Variable(name): term for name, term in (bindings or {}).items()}
        try:
            return self.store.query(text, prefixes=PREFIXES, use_default_graph_as_union=True,
                                    substitutions=substitutions or None)
        except SyntaxError as error:
            raise QueryError(f"SPARQL syntax error: {error.msg or error}") from None
        except OSError as error:
            raise QueryError(f"Query failed: {error}") from None

    def select(self, text: str, bindings: Mapping[str, Term] | None = None) -> list[dict[str, Term]]:
        """A SELECT query's rows as dicts of bound variables (unbound ones are left out)."""
        solutions = self.query(text, bindings)
        if not isinstance(solutions, QuerySolutions):
            raise QueryError("Expected a SELECT query.")
        names = [v.value for v in solutions.variables]
        return [{n: row[n] for n in names if row[n] is not None} for row in solutions]

    def data_quads(self) -> list[Quad]:
        """The KB's own triples: every file graph of kb/, without ontology or derived triples."""
        prefix = self.layout.graph_name(self.layout.kb_dir / "x")[: -len("x")]
        # Graph by graph: a scan of the whole store would also walk the ontology and derived graphs.
        graphs = sorted((g for g in self.store.named_graphs()
                         if isinstance(g, NamedNode) and g.value.startswith(prefix)), key=lambda g: g.value)
        return [q for g in graphs for q in self.store.quads_for_pattern(None, None, None, g)]
