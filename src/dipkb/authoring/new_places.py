"""Places that `dipkb add` creates with an event (``--new-place``), when the KB has none of the name.

As for a new actor (:mod:`dipkb.authoring.drafts`), a :class:`PlaceDraft` is only a permission: a
``--place``, ``--origin`` or ``--destination`` name that matches no place of the KB but matches the
draft's name becomes ``place:<slug>``, a ``dip:Place`` (or ``dip:Country``) labelled with the name,
in the country the draft names (``dip:inCountry``); a name that matches a place of the KB uses it, so
listing a known place never duplicates it. No point is invented: coordinates are left to the file.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from dipkb.authoring.drafts import Claims, attach, new_name, short_slug
from dipkb.authoring.reconcile import Reconciler
from dipkb.errors import EventDraftError
from dipkb.model import terms
from dipkb.model.namespaces import DIP, PREFIXES, expand
from dipkb.model.records import Rejection

PLACE_NS = PREFIXES["place"]
PLACE_KINDS = ("Place", "Country")


@dataclass(frozen=True)
class PlaceDraft:
    """Permission to create a place for a name of the event's places that the KB does not know."""

    name: str
    kind: str = "Place"  # one of PLACE_KINDS, with or without ``dip:``
    country: str | None = None  # a dip:Country of the KB: IRI, CURIE or name

    @classmethod
    def parse(cls, text: str) -> PlaceDraft:
        """``NAME`` or ``NAME=CLASS``, as --new-place takes it."""
        name, _, kind = text.partition("=")
        return cls(name=name.strip(), kind=kind.strip() or "Place")


def place_drafts(new_places: Sequence[str], in_country: Sequence[str] = ()) -> tuple[PlaceDraft, ...]:
    """The drafts of ``--new-place NAME[=CLASS]`` and ``--in-country NAME=COUNTRY``, where NAME is one
    of the new places (any case). Raises EventDraftError listing every problem."""
    drafts: dict[str, PlaceDraft] = {}
    for text in new_places:
        draft = PlaceDraft.parse(text)
        drafts.setdefault(draft.name.lower(), draft)  # a name given twice is reported by PlacePlanner
    problems = attach(drafts, "--in-country", "country", "NAME=COUNTRY", in_country, "place", "--new-place '{}'")
    if problems:
        raise EventDraftError(problems)
    return tuple(drafts[PlaceDraft.parse(text).name.lower()] for text in new_places)


@dataclass(frozen=True)
class PlannedPlace:
    iri: str
    name: str
    cls: str
    country: str | None


class PlacePlanner:
    """Resolves the event's place names, creating the new places a draft allows; collects every problem.
    ``can_declare``: an unknown place's message says how to declare it with `add` (an imported row
    cannot), else in a file."""

    def __init__(self, drafts: tuple[PlaceDraft, ...], reconciler: Reconciler, claims: Claims,
                 problems: list[Rejection], can_declare: bool = True):
        self.reconciler, self.claims, self.can_declare = reconciler, claims, can_declare
        self.allowed: dict[str, tuple[PlaceDraft, str, str | None]] = {}  # lower name -> draft, class, country
        self.planned: dict[str, PlannedPlace] = {}
        self.reused: list[str] = []  # places of the KB that a draft names
        self.used: set[str] = set()
        for draft in drafts:
            if (name := new_name(draft, PlaceDraft, "place", self.allowed, problems)) is None:
                continue
            kind = next((k for k in PLACE_KINDS if k.lower() == draft.kind.strip().removeprefix("dip:").lower()), None)
            if kind is None:
                problems.append(Rejection("unknown place kind", f"{draft.kind!r} is not one of {', '.join(PLACE_KINDS)}"))
            self.allowed[name.lower()] = (draft, DIP + (kind or "Place"), None)
        # Once every new place is known: a new country may be one (a KB without countries had no way to
        # put its first city in one).
        for key, (draft, cls, _) in list(self.allowed.items()):
            if draft.country and draft.country.strip():
                country = self._country(draft.country, problems, draft.name.strip())
                self.allowed[key] = (draft, cls, country)

    def _country(self, text: str, problems: list[Rejection], of: str) -> str | None:
        """The country ``text`` names: one of the KB, else a new place of class dip:Country."""
        try:
            return self.reconciler.country(text)
        except Rejection as rejection:
            key = text.strip().lower()
            if rejection.reason == "unknown place" and self.allowed.get(key, (None, ""))[1] == DIP + "Country":
                return self._new(key)
            problems.append(Rejection(rejection.reason, f"{rejection.detail} (country of new place {of!r})"))
            return None

    def _new(self, key: str) -> str:
        """The IRI of the new place ``key`` names (lower-cased), planned on first use."""
        self.used.add(key)
        if key not in self.planned:
            draft, cls, country = self.allowed[key]
            self.planned[key] = PlannedPlace(self.claims.claim(PLACE_NS + short_slug(draft.name.strip())),
                                             draft.name.strip(), cls, country)
        return self.planned[key].iri

    def place(self, text: str) -> str:
        """The IRI of a place name: a place of the KB, else a new place the draft allows; Rejection otherwise."""
        key = text.strip().lower()
        if not key:  # its hint would have been to make a place named ''
            raise Rejection("missing place", "an empty name names no place: give a name or an IRI, or leave it out")
        try:
            iri = self.reconciler.resolve(text, kind="place")
        except Rejection as rejection:
            if rejection.reason != "unknown place":
                raise
            if key not in self.allowed:
                raise Rejection(rejection.reason, self._explained(rejection, text)) from None
            return self._new(key)
        if key in self.allowed:  # a place of the KB: used as it is, never made again
            self.used.add(key)
            self.reused.append(iri)
        return iri

    def _explained(self, rejection: Rejection, text: str) -> str:
        """The reconciler's "no place named X", and how to make one: with `add` (a name, not an IRI), or
        described in a file, as Turtle that parses."""
        name = text.strip()
        node = terms.iri_node(expand(name) or "")
        # The name as its label where it is a name (no IRI, no control or direction character to echo).
        shown = name if expand(name) is None and name.isprintable() else "NAME"
        folded = unicodedata.normalize("NFKD", shown).encode("ascii", "ignore").decode().lower()
        subject = terms.iri(node.value) if node else "place:" + (re.sub(r"[^a-z0-9]+", "-", folded).strip("-") or "name")
        in_file = (f"describe it first in a .ttl file of kb/ ({subject} a dip:Place ; rdfs:label {terms.lang(shown)} ; "
                   "dip:inCountry place:COUNTRY .), as `dipkb init --example` shows in kb/places.ttl")
        if self.can_declare and shown != "NAME":
            return f"{rejection.detail}; add --new-place {name!r} (and --in-country '{name}=COUNTRY') to create it, or {in_file}"
        return f"{rejection.detail}; {in_file}"

    def unused(self) -> list[Rejection]:
        """New places no place of the event names: creating them unasked, or ignoring them silently, would both surprise."""
        return [Rejection("unused place", f"new place {draft.name.strip()!r} is not named by --place, --origin, "
                          "--destination or --in-country") for key, (draft, _, _) in self.allowed.items()
                if key not in self.used]


def place_turtle(place: PlannedPlace, language: str) -> str:
    pairs = [("a", terms.term(place.cls)), ("rdfs:label", terms.lang(place.name, language))]
    if place.country:
        pairs.append(("dip:inCountry", terms.term(place.country)))
    return terms.block(place.iri, pairs)
