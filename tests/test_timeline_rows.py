"""The timeline reads each event's row the index derives (dip:timelineRow): every entry must still be
what the Turtle files state, read here by rdflib, whichever way the row was derived, from however
many files, with any characters, and gone when its file is."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import rdflib
from hypothesis import given, settings, strategies as st
from pyoxigraph import Literal, NamedNode
from rdflib import RDF, RDFS, URIRef

from dipkb import KnowledgeBase
from dipkb.model.namespaces import DIP, KB_BASE, RDF as RDF_NS, RDFS as RDFS_NS, curie
from dipkb.store.eventrows import RowBuilder
from dipkb.store.layout import KBLayout
from dipkb.views.eventrow import _decoded
from dipkb.views.render import OutputFormat, timeline_rows
from dipkb.views.timeline import TimelineEntry, TimelineFilter, timeline

REPO = Path(__file__).resolve().parent.parent
D = rdflib.Namespace(DIP)
RDF_TYPE, RDFS_LABEL = RDF_NS + "type", RDFS_NS + "label"
EXTRA = """@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<event/kabulov-taliban-meeting-2021-07> dip:source <source/tass-shaheen-2021-07> ;
    dip:quote "A \\"quoted\\" back\\\\slash, été\\nnext line"@en ;
    rdfs:label "Zamir Kabulov meets the Taliban delegation (a second account)"@en ;
    dip:place <place/afghanistan> ; dip:modality dip:Planned ; dip:date "2021-07-09"^^xsd:date .
<event/tricky-2021-07> a dip:Meeting ; rdfs:label "Tab\\there, \\"quotes\\", \\\\ and ünïcödé 😀"@en ;
    dip:date "2021-07"^^xsd:gYearMonth ; dip:host <actor/russia> ; dip:visitor [ rdfs:label "someone unnamed" ] .
"""


def files_graph(root: Path) -> rdflib.Graph:
    """The ontology and every KB file, read by rdflib: the oracle knows nothing of the index."""
    graph = rdflib.Graph()
    for path in sorted((REPO / "ontology").glob("*.ttl")) + sorted((root / "kb").glob("*.ttl")):
        graph.parse(path, format="turtle", publicID=KB_BASE)
    return graph


def stated(graph: rdflib.Graph, entry: TimelineEntry) -> dict:
    """What the files state of the event, shaped as the entry shows it."""
    event = URIRef(entry.id)
    roles = {}
    for role in graph.transitive_subjects(RDFS.subPropertyOf, D.participant):
        if role != D.participant:
            labels = [str(label) for label in graph.objects(role, RDFS.label) if label.language == "en"]
            roles[role] = labels[0] if labels else curie(str(role))
    modality = max(graph.objects(event, D.modality), default=None)
    return {
        # An English or untagged label, else another; the first alphabetically.
        "label": min(((label.language not in (None, "en") and not label.language.startswith("en-"), str(label))
                      for label in graph.objects(event, RDFS.label)), default=(False, ""))[1],
        "modality": str(modality).rsplit("#", 1)[-1].lower() if modality else "occurred",
        "participants": sorted((str(actor), role_label) for role, role_label in roles.items()
                               for actor in graph.objects(event, role) if isinstance(actor, URIRef)),
        **{name: str(max(graph.objects(event, D[name]))) if (event, D[name], None) in graph else None
           for name in ("place", "origin", "destination")},
        "sources": sorted({str(source) for source in graph.objects(event, D.source)}),
        "context": (event, D.contextFor, None) in graph,
        "quotes": sorted(str(quote) for quote in graph.objects(event, D.quote)),
        "contents": sorted(str(content) for content in graph.objects(event, D.content)),
        "typed": {str(t) for t in graph.objects(event, RDF.type)},
    }


def shown(entry: TimelineEntry) -> dict:
    return {
        "label": entry.label, "modality": entry.modality,
        "participants": sorted((p.id, p.role) for p in entry.participants),
        **{name: ref.id if (ref := getattr(entry, name)) else None for name in ("place", "origin", "destination")},
        "sources": sorted(s.id for s in entry.sources), "context": entry.context,
        "quotes": list(entry.quotes), "contents": list(entry.contents),
    }


def whole_timeline(root: Path, index: bool) -> list[TimelineEntry]:
    with KnowledgeBase.open(layout=KBLayout.locate(root), index=index) as kb:
        return timeline(kb, TimelineFilter())


@pytest.mark.parametrize("index", [True, False], ids=["index, rows from the parser", "in memory, rows from the store"])
def test_every_entry_shows_what_the_files_state_even_from_two_files(kb_copy, index):
    (kb_copy / "kb" / "extra.ttl").write_text(EXTRA, encoding="utf-8")
    graph = files_graph(kb_copy)
    entries = whole_timeline(kb_copy, index)
    classes = set(graph.transitive_subjects(RDFS.subClassOf, D.Event))
    assert len(entries) == len({event for event, cls in graph.subject_objects(RDF.type) if cls in classes})
    for entry in entries:
        expected = stated(graph, entry)
        assert entry.type.replace("dip:", DIP) in expected.pop("typed") | {DIP + "Event"}
        assert shown(entry) == expected, entry.id
    by_id = {entry.id: entry for entry in entries}
    # What the second file adds to an event of the first, and text that N-Quads and JSON both escape.
    kabulov = by_id[KB_BASE + "event/kabulov-taliban-meeting-2021-07"]
    assert KB_BASE + "source/tass-shaheen-2021-07" in {s.id for s in kabulov.sources}
    assert 'A "quoted" back\\slash, été\nnext line' in kabulov.quotes
    # Two files, two values where one is shown, whichever file the row came from: the greatest of each,
    # but the label, the first of those in English.
    assert (kabulov.label, kabulov.place.id, kabulov.modality, kabulov.date) == (
        "Zamir Kabulov meets the Taliban delegation (a second account)", KB_BASE + "place/moscow", "planned",
        "2021-07-09")
    tricky = by_id[KB_BASE + "event/tricky-2021-07"]
    assert tricky.label == 'Tab\there, "quotes", \\ and ünïcödé 😀' and tricky.date == "2021-07"
    assert [p.id for p in tricky.participants] == [KB_BASE + "actor/russia"]  # the blank visitor has no IRI


def test_a_row_leaves_with_its_file_and_a_changed_file_changes_it(kb_copy):
    extra = kb_copy / "kb" / "extra.ttl"
    extra.write_text(EXTRA, encoding="utf-8")
    kabulov = KB_BASE + "event/kabulov-taliban-meeting-2021-07"

    def kabulov_entry() -> TimelineEntry:
        return next(e for e in whole_timeline(kb_copy, True) if e.id == kabulov)

    assert len(kabulov_entry().sources) == 3
    extra.write_text(EXTRA.replace("tass-shaheen-2021-07", "founding-article"), encoding="utf-8")
    assert len(kabulov_entry().sources) == 2 and kabulov_entry().quotes
    extra.unlink()
    assert kabulov_entry().quotes == () and len(kabulov_entry().sources) == 2


def test_a_table_without_source_titles_is_the_same_table(shipped_kb):
    with KnowledgeBase.open(layout=KBLayout.locate(shipped_kb)) as kb:
        titled = timeline(kb, TimelineFilter())
        by_iri = timeline(kb, TimelineFilter(), source_titles=False)
    assert list(timeline_rows(by_iri, OutputFormat.TABLE)) == list(timeline_rows(titled, OutputFormat.TABLE))
    assert all(s.title is None and s.url is None for e in by_iri for s in e.sources)
    assert all(s.title for e in titled for s in e.sources)
    assert [[s.id for s in e.sources] for e in by_iri] == [[s.id for s in e.sources] for e in titled]


@pytest.mark.parametrize("text", ["not json {", "[1, 2]", '{"label": [5]}', '{"role": [["only one"]]}', '{"source": "x"}',
                                  '{"startDate": [["2021-07-01", 5]]}', '{"label": ["A"], "type": [["x", "y"]]}',
                                  '{"label": ["A"], "role": "x"}'])
def test_a_row_a_kb_file_states_that_the_index_did_not_write_is_ignored(kb_copy, text):
    kabulov = KB_BASE + "event/kabulov-taliban-meeting-2021-07"
    before = next(e for e in whole_timeline(kb_copy, True) if e.id == kabulov)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    (kb_copy / "kb" / "bad.ttl").write_text(f'<{kabulov}> <{DIP}timelineRow> "{escaped}" .\n', encoding="utf-8")
    after = next(e for e in whole_timeline(kb_copy, True) if e.id == kabulov)
    assert shown(after) == shown(before) and after.type == before.type and after.date == before.date


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([RDFS_LABEL, DIP + "quote", DIP + "content", DIP + "source"]),
                          st.text(alphabet=st.characters(blacklist_categories=("Cs",)))), max_size=6))
def test_a_rows_text_is_the_standard_librarys_compact_sorted_json(statements):
    # Rows already in an index were written by json.dumps: the same text, whatever the characters.
    row = RowBuilder()
    row.add(RDF_TYPE, NamedNode(DIP + "Meeting"), False)
    for predicate, text in statements:
        row.add(predicate, NamedNode(KB_BASE + "x") if predicate == DIP + "source" else Literal(text), False)
    values = {name: sorted(found) for name, found in row.values.items()} | {"type": ["ontology#Meeting"]}
    assert row.text() == json.dumps(values, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert _decoded(row.text()) == values


EVENT_CLASSES = {DIP + "Meeting", DIP + "Event"}


def _builder(*statements: tuple[str, object]) -> RowBuilder:
    row = RowBuilder()
    for predicate, obj in statements:
        row.add(predicate, obj, False)
    return row


@pytest.mark.parametrize(("statements", "needs_row"), [
    # An event class, whatever else the file states or types it as: a bare, undated event keeps its label.
    ([(RDF_TYPE, NamedNode(DIP + "Meeting")), (RDFS_LABEL, Literal("Talks"))], True),
    ([(RDF_TYPE, NamedNode("http://www.w3.org/ns/prov#Entity")), (RDF_TYPE, NamedNode(DIP + "Meeting")),
      (RDFS_LABEL, Literal("Talks"))], True),
    # Untyped here: what another file's event gains (its label, a source).
    ([(RDFS_LABEL, Literal("Talks, as a second source names them"))], True),
    ([(DIP + "source", NamedNode(KB_BASE + "source/s"))], True),
    # Typed otherwise: only a label is a name (an actor's), anything else a row shows is shown.
    ([(RDF_TYPE, NamedNode(DIP + "State")), (RDFS_LABEL, Literal("Russia"))], False),
    ([(RDF_TYPE, NamedNode(DIP + "State")), (RDFS_LABEL, Literal("Russia")),
      (DIP + "source", NamedNode(KB_BASE + "source/s"))], True),
    ([], False),
])
def test_a_row_is_derived_for_what_a_timeline_can_show(statements, needs_row):
    assert _builder(*statements).is_event_row(EVENT_CLASSES) is needs_row


def test_a_rows_text_does_not_depend_on_the_order_of_its_statements():
    statements = [(RDF_TYPE, NamedNode(DIP + "Meeting")), (RDF_TYPE, NamedNode(DIP + "Visit")),
                  (DIP + "source", NamedNode(KB_BASE + "source/b")), (DIP + "source", NamedNode(KB_BASE + "source/a"))]
    assert _builder(*statements).text() == _builder(*reversed(statements)).text()


def test_a_bare_undated_event_shows_its_label(kb_copy):
    (kb_copy / "kb" / "bare.ttl").write_text(
        f'<{KB_BASE}event/bare> a <{DIP}Meeting> ; <{RDFS_LABEL}> "Talks about talks"@en .\n', encoding="utf-8")
    for index in (True, False):
        (entry,) = [e for e in whole_timeline(kb_copy, index) if e.id == KB_BASE + "event/bare"]
        assert (entry.label, entry.date) == ("Talks about talks", "")
