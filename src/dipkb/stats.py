"""Figures about the knowledge base: size, classes, event types, modality, time span, sources, files.

Every figure is a SPARQL aggregate run by Oxigraph (GROUP BY, COUNT, MIN, MAX), so no Python loop
walks the triples; Python only merges the few rows that come back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from pyoxigraph import NamedNode, QuerySolutions

from dipkb.errors import QueryError
from dipkb.kb import KnowledgeBase
from dipkb.layout import display_path
from dipkb.namespaces import DIP, PREFIXES, curie


class Count(NamedTuple):
    """How many instances (events) a class, event type or modality has."""

    name: str
    count: int


class SourceCount(NamedTuple):
    source: str
    title: str
    events: int


class FileCount(NamedTuple):
    path: str
    triples: int


@dataclass(frozen=True)
class Stats:
    """Lists are sorted by count, largest first, then by name; files by path."""

    triples: int  # statements in the KB's files; a triple stated in two files counts twice
    events: int  # resources typed with dip:Event or one of its subclasses
    by_class: list[Count]  # every dip: class with asserted instances in the KB (events, actors, places...)
    by_event_type: list[Count]  # events by their most specific asserted event class
    by_modality: list[Count]  # events by dip:modality; an event without one counts as dip:Occurred
    earliest_day: str | None  # first day any event is filed under (ISO date), None without dated events
    latest_day: str | None  # last such day, including the start of open-ended events
    sources: list[SourceCount]  # every source: CURIE, dct:title or rdfs:label, events citing it (dip:source)
    files: list[FileCount]  # each KB file as the user would type its path, with its statement count


# The dataset of every query below: the default graph is the union of all graphs, as for any dipkb
# query (the class hierarchy lives in the ontology, the days in the derived graph; the ontology
# defines no events and the derived graph holds no types, modalities or sources), and GRAPH ?g
# ranges over the KB's file graphs only, for the figures that must leave the ontology out.
# Each query is one scan, or one join, and a GROUP BY. Measured on a synthetic KB of 100k events
# (1.3M triples): all of compute_stats in 1.2-2 s on a busy 2-core machine.

_FILE_TRIPLES = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"

# Instances per asserted class, read from the KB files only: the ontology's own individuals (the
# modality values) are not KB content.
_BY_CLASS = "SELECT ?class (COUNT(DISTINCT ?x) AS ?n) WHERE { GRAPH ?g { ?x a ?class } } GROUP BY ?class"

_EVENT_CLASSES = "SELECT ?class WHERE { ?class rdfs:subClassOf* dip:Event }"

_EVENT_SUBCLASSES = """
SELECT ?sub ?super WHERE { ?super rdfs:subClassOf* dip:Event . ?sub rdfs:subClassOf+ ?super }"""

_EVENTS = "SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE { ?type rdfs:subClassOf* dip:Event . ?e a ?type }"

# Events typed with more than one event class, with all their types: the few whose most specific
# type must be worked out. A FILTER NOT EXISTS over every event did the same 10x slower.
_MULTI_TYPED = """
SELECT ?e ?type WHERE {
  { SELECT ?e WHERE { ?t rdfs:subClassOf* dip:Event . ?e a ?t } GROUP BY ?e HAVING (COUNT(DISTINCT ?t) > 1) }
  ?e a ?type .
}"""

# Events with a stated modality; the events without one (read as dip:Occurred) are the difference
# from the event count. An inner join: the same figure with OPTIONAL and COALESCE took 2.5x longer.
# dip:modality is functional; an event that breaks this (a SHACL violation) counts under each value.
_BY_MODALITY = """
SELECT ?modality (COUNT(DISTINCT ?e) AS ?n) WHERE {
  { SELECT DISTINCT ?e WHERE { ?type rdfs:subClassOf* dip:Event . ?e a ?type } }
  ?e dip:modality ?modality .
} GROUP BY ?modality"""

_EARLIEST_DAY = "SELECT (MIN(?day) AS ?earliest) WHERE { ?e dip:earliestDay ?day }"
# An open-ended event has no dip:latestDay; its first day still counts towards the latest day.
_LATEST_DAY = "SELECT (MAX(?day) AS ?latest) WHERE { VALUES ?p { dip:earliestDay dip:latestDay } ?e ?p ?day }"

# MIN makes the choice among several titles deterministic (SAMPLE would not be).
_SOURCES = """
SELECT ?source (MIN(STR(?t)) AS ?title) (MIN(STR(?l)) AS ?label) WHERE {
  ?class rdfs:subClassOf* dip:Source .
  ?source a ?class .
  OPTIONAL { ?source dct:title ?t }
  OPTIONAL { ?source rdfs:label ?l }
} GROUP BY ?source"""

_CITATIONS = "SELECT ?source (COUNT(DISTINCT ?e) AS ?n) WHERE { ?e dip:source ?source } GROUP BY ?source"


class _Dataset:
    """Runs this module's fixed queries over the dataset described above."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.kb_prefix = kb.layout.graph_name(kb.layout.kb_dir / "x")[:-1]
        self.kb_graphs = [g for g in kb.store.named_graphs()
                          if isinstance(g, NamedNode) and g.value.startswith(self.kb_prefix)]

    def select(self, query: str) -> list[dict]:
        try:
            solutions = self.kb.store.query(query, prefixes=PREFIXES, use_default_graph_as_union=True,
                                            named_graphs=self.kb_graphs)
        except (SyntaxError, OSError) as error:  # a bug in this module, reported like any query error
            raise QueryError(f"Statistics query failed: {error}") from None
        assert isinstance(solutions, QuerySolutions)
        names = [v.value for v in solutions.variables]
        return [{n: row[n] for n in names if row[n] is not None} for row in solutions]


def compute_stats(kb: KnowledgeBase) -> Stats:
    """Count what the KB holds; see :class:`Stats` for what each figure means."""
    data = _Dataset(kb)
    if not data.kb_graphs:  # an empty list of named graphs would mean "all graphs" to Oxigraph
        return Stats(0, 0, [], [], [], None, None, [], _files(data, {}))
    per_graph = {row["g"].value: _int(row["n"]) for row in data.select(_FILE_TRIPLES)}
    by_class = {row["class"]: _int(row["n"]) for row in data.select(_BY_CLASS)}
    event_classes = {row["class"] for row in data.select(_EVENT_CLASSES)}
    events = _int(data.select(_EVENTS)[0]["n"])
    return Stats(
        triples=sum(per_graph.values()),
        events=events,
        by_class=_sorted_counts((c, n) for c, n in by_class.items() if c.value.startswith(DIP)),
        by_event_type=_by_event_type(data, {c: n for c, n in by_class.items() if c in event_classes}, events),
        by_modality=_by_modality(data, events),
        earliest_day=_value(data.select(_EARLIEST_DAY), "earliest"),
        latest_day=_value(data.select(_LATEST_DAY), "latest"),
        sources=_sources(data),
        files=_files(data, per_graph),
    )


def _files(data: _Dataset, per_graph: dict[str, int]) -> list[FileCount]:
    """Every KB file with its statement count; a file with no triples (only comments) has no graph
    in the store but is listed with 0, so that a new or emptied file does not go unnoticed."""
    layout = data.kb.layout
    paths = {layout.graph_name(path): path for path in layout.kb_files()}
    for graph in per_graph.keys() - paths.keys():  # loaded, then removed from disk
        paths[graph] = layout.kb_dir / graph[len(data.kb_prefix):]
    return sorted(FileCount(display_path(path), per_graph.get(graph, 0)) for graph, path in paths.items())


def _by_event_type(data: _Dataset, asserted: dict[NamedNode, int], events: int) -> list[Count]:
    """Events by most specific asserted type: the per-class counts, less each multi-typed event
    under every type of it that another of its types specialises."""
    counts = dict(asserted)
    if sum(counts.values()) > events:  # some event has two event types: find those few
        below: dict[NamedNode, set[NamedNode]] = {}
        for row in data.select(_EVENT_SUBCLASSES):
            below.setdefault(row["super"], set()).add(row["sub"])
        types_of: dict[NamedNode, set[NamedNode]] = {}
        for row in data.select(_MULTI_TYPED):
            types_of.setdefault(row["e"], set()).add(row["type"])
        for types in types_of.values():
            for general in types:
                if general in counts and below.get(general, set()) & (types - {general}):
                    counts[general] -= 1
    return _sorted_counts((c, n) for c, n in counts.items() if n)


def _by_modality(data: _Dataset, events: int) -> list[Count]:
    counts = {row["modality"]: _int(row["n"]) for row in data.select(_BY_MODALITY)}
    unstated = events - sum(counts.values())
    if unstated > 0:
        occurred = NamedNode(DIP + "Occurred")
        counts[occurred] = counts.get(occurred, 0) + unstated
    return _sorted_counts(counts.items())


def _int(term) -> int:
    return int(term.value)


def _value(rows: list[dict], name: str) -> str | None:
    return rows[0][name].value if rows and name in rows[0] else None


def _sorted_counts(pairs) -> list[Count]:
    counts = [Count(curie(term.value), n) for term, n in pairs]
    return sorted(counts, key=lambda c: (-c.count, c.name))


def _sources(data: _Dataset) -> list[SourceCount]:
    """Declared sources with their citation counts, plus sources cited but not declared (title '')."""
    titles = {row["source"]: (row.get("title") or row.get("label")) for row in data.select(_SOURCES)}
    cited = {row["source"]: _int(row["n"]) for row in data.select(_CITATIONS)}
    rows = [SourceCount(curie(source.value), title.value if title else "", cited.get(source, 0))
            for source, title in titles.items()]
    rows += [SourceCount(curie(source.value), "", n) for source, n in cited.items() if source not in titles]
    return sorted(rows, key=lambda s: (-s.events, s.source))


def stats_as_dict(stats: Stats) -> dict:
    """The figures as plain JSON-ready values, lists of objects with named fields."""
    return {
        "triples": stats.triples,
        "events": stats.events,
        "earliest_day": stats.earliest_day,
        "latest_day": stats.latest_day,
        "by_class": [{"class": c.name, "count": c.count} for c in stats.by_class],
        "by_event_type": [{"type": c.name, "count": c.count} for c in stats.by_event_type],
        "by_modality": [{"modality": c.name, "count": c.count} for c in stats.by_modality],
        "sources": [{"source": s.source, "title": s.title, "events": s.events} for s in stats.sources],
        "files": [{"path": f.path, "triples": f.triples} for f in stats.files],
    }


def render_stats_text(stats: Stats) -> str:
    """The figures as aligned plain text, one section per list."""
    span = f"{stats.earliest_day} .. {stats.latest_day}" if stats.earliest_day else "no dated events"
    lines = [f"Triples: {stats.triples}", f"Events:  {stats.events}", f"Days:    {span}"]
    sections = [
        ("Files (triples)", [(f.path, f.triples, "") for f in stats.files]),
        ("Classes (instances)", [(c.name, c.count, "") for c in stats.by_class]),
        ("Event types (events)", [(c.name, c.count, "") for c in stats.by_event_type]),
        ("Modality (events)", [(c.name, c.count, "") for c in stats.by_modality]),
        ("Sources (events citing each)", [(s.source, s.events, s.title) for s in stats.sources]),
    ]
    for title, rows in sections:
        lines += ["", title]
        if not rows:
            lines.append("  (none)")
        width = max((len(name) for name, _, _ in rows), default=0)
        digits = max((len(str(n)) for _, n, _ in rows), default=0)
        lines += [f"  {name.ljust(width)}  {str(n).rjust(digits)}  {note}".rstrip() for name, n, note in rows]
    return "\n".join(lines) + "\n"
