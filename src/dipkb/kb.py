"""The knowledge base: its files loaded into a pyoxigraph store, one named graph per file."""
from __future__ import annotations

import functools
import importlib.metadata
import inspect
import io
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pyoxigraph import (Literal, NamedNode, Quad, QueryResultsFormat, QuerySolutions, RdfFormat,
                        Store, Variable)

from dipkb import sparql, temporal
from dipkb.errors import KBSyntaxError, QueryError, SyntaxProblem
from dipkb.layout import DATA_SUFFIXES, KBLayout, display_path
from dipkb.namespaces import DERIVED_GRAPH, DIP, FILE_GRAPH_PREFIX, PREFIXES, RDFS, XSD
from dipkb.temporal import EventTime, Period, period_of

if TYPE_CHECKING:
    from dipkb.index import OpenIndex

Term = NamedNode | Literal
_FORMATS = {"turtle": RdfFormat.TURTLE, "ntriples": RdfFormat.N_TRIPLES}
_PARSER_PREFIX = re.compile(r"^Parser error at line \d+ (?:between columns \d+ and \d+|column \d+): ")
_BULK_BYTES = 8 << 20  # of derived N-Quads, above which the bulk loader is used
_DERIVE_BATCH = 64  # graphs derived per load: enough quads for the bulk loader to pay off


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
_PARTICIPANT_QUERY = "%s WHERE { GRAPH <%s> { VALUES ?role { %s } ?event ?role ?actor } %s }"
_ROLES_QUERY = f"SELECT ?role WHERE {{ ?role <{RDFS}subPropertyOf>+ <{DIP}participant> }}"
_CHUNK = 8 << 20


class _BlankEvent(Exception):
    """A graph's time values include a blank-node event, which text cannot carry (parsers rename it)."""


def participant_roles(store: Store) -> list[str]:
    """The properties that make their object a dip:participant of their subject, sorted."""
    return sorted(row["role"].value for row in store.query(_ROLES_QUERY, use_default_graph_as_union=True)
                  if isinstance(row["role"], NamedNode))


def _bounds(rows: Iterable[tuple[object, int, str, str]]) -> Iterator[tuple[object, str | None, str | None]]:
    """(event, first day, last day) as ISO dates from rows of (event, time property number, lexical
    form, datatype), by the rules of temporal.EventTime.bounds. Reads every row before the first
    result."""
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


@contextmanager
def _serialized(results, format, scratch: Path | None) -> Iterator[BinaryIO]:
    """Query results serialised by Oxigraph (a million rows as TSV or N-Triples cost seconds less
    than as pyoxigraph terms), in a file in ``scratch`` to keep them out of memory, or in memory
    when ``scratch`` is None."""
    if scratch is None:
        yield io.BytesIO(results.serialize(format=format))
        return
    with tempfile.NamedTemporaryFile(dir=scratch) as text:
        results.serialize(output=text.name, format=format)  # by path: Oxigraph writes without the GIL
        yield text


def _time_rows_text(store: Store, graph: str, scratch: Path | None) -> Iterator[tuple[str, int, str, str]]:
    with _serialized(store.query(_TIME_QUERY % graph), QueryResultsFormat.TSV, scratch) as text:
        with io.TextIOWrapper(text, encoding="utf-8") as lines:
            next(lines)  # the header
            for line in lines:
                event, k, value = line.rstrip("\n").split("\t")
                if event.startswith("_:"):
                    raise _BlankEvent
                # A typed literal reads "2021-07"^^<...#gYearMonth> as in N-Quads; others have no period.
                lexical, marker, datatype = value[1:].rpartition('"^^<')
                if marker and value.startswith('"'):
                    yield event, int(k), lexical, datatype[:-1]


def _time_rows_terms(store: Store, graph: str) -> Iterator[tuple[object, int, str, str]]:
    for row in store.query(_TIME_QUERY % graph):
        if isinstance(row["value"], Literal):
            yield row["event"], int(row["k"].value), row["value"].value, row["value"].datatype.value


def _write_lines(lines: bytes, suffix: bytes, out: BinaryIO) -> bool:
    """Write complete N-Triples ``lines`` as N-Quads, but those holding a blank node; return whether
    there were some. Oxigraph ends every line with " ." and escapes the newlines of literals."""
    kept = lines
    if b"_:" in lines:  # rare: the per-line test stays off the common path
        kept = b"".join(line for line in lines.splitlines(keepends=True)
                        if not any(term.startswith(b"_:") for term in line.split(b" ", 2)[::2]))
    out.write(kept.replace(b" .\n", suffix))
    return len(kept) < len(lines)


def write_days(store: Store, graph: str, out: BinaryIO, scratch: Path | None = None) -> list[Quad]:
    """Write as N-Quads to ``out`` the first and last days of the events of file graph ``graph``;
    return them as pyoxigraph quads instead if an event is a blank node (N-Quads text cannot carry
    one: parsers rename it)."""
    target = derived_graph(graph)
    suffix = f" <{target}> .\n".encode()
    try:
        for event, low, high in _bounds(_time_rows_text(store, graph, scratch)):
            for p, day in ((_EARLIEST, low), (_LATEST, high)):
                if day:
                    out.write(f'{event} <{p.value}> "{day}"^^<{XSD}date>'.encode() + suffix)
        return []
    except _BlankEvent:  # raised before anything was written: _bounds reads all rows first
        return [Quad(event, p, Literal(day, datatype=_DAY), NamedNode(target))
                for event, low, high in _bounds(_time_rows_terms(store, graph))
                for p, day in ((_EARLIEST, low), (_LATEST, high)) if day]


def write_participants(store: Store, graph: str, out: BinaryIO, scratch: Path | None = None, *,
                       roles: list[str]) -> list[Quad]:
    """Write as N-Quads to ``out`` dip:participant for every role in file graph ``graph``; return
    as pyoxigraph quads those that hold a blank node."""
    if not roles:
        return []
    target = derived_graph(graph)
    values, suffix, blank = " ".join(f"<{role}>" for role in roles), f" <{target}> .\n".encode(), False
    construct = store.query(_PARTICIPANT_QUERY % (f"CONSTRUCT {{ ?event <{_PARTICIPANT.value}> ?actor }}", graph, values, ""))
    with _serialized(construct, RdfFormat.N_TRIPLES, scratch) as text:
        rest = b""
        while chunk := text.read(_CHUNK):
            lines, _, rest = (rest + chunk).rpartition(b"\n")
            blank |= _write_lines(lines + b"\n", suffix, out)
        blank |= _write_lines(rest, suffix, out)
    if not blank:
        return []
    select = _PARTICIPANT_QUERY % ("SELECT ?event ?actor", graph, values, "FILTER(isBlank(?event) || isBlank(?actor))")
    return [Quad(row["event"], _PARTICIPANT, row["actor"], NamedNode(target)) for row in store.query(select)]


def derivation_source() -> str:
    """The code that decides what is derived, so that the index can tell when it changed."""
    functions = (participant_roles, _bounds, _time_rows_text, _time_rows_terms, _write_lines, write_days,
                 write_participants, derive)
    try:
        return "".join([_TIME_QUERY, _PARTICIPANT_QUERY, _ROLES_QUERY, inspect.getsource(temporal)]
                       + [inspect.getsource(f) for f in functions])
    except OSError:  # no source shipped: the installed version stands for it
        return importlib.metadata.version("dipkb")


def file_graphs(store: Store) -> list[str]:
    """The names of the store's file graphs (KB and ontology files), sorted."""
    return sorted(g.value for g in store.named_graphs()
                  if isinstance(g, NamedNode) and g.value.startswith(FILE_GRAPH_PREFIX))


def derive(store: Store, graphs: Collection[str] | None = None, *, workers: int = 1,
           scratch: Path | None = None) -> None:
    """Materialise what queries need to be simple and fast: each event's earliest and latest possible
    day (so date filters are range comparisons on xsd:date whatever the precision), and
    dip:participant for every role.

    ``graphs`` names the file graphs to (re)derive, None all of them. ``workers`` threads share the
    graphs (Oxigraph releases the GIL while it queries and loads). Intermediate text goes to files
    in ``scratch`` (the system's temporary directory if None), not memory: at a million events in
    one file it is a gigabyte."""
    if graphs is None:
        graphs = file_graphs(store)
        stale = [g for g in store.named_graphs() if is_derived_graph(g)]
    else:
        stale = [NamedNode(derived_graph(g)) for g in graphs]
    for graph in stale:
        store.remove_graph(graph)
    roles = participant_roles(store)

    def derive_batch(write, batch: list[str]) -> None:
        with tempfile.NamedTemporaryFile(dir=scratch) if scratch else io.BytesIO() as out:
            quads = [quad for graph in batch for quad in write(store, graph, out, scratch)]
            out.flush()
            # The bulk loader writes table files directly: far faster for millions of quads (2M as
            # one transaction took minutes and 4 GB), slower for a few.
            load = store.bulk_load if out.tell() > _BULK_BYTES else store.load
            load(**{"path": out.name} if scratch else {"input": out.getvalue()}, format=RdfFormat.N_QUADS)
        if quads:
            store.extend(quads)

    ordered = sorted(graphs)
    # Days and participants apart: one is Python's work, the other Oxigraph's, so two threads
    # overlap even when the whole KB is one file.
    jobs = [(write, ordered[i:i + _DERIVE_BATCH]) for i in range(0, len(ordered), _DERIVE_BATCH)
            for write in (write_days, functools.partial(write_participants, roles=roles))]
    pool = ThreadPoolExecutor(max(1, min(workers, len(jobs))))
    try:
        for done in [pool.submit(derive_batch, write, batch) for write, batch in jobs]:
            done.result()
    finally:
        pool.shutdown(cancel_futures=True)  # on an error or Ctrl-C, not every batch first


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
