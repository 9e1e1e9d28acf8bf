"""Figures about the knowledge base: size, classes, event types, modality, time span, sources, files.

The figures add up the per-file tallies the index derives (tallies.py), a few numbers per file,
so stats cost a few rows a file rather than a pass over the KB (1.3 s at a million events, 14 s at
ten million). Counts are per file: a resource typed in two files counts in each. Sources are listed
one by one only up to SOURCES_LISTED; past that, the sources-by-citations saved query lists them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from pyoxigraph import BlankNode, NamedNode

from dipkb.model.labels import label_order
from dipkb.model.namespaces import DIP, curie
from dipkb.store.derivation import derived_graph
from dipkb.store.kb import KnowledgeBase
from dipkb.util.paths import display_path
from dipkb.util.terminal import display_width, padded, terminal_text

SOURCES_LISTED = 100


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
    source_count: int  # resources typed with dip:Source or a subclass
    citations: int  # dip:source links from events to sources
    sources: list[SourceCount]  # up to SOURCES_LISTED sources: CURIE, title, events citing it; else none
    files: list[FileCount]  # each KB file as the user would type its path, with its statement count


# Each query reads the tallies of every graph; _Tallies.select keeps those of the KB's files: the
# ontology's own tallies (its modality individuals, its classes) are not KB content.
_FILES = """
SELECT ?g ?file ?triples ?events ?citations ?first ?last WHERE { GRAPH ?g {
  ?tally dip:tallyFile ?file ; dip:tallyTriples ?triples ; dip:tallyEvents ?events ; dip:tallyCitations ?citations .
  OPTIONAL { ?tally dip:tallyFirstDay ?first } OPTIONAL { ?tally dip:tallyLastDay ?last } } }"""
_TALLIES = "SELECT ?g ?what ?count WHERE { GRAPH ?g { ?tally dip:%s ?what ; dip:tallyCount ?count } }"
_SOURCE_CLASSES = "SELECT ?class WHERE { ?class rdfs:subClassOf* dip:Source }"

# Run only for a KB of at most SOURCES_LISTED sources; of several titles, the one shown is chosen as
# everywhere else (dipkb.model.labels).
_SOURCES = """
SELECT DISTINCT ?source ?title ?label WHERE {
  ?class rdfs:subClassOf* dip:Source .
  ?source a ?class .
  OPTIONAL { ?source dct:title ?title }
  OPTIONAL { ?source rdfs:label ?label }
}"""
_CITATIONS = "SELECT ?source (COUNT(DISTINCT ?e) AS ?n) WHERE { ?e dip:source ?source } GROUP BY ?source"


class _Tallies:
    """Runs this module's fixed queries: :meth:`select` those that read the tallies, keeping the rows
    from the KB files' derived graphs (?g); :meth:`union_select` the others."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.kb_prefix = kb.layout.graph_name(kb.layout.kb_dir / "x")[:-1]
        self.kb_graphs = kb.kb_graphs()
        # Kept here rather than named as the query's dataset: given the 20,002 derived graphs of 10M
        # events as its named graphs, Oxigraph took 108 s for these queries against 12 s over every
        # graph, and a remote endpoint was sent every graph's IRI.
        self.tallied = {derived_graph(g) for g in self.kb_graphs}

    def select(self, query: str) -> list[dict]:
        return [row for row in self.kb.select(query) if row["g"].value in self.tallied]

    def union_select(self, query: str) -> list[dict]:
        return self.kb.select(query)

    def tally(self, prop: str) -> Counter:
        counts: Counter = Counter()
        for row in self.select(_TALLIES % prop):
            counts[row["what"]] += _int(row["count"])
        return counts


def compute_stats(kb: KnowledgeBase) -> Stats:
    """Count what the KB holds; see :class:`Stats` for what each figure means."""
    data = _Tallies(kb)
    if not data.kb_graphs:
        return Stats(0, 0, [], [], [], None, None, 0, 0, [], _files(data, {}))
    files = data.select(_FILES)
    by_class = data.tally("tallyClass")
    source_classes = {row["class"] for row in data.union_select(_SOURCE_CLASSES)}
    source_count = sum(n for c, n in by_class.items() if c in source_classes)
    firsts = [row["first"].value for row in files if "first" in row]
    lasts = [row["last"].value for row in files if "last" in row]
    return Stats(
        triples=sum(_int(row["triples"]) for row in files),
        events=sum(_int(row["events"]) for row in files),
        by_class=_sorted_counts((c, n) for c, n in by_class.items() if c.value.startswith(DIP)),
        by_event_type=_sorted_counts(data.tally("tallyEventType").items()),
        by_modality=_sorted_counts(data.tally("tallyModality").items()),
        earliest_day=min(firsts, default=None),
        latest_day=max(lasts, default=None),
        source_count=source_count,
        citations=sum(_int(row["citations"]) for row in files),
        sources=_sources(data) if source_count <= SOURCES_LISTED else [],
        files=_files(data, {row["file"].value: _int(row["triples"]) for row in files}),
    )


def _files(data: _Tallies, per_graph: dict[str, int]) -> list[FileCount]:
    """Every KB file with its statement count; a file with no triples (only comments) has no graph
    in the store but is listed with 0, so that a new or emptied file does not go unnoticed."""
    layout = data.kb.layout
    paths = {layout.graph_name(path): path for path in layout.kb_files()}
    for graph in per_graph.keys() - paths.keys():  # loaded, then removed from disk
        paths[graph] = layout.kb_dir / graph[len(data.kb_prefix):]
    return sorted(FileCount(display_path(path), per_graph.get(graph, 0)) for graph, path in paths.items())


def _int(term) -> int:
    return int(term.value)


def _sorted_counts(pairs) -> list[Count]:
    named: Counter = Counter()
    for term, n in pairs:
        named[_counted_as(term)] += n
    counts = [Count(name, n) for name, n in named.items()]
    return sorted(counts, key=lambda c: (-c.count, c.name))


def _counted_as(term) -> str:
    """An IRI as a CURIE; a literal (a modality written as a string) in N-Triples, as "Planned" is not
    dip:Planned; every blank node as [], as the index names them anew each build."""
    if isinstance(term, NamedNode):
        return curie(term.value)
    return "[]" if isinstance(term, BlankNode) else str(term)


def _sources(data: _Tallies) -> list[SourceCount]:
    """Declared sources with their citation counts, plus sources cited but not declared (title '')."""
    titles: dict = {}  # source -> (rank, label_order...) of the name shown, "" for none
    for row in data.union_select(_SOURCES):
        shown = titles.setdefault(row["source"], (2, False, ""))
        for rank, key in ((0, "title"), (1, "label")):
            if key in row:
                shown = min(shown, (rank, *label_order(row[key].value, row[key].language)))
        titles[row["source"]] = shown
    cited = {row["source"]: _int(row["n"]) for row in data.union_select(_CITATIONS)}
    rows = [SourceCount(curie(source.value), title[-1], cited.get(source, 0)) for source, title in titles.items()]
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
        "source_count": stats.source_count,
        "citations": stats.citations,
        "sources": [{"source": s.source, "title": s.title, "events": s.events} for s in stats.sources],
        "files": [{"path": f.path, "triples": f.triples} for f in stats.files],
    }


def render_stats_text(stats: Stats) -> str:
    """The figures as aligned plain text, one section per list."""
    span = f"{stats.earliest_day} .. {stats.latest_day}" if stats.earliest_day else "no dated events"
    lines = [f"Triples: {stats.triples}", f"Events:  {stats.events}",
             f"Sources: {stats.source_count}, cited {stats.citations} times", f"Days:    {span}"]
    none = "  (none)"
    unlisted = f"  (more than {SOURCES_LISTED}: `dipkb query sources-by-citations` lists them)"
    sections = [
        ("Files (triples)", [(f.path, f.triples, "") for f in stats.files], none),
        ("Classes (instances)", [(c.name, c.count, "") for c in stats.by_class], none),
        ("Event types (events)", [(c.name, c.count, "") for c in stats.by_event_type], none),
        ("Modality (events)", [(c.name, c.count, "") for c in stats.by_modality], none),
        ("Sources (events citing each)", [(s.source, s.events, s.title) for s in stats.sources],
         unlisted if stats.source_count else none),
    ]
    for title, rows, empty in sections:
        lines += ["", title]
        if not rows:
            lines.append(empty)
        width = max((display_width(name) for name, _, _ in rows), default=0)
        digits = max((len(str(n)) for _, n, _ in rows), default=0)
        lines += [f"  {padded(name, width)}  {str(n).rjust(digits)}  {note}".rstrip() for name, n, note in rows]
    return "".join(terminal_text(line) + "\n" for line in lines)
