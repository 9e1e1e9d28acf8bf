"""What the index derives from each file graph: days, time buckets, participants and tallies.

Derived triples computed from file graph G live in graph "urn:dipkb:derived:" + G, so that
replacing one file's graph can drop exactly its derived triples. Queries read the union of all
graphs and exports take file graphs only, so neither cares which derived graph a triple is in.
An event's derived triples come from its own triples, which the KB keeps in one file.
"""
from __future__ import annotations

import functools
import importlib.metadata
import inspect
import io
import sys
import tempfile
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

from pyoxigraph import Literal, NamedNode, Quad, QueryResultsFormat, RdfFormat, Store

from dipkb import errors
from dipkb.model import namespaces
from dipkb.model import temporal
from dipkb.model.namespaces import DERIVED_GRAPH, DIP, FILE_GRAPH_PREFIX, RDFS
from dipkb.model.temporal import TIME_FIELDS, XSD_DATE, EventTime, Period, period_of, time_bucket
from dipkb.store import tallies

_BULK_BYTES = 8 << 20  # of derived N-Quads, above which the bulk loader is used
# Graphs derived per load: enough quads for the bulk loader to pay off. Loading fewer, larger
# batches (128-256 MB of N-Quads) cut the derivation of a million events from 112 s to 99 s, but
# compacting the index then took that much longer, and the build peaked at 2.2-3.6 GB, not 1.8.
_DERIVE_BATCH = 64


def derived_graph(file_graph: str) -> str:
    """The graph holding what is derived from the file graph named ``file_graph``."""
    return f"{DERIVED_GRAPH}:{file_graph}"


def is_derived_graph(graph: object) -> bool:
    """True for a graph of derived triples: never exported, never counted as authored data."""
    return isinstance(graph, NamedNode) and (graph.value == DERIVED_GRAPH
                                             or graph.value.startswith(DERIVED_GRAPH + ":"))


# (local name, EventTime field) of the time properties; a query numbers them to send no IRI per row.
_TIME_PROPERTIES = tuple(TIME_FIELDS.items())
_EARLIEST, _LATEST = NamedNode(DIP + "earliestDay"), NamedNode(DIP + "latestDay")
_PARTICIPANT, _DAY = NamedNode(DIP + "participant"), NamedNode(XSD_DATE)
_BUCKET = NamedNode(DIP + "timeBucket")
# Queries run per file graph, the graph a constant, with no FILTER: at a million events, decoding
# a term costs a dictionary lookup (~3 µs) and Oxigraph's filters decode what they test, so the
# time property travels as a number and blank nodes are told apart in Python.
_TIME_QUERY = f"""
SELECT ?event ?k ?value WHERE {{ GRAPH <%s> {{
  VALUES (?p ?k) {{ {" ".join(f"(<{DIP}{name}> {k})" for k, (name, _) in enumerate(_TIME_PROPERTIES))} }}
  ?event ?p ?value }} }}"""
_PARTICIPANT_QUERY = "%s WHERE { GRAPH <%s> { VALUES ?role { %s } ?event ?role ?actor } %s }"
_ROLES_QUERY = f"SELECT ?role WHERE {{ ?role <{RDFS}subPropertyOf>+ <{DIP}participant> }}"
_CHUNK = 8 << 20
_TRIPLES_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <%s> { ?s ?p ?o } }"
_CITATIONS_QUERY = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <%s> {{ ?s <{DIP}source> ?o }} }}"
_TYPES_QUERY = "SELECT ?thing ?class WHERE { GRAPH <%s> { ?thing a ?class } }"
_MODALITY_QUERY = f"SELECT ?event ?modality WHERE {{ GRAPH <%s> {{ ?event <{DIP}modality> ?modality }} }}"


class _BlankEvent(Exception):
    """A graph's time values include a blank-node event, which text cannot carry (parsers rename it)."""


# Not participant roles in the ontology (shapes and meeting counts leave them out: the alliance did
# not exist before its formation), but the formation belongs in the formed actor's timeline.
_FILED_UNDER = (DIP + "formedActor",)


def participant_roles(store: Store) -> list[str]:
    """The properties that make their object a dip:participant of their subject, sorted: the
    sub-properties of dip:participant, and dip:formedActor."""
    return sorted({*(row["role"].value for row in store.query(_ROLES_QUERY, use_default_graph_as_union=True)
                     if isinstance(row["role"], NamedNode)), *_FILED_UNDER})


def _event_classes(store: Store) -> tallies.EventClasses:
    return tallies.EventClasses.from_rows(
        (str(row["class"]), str(row["sub"]) if row["sub"] else None)
        for row in store.query(tallies.EventClasses.QUERY, use_default_graph_as_union=True))


def derivation_vocabulary(store: Store) -> list[str]:
    """What the derivation reads from the ontology, or from a KB file that extends it: the
    participant roles, and the event classes with their subclasses. When it changes, the derived
    triples of any file may."""
    below = _event_classes(store).below
    return participant_roles(store) + sorted(f"{c} > {' '.join(sorted(subs))}" for c, subs in below.items())


def _bounds(rows: Iterable[tuple[object, int, str, str]]) -> Iterator[tuple[object, str | None, str | None, str]]:
    """(event, first day, last day, time bucket) with the days as ISO dates, from rows of (event,
    time property number, lexical form, datatype), by the rules of temporal.EventTime.bounds and
    temporal.time_bucket. Reads every row before the first result."""
    periods: dict[tuple[str, str], Period | None] = {}
    times: dict[object, dict[str, Period]] = {}
    for event, k, lexical, datatype in rows:
        key = (lexical, datatype)
        if key not in periods:  # a KB repeats a few thousand dates: parse each once
            periods[key] = period_of(lexical, datatype)
        if (period := periods[key]) is not None:
            times.setdefault(event, {})[_TIME_PROPERTIES[k][1]] = period
    for event, fields in times.items():
        low, high = EventTime(**fields).bounds()
        if bucket := time_bucket(low, high):
            yield event, low.isoformat() if low else None, high.isoformat() if high else None, bucket


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
    for event, k, value in _tsv_rows(store, _TIME_QUERY % graph, scratch):
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


def write_days(store: Store, graph: str, out: BinaryIO, scratch: Path | None,
               days: dict[str, tuple[str | None, str | None]]) -> list[Quad]:
    """Write as N-Quads to ``out`` the first and last days and the time bucket of the events of
    file graph ``graph``; return them as pyoxigraph quads instead if an event is a blank node
    (N-Quads text cannot carry one: parsers rename it). Each event's days also go to ``days``."""
    target = derived_graph(graph)
    suffix = f" <{target}> .\n".encode()
    try:
        for event, low, high, bucket in _bounds(_time_rows_text(store, graph, scratch)):
            days[event] = (low, high)
            for p, day in ((_EARLIEST, low), (_LATEST, high)):
                if day:
                    out.write(f'{event} <{p.value}> "{day}"^^<{XSD_DATE}>'.encode() + suffix)
            out.write(f"{event} <{_BUCKET.value}> <{bucket}>".encode() + suffix)
        return []
    except _BlankEvent:  # raised before anything was written: _bounds reads all rows first
        quads = []
        for event, low, high, bucket in _bounds(_time_rows_terms(store, graph)):
            days[str(event)] = (low, high)
            quads += [Quad(event, p, Literal(day, datatype=_DAY), NamedNode(target))
                      for p, day in ((_EARLIEST, low), (_LATEST, high)) if day]
            quads.append(Quad(event, _BUCKET, NamedNode(bucket), NamedNode(target)))
        return quads


def write_days_and_tallies(store: Store, graph: str, out: BinaryIO, scratch: Path | None = None, *,
                           classes: tallies.EventClasses) -> list[Quad]:
    """write_days, then the file's tallies (tallies.py), which count its events by month."""
    days: dict[str, tuple[str | None, str | None]] = {}
    quads = write_days(store, graph, out, scratch, days)
    tally = tallies.FileTally.count(
        triples=_count(store, _TRIPLES_QUERY % graph), citations=_count(store, _CITATIONS_QUERY % graph),
        types=_tsv_rows(store, _TYPES_QUERY % graph, scratch),
        modalities=_tsv_rows(store, _MODALITY_QUERY % graph, scratch), days=days, classes=classes)
    out.write(tally.nquads(graph, derived_graph(graph)))
    return quads


def _count(store: Store, query: str) -> int:
    return int(next(iter(store.query(query)))["n"].value)


def _tsv_rows(store: Store, query: str, scratch: Path | None) -> Iterator[list[str]]:
    """A query's rows as N-Triples terms, read from Oxigraph's TSV."""
    with _serialized(store.query(query), QueryResultsFormat.TSV, scratch) as text:
        with io.TextIOWrapper(text, encoding="utf-8") as lines:
            next(lines)  # the header
            for line in lines:
                yield line.rstrip("\n").split("\t")


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


# This module and every dipkb module it builds on, whole: a list of functions was kept by hand, and a
# helper left off it meant an index that did not rebuild when the derivation changed. A change that
# derives nothing new (a comment) rebuilds the index too, which is only time. test_model_once checks
# that every dipkb module imported from here, directly or not, is listed.
DERIVATION_MODULES: tuple[ModuleType, ...] = (sys.modules[__name__], tallies, temporal, namespaces, errors)


def source_text(modules: Iterable[ModuleType]) -> str:
    """The source of ``modules``, or the installed version of dipkb when no source was shipped."""
    try:
        return "".join(inspect.getsource(module) for module in modules)
    except OSError:
        return importlib.metadata.version("dipkb")


def derivation_source() -> str:
    """The code that decides what is derived, so that the index can tell when it changed."""
    return source_text(DERIVATION_MODULES)


def file_graphs(store: Store) -> list[str]:
    """The names of the store's file graphs (KB and ontology files), sorted."""
    return sorted(g.value for g in store.named_graphs()
                  if isinstance(g, NamedNode) and g.value.startswith(FILE_GRAPH_PREFIX))


def derive(store: Store, graphs: Collection[str] | None = None, *, workers: int = 1,
           scratch: Path | None = None) -> None:
    """Materialise what queries need to be simple and fast: each event's earliest and latest possible
    day (so date filters are range comparisons on xsd:date whatever the precision) and its time
    bucket (so they need not compare every event's days), dip:participant for every role, and
    each file's tallies (tallies.py).

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
    roles, classes = participant_roles(store), _event_classes(store)

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
            for write in (functools.partial(write_days_and_tallies, classes=classes),
                          functools.partial(write_participants, roles=roles))]
    pool = ThreadPoolExecutor(max(1, min(workers, len(jobs))))
    try:
        for done in [pool.submit(derive_batch, write, batch) for write, batch in jobs]:
            done.result()
    finally:
        pool.shutdown(cancel_futures=True)  # on an error or Ctrl-C, not every batch first
