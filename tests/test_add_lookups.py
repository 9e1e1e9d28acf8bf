"""`dipkb add` looks up the sources, names and same-day events a draft needs instead of reading every one
of the KB (40 s at a million events): what it finds is what reading everything found."""
from __future__ import annotations

from dataclasses import replace

import pytest

from dipkb import KnowledgeBase
from dipkb.authoring.add import EventDraft, Vocabulary, add_event, parse_participants, resolve_draft
from dipkb.authoring.codes import CodeBook
from dipkb.authoring.dedup import ExistingEvents, identity_key
from dipkb.authoring.drafts import SourceDraft
from dipkb.authoring.known_sources import KnownSources
from dipkb.authoring.reconcile import Reconciler
from dipkb.errors import EventDraftError
from dipkb.model.namespaces import DIP, KB, XSD
from dipkb.model.records import ActorSpec, Rejection
from dipkb.model.temporal import DateValue
from dipkb.store.layout import KBLayout

pytestmark = pytest.mark.prebuilt_index  # the index is not the point here: built once (conftest)

FOUNDING_TITLE = "Alarmed by India’s lead to revive the northern alliance, Taliban tries to placate Russia"
PREFIXES = ("@prefix dip: <https://w3id.org/dipkb/ontology#> .\n@prefix dct: <http://purl.org/dc/terms/> .\n"
            "@prefix source: <https://w3id.org/dipkb/kb/source/> .\n@prefix place: <https://w3id.org/dipkb/kb/place/> .\n")


def meeting(**fields) -> EventDraft:
    return EventDraft(label="Russia receives the Taliban", event_type="Meeting", date="2021-07-08",
                      participants=parse_participants("host=Russia; visitor=Taliban"), **fields)


@pytest.mark.parametrize("typed", [FOUNDING_TITLE.upper(), FOUNDING_TITLE.lower(), "aLARMED BY india’s LEAD TO "
                                   "REVIVE THE NORTHERN ALLIANCE, TALIBAN TRIES TO PLACATE rUSSIA"])
def test_a_source_is_named_by_its_title_in_any_case(layout, typed):
    # The last spelling is none of the usual casings looked up directly: every title is read for it.
    result = add_event(KnowledgeBase.open(layout=layout), meeting(sources=(typed,)), dry_run=True)
    assert "dip:source source:founding-article" in result.turtle


def test_names_in_no_usual_casing_are_found_by_one_look_up_or_from_every_title(layout):
    # The first such name is looked for by the engine; the next ones in every title, read once.
    known = KnownSources(KnowledgeBase.open(layout=layout))
    names = {"aLARMED by India’s lead to revive the northern alliance, taliban tries to placate RUSSIA":
             KB + "source/founding-article",
             "  tASS report quoting Taliban spokesman Mohammad Sohail SHAHEEN ": KB + "source/tass-shaheen-2021-07",
             "No such headline": None}
    for _ in range(2):
        for name, source in names.items():
            assert known.titled(name, "en") == ({source} if source else set())


def test_text_that_names_no_source_is_an_unknown_source(layout):
    for text in ("source:not a valid iri", "source:nothing-here", "A headline nobody wrote"):
        with pytest.raises(EventDraftError) as caught:
            add_event(KnowledgeBase.open(layout=layout), meeting(sources=(text,)), dry_run=True)
        assert [reason for reason, _ in caught.value.problems] == ["unknown source"]


def write_sources(layout: KBLayout, turtle: str) -> None:
    (layout.kb_dir / "more-sources.ttl").write_text(PREFIXES + turtle, encoding="utf-8")


def test_a_url_written_as_a_plain_string_is_the_same_source(layout):
    write_sources(layout, 'source:plain a dip:NewsArticle ; dct:title "Plain"@en ; dip:url "https://example.org/plain" .\n')
    draft = meeting(new_sources=(SourceDraft(title="Another title", url="https://example.org/plain"),))
    result = add_event(KnowledgeBase.open(layout=layout), draft, dry_run=True)
    assert result.reused_sources == (KB + "source/plain",) and result.created_sources == ()


def test_a_title_is_the_same_source_in_the_drafts_language_only(layout):
    write_sources(layout, 'source:pourparlers a dip:NewsArticle ; dct:title "Pourparlers à Moscou"@fr .\n')
    draft = meeting(new_sources=(SourceDraft(title="Pourparlers à Moscou"),))
    in_english = add_event(KnowledgeBase.open(layout=layout), draft, dry_run=True)
    assert in_english.reused_sources == () and in_english.created_sources != ()
    in_french = add_event(KnowledgeBase.open(layout=layout), EventDraft(**{**vars(draft), "language": "fr"}),
                          dry_run=True)
    assert in_french.reused_sources == (KB + "source/pourparlers",)


def test_a_dataset_record_is_named_but_never_reused(layout):
    write_sources(layout, 'source:record-1 a dip:DatasetRecord ; dct:title "Record one"@en ;\n'
                          '    dip:url "https://example.org/record-1"^^<http://www.w3.org/2001/XMLSchema#anyURI> .\n')
    named = add_event(KnowledgeBase.open(layout=layout), meeting(sources=("record one",)), dry_run=True)
    assert "dip:source source:record-1" in named.turtle
    for new in (SourceDraft(url="https://example.org/record-1"), SourceDraft(title="Record one")):
        result = add_event(KnowledgeBase.open(layout=layout), meeting(new_sources=(new,)), dry_run=True)
        assert result.reused_sources == () and len(result.created_sources) == 1


def test_a_new_dataset_actor_named_like_anything_in_the_kb_is_told_apart(layout):
    kb = KnowledgeBase.open(layout=layout)
    reconciler = Reconciler(kb)
    # An event's label, which is no actor's name: the actor is new, and its label says where it came from.
    taken = reconciler.actor(ActorSpec(name="Taliban delegation visits Moscow"), "icews")
    fresh = reconciler.actor(ActorSpec(name="Nobody Of Note"), "icews")
    assert reconciler.new_actors[taken].label == "Taliban delegation visits Moscow (ICEWS)"
    assert reconciler.new_actors[fresh].label == "Nobody Of Note"
    with pytest.raises(Rejection, match="no actor named"):
        reconciler.resolve("Taliban delegation visits Moscow")
    assert reconciler.resolve("the kremlin") == KB + "actor/russia"  # an alternative label, in any case


def test_an_event_is_found_by_its_identity_on_each_of_its_days(layout):
    # One event dated in two files, on two days; a twin of it on the second day, first by IRI there.
    header = PREFIXES + ("@prefix actor: <https://w3id.org/dipkb/kb/actor/> .\n"
                         "@prefix event: <https://w3id.org/dipkb/kb/event/> .\n"
                         "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n")
    (layout.kb_dir / "day-one.ttl").write_text(header + (
        'event:two-days a dip:Meeting ; dip:host actor:russia ; dip:visitor actor:taliban ;\n'
        '    dip:date "2021-07-08"^^xsd:date .\n'
        'event:a-statement a dip:Statement ; dip:speaker actor:russia ; dip:addressee actor:taliban ;\n'
        '    dip:place place:moscow ; dip:date "2021-07-08"^^xsd:date .\n'), encoding="utf-8")
    (layout.kb_dir / "day-two.ttl").write_text(header + (
        'event:two-days dip:date "2021-07-09"^^xsd:date .\n'
        'event:a-twin a dip:Meeting ; dip:host actor:russia ; dip:visitor actor:taliban ;\n'
        '    dip:date "2021-07-09"^^xsd:date .\n'), encoding="utf-8")
    kb = KnowledgeBase.open(layout=layout)
    codebook = CodeBook(kb)
    existing = ExistingEvents(kb, codebook)

    def found(cls: str, roles: str, day: str, place: str | None = None) -> str | None:
        pairs = tuple((DIP + role, KB + "actor/" + actor) for role, actor in (p.split("=") for p in roles.split()))
        return existing.event_with(identity_key(codebook, DIP + cls, pairs, place and KB + "place/" + place,
                                                DateValue(day, XSD + "date")))

    assert found("Meeting", "host=russia visitor=taliban", "2021-07-08") == KB + "event/two-days"
    assert found("Meeting", "visitor=russia host=taliban", "2021-07-08") == KB + "event/two-days"  # a meeting's sides
    assert found("Meeting", "host=russia visitor=taliban", "2021-07-09") == KB + "event/a-twin"
    assert found("Meeting", "host=russia visitor=taliban", "2021-07-10") is None
    assert found("Statement", "speaker=russia addressee=taliban", "2021-07-08", "moscow") == KB + "event/a-statement"
    assert found("Statement", "speaker=taliban addressee=russia", "2021-07-08", "moscow") is None
    assert found("Statement", "speaker=russia addressee=taliban", "2021-07-08") is None  # no place is another place


def test_the_code_schemes_are_read_only_when_a_code_is_looked_up(layout):
    """The CAMEO and PLOVER concepts were read for every `add` (30 ms of its 50), though a draft typed
    Meeting and its identity key need only the dipkb classes."""
    kb = KnowledgeBase.open(layout=layout)
    vocab = Vocabulary(kb)
    event = resolve_draft(meeting(sources=("source:founding-article",)), vocab)
    identity_key(vocab.codebook, event.cls, event.roles, None, event.day())
    assert event.cls == DIP + "Meeting" and "_schemes" not in vars(vocab.codebook)
    coded = resolve_draft(replace(meeting(sources=("source:founding-article",)), event_type="036"), vocab)
    assert coded.cls == DIP + "ExpressionOfIntent"
    assert "_schemes" in vars(vocab.codebook)
