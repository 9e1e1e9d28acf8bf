"""`dipkb add`: one new event from typed options to Turtle, validated before anything is written.

An :class:`EventDraft` names things the way a user types them (``Meeting``, ``host=actor:russia``,
``visitor=Taliban representatives``, ``2021-07``); :func:`resolve_draft` turns it into IRIs and typed
literals, reporting every problem at once; :func:`add_event` validates the Turtle against the shapes
in the KB's context and only then appends it, under the KB's write lock. The new event gets a readable
IRI, ``event:<slug-of-label>-<date>``, with ``-2``, ``-3``... when that one is taken. Sources and actors
the draft asks to create (:mod:`dipkb.authoring.drafts`) go in the same block, so they are validated and written
with the event or not at all.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import NamedNode

from dipkb.authoring.checking import check_text, violations
from dipkb.authoring.codes import CodeBook
from dipkb.authoring.dedup import EVENT_NS, ExistingEvents, IdentityKey, identity_key
from dipkb.authoring.draft_text import control_characters
from dipkb.authoring.drafts import (ActorDraft, ActorPlanner, Claims, PlannedActor, PlannedSource, SourceDraft,
                                    actor_turtle, plan_sources, short_slug, source_turtle)
from dipkb.authoring.known_sources import KnownSources
from dipkb.authoring.new_places import PlaceDraft, PlacePlanner, PlannedPlace, place_turtle
from dipkb.authoring.reconcile import Reconciler
from dipkb.errors import EventDraftError
from dipkb.model import terms
from dipkb.model.namespaces import DIP, PREFIXES, expand
from dipkb.model.records import Rejection, Scheme
from dipkb.model.temporal import TIME_FIELDS, DateInputError, DateValue, contradictions, date_value
from dipkb.shacl.findings import Finding
from dipkb.store.engine import Dataset
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.writing import FileWrite, joined, missing_prefixes, write_files, write_lock

_ROLES = "SELECT ?p WHERE { ?p rdfs:subPropertyOf* dip:participant }"
_MODALITIES = "SELECT ?m WHERE { ?m a dip:Modality }"


@dataclass(frozen=True)
class Participant:
    role: str  # host, dip:host, moving-force, movingForce...
    actor: str  # an IRI, CURIE, label or alternative label


def parse_participants(text: str) -> tuple[Participant, ...]:
    """``host=actor:russia; visitor=Taliban representatives`` -> two participants. Raises EventDraftError."""
    found, problems = [], []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        role, sep, actor = part.partition("=")
        if not sep or not role.strip() or not actor.strip():
            problems.append(("malformed participants", f"{part!r} is not role=actor"))
        else:
            found.append(Participant(role.strip(), actor.strip()))
    if problems:
        raise EventDraftError(problems)
    return tuple(found)


@dataclass(frozen=True)
class EventDraft:
    """An event as a user describes it. Dates are YYYY, YYYY-MM, YYYY-MM-DD or an xsd:dateTime."""

    label: str
    event_type: str  # a dipkb class (Meeting, dip:Visit, "troop movement"), a CAMEO code or a PLOVER type
    participants: tuple[Participant, ...] = ()
    sources: tuple[str, ...] = ()  # IRIs, CURIEs or titles of dip:Source resources of the KB
    date: str | None = None
    start: str | None = None
    end: str | None = None
    earliest: str | None = None
    latest: str | None = None
    place: str | None = None
    origin: str | None = None
    destination: str | None = None
    modality: str = "occurred"
    quote: str | None = None
    content: str | None = None
    purpose: str | None = None
    time_expression: str | None = None
    note: str | None = None
    language: str = "en"
    new_sources: tuple[SourceDraft, ...] = ()  # sources to create, or to reuse when the KB has them
    new_actors: tuple[ActorDraft, ...] = ()  # participant names that may become new actors
    new_places: tuple[PlaceDraft, ...] = ()  # place, origin or destination names that may become new places


@dataclass(frozen=True)
class ResolvedEvent:
    """A draft with every name turned into an IRI and every date into a typed literal."""

    draft: EventDraft
    cls: str
    roles: tuple[tuple[str, str], ...]
    places: tuple[tuple[str, str], ...]  # (place, origin or destination property local name, IRI)
    times: tuple[tuple[str, DateValue], ...]
    modality: str
    sources: tuple[str, ...]  # existing, reused and new ones
    codes: tuple[str, ...] = ()
    new_sources: tuple[PlannedSource, ...] = ()
    new_actors: tuple[PlannedActor, ...] = ()
    reused_sources: tuple[str, ...] = ()  # KB sources a SourceDraft matched by URL or title
    reused_actors: tuple[str, ...] = ()  # KB actors an ActorDraft named
    new_places: tuple[PlannedPlace, ...] = ()
    reused_places: tuple[str, ...] = ()  # KB places a PlaceDraft named

    def first_time(self) -> DateValue | None:
        return self.times[0][1] if self.times else None

    def day(self) -> DateValue | None:
        """The dip:date, which is what the identity key compares."""
        return next((value for prop, value in self.times if prop == "date"), None)


def event_key(codebook: CodeBook, event: ResolvedEvent) -> IdentityKey | None:
    """The identity key of an event with a dip:date (:mod:`dipkb.authoring.dedup`), else None."""
    if not event.day():
        return None
    place = next((p for prop, p in event.places if prop == "place"), None)
    return identity_key(codebook, event.cls, event.roles, place, event.day(), event.draft.quote or event.draft.content,
                        modality=event.modality)


class Vocabulary:
    """What drafts are resolved against, read from the KB once: classes, roles, modalities, actors,
    places and sources."""

    def __init__(self, kb: KnowledgeBase, codebook: CodeBook | None = None, reconciler: Reconciler | None = None):
        self.kb = kb
        self.codebook = codebook or CodeBook(kb)
        self.reconciler = reconciler or Reconciler(kb)
        self.roles = {_squash(row["p"].value.rsplit("#", 1)[-1]): row["p"].value for row in kb.select(_ROLES)}
        self.modalities = {row["m"].value.rsplit("#", 1)[-1].lower(): row["m"].value for row in kb.select(_MODALITIES)}
        self.known_sources = KnownSources(kb)


def _squash(name: str) -> str:
    return re.sub(r"[\s_-]", "", name.removeprefix("dip:")).lower()


def _time(text: str) -> DateValue:
    try:
        return date_value(text, instants=True)
    except DateInputError as error:
        raise Rejection("invalid date", error.detail) from None


def _event_type(text: str, vocab: Vocabulary) -> tuple[str, tuple[str, ...]]:
    cleaned = text.strip()
    for candidate in (expand(cleaned), DIP + cleaned.removeprefix("dip:")):
        if candidate and vocab.codebook.is_event_class(candidate):
            return candidate, ()
    by_name = [c for c, label in vocab.codebook.class_labels.items()
               if _squash(label) == _squash(cleaned) or _squash(c.rsplit("#", 1)[-1]) == _squash(cleaned)]
    if len(by_name) == 1:
        return by_name[0], ()
    scheme = Scheme.CAMEO if cleaned.isdigit() else Scheme.PLOVER
    try:
        match = vocab.codebook.match(scheme, cleaned.upper())
    except Rejection:
        raise Rejection("unknown event type", f"{text!r} is not a dipkb event class (Meeting, Statement, "
                        "TroopMovement...), a CAMEO code or a PLOVER type") from None
    return match.event_class, (match.concept.iri,)


def _source(text: str, vocab: Vocabulary, language: str) -> str:
    iri = expand(text.strip())
    if iri and vocab.known_sources.is_source(iri):
        return iri
    titled = vocab.known_sources.titled(text, language) if text.strip() else frozenset()
    if len(titled) == 1:
        return next(iter(titled))
    raise Rejection("unknown source", f"no source {text!r} in the knowledge base (give the IRI of a dip:Source, "
                    "e.g. source:founding-article)")


def resolve_draft(draft: EventDraft, vocab: Vocabulary, taken: Callable[[str], bool] | None = None, *,
                  can_declare_actors: bool = True) -> ResolvedEvent:
    """Resolve every name and date of ``draft``; raises EventDraftError listing every problem. New sources,
    actors and places get IRIs for which ``taken`` (by default: used in the KB) is false. ``can_declare_actors``:
    an unknown actor's or place's message says how to declare it (``add --new-actor``, ``--new-place``;
    an imported row cannot)."""
    problems: list[Rejection] = []
    claims = Claims(taken or (lambda iri: in_kb(vocab.kb, iri)))

    def attempt(function, *args):
        try:
            return function(*args)
        except Rejection as rejection:
            problems.append(rejection)
            return None

    if not draft.label.strip():
        problems.append(Rejection("missing field", "an event needs a label"))
    elif len(draft.label.strip().splitlines()) > 1:  # a spreadsheet cell with a line break in it
        problems.append(Rejection("label on several lines", "an event's label is a one-line headline; put the "
                                  "rest in content or note"))
    problems += [Rejection("control character", f"{field.replace('_', ' ')} holds the control character {char}: "
                           "remove it") for field, char in dict(control_characters(draft)).items()]
    if not terms.is_language_tag(draft.language):
        problems.append(Rejection("invalid language", f"{draft.language!r} is not a language tag such as en, fr "
                                  "or zh-Hans"))
    cls, codes = attempt(_event_type, draft.event_type, vocab) or (None, ())
    planner = ActorPlanner(_listed(draft, "new_actors", problems), vocab.reconciler, claims, problems,
                           can_declare_actors)
    roles = []
    for participant in draft.participants:
        role = vocab.roles.get(_squash(participant.role))
        if role is None:
            problems.append(Rejection("unknown role", f"{participant.role!r} is not a role; use one of "
                                      + ", ".join(sorted(r.rsplit('#', 1)[-1] for r in vocab.roles.values()))))
        actor = attempt(planner.actor, participant.actor)
        if role and actor and (role, actor) not in roles:
            roles.append((role, actor))
    place_planner = PlacePlanner(_listed(draft, "new_places", problems), vocab.reconciler, claims, problems,
                                 can_declare_actors)
    places = []
    for prop in ("place", "origin", "destination"):
        text = getattr(draft, prop)
        if text:
            place = attempt(place_planner.place, text)
            if place:
                places.append((prop, place))
    times = []
    for prop, name in TIME_FIELDS.items():
        text = getattr(draft, name)
        if text:
            value = attempt(_time, text)
            if value:
                times.append((prop, value))
    if not any((getattr(draft, name) or "").strip() for name in TIME_FIELDS.values()):  # said here, not by the shapes
        problems.append(Rejection("missing time", "an event needs a time: a date, a start or an end, or an earliest "
                                  "or latest bound (the source's publication month as the latest will do)"))
    problems += [Rejection("contradictory times", text) for text in contradictions(dict(times))]
    modality = vocab.modalities.get(draft.modality.strip().lower().removeprefix("dip:"))
    if modality is None:
        problems.append(Rejection("unknown modality", f"{draft.modality!r} is not one of "
                                  + ", ".join(sorted(vocab.modalities))))
    problems += planner.unused() + place_planner.unused()
    sources = [s for s in (attempt(_source, text, vocab, draft.language) for text in draft.sources) if s]
    more, planned, reused = plan_sources(_listed(draft, "new_sources", problems), vocab.known_sources,
                                         draft.language, claims, problems)
    if not draft.sources and not draft.new_sources:
        problems.append(Rejection("missing source", "an event needs at least one source"))
    if problems:
        raise EventDraftError([(p.reason, p.detail) for p in problems])
    return ResolvedEvent(draft, cls, tuple(roles), tuple(places), tuple(times), modality,
                         tuple(dict.fromkeys(sources + more)), codes, tuple(planned), tuple(planner.planned.values()),
                         tuple(reused), tuple(dict.fromkeys(planner.reused)), tuple(place_planner.planned.values()),
                         tuple(dict.fromkeys(place_planner.reused)))


def _listed(draft: EventDraft, name: str, problems: list[Rejection]) -> tuple:
    value = getattr(draft, name)
    if isinstance(value, (tuple, list)):
        return tuple(value)
    # A table importer that copies cells into EventDraft fields would pass a string, read letter by letter.
    problems.append(Rejection(f"malformed {name.replace('_', ' ')}", f"{name} must be a list of drafts, not {value!r}"))
    return ()


def event_turtle(event: ResolvedEvent, iri: str) -> str:
    """The Turtle block of a resolved event, without prefix declarations."""
    draft, tag = event.draft, event.draft.language
    pairs = [("a", terms.term(event.cls)), ("rdfs:label", terms.lang(draft.label.strip(), tag))]
    pairs += [(terms.term(role), terms.term(actor)) for role, actor in event.roles]
    pairs += [(f"dip:{prop}", terms.term(place)) for prop, place in event.places]
    pairs += [(f"dip:{prop}", terms.date(value)) for prop, value in event.times]
    for prop in ("quote", "content", "purpose"):
        if getattr(draft, prop):
            pairs.append((f"dip:{prop}", terms.lang(getattr(draft, prop).strip(), tag)))
    if draft.time_expression:
        pairs.append(("dip:timeExpression", terms.lang(draft.time_expression.strip(), tag)))
    pairs.append(("dip:modality", terms.term(event.modality)))
    pairs += [("dip:eventCode", terms.term(code)) for code in event.codes]
    if draft.note:
        pairs.append(("dip:note", terms.lang(draft.note.strip(), tag)))
    pairs += [("dip:source", terms.term(source)) for source in event.sources]
    return terms.block(iri, pairs)


def draft_turtle(event: ResolvedEvent, iri: str) -> str:
    """The event's block followed by the blocks of the sources, actors and places it creates."""
    tag = event.draft.language
    # A new actor's position is attested when the event shows it held; bounds alone do not say when.
    attested = next((value for prop, value in event.times if prop in ("date", "startDate")), None)
    blocks = [event_turtle(event, iri)] + [source_turtle(s, tag) for s in event.new_sources] + \
        [actor_turtle(a, tag, attested) for a in event.new_actors] + [place_turtle(p, tag) for p in event.new_places]
    return "\n".join(blocks)


def iri_for(event: ResolvedEvent, taken) -> str:
    """``event:<slug-of-label>-<date>``, or with ``-2``, ``-3``... while ``taken(iri)`` says it exists."""
    when = event.first_time()
    base = f"{EVENT_NS}{short_slug(event.draft.label)}" + (f"-{when.lexical[:10]}" if when else "")
    iri, number = base, 1
    while taken(iri):
        number += 1
        iri = f"{base}-{number}"
    return iri


_NAMED = "ASK { { ?iri ?p ?o } UNION { ?s ?p ?iri } }"


def in_kb(kb: KnowledgeBase, iri: str) -> bool:
    """Whether the KB names ``iri`` as a subject or an object, in any graph. Our own query: no guard."""
    return bool(kb.engine.ask(_NAMED, {"iri": NamedNode(iri)}, Dataset()))


def used_prefixes(text: str) -> dict[str, str]:
    return {name: PREFIXES[name] for name in terms.STREAM_PREFIXES if re.search(rf"(?<![\w:/#-]){name}:", text)}


def default_target(layout: KBLayout, event: ResolvedEvent) -> Path:
    """``kb/events-<year>.ttl`` for the year of the event's first time, as the KB's files are split."""
    when = event.first_time()
    return layout.kb_dir / (f"events-{when.lexical[:4]}.ttl" if when else "events-undated.ttl")


@dataclass
class AddResult:
    iri: str
    turtle: str  # what is appended, with the prefixes the file lacks; for a dry run, with every prefix it uses
    target: Path
    findings: list[Finding] = field(default_factory=list)  # violations and warnings about the new event
    written: bool = False
    same_as: str | None = None  # an event of the KB with the same identity key, if any
    created_sources: tuple[str, ...] = ()  # IRIs of the sources the block creates
    created_actors: tuple[str, ...] = ()
    created_places: tuple[str, ...] = ()
    reused_sources: tuple[str, ...] = ()  # KB sources used instead of a SourceDraft that matched them
    reused_actors: tuple[str, ...] = ()  # KB actors used instead of an ActorDraft that named them
    reused_places: tuple[str, ...] = ()  # KB places used instead of a PlaceDraft that named them

    @property
    def accepted(self) -> bool:
        return not violations(self.findings)


def add_event(kb: KnowledgeBase, draft: EventDraft, *, into: Path | None = None, dry_run: bool = False,
              timeout: float = 60.0) -> AddResult:
    """Build, validate and (unless ``dry_run`` or rejected) append one event. Raises EventDraftError for
    names and dates that do not resolve; returns findings, with nothing written, when the shapes object."""
    vocab = Vocabulary(kb)
    event = resolve_draft(draft, vocab)
    target = Path(into).resolve() if into else default_target(kb.layout, event)
    if not kb.layout.is_turtle_target(target):
        raise EventDraftError([("bad target", f"{target} is not a .ttl file the KB reads: give one inside "
                                              f"{kb.layout.kb_dir}, not hidden")])
    iri = iri_for(event, lambda candidate: in_kb(kb, candidate))
    block = draft_turtle(event, iri)
    findings = check_text(kb, terms.prefix_block() + block, sample=False)
    key = event_key(vocab.codebook, event)
    same_as = ExistingEvents(kb, vocab.codebook).event_with(key) if key else None
    result = AddResult(iri, block, target, findings, same_as=same_as)
    _describe(result, event)
    if dry_run or not result.accepted:
        # Read on its own, not after the file's declarations: every prefix it uses is declared.
        declarations = terms.prefix_block(used_prefixes(block))
        result.turtle = joined(declarations, block) if declarations else block
        return result
    with write_lock(kb.layout, timeout):
        # Another writer may have taken an IRI since the KB was opened: ask the KB as it is now, opened
        # again under the lock. Its index refresh reads only the files changed since the last one.
        with KnowledgeBase.open(layout=kb.layout, index=kb.index is not None, progress=False) as now:
            def taken(candidate: str) -> bool:
                return in_kb(now, candidate)

            created = [iri] + [s.iri for s in event.new_sources] + [a.iri for a in event.new_actors] + \
                [a.position.iri for a in event.new_actors if a.position] + [p.iri for p in event.new_places]
            if any(map(taken, created)):
                # Resolved again against the KB as it is now: a parallel add of the same new actor or
                # source wrote it meanwhile, and is then reused rather than made again as actor:x-2.
                event = resolve_draft(draft, Vocabulary(now, vocab.codebook), taken)
                iri = iri_for(event, taken)
                block = draft_turtle(event, iri)
                _describe(result, event)
        result.iri, result.turtle = iri, _with_prefixes(target, block)
        write_files(kb.layout, [FileWrite(target, result.turtle)], lock=False)
    result.written = True
    return result


def _describe(result: AddResult, event: ResolvedEvent) -> None:
    result.created_sources = tuple(s.iri for s in event.new_sources)
    result.created_actors = tuple(a.iri for a in event.new_actors)
    result.created_places = tuple(p.iri for p in event.new_places)
    result.reused_sources, result.reused_actors = event.reused_sources, event.reused_actors
    result.reused_places = event.reused_places


def _with_prefixes(target: Path, block: str) -> str:
    existing = target.read_text(encoding="utf-8") if target.exists() else ""
    needed = missing_prefixes(existing, used_prefixes(block))
    declarations = "".join(f"@prefix {name}: <{ns}> .\n" for name, ns in needed.items())
    return joined(declarations, block) if declarations else block

