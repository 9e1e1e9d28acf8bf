"""New sources and actors that `dipkb add` creates with an event, when the KB has none to point to.

A :class:`SourceDraft` becomes ``source:<slug of the title, or of the URL's host and path>-<issued>``
unless the KB already has a source with the same URL (dip:url or schema:url) or the same exact title
(dct:title or rdfs:label, in the draft's language or none, unless that source has another URL), which
is then reused: adding a second event from one article must not make a second copy of the article
(:mod:`dipkb.authoring.known_sources` looks them up).

An :class:`ActorDraft` is only a permission: a participant whose name matches no actor of the KB but
matches the draft's name becomes ``actor:<slug>``; a name that does match an actor of the KB uses that
actor, so listing a known actor never duplicates it. A new actor may act for an actor of the KB
(``dip:actsFor``, so that it shows in that actor's timeline) and hold a position for it, which becomes
a ``dip:Position`` as the KB's own positions are written: a title, the actor it is held for, and the
event's time as the time it is attested at.

Nothing here writes: :mod:`dipkb.authoring.add` puts the blocks made here in the event's own block, which
is validated and appended as one.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from dipkb.authoring.known_sources import KnownSources
from dipkb.authoring.reconcile import ACTOR_NS, Reconciler, compared_name, slug
from dipkb.errors import EventDraftError
from dipkb.model import terms
from dipkb.model.namespaces import DIP, PREFIXES, XSD, curie, expand
from dipkb.model.records import Rejection
from dipkb.model.temporal import DateInputError, DateValue, date_value

SOURCE_NS = PREFIXES["source"]
POSITION_NS = PREFIXES["position"]
SOURCE_KINDS = {"article": DIP + "NewsArticle", "agency": DIP + "AgencyReport", "official": DIP + "OfficialStatement"}
ACTOR_KINDS = ("State", "Person", "Organisation", "GovernmentBody", "ArmedForce", "ArmedGroup", "Delegation",
               "Alliance", "MediaOrganisation")

_UNSAFE_URL = re.compile(r"[\s\x00-\x1f\x7f<>\"]")


@dataclass(frozen=True)
class SourceDraft:
    """A source to create with the event. ``issued`` is YYYY, YYYY-MM or YYYY-MM-DD, kept at that precision."""

    title: str | None = None
    url: str | None = None
    publisher: str | None = None  # written as a dct:publisher literal, as the source names itself
    issued: str | None = None
    kind: str = "article"  # article, agency or official

    @classmethod
    def from_options(cls, *, title: str | None, url: str | None, publisher: str | None, date: str | None,
                     kind: str) -> SourceDraft | None:
        """The draft the --source-* options describe, None when they describe none."""
        if not any((title, url, publisher, date)):
            return None
        return cls(title=title, url=url, publisher=publisher, issued=date, kind=kind)


@dataclass(frozen=True)
class ActorDraft:
    """Permission to create an actor for a participant name that the KB does not know."""

    name: str
    kind: str = "Organisation"  # a local name among ACTOR_KINDS, with or without ``dip:``
    acts_for: str | None = None  # an actor of the KB: IRI, CURIE or name
    position: str | None = None  # the title of a position held for ``acts_for``, as the source words it

    @classmethod
    def parse(cls, text: str) -> ActorDraft:
        """``NAME`` or ``NAME=CLASS``, as --new-actor takes it."""
        name, _, kind = text.partition("=")
        return cls(name=name.strip(), kind=kind.strip() or "Organisation")


def actor_drafts(new_actors: Sequence[str], acts_for: Sequence[str] = (),
                 positions: Sequence[str] = ()) -> tuple[ActorDraft, ...]:
    """The drafts of ``--new-actor NAME[=CLASS]``, ``--acts-for NAME=ACTOR`` and ``--position NAME=TITLE``,
    where NAME is one of the new actors (any case). Raises EventDraftError listing every problem."""
    drafts = {}
    for text in new_actors:
        draft = ActorDraft.parse(text)
        drafts.setdefault(draft.name.lower(), draft)  # a name given twice is reported by ActorPlanner
    problems = attach(drafts, "--acts-for", "acts_for", "NAME=ACTOR", acts_for, "actor", "--new-actor '{}[=CLASS]'") + \
        attach(drafts, "--position", "position", "NAME=TITLE", positions, "actor", "--new-actor '{}[=CLASS]'")
    if problems:
        raise EventDraftError(problems)
    return tuple(drafts[ActorDraft.parse(text).name.lower()] for text in new_actors)


def attach(drafts: dict, option: str, field: str, form: str, values: Sequence[str], noun: str,
           created_by: str) -> list[tuple[str, str]]:
    """Set ``field`` of the new things in ``drafts`` (``noun``s, by lower-cased name) that ``option
    NAME=VALUE`` (``form``) names, in place; the problems, each naming the option ``created_by`` (its
    NAME as {}) that would create a thing of the name."""
    problems = []
    for text in values:
        name, sep, value = (part.strip() for part in text.partition("="))
        if not sep or not name or not value:
            problems.append((f"malformed {option}", f"{text!r} is not {form}"))
        elif name.lower() not in drafts:
            problems.append((f"malformed {option}", f"{name!r} is not one of the new {noun}s: give it with "
                                                    f"{created_by.format(name)} too"))
        elif getattr(drafts[name.lower()], field):
            problems.append((f"malformed {option}", f"{option} is given twice for {name!r}"))
        else:
            drafts[name.lower()] = replace(drafts[name.lower()], **{field: value})
    return problems


@dataclass(frozen=True)
class PlannedSource:
    iri: str
    cls: str
    title: str | None
    url: str | None
    publisher: str | None
    issued: DateValue | None


@dataclass(frozen=True)
class PlannedPosition:
    iri: str
    title: str
    held_for: str


@dataclass(frozen=True)
class PlannedActor:
    iri: str
    name: str
    cls: str
    acts_for: str | None
    position: PlannedPosition | None = None


def short_slug(text: str) -> str:
    """The slug of ``text``, cut after its first words: a headline-long IRI helps nobody, and the
    suffixes that keep IRIs unique are added after it."""
    words = slug(text)
    return words[:61].rsplit("-", 1)[0] if len(words) > 60 else words


class Claims:
    """IRIs taken by the KB (``taken``) or by earlier new resources of the same draft."""

    def __init__(self, taken: Callable[[str], bool]):
        self.taken = taken
        self.claimed: set[str] = set()

    def claim(self, base: str) -> str:
        iri, number = base, 1
        while iri in self.claimed or self.taken(iri):
            number += 1
            iri = f"{base}-{number}"
        self.claimed.add(iri)
        return iri


def parse_url(text: str) -> str:
    """An http(s) URL as given, stripped; Rejection for anything else."""
    url = text.strip()
    try:
        parts = urlsplit(url)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is no number, or a malformed IPv6 host
        usable = False
    if not usable or _UNSAFE_URL.search(url):
        raise Rejection("invalid URL", f"{text!r} is not an http(s) URL such as https://tass.com/politics/1312345")
    return url


def parse_issued(text: str) -> DateValue:
    try:
        return date_value(text)
    except DateInputError as error:
        raise Rejection("invalid date", f"the source's issued {error.detail}") from None


def _url_name(url: str) -> str:
    """``https://www.tass.com/politics/1312345/?page=2`` -> ``tass.com/politics/1312345``, for the source's IRI."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return (host + parts.path).rstrip("/")


def plan_sources(drafts: tuple[SourceDraft, ...], known: KnownSources, language: str, claims: Claims,
                 problems: list[Rejection]) -> tuple[list[str], list[PlannedSource], list[str]]:
    """(IRIs for dip:source, sources to create, KB sources reused); problems are appended to ``problems``.
    ``language`` is the draft's, that of the titles it writes."""
    iris: list[str] = []
    planned: list[PlannedSource] = []
    reused: list[str] = []
    for draft in drafts:
        if not isinstance(draft, SourceDraft):
            problems.append(Rejection("malformed source", f"{draft!r} is not a SourceDraft"))
            continue
        errors_before = len(problems)
        cls = SOURCE_KINDS.get(draft.kind.strip().lower())
        if cls is None:
            problems.append(Rejection("unknown source kind", f"{draft.kind!r} is not one of "
                                      + ", ".join(SOURCE_KINDS)))
        title = (draft.title or "").strip() or None
        url = issued = None
        if draft.url and draft.url.strip():
            try:
                url = parse_url(draft.url)
            except Rejection as rejection:
                problems.append(rejection)
        elif not title:
            problems.append(Rejection("missing field", "a new source needs a title or a URL"))
        if draft.issued and draft.issued.strip():
            try:
                issued = parse_issued(draft.issued)
            except Rejection as rejection:
                problems.append(rejection)
        if len(problems) > errors_before:
            continue
        found = known.reusable(title, url, language)
        if len(found) > 1:
            problems.append(Rejection("ambiguous source", f"'{url or title}' matches {len(found)} sources: "
                                      + ", ".join(sorted(found)) + "; give one of them in sources instead"))
            continue
        if found:
            iris.append(next(iter(found)))
            reused.append(iris[-1])
            continue
        same = next((p for p in planned if (url and p.url == url) or
                     (title and p.title == title and (not url or not p.url))), None)
        if same:  # named twice in one draft: one source, by the same rule as for the KB's sources
            iris.append(same.iri)
            continue
        words = short_slug(title) if title else short_slug(_url_name(url))
        iri = claims.claim(SOURCE_NS + words + (f"-{issued.lexical}" if issued else ""))
        publisher = (draft.publisher or "").strip() or None
        planned.append(PlannedSource(iri, cls, title, url, publisher, issued))
        iris.append(iri)
    return iris, planned, list(dict.fromkeys(reused))


def _actor_class(kind: str) -> str | None:
    wanted = re.sub(r"[\s_-]", "", kind.strip().removeprefix("dip:")).lower()
    return next((DIP + name for name in ACTOR_KINDS if name.lower() == wanted), None)


def new_name(draft: object, cls: type, noun: str, allowed: Container[str], problems: list[Rejection]) -> str | None:
    """The name of ``draft``, a ``cls`` of a new ``noun``; None, with the problem said, for another
    object, a name that is empty, an IRI or unprintable, or one ``allowed`` already has (lower-cased)."""
    if not isinstance(draft, cls):
        problems.append(Rejection(f"malformed {noun}", f"{draft!r} is not of type {cls.__name__}"))
        return None
    name = draft.name.strip()
    if not name or expand(name) is not None or not name.isprintable():
        problems.append(Rejection(f"invalid {noun} name", f"{draft.name!r} is not a name for a new {noun} "
                                  "(an IRI or CURIE must already be in the knowledge base)"))
        return None
    if name.lower() in allowed:
        problems.append(Rejection(f"duplicate {noun}", f"{name!r} is listed twice among the new {noun}s"))
        return None
    return name


class ActorPlanner:
    """Resolves participant names, creating the new actors a draft allows; collects every problem."""

    def __init__(self, drafts: tuple[ActorDraft, ...], reconciler: Reconciler, claims: Claims,
                 problems: list[Rejection], can_declare_actors: bool = True):
        self.reconciler, self.claims = reconciler, claims
        self.can_declare_actors = can_declare_actors
        self.allowed: dict[str, tuple[ActorDraft, str | None, str | None]] = {}  # lower name -> draft, class, actsFor
        self.planned: dict[str, PlannedActor] = {}
        self.reused: list[str] = []
        self.used: set[str] = set()
        for draft in drafts:
            if (name := new_name(draft, ActorDraft, "actor", self.allowed, problems)) is None:
                continue
            cls = _actor_class(draft.kind)
            if cls is None:
                problems.append(Rejection("unknown actor kind",
                                          f"{draft.kind!r} is not one of " + ", ".join(ACTOR_KINDS)))
            if not (draft.acts_for and draft.acts_for.strip()) and draft.position and draft.position.strip():
                # dip:positionFor is required: a title alone says nothing of whom the position serves.
                problems.append(Rejection("missing field", f"new actor {name!r} holds a position but acts for "
                                          f"no one: say for whom (--acts-for '{name}=ACTOR')"))
            self.allowed[name.lower()] = (draft, cls, None)
        # Once every new actor is known: one may act for another that acts for no one (a KB without
        # states had no way to tie its first minister to one).
        for key, (draft, cls, _) in list(self.allowed.items()):
            if draft.acts_for and draft.acts_for.strip():
                self.allowed[key] = (draft, cls, self._acts_for(draft, problems))

    def _acts_for(self, draft: ActorDraft, problems: list[Rejection]) -> str | None:
        text = draft.acts_for or ""
        try:
            return self.reconciler.resolve(text)
        except Rejection as rejection:
            target = self.allowed.get(text.strip().lower())
            if rejection.reason == "unknown actor" and target and not (target[0].acts_for or "").strip():
                return self._new(text.strip().lower())
            problems.append(Rejection(rejection.reason, f"{self._explained(rejection, text)} "
                                      f"(acts for of new actor {draft.name.strip()!r})"))
            return None

    def _new(self, key: str) -> str:
        """The IRI of the new actor ``key`` names (lower-cased), planned on first use."""
        self.used.add(key)
        if key not in self.planned:
            self.planned[key] = self._plan(*self.allowed[key])
        return self.planned[key].iri

    def actor(self, text: str) -> str:
        """The IRI of a participant: an actor of the KB, else a new actor the draft allows; Rejection otherwise."""
        key = text.strip().lower()
        try:
            iri = self.reconciler.resolve(text)
        except Rejection as rejection:
            if rejection.reason != "unknown actor":
                raise
            if key not in self.allowed:
                raise Rejection(rejection.reason, self._explained(rejection, text, creatable=True)) from None
            return self._new(key)
        if key in self.allowed:
            self.used.add(key)
            self.reused.append(iri)
        return iri

    def _plan(self, draft: ActorDraft, cls: str | None, acts_for: str | None) -> PlannedActor:
        name, position = draft.name.strip(), None
        title = (draft.position or "").strip()
        if title and acts_for:
            position = PlannedPosition(self.claims.claim(POSITION_NS + short_slug(f"{name} {title}")), title, acts_for)
        return PlannedActor(self.claims.claim(ACTOR_NS + short_slug(name)), name, cls or DIP + "Actor", acts_for,
                            position)

    def _explained(self, rejection: Rejection, text: str, creatable: bool = False) -> str:
        """The reconciler's "no actor named X", with the KB's actors of a similar name, and for a
        participant how to create it instead."""
        if rejection.reason != "unknown actor":
            return rejection.detail
        detail = rejection.detail
        close = similar_actors(self.reconciler, text)
        if close:
            detail += f", did you mean {' or '.join(close)}?"
        if creatable and self.can_declare_actors and expand(text.strip()) is None:
            detail += f"{'' if close else '.'} To create it{' instead' if close else ''}, add " \
                f"--new-actor {text.strip() + '[=CLASS]'!r}"
        return detail

    def unused(self) -> list[Rejection]:
        """New actors no participant names: creating them unasked, or ignoring them silently, would both surprise."""
        return [Rejection("unused actor", f"new actor {draft.name.strip()!r} is not named by any participant "
                          "or --acts-for")
                for key, (draft, _, _) in self.allowed.items() if key not in self.used]


def similar_actors(reconciler: Reconciler, text: str, count: int = 3) -> list[str]:
    """Up to ``count`` actors of the KB whose label or alternative label is close to ``text`` (difflib's
    ratio), as ``'Label' (curie)``."""
    names = [name for name, iris in reconciler.names.items() if any(i in reconciler.actor_classes for i in iris)]
    found: dict[str, None] = {}
    for name in difflib.get_close_matches(compared_name(text), names, n=count, cutoff=0.6):
        for iri in sorted(i for i in reconciler.names[name] if i in reconciler.actor_classes):
            found.setdefault(f"'{reconciler.label(iri)}' ({curie(iri)})")
    return list(found)[:count]


def source_turtle(source: PlannedSource, language: str) -> str:
    pairs = [("a", terms.term(source.cls))]
    if source.title:
        pairs.append(("dct:title", terms.lang(source.title, language)))
    else:  # the URL itself describes the source exactly, and is no text in a language: a plain literal
        pairs.append(("rdfs:label", terms.string(source.url)))
    if source.url:
        pairs.append(("dip:url", terms.typed(source.url, XSD + "anyURI")))
    if source.publisher:
        pairs.append(("dct:publisher", terms.string(source.publisher)))
    if source.issued:
        pairs.append(("dct:issued", terms.date(source.issued)))
    return terms.block(source.iri, pairs)


def actor_turtle(actor: PlannedActor, language: str, attested: DateValue | None = None) -> str:
    """The new actor's block, and its position's block when it holds one, ``attested`` at the event's time."""
    if actor.position is None:
        return terms.actor(actor.iri, actor.cls, actor.name, language, acts_for=actor.acts_for)
    position = actor.position
    # Imported actors hold no positions, so terms.actor, written for both, has no place for one.
    pairs = [("a", terms.term(actor.cls)), ("rdfs:label", terms.lang(actor.name, language)),
             ("dip:actsFor", terms.term(actor.acts_for)), ("dip:holdsPosition", terms.term(position.iri))]
    held = [("a", "dip:Position"), ("rdfs:label", terms.lang(f"{actor.name}, {position.title}", language)),
            ("dip:positionTitle", terms.lang(position.title, language)),
            ("dip:positionFor", terms.term(position.held_for))]
    if attested:
        held.append(("dip:attestedAt", terms.date(attested)))
    return terms.block(actor.iri, pairs) + "\n" + terms.block(position.iri, held)
