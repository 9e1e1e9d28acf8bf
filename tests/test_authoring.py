"""`dipkb add` as a library: what is added is what a query on the reopened KB returns; a rejected event
changes nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import kb_snapshot
from pyoxigraph import NamedNode, RdfFormat, Store, parse

from dipkb import KnowledgeBase
from dipkb.authoring.add import EventDraft, Participant, add_event, parse_participants
from dipkb.authoring.drafts import ActorDraft, SourceDraft
from dipkb.errors import EventDraftError
from dipkb.model.namespaces import KB, KB_BASE, curie
from dipkb.store.layout import KBLayout
from dipkb.views.names import resolve_actor

pytestmark = pytest.mark.prebuilt_index  # the index is not the point here: built once (conftest)

REPO = Path(__file__).resolve().parent.parent




def snapshot(layout: KBLayout) -> dict[str, bytes]:
    return kb_snapshot(layout.kb_dir)


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
from dipkb.authoring.add import EventDraft, add_event, parse_participants
from dipkb.store.layout import KBLayout

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


# --- new sources and actors -------------------------------------------------------------------------

ENVOYS = EventDraft(
    label="Kabulov receives the Quetta envoys", event_type="Meeting", date="2021-07-08", place="Moscow",
    participants=parse_participants("host=Kabulov; visitor=Quetta envoys"),
    new_actors=(ActorDraft("Quetta envoys", "Delegation", acts_for="Taliban"),),
    new_sources=(SourceDraft(title='Moscow "welcomes" the Taliban', url="https://example.org/news/2021/07/taliban",
                             publisher="Example Times", issued="2021-07", kind="article"),),
)


def describe(kb: KnowledgeBase, iri: str) -> dict[str, list[str]]:
    """Every property of ``iri`` as a CURIE, with its values: literals as ``value^^datatype`` or ``value@lang``."""
    found: dict[str, list[str]] = {}
    for row in kb.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", {"s": NamedNode(iri)}):
        o = row["o"]
        if getattr(o, "language", None):
            text = f"{o.value}@{o.language}"
        elif hasattr(o, "datatype"):
            text = f"{o.value}^^{curie(o.datatype.value)}"
        else:
            text = curie(o.value)
        found.setdefault(curie(row["p"].value), []).append(text)
    return {p: sorted(v) for p, v in found.items()}


def test_new_sources_are_created_with_every_field_at_their_precision(layout):
    draft = EventDraft(label="Shaheen speaks", event_type="Statement", date="2021-07", content="Talks, not war.",
                       participants=parse_participants("speaker=Mohammad Sohail Shaheen"),
                       new_sources=(SourceDraft(title='Taliban "committed" to talks', url="https://example.org/a?id=7",
                                                publisher="Tass", issued="2021-07", kind="agency"),
                                    SourceDraft(url="https://www.example.org/statements/taliban/", issued="2021",
                                                kind="official")))
    result = add_event(KnowledgeBase.open(layout=layout), draft)
    assert result.written and result.reused_sources == ()
    titled, bare = KB + "source/taliban-committed-to-talks-2021-07", KB + "source/example-org-statements-taliban-2021"
    assert result.created_sources == (titled, bare)
    kb = KnowledgeBase.open(layout=layout)
    assert describe(kb, titled) == {
        "rdf:type": ["dip:AgencyReport"], "dct:title": ['Taliban "committed" to talks@en'],
        "dip:url": ["https://example.org/a?id=7^^xsd:anyURI"], "dct:publisher": ["Tass^^xsd:string"],
        "dct:issued": ["2021-07^^xsd:gYearMonth"]}
    assert describe(kb, bare) == {
        "rdf:type": ["dip:OfficialStatement"],
        "rdfs:label": ["https://www.example.org/statements/taliban/^^xsd:string"],
        "dip:url": ["https://www.example.org/statements/taliban/^^xsd:anyURI"], "dct:issued": ["2021^^xsd:gYear"]}
    sources = kb.select("SELECT ?e ?s WHERE { ?e dip:source ?s }", {"e": NamedNode(result.iri)})
    assert sorted(r["s"].value for r in sources) == sorted([titled, bare])


def test_a_source_the_kb_has_is_reused_by_url_or_exact_title(layout):
    (layout.kb_dir / "more-sources.ttl").write_text(
        "@prefix dip: <https://w3id.org/dipkb/ontology#> .\n@prefix dct: <http://purl.org/dc/terms/> .\n"
        "@prefix schema: <https://schema.org/> .\n"
        "<https://w3id.org/dipkb/kb/source/example-report> a dip:NewsArticle ; dct:title \"Talks in Moscow\"@en ;\n"
        "    schema:url <https://example.org/news/2021/07/taliban> .\n", encoding="utf-8")
    result = add_event(KnowledgeBase.open(layout=layout), ENVOYS)
    assert result.written and result.created_sources == ()
    assert result.reused_sources == (KB + "source/example-report",)
    assert "source:example-report" in result.turtle and "dct:title" not in result.turtle
    # The same URL again, now as the dip:url of a source added with an event, and the exact title of another.
    first = add_event(KnowledgeBase.open(layout=layout), EventDraft(
        label="Shaheen speaks", event_type="Statement", date="2021-07", content="Talks, not war.",
        participants=parse_participants("speaker=Mohammad Sohail Shaheen"),
        new_sources=(SourceDraft(title="Shaheen interview", url="https://example.org/shaheen", issued="2021-07"),)))
    again = add_event(KnowledgeBase.open(layout=layout), EventDraft(
        label="Shaheen speaks again", event_type="Statement", date="2021-07", content="Still talks.",
        participants=parse_participants("speaker=Mohammad Sohail Shaheen"),
        new_sources=(SourceDraft(title="Another headline", url="https://example.org/shaheen"),
                     SourceDraft(title="Alarmed by India’s lead to revive the northern alliance, Taliban tries to "
                                       "placate Russia"))))
    assert again.created_sources == ()
    assert again.reused_sources == first.created_sources + (KB + "source/founding-article",)
    kb = KnowledgeBase.open(layout=layout)
    assert len(kb.select("SELECT ?s WHERE { ?s dip:url \"https://example.org/shaheen\"^^xsd:anyURI }")) == 1


def test_a_title_shared_by_a_page_at_another_url_is_a_new_source(layout):
    first = add_event(KnowledgeBase.open(layout=layout), ENVOYS)
    other = EventDraft(label="Moscow talks", event_type="Meeting", date="2021-07-08",
                       participants=parse_participants("host=Russia; visitor=Taliban"),
                       new_sources=(SourceDraft(title='Moscow "welcomes" the Taliban', url="https://other.example/x",
                                                issued="2021-07"),))
    second = add_event(KnowledgeBase.open(layout=layout), other)
    assert second.reused_sources == ()
    assert second.created_sources == (first.created_sources[0] + "-2",)


@pytest.mark.parametrize("url", ["ftp://example.org/report", "javascript:alert(1)", "example.org/report",
                                 "https://", "https://example.org/a b", "https://example.org:99999/"])
def test_a_url_that_is_not_http_is_refused_and_nothing_is_written(layout, url):
    before = snapshot(layout)
    draft = EventDraft(label="Talks", event_type="Meeting", date="2021-07-08",
                       participants=parse_participants("host=Russia; visitor=Taliban"),
                       new_sources=(SourceDraft(title="Talks", url=url, issued="2021-07"),))
    with pytest.raises(EventDraftError) as caught:
        add_event(KnowledgeBase.open(layout=layout), draft)
    assert caught.value.problems == [("invalid URL", f"'{url}' is not an http(s) URL such as "
                                                     "https://tass.com/politics/1312345")]
    assert snapshot(layout) == before


def test_every_problem_of_new_sources_and_actors_is_reported(layout):
    before = snapshot(layout)
    draft = EventDraft(label="Talks", event_type="Meeting", date="2021-07-08",
                       participants=parse_participants("host=Russia; visitor=Quetta envoys; visitor=Nobody Known"),
                       new_actors=(ActorDraft("Quetta envoys", "Envoys", acts_for="Atlantis"), ActorDraft("Unused")),
                       new_sources=(SourceDraft(publisher="Tass"), SourceDraft(title="Talks", issued="2021-13"),
                                    SourceDraft(title="Talks", kind="blog")))
    with pytest.raises(EventDraftError) as caught:
        add_event(KnowledgeBase.open(layout=layout), draft)
    assert [reason for reason, _ in caught.value.problems] == [
        "unknown actor kind", "unknown actor", "unknown actor", "unused actor", "missing field", "invalid date",
        "unknown source kind"]
    assert "no actor named 'Atlantis' (acts for of new actor 'Quetta envoys')" in str(caught.value)
    assert "no actor named 'Nobody Known'" in str(caught.value)  # not listed among new_actors: still an error
    assert snapshot(layout) == before


def test_a_new_actor_is_created_and_then_resolves(layout):
    result = add_event(KnowledgeBase.open(layout=layout), ENVOYS)
    assert result.written and result.reused_actors == ()
    envoys = KB + "actor/quetta-envoys"
    assert result.created_actors == (envoys,)
    kb = KnowledgeBase.open(layout=layout)
    assert resolve_actor(kb, "quetta ENVOYS") == envoys
    assert describe(kb, envoys) == {"rdf:type": ["dip:Delegation"], "rdfs:label": ["Quetta envoys@en"],
                                    "dip:actsFor": ["actor:taliban"]}
    visitors = kb.select("SELECT ?e ?v WHERE { ?e dip:visitor ?v }", {"e": NamedNode(result.iri)})
    assert [r["v"].value for r in visitors] == [envoys]


def test_a_new_actor_the_kb_already_has_is_reused_not_duplicated(layout):
    draft = EventDraft(label="Talks with the Taliban", event_type="Meeting", date="2021-07-08",
                       participants=parse_participants("host=Russia; visitor=the taliban"),
                       new_actors=(ActorDraft("The Taliban", "ArmedGroup"),), sources=("source:founding-article",))
    result = add_event(KnowledgeBase.open(layout=layout), draft)
    assert result.written and result.created_actors == ()
    assert result.reused_actors == (KB + "actor/taliban",)
    assert "dip:visitor actor:taliban" in result.turtle and "a dip:ArmedGroup" not in result.turtle
    kb = KnowledgeBase.open(layout=layout)
    assert resolve_actor(kb, "Taliban") == KB + "actor/taliban"  # still one actor of that name
    assert len(kb.select("SELECT ?a WHERE { ?a a dip:ArmedGroup }")) == 1


def test_a_dry_run_shows_the_event_its_source_and_its_actor_and_writes_nothing(layout):
    before = snapshot(layout)
    result = add_event(KnowledgeBase.open(layout=layout), ENVOYS, dry_run=True)
    assert result.accepted and not result.written
    assert result.turtle == """@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix actor: <https://w3id.org/dipkb/kb/actor/> .
@prefix event: <https://w3id.org/dipkb/kb/event/> .
@prefix place: <https://w3id.org/dipkb/kb/place/> .
@prefix source: <https://w3id.org/dipkb/kb/source/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

event:kabulov-receives-the-quetta-envoys-2021-07-08
    a dip:Meeting ;
    rdfs:label "Kabulov receives the Quetta envoys"@en ;
    dip:host actor:zamir-kabulov ;
    dip:visitor actor:quetta-envoys ;
    dip:place place:moscow ;
    dip:date "2021-07-08"^^xsd:date ;
    dip:modality dip:Occurred ;
    dip:source source:moscow-welcomes-the-taliban-2021-07 .

source:moscow-welcomes-the-taliban-2021-07
    a dip:NewsArticle ;
    dct:title "Moscow \\"welcomes\\" the Taliban"@en ;
    dip:url "https://example.org/news/2021/07/taliban"^^xsd:anyURI ;
    dct:publisher "Example Times" ;
    dct:issued "2021-07"^^xsd:gYearMonth .

actor:quetta-envoys
    a dip:Delegation ;
    rdfs:label "Quetta envoys"@en ;
    dip:actsFor actor:taliban .
"""
    assert snapshot(layout) == before
    # What the dry run shows is Turtle of its own, declaring every prefix it uses (it declared only those
    # its file lacks), and what a real run appends after the file's declarations.
    shown = {(q.subject, q.predicate, q.object) for q in parse(result.turtle.encode(), format=RdfFormat.TURTLE)}
    appended = add_event(KnowledgeBase.open(layout=layout), ENVOYS).turtle
    assert appended == "@prefix dct: <http://purl.org/dc/terms/> .\n\n" + result.turtle.split("\n\n", 1)[1]
    events = layout.kb_dir / "events-2021.ttl"
    assert shown <= {(q.subject, q.predicate, q.object) for q in parse(events.read_bytes(), format=RdfFormat.TURTLE,
                                                                        base_iri=KB_BASE)}


def test_the_shapes_check_new_sources_with_the_event(layout):
    before = snapshot(layout)
    late = EventDraft(label="Talks", event_type="Meeting", date="2021-08-02",
                      participants=parse_participants("host=Russia; visitor=Taliban"),
                      new_sources=(SourceDraft(title="Talks", issued="2021-07-30"),))
    result = add_event(KnowledgeBase.open(layout=layout), late)
    assert not result.accepted and not result.written
    assert [f.shape.rsplit("#")[-1] for f in result.findings if f.severity.value == "Violation"] == [
        "EventNotAfterSourceShape"]
    assert snapshot(layout) == before


def test_new_iris_taken_by_another_writer_meanwhile_get_a_suffix(layout):
    stale = KnowledgeBase.open(layout=layout)
    (layout.kb_dir / "meanwhile.ttl").write_text(
        "@prefix dip: <https://w3id.org/dipkb/ontology#> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "@prefix dct: <http://purl.org/dc/terms/> .\n@prefix actor: <https://w3id.org/dipkb/kb/actor/> .\n"
        "@prefix source: <https://w3id.org/dipkb/kb/source/> .\n"
        "actor:quetta-envoys a dip:Person ; rdfs:label \"Someone else\"@en .\n"
        "source:moscow-welcomes-the-taliban-2021-07 a dip:NewsArticle ; dct:title \"Another story\"@en .\n",
        encoding="utf-8")
    result = add_event(stale, ENVOYS)
    assert result.written
    assert result.created_actors == (KB + "actor/quetta-envoys-2",)
    assert result.created_sources == (KB + "source/moscow-welcomes-the-taliban-2021-07-2",)
    kb = KnowledgeBase.open(layout=layout)
    assert resolve_actor(kb, "Quetta envoys") == KB + "actor/quetta-envoys-2"
    assert resolve_actor(kb, "Someone else") == KB + "actor/quetta-envoys"


def test_a_table_cell_in_place_of_drafts_is_refused(layout):
    draft = EventDraft(label="Talks", event_type="Meeting", date="2021-07-08", sources=("source:founding-article",),
                       participants=parse_participants("host=Russia; visitor=Taliban"), new_actors="Quetta envoys")
    with pytest.raises(EventDraftError, match="malformed new actors: new_actors must be a list of drafts"):
        add_event(KnowledgeBase.open(layout=layout), draft)
