"""`dipkb add` as a library: what is added is what a query on the reopened KB returns; a rejected event
changes nothing."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, RdfFormat, Store

from dipkb import KnowledgeBase
from dipkb.authoring import EventDraft, Participant, add_event, parse_participants
from dipkb.errors import EventDraftError
from dipkb.layout import KBLayout
from dipkb.namespaces import KB

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def layout(tmp_path: Path) -> KBLayout:
    shutil.copytree(REPO / "kb", tmp_path / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    return KBLayout.locate(tmp_path)


def snapshot(layout: KBLayout) -> dict[str, bytes]:
    return {str(p.relative_to(layout.kb_dir)): p.read_bytes() for p in sorted(layout.kb_dir.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(layout.kb_dir).parts)}


SHAHEEN = EventDraft(
    label="Shaheen says the Taliban remain committed to a political settlement",
    event_type="Statement",
    participants=parse_participants("speaker=Mohammad Sohail Shaheen"),
    sources=("source:tass-shaheen-2021-07", "source:founding-article"),
    date="2021-07",
    content="The insurgents remain committed to a peaceful political settlement in Afghanistan.",
    time_expression="this week",
)


def test_parse_participants():
    assert parse_participants("host=actor:russia; visitor=Taliban representatives;") == (
        Participant("host", "actor:russia"), Participant("visitor", "Taliban representatives"))
    with pytest.raises(EventDraftError, match="'visitor' is not role=actor"):
        parse_participants("host=actor:russia; visitor")


def test_what_is_added_is_what_a_query_returns(layout):
    result = add_event(KnowledgeBase.open(layout=layout), SHAHEEN)
    assert result.written and result.accepted
    assert result.iri == KB + "event/shaheen-says-the-taliban-remain-committed-to-a-political-2021-07"
    assert result.target == layout.kb_dir / "events-2021.ttl"
    kb = KnowledgeBase.open(layout=layout)
    rows = kb.select("""SELECT ?e ?class ?label ?speaker ?date ?content ?expression ?modality WHERE {
        ?e a ?class ; rdfs:label ?label ; dip:speaker ?speaker ; dip:date ?date ; dip:content ?content ;
           dip:timeExpression ?expression ; dip:modality ?modality }""", {"e": NamedNode(result.iri)})
    assert [{k: v.value for k, v in row.items() if k != "e"} for row in rows] == [{
        "class": "https://w3id.org/dipkb/ontology#Statement", "label": SHAHEEN.label,
        "speaker": KB + "actor/mohammad-sohail-shaheen", "date": "2021-07", "content": SHAHEEN.content,
        "expression": "this week", "modality": "https://w3id.org/dipkb/ontology#Occurred"}]
    assert rows[0]["date"].datatype.value.endswith("#gYearMonth")  # the month, not a padded day
    sources = kb.select("SELECT ?e ?s WHERE { ?e dip:source ?s }", {"e": NamedNode(result.iri)})
    assert sorted(r["s"].value for r in sources) == [KB + "source/founding-article", KB + "source/tass-shaheen-2021-07"]


def test_the_appended_file_needs_no_new_prefixes_and_still_parses(layout):
    target = layout.kb_dir / "events-2021.ttl"
    before = target.read_text(encoding="utf-8")
    result = add_event(KnowledgeBase.open(layout=layout), SHAHEEN)
    after = target.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n") + "\n\nevent:shaheen-says-")
    assert "@prefix" not in after[len(before):]  # events-2021.ttl binds every prefix the event uses
    Store().load(path=str(target), format=RdfFormat.TURTLE)
    assert result.turtle == after[len(before.rstrip("\n")) + 2:]


def test_the_same_label_and_date_get_a_suffix(layout):
    first = add_event(KnowledgeBase.open(layout=layout), SHAHEEN)
    second = add_event(KnowledgeBase.open(layout=layout), SHAHEEN)
    assert second.iri == first.iri + "-2"
    assert second.same_as == first.iri  # and the caller is told it looks like the same event


def test_a_dry_run_writes_nothing(layout):
    before = snapshot(layout)
    result = add_event(KnowledgeBase.open(layout=layout), SHAHEEN, dry_run=True)
    assert result.accepted and not result.written
    assert "dip:speaker actor:mohammad-sohail-shaheen" in result.turtle
    assert snapshot(layout) == before


def test_an_event_the_shapes_reject_is_not_written(layout):
    before = snapshot(layout)
    lonely = EventDraft(label="Kabulov meets nobody", event_type="Meeting", participants=(Participant("host", "Kabulov"),),
                        sources=("source:founding-article",), date="2021-07")
    result = add_event(KnowledgeBase.open(layout=layout), lonely)
    assert not result.accepted and not result.written
    assert [f.shape.rsplit("#")[-1] for f in result.findings if f.severity.value == "Violation"] == [
        "MeetingParticipantsShape"]
    assert snapshot(layout) == before


def test_every_problem_of_a_draft_is_reported_at_once(layout):
    before = snapshot(layout)
    draft = EventDraft(label="", event_type="Meating", participants=(Participant("guest", "Nobody Known"),),
                       date="2021-02-31", place="Atlantis", modality="rumoured")
    with pytest.raises(EventDraftError) as caught:
        add_event(KnowledgeBase.open(layout=layout), draft)
    assert [reason for reason, _ in caught.value.problems] == [
        "missing field", "unknown event type", "unknown role", "unknown actor", "unknown place", "invalid date",
        "unknown modality", "missing source"]
    assert snapshot(layout) == before


def test_an_ambiguous_name_is_refused(layout):
    (layout.kb_dir / "more-actors.ttl").write_text(
        "@prefix dip: <https://w3id.org/dipkb/ontology#> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<https://w3id.org/dipkb/kb/actor/kabulov-namesake> a dip:Person ; rdfs:label \"Kabulov\"@en .\n",
        encoding="utf-8")
    draft = EventDraft(label="Talks", event_type="Meeting", participants=parse_participants("host=Kabulov; visitor=India"),
                       sources=("source:founding-article",), date="2021-07")
    with pytest.raises(EventDraftError, match="'Kabulov' names 2 actors"):
        add_event(KnowledgeBase.open(layout=layout), draft)


def test_a_cameo_code_as_type_gives_the_class_and_the_code(layout):
    draft = EventDraft(label="India and Russia consult", event_type="040", sources=("source:founding-article",),
                       participants=parse_participants("attendee=India; attendee=Russia"), date="2021-07-08",
                       place="place:moscow")
    result = add_event(KnowledgeBase.open(layout=layout), draft, into=layout.kb_dir / "added.ttl")
    assert result.written and result.target == layout.kb_dir / "added.ttl"
    assert "a dip:Meeting" in result.turtle and "dip:eventCode cameo:040" in result.turtle
    assert result.turtle.startswith("@prefix dip:")  # a new file declares what it uses
    kb = KnowledgeBase.open(layout=layout)
    assert kb.select("SELECT ?e WHERE { ?e dip:eventCode cameo:040 ; dip:date ?d }")[0]["e"].value == result.iri


ADDER = """
import sys
from dipkb import KnowledgeBase
from dipkb.authoring import EventDraft, add_event, parse_participants
from dipkb.layout import KBLayout
layout = KBLayout.locate(sys.argv[1])
draft = EventDraft(label="Concurrent talks", event_type="Meeting", date="2021-07-08", place="Moscow",
                   participants=parse_participants("attendee=India; attendee=Russia"),
                   sources=("source:founding-article",), content=sys.argv[2])
for _ in range(4):
    # Each writer loads the KB before the other's events land, so both pick the same IRI first.
    assert add_event(KnowledgeBase.open(layout=layout, index=False), draft).written
"""


def test_two_concurrent_writers_both_land_with_their_own_iris(layout):
    script = layout.root / "adder.py"
    script.write_text(ADDER, encoding="utf-8")
    writers = [subprocess.Popen([sys.executable, str(script), str(layout.root), name]) for name in ("left", "right")]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    kb = KnowledgeBase.open(layout=layout)
    rows = kb.select("SELECT ?e ?c WHERE { ?e rdfs:label \"Concurrent talks\"@en ; dip:content ?c }")
    assert sorted(r["c"].value for r in rows) == ["left"] * 4 + ["right"] * 4
    base = KB + "event/concurrent-talks-2021-07-08"
    assert {r["e"].value for r in rows} == {base} | {f"{base}-{n}" for n in range(2, 9)}
