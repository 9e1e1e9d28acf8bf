"""The knowledge base: its files loaded into a pyoxigraph store, one named graph per file."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pyoxigraph import (Literal, NamedNode, Quad, QueryResultsFormat, QuerySolutions, RdfFormat,
                        Store, Variable)

from dipkb import sparql
from dipkb.errors import KBSyntaxError, QueryError, SyntaxProblem
from dipkb.layout import DATA_SUFFIXES, KBLayout, display_path
from dipkb.namespaces import DERIVED_GRAPH, DIP, FILE_GRAPH_PREFIX, PREFIXES, RDFS, XSD
from dipkb.temporal import EventTime, Period, period_of

if TYPE_CHECKING:
    from dipkb.index import OpenIndex

Term = NamedNode | Literal
_FORMATS = {"turtle": RdfFormat.TURTLE, "ntriples": RdfFormat.N_TRIPLES}
_PARSER_PREFIX = re.compile(r"^Parser error at line \d+ (?:between columns \d+ and \d+|column \d+): ")
# Above this many bytes of derived N-Quads, Oxigraph's bulk loader beats a transaction by far
# (2M derived quads: minutes and 4 GB as one SPARQL update).
_BULK_BYTES = 8 << 20
# Graphs derived per load: enough derived quads for the bulk loader to pay off on a large KB.
_DERIVE_BATCH = 64


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


_TIME_FIELDS = ("date", "start", "end", "earliest", "latest")
_TIME_PROPERTIES = ("date", "startDate", "endDate", "earliestDate", "latestDate")
_EARLIEST, _LATEST = NamedNode(DIP + "earliestDay"), NamedNode(DIP + "latestDay")
_PARTICIPANT, _DAY = NamedNode(DIP + "participant"), NamedNode(XSD + "date")
# Queries run per file graph, the graph a constant, with no FILTER: at a million events, decoding
# a term costs a dictionary lookup (~3 µs) and Oxigraph's filters decode what they test, so the
# time property travels as a number and blank nodes are told apart in Python.
_TIME_QUERY = f"""
SELECT ?event ?k ?value WHERE {{ GRAPH <%s> {{
  VALUES (?p ?k) {{ {" ".join(f"(<{DIP}{name}> {k})" for k, name in enumerate(_TIME_PROPERTIES))} }}
  ?event ?p ?value }} }}"""
_PARTICIPANT_QUERY = "%s WHERE { GRAPH <%s> { VALUES ?role { %s } ?event ?role ?actor } }"
_ROLES_QUERY = f"SELECT ?role WHERE {{ ?role <{RDFS}subPropertyOf>+ <{DIP}participant> }}"


def participant_roles(store: Store) -> list[str]:
    """The properties that make their object a dip:participant of their subject, sorted."""
    return sorted(row["role"].value for row in store.query(_ROLES_QUERY, use_default_graph_as_union=True)
                  if isinstance(row["role"], NamedNode))


def _bounds(rows: Iterable[tuple[object, int, str, str]]) -> Iterator[tuple[object, str | None, str | None]]:
    """(event, first day, last day) as ISO dates from rows of (event, time property number, lexical
    form, datatype), by the rules of temporal.EventTime.bounds."""
    periods: dict[tuple[str, str], Period | None] = {}
    times: dict[object, dict[str, Period]] = {}
    for event, k, lexical, datatype in rows:
        key = (lexical, datatype)
        if key not in periods:  # a KB repeats a few thousand dates: parse each once
            periods[key] = period_of(lexical, datatype)
        if (period := periods[key]) is not None:
            times.setdefault(event, {})[_TIME_FIELDS[k]] = period
    for event, fields in times.items():
        low, high = EventTime(**fields).bounds()
        yield event, low.isoformat() if low else None, high.isoformat() if high else None


def _time_rows_tsv(store: Store, graph: str) -> list[tuple[str, int, str, str]] | None:
    """The time values in ``graph``, through TSV serialised by Oxigraph (pyoxigraph terms for a
    million rows cost seconds more); None if an event is a blank node, which TSV cannot carry."""
    data = store.query(_TIME_QUERY % graph).serialize(format=QueryResultsFormat.TSV).decode()
    rows = []
    for line in data.splitlines()[1:]:
        event, k, value = line.split("\t")
        if event.startswith("_:"):
            return None
        # A typed literal reads "2021-07"^^<...#gYearMonth>, as in N-Quads; other values have no period.
        lexical, marker, datatype = value[1:].rpartition('"^^<')
        if marker and value.startswith('"'):
            rows.append((event, int(k), lexical, datatype[:-1]))
    return rows


def _time_rows_terms(store: Store, graph: str) -> Iterator[tuple[object, int, str, str]]:
    for row in store.query(_TIME_QUERY % graph):
        if isinstance(row["value"], Literal):
            yield row["event"], int(row["k"].value), row["value"].value, row["value"].datatype.value


def derived_data(store: Store, graph: str, roles: list[str]) -> tuple[bytes, list[Quad]]:
    """What is derived from the file graph named ``graph``: N-Quads, or pyoxigraph quads where a
    blank node is involved (N-Quads text cannot carry one: a parser renames it)."""
    target, name = derived_graph(graph), NamedNode(derived_graph(graph))
    nquads, quads = b"", []
    rows = _time_rows_tsv(store, graph)
    if rows is not None:
        nquads = "".join(f'{event} <{p.value}> "{day}"^^<{XSD}date> <{target}> .\n'
                         for event, low, high in _bounds(rows)
                         for p, day in ((_EARLIEST, low), (_LATEST, high)) if day).encode()
    else:
        quads += [Quad(event, p, Literal(day, datatype=_DAY), name)
                  for event, low, high in _bounds(_time_rows_terms(store, graph))
                  for p, day in ((_EARLIEST, low), (_LATEST, high)) if day]
    if not roles:
        return nquads, quads
    values = " ".join(f"<{role}>" for role in roles)
    construct = f"CONSTRUCT {{ ?event <{_PARTICIPANT.value}> ?actor }}"
    text = store.query(_PARTICIPANT_QUERY % (construct, graph, values)).serialize(format=RdfFormat.N_TRIPLES)
    if text.startswith(b"_:") or b"\n_:" in text or b"participant> _:" in text:
        rows = store.query(_PARTICIPANT_QUERY % ("SELECT ?event ?actor", graph, values))
        quads += [Quad(row["event"], _PARTICIPANT, row["actor"], name) for row in rows]
    else:
        # Oxigraph writes N-Triples one triple a line ending " .\n" (a literal's newlines escaped).
        nquads += text.replace(b" .\n", f" <{target}> .\n".encode())
    return nquads, quads


def file_graphs(store: Store) -> list[str]:
    """The names of the store's file graphs (KB and ontology files), sorted."""
    return sorted(g.value for g in store.named_graphs()
                  if isinstance(g, NamedNode) and g.value.startswith(FILE_GRAPH_PREFIX))


def derive(store: Store, graphs: Collection[str] | None = None, *, workers: int = 1) -> None:
    """Materialise what queries need to be simple and fast: each event's earliest and latest possible
    day (so date filters are range comparisons on xsd:date whatever the precision), and
    dip:participant for every role. ``graphs`` names the file graphs to (re)derive, None all of them;
    ``workers`` threads share the graphs (Oxigraph releases the GIL while it queries and loads)."""
    if graphs is None:
        graphs = file_graphs(store)
        stale = [g for g in store.named_graphs() if is_derived_graph(g)]
    else:
        stale = [NamedNode(derived_graph(g)) for g in graphs]
    for graph in stale:
        store.remove_graph(graph)
    roles = participant_roles(store)

    def derive_batch(batch: list[str]) -> None:
        nquads, quads = bytearray(), []
        for graph in batch:
            text, extra = derived_data(store, graph, roles)
            nquads += text
            quads += extra
        if len(nquads) > _BULK_BYTES:
            store.bulk_load(input=bytes(nquads), format=RdfFormat.N_QUADS)
        elif nquads:
            store.load(input=bytes(nquads), format=RdfFormat.N_QUADS)
        if quads:
            store.extend(quads)

    ordered = sorted(graphs)
    batches = [ordered[i:i + _DERIVE_BATCH] for i in range(0, len(ordered), _DERIVE_BATCH)]
    if workers > 1 and len(batches) > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(derive_batch, batches))
    else:
        for batch in batches:
            derive_batch(batch)


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
            raise QueryError(f"SPARQL syntax error: {_shorten(error.msg or str(error))}") from None
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


def _shorten(message: str) -> str:
    """Oxigraph lists every token it would accept; the first few say enough."""
    head, sep, alternatives = message.partition("expected one of ")
    if not sep:
        return message
    options = alternatives.split(", ")
    return head + sep + ", ".join(options[:6]) + (f", ... ({len(options) - 6} more)" if len(options) > 6 else "")
