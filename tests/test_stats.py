"""Stats: every figure checked against counts made independently, with rdflib, from the Turtle files."""
import json
from collections import Counter
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import DCTERMS, RDF, RDFS

from dipkb import KnowledgeBase
from dipkb.store.derivation import is_derived_graph
from dipkb.model.temporal import EventTime, any_period
from dipkb.store.tallies import EventClasses, FileTally, month_key
from dipkb.views.stats import FileCount, Stats, compute_stats, render_stats_text, stats_as_dict
from dipkb.views.timeline import timeline

ROOT = Path(__file__).resolve().parent.parent
DIP = rdflib.Namespace("https://w3id.org/dipkb/ontology#")
PREFIXES = {"https://w3id.org/dipkb/ontology#": "dip:", "https://w3id.org/dipkb/kb/source/": "source:",
            "http://example.org/": "http://example.org/"}


def short(iri) -> str:
    for namespace, prefix in PREFIXES.items():
        if str(iri).startswith(namespace) and prefix.endswith(":"):
            return prefix + str(iri)[len(namespace):]
    return str(iri)


class Expected:
    """The figures, computed with rdflib from the KB files and the ontology files."""

    def __init__(self, kb_dir: Path):
        self.files = {path: rdflib.Graph().parse(path, format="turtle") for path in sorted(kb_dir.rglob("*.ttl"))}
        self.data = rdflib.Graph()
        for graph in self.files.values():
            self.data += graph
        ontology = rdflib.Graph()
        for path in (ROOT / "ontology").glob("*.ttl"):
            if not path.name.startswith("shapes"):
                ontology.parse(path, format="turtle")
        self.ontology = ontology + self.data

    def subclasses(self, cls) -> set:
        return set(self.ontology.transitive_subjects(RDFS.subClassOf, cls))

    def events(self) -> dict:
        """Each event with its asserted event classes."""
        classes = self.subclasses(DIP.Event)
        found: dict = {}
        for s, o in self.data.subject_objects(RDF.type):
            if o in classes:
                found.setdefault(s, set()).add(o)
        return found

    def by_class(self) -> list[tuple[str, int]]:
        counts = Counter(o for _, o in set(self.data.subject_objects(RDF.type)) if str(o).startswith(str(DIP)))
        return ordered((short(c), n) for c, n in counts.items())

    def by_event_type(self) -> list[tuple[str, int]]:
        counts = Counter()
        for types in self.events().values():
            for t in types:
                if not any(other != t and other in self.subclasses(t) for other in types):
                    counts[t] += 1
        return ordered((short(c), n) for c, n in counts.items())

    def by_modality(self) -> list[tuple[str, int]]:
        counts = Counter()
        for event in self.events():
            for modality in set(self.data.objects(event, DIP.modality)) or {DIP.Occurred}:
                counts[modality] += 1
        return ordered((short(m), n) for m, n in counts.items())

    def sources(self) -> list[tuple[str, str, int]]:
        classes = self.subclasses(DIP.Source)
        declared = {s for s, o in self.data.subject_objects(RDF.type) if o in classes}
        rows = []
        for source in declared | set(self.data.objects(None, DIP.source)):
            titles = sorted(map(str, self.data.objects(source, DCTERMS.title))) if source in declared else []
            labels = sorted(map(str, self.data.objects(source, RDFS.label))) if source in declared else []
            citing = set(self.data.subjects(DIP.source, source))
            rows.append((short(source), (titles or labels or [""])[0], len(citing)))
        return sorted(rows, key=lambda row: (-row[2], row[0]))


def ordered(pairs) -> list[tuple[str, int]]:
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))


@pytest.fixture(scope="module")
def shipped(shipped_kb):
    """The stats of the session's copy of the shipped KB (the working directory), and the rdflib counts of its files."""
    return compute_stats(KnowledgeBase.open()), Expected(shipped_kb / "kb")


def test_triples_and_files_match_the_files(shipped, shipped_kb):
    stats, expected = shipped
    assert stats.files == [(str(Path(path).relative_to(Path.cwd())), len(graph)) for path, graph in expected.files.items()]
    assert stats.triples == sum(len(graph) for graph in expected.files.values())
    assert stats.triples == len(KnowledgeBase.open().data_quads())
    assert len(stats.files) == len(list((shipped_kb / "kb").glob("*.ttl")))


def test_events_and_their_types_match_the_files(shipped):
    stats, expected = shipped
    assert stats.events == len(expected.events()) > 20
    assert stats.by_event_type == expected.by_event_type()
    assert sum(n for _, n in stats.by_event_type) == stats.events  # one type per event in the shipped KB


def test_classes_cover_every_dip_class_in_use_including_actors_places_and_sources(shipped):
    stats, expected = shipped
    assert stats.by_class == expected.by_class()
    names = {name for name, _ in stats.by_class}
    assert {"dip:State", "dip:Person", "dip:Place", "dip:Country", "dip:NewsArticle", "dip:Position"} <= names
    assert "dip:Modality" not in names  # the ontology's modality values are not KB instances


def test_modality_counts_every_event_once(shipped):
    stats, expected = shipped
    assert stats.by_modality == expected.by_modality()
    assert sum(n for _, n in stats.by_modality) == stats.events


def test_sources_with_titles_and_citing_events(shipped):
    stats, expected = shipped
    assert stats.sources == expected.sources()
    assert len(stats.sources) == 3
    assert stats.sources[0][0] == "source:founding-article"
    assert stats.source_count == 3
    assert stats.citations == sum(events for _, _, events in expected.sources())


def test_days_span_the_derived_days(shipped):
    stats, _ = shipped
    kb = KnowledgeBase.open()
    days = {}
    for quad in (q for q in kb.store if is_derived_graph(q.graph_name) and q.predicate.value.startswith(DIP)):
        days.setdefault(quad.predicate.value.removeprefix(DIP), []).append(quad.object.value)
    assert stats.earliest_day == min(days["earliestDay"])
    assert stats.latest_day == max(days["earliestDay"] + days["latestDay"])
    assert stats.earliest_day == "1996-01-01"  # the Taliban take Kabul, dated "1996"^^xsd:gYear


SMALL_KB = """
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <http://example.org/> .
ex:visit a dip:Meeting, dip:Visit ; dip:date "1999"^^xsd:gYear ; dip:source ex:paper, ex:unlisted .
ex:talk a dip:Meeting, dip:Statement ; dip:modality dip:Planned ; dip:date "2020-05"^^xsd:gYearMonth ;
    dip:source ex:paper .
ex:war a dip:ArmedConflict ; dip:startDate "2021-03-04"^^xsd:date ; dip:modality dip:Ongoing .
ex:paper a dip:NewsArticle ; rdfs:label "A paper"@en ; dct:title "The Paper"@en, "Another title"@en .
ex:report a dip:AgencyReport ; rdfs:label "A report"@en .
ex:someone a dip:Person .
"""


@pytest.fixture()
def small(tmp_path) -> Stats:
    kb_dir = tmp_path / "small"
    kb_dir.mkdir()
    (kb_dir / "a.ttl").write_text(SMALL_KB, encoding="utf-8")
    (kb_dir / "empty.ttl").write_text("# nothing\n", encoding="utf-8")
    return compute_stats(KnowledgeBase.open(kb_dir)), Expected(kb_dir)


def test_small_kb_figures(small):
    stats, expected = small
    assert stats.events == 3
    # The visit counts as a visit only; the talk under both of its unrelated types.
    assert stats.by_event_type == [("dip:ArmedConflict", 1), ("dip:Meeting", 1), ("dip:Statement", 1),
                                   ("dip:Visit", 1)] == expected.by_event_type()
    assert stats.by_class == expected.by_class()
    assert ("dip:Meeting", 2) in stats.by_class
    assert stats.by_modality == [("dip:Occurred", 1), ("dip:Ongoing", 1), ("dip:Planned", 1)]
    assert stats.earliest_day == "1999-01-01"
    assert stats.latest_day == "2021-03-04"  # the open-ended war's first day is later than 2020-05-31
    assert stats.sources == [("http://example.org/paper", "Another title", 2),  # the least title, not a random one
                             ("http://example.org/unlisted", "", 1),
                             ("http://example.org/report", "A report", 0)] == expected.sources()
    assert stats.files == [(str(path), len(graph)) for path, graph in expected.files.items()]
    assert stats.files[1][1] == 0  # empty.ttl, listed although it holds no triple


def test_render_text_and_dict(small):
    stats, _ = small
    text = render_stats_text(stats)
    path, empty = stats.files[0][0], stats.files[1][0]
    assert len(path) == len(empty) - 4  # a.ttl, empty.ttl
    assert text == f"""Triples: {stats.triples}
Events:  3
Sources: 2, cited 3 times
Days:    1999-01-01 .. 2021-03-04

Files (triples)
  {path}      {stats.triples}
  {empty}   0

Classes (instances)
  dip:Meeting        2
  dip:AgencyReport   1
  dip:ArmedConflict  1
  dip:NewsArticle    1
  dip:Person         1
  dip:Statement      1
  dip:Visit          1

Event types (events)
  dip:ArmedConflict  1
  dip:Meeting        1
  dip:Statement      1
  dip:Visit          1

Modality (events)
  dip:Occurred  1
  dip:Ongoing   1
  dip:Planned   1

Sources (events citing each)
  http://example.org/paper     2  Another title
  http://example.org/unlisted  1
  http://example.org/report    0  A report
"""
    as_dict = json.loads(json.dumps(stats_as_dict(stats)))
    assert as_dict["events"] == 3 and as_dict["triples"] == stats.triples
    assert as_dict["earliest_day"] == "1999-01-01" and as_dict["latest_day"] == "2021-03-04"
    assert as_dict["by_class"][0] == {"class": "dip:Meeting", "count": 2}
    assert as_dict["by_event_type"][-1] == {"type": "dip:Visit", "count": 1}
    assert as_dict["by_modality"][0] == {"modality": "dip:Occurred", "count": 1}
    assert as_dict["sources"][0] == {"source": "http://example.org/paper", "title": "Another title", "events": 2}
    assert as_dict["files"] == [{"path": path, "triples": stats.triples}, {"path": empty, "triples": 0}]


def test_kb_without_data(tmp_path):
    (tmp_path / "empty.ttl").write_text("# nothing yet\n", encoding="utf-8")
    stats = compute_stats(KnowledgeBase.open(tmp_path))
    assert stats == Stats(0, 0, [], [], [], None, None, 0, 0, [], [(str(tmp_path / "empty.ttl"), 0)])
    assert "Days:    no dated events" in render_stats_text(stats)
    assert "  (none)" in render_stats_text(stats)


def test_figures_add_up_over_files(tmp_path):
    """The same KB split over three files: every figure as for one file, checked against rdflib."""
    lines = SMALL_KB.strip().splitlines()
    prefixes, statements = [l for l in lines if l.startswith("@prefix")], [l for l in lines if not l.startswith("@prefix")]
    kb_dir = tmp_path / "split"
    kb_dir.mkdir()
    chunks = {"events.ttl": statements[:4], "sources.ttl": statements[4:6], "people.ttl": statements[6:]}
    for name, chunk in chunks.items():
        (kb_dir / name).write_text("\n".join(prefixes + chunk) + "\n", encoding="utf-8")
    stats, expected = compute_stats(KnowledgeBase.open(kb_dir)), Expected(kb_dir)
    assert stats.events == 3 and stats.source_count == 2 and stats.citations == 3
    assert stats.by_event_type == expected.by_event_type()
    assert stats.by_class == expected.by_class()
    assert stats.by_modality == expected.by_modality()
    assert stats.sources == expected.sources()
    assert (stats.earliest_day, stats.latest_day) == ("1999-01-01", "2021-03-04")
    assert stats.files == [(str(path), len(graph)) for path, graph in expected.files.items()]


def test_a_literal_or_blank_node_as_a_type_is_not_counted_as_a_class(tmp_path):
    (tmp_path / "odd.ttl").write_text(
        '<https://w3id.org/dipkb/kb/actor/x> a "State", [ ], <https://w3id.org/dipkb/ontology#State> .\n', encoding="utf-8")
    for index in (True, False):
        with KnowledgeBase.open(tmp_path, index=index) as kb:
            assert [(c.name, c.count) for c in compute_stats(kb).by_class] == [("dip:State", 1)]


def test_past_the_limit_sources_are_counted_not_listed(small, monkeypatch):
    import dipkb.views.stats

    monkeypatch.setattr(dipkb.views.stats, "SOURCES_LISTED", 1)
    kb_dir = next(iter(small[1].files)).parent
    stats = compute_stats(KnowledgeBase.open(kb_dir))
    assert (stats.source_count, stats.citations, stats.sources) == (2, 3, [])
    text = render_stats_text(stats)
    assert "Sources: 2, cited 3 times" in text
    assert "(more than 1: `dipkb query sources-by-citations` lists them)" in text


def test_stats_follow_an_edited_file_through_the_index(kb_copy):
    before = compute_stats(KnowledgeBase.open(kb_copy))
    extra = kb_copy / "kb" / "extra.ttl"
    extra.write_text(SMALL_KB, encoding="utf-8")
    after = compute_stats(KnowledgeBase.open(kb_copy))
    assert after.events == before.events + 3
    assert after.source_count == before.source_count + 2
    assert dict(after.by_event_type)["dip:Visit"] == dict(before.by_event_type)["dip:Visit"] + 1
    extra.unlink()
    assert compute_stats(KnowledgeBase.open(kb_copy)) == before


def test_a_new_event_class_in_one_file_recounts_the_others(kb_copy):
    """Which classes are event classes comes from the union of all graphs: a change rebuilds the index."""
    (kb_copy / "kb" / "summit.ttl").write_text(
        "<http://example.org/summit> a <http://example.org/Summit> .\n", encoding="utf-8")
    before = compute_stats(KnowledgeBase.open(kb_copy))
    (kb_copy / "kb" / "classes.ttl").write_text(
        "<http://example.org/Summit> <http://www.w3.org/2000/01/rdf-schema#subClassOf> "
        "<https://w3id.org/dipkb/ontology#Meeting> .\n", encoding="utf-8")
    kb = KnowledgeBase.open(kb_copy)
    assert kb.index.report.rebuilt
    after = compute_stats(kb)
    assert after.events == before.events + 1
    assert ("http://example.org/Summit", 1) in after.by_event_type


def test_the_index_hands_over_the_event_classes_the_store_would_answer(kb_copy):
    """The timeline reads the event classes from the index's manifest, not by a query: they must be
    the ones the store holds, also after a KB file declares a new one."""
    def asked(kb: KnowledgeBase) -> EventClasses:
        return EventClasses.from_rows((r["class"].value, r["sub"].value if "sub" in r else None)
                                      for r in kb.select(EventClasses.QUERY))

    kb = KnowledgeBase.open(kb_copy)
    assert kb.index.vocabulary and kb.event_classes == asked(kb)
    (kb_copy / "kb" / "summit.ttl").write_text(
        "<http://example.org/Summit> <http://www.w3.org/2000/01/rdf-schema#subClassOf> "
        "<https://w3id.org/dipkb/ontology#Meeting> .\n"
        "<http://example.org/summit> a <http://example.org/Summit>, <https://w3id.org/dipkb/ontology#Meeting> ; "
        "<https://w3id.org/dipkb/ontology#date> \"2021-07-05\"^^<http://www.w3.org/2001/XMLSchema#date> .\n",
        encoding="utf-8")
    kb = KnowledgeBase.open(kb_copy)
    assert "http://example.org/Summit" in kb.event_classes.below[DIP + "Meeting"]
    assert kb.event_classes == asked(kb)
    [entry] = [e for e in timeline(kb) if e.id == "http://example.org/summit"]
    assert entry.type == "http://example.org/Summit"


def test_a_file_named_in_a_wide_script_lines_up_with_the_others():
    stats = Stats(3, 0, [], [], [], None, None, 0, 0, [], [FileCount("kb/事件.ttl", 1), FileCount("kb/events.ttl", 2)])
    files = [line for line in render_stats_text(stats).splitlines() if line.startswith("  kb/")]
    # 事件 takes four columns of a terminal: kb/事件.ttl is 11 wide, kb/events.ttl 13.
    assert files == ["  kb/事件.ttl    1", "  kb/events.ttl  2"]


@pytest.mark.parametrize(("times", "month"), [
    ({"date": "2021-07"}, "2021-07"),
    ({"date": "2021-07-09"}, "2021-07"),
    ({"date": "2021-01"}, "2021-01"),  # January itself
    ({"start": "2021-01-01"}, "2021-01"),  # a day that is the first of the year, and no end
    ({"start": "2021-03", "end": "2021"}, "2021-03"),
    # Known by the year alone: counted under the year, not padded to January, whatever the end.
    ({"date": "2021"}, "2021"),
    ({"start": "2021", "end": "2021-07-10"}, "2021"),
    ({"earliest": "2021", "latest": "2021-08-15"}, "2021"),
    ({"start": "2021", "end": "2023-06"}, "2021"),
    # The latest-beginning time counts, the finest of two that begin alike.
    ({"date": "2021", "earliest": "2021-07"}, "2021-07"),
    ({"date": "2021", "start": "2021-01"}, "2021-01"),
    ({"latest": "2021"}, "2021"),
    ({"end": "2021-07"}, "unknown"),
])
def test_the_month_an_event_is_counted_under(times, month):
    # An end on 10 July put a start known only to 2021 under January 2021.
    assert month_key(EventTime(**{k: any_period(v) for k, v in times.items()}).filed_by()) == month


def test_a_files_tally_counts_each_asserted_event_type_by_month():
    meeting, event, state = "<https://w3id.org/dipkb/ontology#Meeting>", \
        "<https://w3id.org/dipkb/ontology#Event>", "<https://w3id.org/dipkb/ontology#State>"
    classes = EventClasses.from_rows([(event, None), (event, meeting), (meeting, None)])
    tally = FileTally.count(
        triples=20, citations=1, classes=classes,
        types={"<e1>": {meeting, event}, "<e2>": {meeting}, "<e3>": {event}, "<russia>": {state}},
        modalities={"<e2>": {"<https://w3id.org/dipkb/ontology#Planned>"}},
        days={"<e1>": ("2021-07-01", "2021-07-31"), "<e2>": ("2021-01-01", "2021-12-31")},
        months={"<e1>": "2021-07", "<e2>": "2021"},
        buckets={"<e1>": "urn:dipkb:time:month:2021-07", "<e2>": "urn:dipkb:time:year:2021"})
    assert tally.type_months == Counter({(meeting, "2021-07"): 1, (event, "2021-07"): 1, (meeting, "2021"): 1,
                                         (event, "unknown"): 1})
    assert tally.event_types == Counter({meeting: 2, event: 1})  # the most specific of each event's types
    assert tally.classes == Counter({meeting: 2, event: 2, state: 1})
    assert (tally.events, tally.buckets[None], tally.first_day, tally.last_day) == (3, 1, "2021-01-01", "2021-12-31")
    assert tally.modalities == Counter({"<https://w3id.org/dipkb/ontology#Occurred>": 2,
                                        "<https://w3id.org/dipkb/ontology#Planned>": 1})
