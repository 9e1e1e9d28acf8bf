"""De-duplication by a deterministic identity key, explained in one sentence:

    Two records describe the same event when they have the same dipkb event type, the same
    participants, the same place, the same date and the same modality (and, for statements, the same
    quote, or without one the same content; for a code finer than its type, the same code).

"The same participants" means the same actors in the same roles (speaker A and addressee B is not
speaker B and addressee A), except for meetings and visits, where only the set of actors counts: a
reciprocal pair of rows (A meets B, B meets A; A visits B, B hosts A) is one meeting. The type is the
dipkb class (so CAMEO 042 "make a visit" and 043 "host a visit" meet in dip:Visit), the place is the
reconciled place IRI or none, the date is the literal with its precision ("2019-10-24" is not
"2019-10"). A statement is also told apart by its words, its dip:quote or else its dip:content: two
different things said by one speaker on one day are two statements (coded rows carry neither, and
merge into a statement the KB has without a quote, as into any event). The modality counts: a
claimed troop movement and a denied one are two assertions, neither of which may swallow the other's
sources (a coded row, with none, is an occurrence). Events already in the KB
get the same key from their own triples, so an import merges into them too; the event IRI is derived
from the key, so importing the same rows twice gives the same IRIs.

The code counts where the class is coarser than the code: 0331 "express intent to provide economic
aid" and 0341 "express intent to change leadership" are both dip:ExpressionOfIntent, and the same
actor's two intents on one day are two events, as are 173 "arrest" and 174 "expel". It does not
count where the class says all the code says (the class is a skos:exactMatch of it: CAMEO 0874 is
dip:Retreat), so a coded row still merges into a hand-made event of that class, which has no code;
nor for meetings and visits, whose codes are the sides of one event (042 "make a visit" and 043 "host
a visit"; 040 and 046 between the same pair on one day). A consequence: a GDELT and a PLOVER record of
one intent (036 and AGREE) stay two events. Every record and every code is kept on the event.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import re
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode

from dipkb.authoring.codes import MEETING, CodeBook
from dipkb.model.namespaces import DIP, KB
from dipkb.model.temporal import DateValue
from dipkb.store.kb import KnowledgeBase

EVENT_NS = KB + "event/"
OCCURRED = DIP + "Occurred"
PARTICIPANT = DIP + "participant"


@dataclass(frozen=True)
class IdentityKey:
    event_class: str
    participants: frozenset[tuple[str, str]]  # (role, actor); role "" when only the actor counts
    place: str | None
    date: DateValue
    words: str | None = None  # quoted or paraphrased, whitespace-normalised
    code: str | None = None  # the CAMEO or PLOVER concept, where the class is coarser than it
    modality: str | None = None  # None for dip:Occurred

    def digest(self) -> str:
        parts = [self.event_class, self.place or "", self.date.lexical, self.date.datatype]
        if self.words is not None:  # only then, so that keys of coded events stay as they were
            parts.append("quote " + self.words)  # "quote": the name it had when only quotes counted
        if self.code is not None:  # likewise: events whose class says it all keep their IRIs
            parts.append("code " + self.code)
        if self.modality is not None:  # likewise: what occurred keeps its IRI
            parts.append("modality " + self.modality)
        parts += sorted(f"{role} {actor}" for role, actor in self.participants)
        return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()

    def event_iri(self) -> str:
        """``event:visit-2019-10-24-1f0c9a2b3d``: readable type and date, a digest for the rest."""
        local = re.sub(r"(?<!^)(?=[A-Z])", "-", self.event_class.rsplit("#", 1)[-1]).lower()
        return f"{EVENT_NS}{local}-{self.date.lexical[:10]}-{self.digest()[:10]}"


def identity_key(codebook: CodeBook, event_class: str, roles: tuple[tuple[str, str], ...],
                 place: str | None, date: DateValue, words: str | None = None,
                 concept: str | None = None, modality: str | None = None) -> IdentityKey:
    """``words``: the dip:quote, else the dip:content; ``concept``: the CAMEO or PLOVER concept the
    record was coded with, if any; ``modality``: the dip:modality IRI (none is dip:Occurred)."""
    unordered = codebook.is_a(event_class, MEETING)
    participants = frozenset(("" if unordered else role, actor) for role, actor in roles)
    finer = concept is not None and not unordered and not codebook.is_exact_match(event_class, concept)
    return IdentityKey(event_class, participants, place, date, " ".join(words.split()) if words else None,
                       concept if finer else None, None if modality in (None, OCCURRED) else modality)


_EVENTS = """
SELECT ?e ?class ?place ?role ?actor ?quote ?content ?code ?modality WHERE {
  VALUES ?e { %s } ?e a ?class . ?class skos:inScheme dip:EventTypeScheme .
  OPTIONAL { ?e dip:place|dip:origin ?place }
  OPTIONAL { ?e dip:quote ?quote }
  OPTIONAL { ?e dip:content ?content }
  OPTIONAL { ?e dip:eventCode ?code }
  OPTIONAL { ?e dip:modality ?modality }
  OPTIONAL { ?e ?role ?actor . ?role rdfs:subPropertyOf* dip:participant }
}"""
# A day's events first, then what keys them (_EVENTS): with the date bound in _EVENTS itself, the
# engine planned the query as for every event and kept the day's (6.4 s at a million events, for 37).
_DATED = "SELECT ?e ?date WHERE { ?e dip:date ?date }"
_RECORDS = "SELECT ?r WHERE { ?r a dip:DatasetRecord }"
_RECORDS_OF = "SELECT ?e ?r WHERE { ?e dip:source ?r . ?r a dip:DatasetRecord }"


@dataclass
class _Found:
    classes: set[str]
    places: set[str | None]
    roles: set[tuple[str, str]]
    quotes: set[str | None]
    contents: set[str | None]
    codes: set[str | None]
    modalities: set[str | None]


class ExistingEvents:
    """The events already in the KB (those with a dip:date) by identity key, and its dataset records.
    The keys of a day's events are read when a key of that day is first asked for (2-10 ms at a million
    events, where reading every event's key took an import of twelve rows 135 s)."""

    def __init__(self, kb: KnowledgeBase, codebook: CodeBook):
        self.kb, self.codebook = kb, codebook
        self._days: dict[DateValue, dict[IdentityKey, str]] = {}

    def event_with(self, key: IdentityKey) -> str | None:
        """The KB's event with identity ``key``: the first by IRI, when several have it."""
        if key.date not in self._days:
            self._days[key.date] = self._keys_of_day(key.date)
        return self._days[key.date].get(key)

    def is_record(self, iri: str) -> bool:
        """Whether the KB has the dataset record ``iri`` (imported before)."""
        return iri in self._records

    @functools.cached_property
    def _records(self) -> frozenset[str]:
        # Read once, as IRIs: asked row by row, 35 us a row made a 100,000-row import 3 s slower.
        return frozenset(solution[0].value for solution in self.kb.query(_RECORDS))

    def records_of(self, event: str) -> set[str]:
        """The dataset records the KB's ``event`` cites."""
        return {row["r"].value for row in self.kb.select(_RECORDS_OF, {"e": NamedNode(event)})}

    def _keys_of_day(self, date: DateValue) -> dict[IdentityKey, str]:
        day = Literal(date.lexical, datatype=NamedNode(date.datatype))
        dated = sorted({row["e"].value for row in self.kb.select(_DATED, {"date": day})})
        found: dict[str, _Found] = {}
        for row in self.kb.select_for_each(_EVENTS, dated):
            entry = found.setdefault(row["e"].value, _Found(set(), set(), set(), set(), set(), set(), set()))
            entry.classes.add(row["class"].value)
            entry.places.add(row["place"].value if "place" in row else None)
            entry.quotes.add(row["quote"].value if "quote" in row else None)
            entry.contents.add(row["content"].value if "content" in row else None)
            entry.codes.add(row["code"].value if "code" in row else None)
            entry.modalities.add(row["modality"].value if "modality" in row else None)
            if "role" in row:
                entry.roles.add((row["role"].value, row["actor"].value))
        keys: dict[IdentityKey, str] = {}
        for iri in sorted(found):  # sorted: when two KB events share a key, the choice is stable
            entry = found[iri]
            places = entry.places - {None} or {None}
            # A paraphrase tells two statements apart, but a record without words (a coded row) may
            # still be of the event: an importer's content says only how the row was coded.
            words = entry.quotes - {None} or entry.contents | {None}
            codes = entry.codes - {None} or {None}
            modalities = entry.modalities - {None} or {None}
            roles = _as_stated(entry.roles)
            for cls, place, said, code, modality in itertools.product(entry.classes, places, words, codes, modalities):
                keys.setdefault(identity_key(self.codebook, cls, roles, place, date, said, code, modality), iri)
        return keys


def _as_stated(roles: set[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """An event's roles without the dip:participant the index derives for each actor of another role;
    one stated as such (``dip:participant actor:india``) is the only role of its actor."""
    specific = {actor for role, actor in roles if role != PARTICIPANT}
    return tuple(sorted((role, actor) for role, actor in roles if role != PARTICIPANT or actor not in specific))
