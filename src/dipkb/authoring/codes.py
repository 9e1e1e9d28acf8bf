"""CAMEO and PLOVER codes: check a code against the schemes in ontology/ and find its dipkb class.

The class comes from the mappings in event-types.ttl, read through the scheme's hierarchy:
the nearest ancestor-or-self CAMEO code that a dipkb class skos:exactMatches wins; only when no code
on the way up has an exact match is the same walk repeated for skos:closeMatch. So 0874 is a
dip:Retreat (exact), 062 a dip:MaterialCooperation (its root 06 is an exact match, which beats 062's
close match to dip:AllianceFormation), 042 a dip:Visit (close, no exact match up the chain).

PLOVER types are flat, and several dipkb classes closely match one type (CONSULT: Meeting and Visit),
so ties are broken, in order: a class whose CAMEO matches carry the record's PLOVER mode (CONSULT with
mode "visit" is a Visit); a class that exactly matches a CAMEO root (one class per root exists for
coded data: AGREE is an ExpressionOfIntent); a class with any exact CAMEO match; the most general
class; the first IRI. Deprecated PLOVER 0.5 types (DEMAND, DISAPPROVE...) follow dct:isReplacedBy.
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field

from dipkb.model.namespaces import DIP
from dipkb.model.records import Rejection, Scheme
from dipkb.store.kb import KnowledgeBase

CAMEO_NS = "https://w3id.org/dipkb/cameo/"
PLOVER_NS = "https://w3id.org/dipkb/plover/"
PMODE_NS = "https://w3id.org/dipkb/plover/mode/"
_CAMEO_CODE = re.compile(r"^[0-9]{2,4}$")
_PLOVER_TYPE = re.compile(r"^[A-Z][A-Z_]*$")
_NOT_EVENTS = {"DOCUMENT"}  # PLOVER records that document the file rather than code an event

_CONCEPTS = """
SELECT ?c ?scheme ?notation ?label ?broader ?mode ?replacedBy WHERE {
  VALUES ?scheme { <https://w3id.org/dipkb/cameo/scheme> <https://w3id.org/dipkb/plover/scheme> }
  ?c skos:inScheme ?scheme ; skos:notation ?notation .
  OPTIONAL { ?c skos:prefLabel ?label }
  OPTIONAL { ?c skos:broader ?broader }
  OPTIONAL { ?c dip:ploverMode ?mode }
  OPTIONAL { ?c dct:isReplacedBy ?replacedBy }
}"""
_CLASSES = """
SELECT ?class ?label ?parent WHERE {
  ?class skos:inScheme dip:EventTypeScheme .
  OPTIONAL { ?class rdfs:label ?label }
  OPTIONAL { ?class rdfs:subClassOf ?parent . ?parent skos:inScheme dip:EventTypeScheme }
}"""
_MATCHES = """
SELECT ?class ?relation ?concept WHERE {
  ?class skos:inScheme dip:EventTypeScheme ; ?relation ?concept .
  VALUES ?relation { skos:exactMatch skos:closeMatch }
}"""
_EXACT, _CLOSE = "http://www.w3.org/2004/02/skos/core#exactMatch", "http://www.w3.org/2004/02/skos/core#closeMatch"


@dataclass(frozen=True)
class Concept:
    iri: str
    scheme: Scheme
    notation: str
    label: str

    def describe(self) -> str:
        """How the content of a coded event names its code: ``CAMEO 036 (Express intent to meet ...)``."""
        if self.scheme is Scheme.PLOVER:
            return f"PLOVER {self.notation}"
        return f"CAMEO {self.notation} ({self.label})"


@dataclass(frozen=True)
class CodeMatch:
    concept: Concept
    event_class: str


@dataclass
class _Schemes:
    """The concepts of the CAMEO and PLOVER schemes, by IRI and by (scheme, notation)."""
    concepts: dict[str, Concept] = field(default_factory=dict)
    by_notation: dict[tuple[Scheme, str], Concept] = field(default_factory=dict)
    broader: dict[str, str] = field(default_factory=dict)
    modes: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    replaced_by: dict[str, str] = field(default_factory=dict)


class CodeBook:
    """The CAMEO and PLOVER schemes and the dipkb event classes, read once from the KB's ontology."""

    def __init__(self, kb: KnowledgeBase):
        self._kb = kb
        self.class_labels: dict[str, str] = {}
        self.parents: defaultdict[str, set[str]] = defaultdict(set)
        for row in kb.select(_CLASSES):
            self.class_labels[row["class"].value] = row["label"].value if "label" in row else ""
            if "parent" in row:
                self.parents[row["class"].value].add(row["parent"].value)
        self.matching: dict[str, defaultdict[str, set[str]]] = {_EXACT: defaultdict(set), _CLOSE: defaultdict(set)}
        self.matches_of: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        for row in kb.select(_MATCHES):
            relation, concept, cls = row["relation"].value, row["concept"].value, row["class"].value
            self.matching[relation][concept].add(cls)
            self.matches_of[cls].add((relation, concept))
        self._cache: dict[tuple[Scheme, str, str | None], CodeMatch] = {}

    @functools.cached_property
    def _schemes(self) -> _Schemes:
        """Read on the first code looked up: 30 ms of the 50 an `add` of a --type Meeting took."""
        schemes = _Schemes()
        for row in self._kb.select(_CONCEPTS):
            iri = row["c"].value
            scheme = Scheme.CAMEO if row["scheme"].value.startswith(CAMEO_NS) else Scheme.PLOVER
            concept = Concept(iri, scheme, row["notation"].value, row["label"].value if "label" in row else "")
            schemes.concepts[iri] = concept
            schemes.by_notation[(scheme, concept.notation)] = concept
            if "broader" in row:
                schemes.broader[iri] = row["broader"].value
            if "mode" in row:
                schemes.modes[iri].add(row["mode"].value)
            if "replacedBy" in row:
                schemes.replaced_by[iri] = row["replacedBy"].value
        return schemes

    # --- public -------------------------------------------------------------------------------

    def match(self, scheme: Scheme, code: str, mode: str | None = None) -> CodeMatch:
        """The concept and dipkb class for a code; raises Rejection for a malformed or unknown code."""
        key = (scheme, code, mode)
        found = self._cache.get(key)
        if found is None:
            found = self._match_cameo(code) if scheme is Scheme.CAMEO else self._match_plover(code, mode)
            self._cache[key] = found
        return found

    def is_a(self, cls: str, ancestor: str) -> bool:
        """Whether ``cls`` is ``ancestor`` or one of its subclasses in the dipkb hierarchy."""
        seen, todo = set(), [cls]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(self.parents.get(current, ()))
        return False

    def is_exact_match(self, cls: str, concept: str) -> bool:
        """Whether the class is a skos:exactMatch of the concept: it says all the code says."""
        return (_EXACT, concept) in self.matches_of.get(cls, ())

    def is_event_class(self, iri: str) -> bool:
        return iri in self.class_labels

    def names_codes(self, wanted: str) -> bool:
        """Whether an import's ``--code`` (upper case) can keep a row: a prefix of a CAMEO code, or a PLOVER type."""
        return (Scheme.PLOVER, wanted) in self._schemes.by_notation or any(
            scheme is Scheme.CAMEO and notation.startswith(wanted) for scheme, notation in self._schemes.by_notation)

    # --- CAMEO --------------------------------------------------------------------------------

    def _match_cameo(self, code: str) -> CodeMatch:
        if not _CAMEO_CODE.match(code):
            raise Rejection("malformed CAMEO code", f"'{code}' is not a CAMEO code of 2 to 4 digits")
        concept = self._schemes.by_notation.get((Scheme.CAMEO, code))
        if concept is None:
            raise Rejection("unknown CAMEO code", f"'{code}' is not in the CAMEO codebook")
        chain = [concept.iri]
        while chain[-1] in self._schemes.broader:
            chain.append(self._schemes.broader[chain[-1]])
        for relation in (_EXACT, _CLOSE):
            for iri in chain:
                candidates = self.matching[relation].get(iri)
                if candidates:
                    return CodeMatch(concept, self._break_tie(candidates, None))
        raise Rejection("unmapped CAMEO code", f"no dipkb event class matches CAMEO {code} or its parents")

    # --- PLOVER -------------------------------------------------------------------------------

    def _match_plover(self, code: str, mode: str | None) -> CodeMatch:
        if code in _NOT_EVENTS:
            raise Rejection("not an event record", f"PLOVER '{code}' records document the file")
        if not _PLOVER_TYPE.match(code):
            raise Rejection("malformed PLOVER type", f"'{code}' is not a PLOVER event type")
        concept = self._schemes.by_notation.get((Scheme.PLOVER, code))
        if concept is None:
            raise Rejection("unknown PLOVER type", f"'{code}' is not a PLOVER event type")
        current = concept.iri
        for _ in range(len(self._schemes.replaced_by) + 1):
            candidates = self.matching[_EXACT].get(current) or self.matching[_CLOSE].get(current)
            if candidates:
                return CodeMatch(concept, self._break_tie(candidates, mode))
            if current not in self._schemes.replaced_by:
                break
            current = self._schemes.replaced_by[current]
        raise Rejection("unmapped PLOVER type", f"no dipkb event class matches PLOVER {code}")

    def _break_tie(self, candidates: set[str], mode: str | None) -> str:
        pool = set(candidates)
        if len(pool) > 1 and mode:
            mode_iri = PMODE_NS + mode
            with_mode = {c for c in pool if any(mode_iri in self._schemes.modes.get(concept, ())
                                                for _, concept in self.matches_of[c])}
            pool = with_mode or pool
        for keep in (self._exact_root, self._exact_cameo):
            if len(pool) > 1:
                pool = {c for c in pool if keep(c)} or pool
        if len(pool) > 1:
            pool = {c for c in pool if not any(other != c and self.is_a(c, other) for other in pool)} or pool
        return sorted(pool)[0]

    def _exact_root(self, cls: str) -> bool:
        return any(relation == _EXACT and concept.startswith(CAMEO_NS) and concept not in self._schemes.broader
                   and concept in self._schemes.concepts for relation, concept in self.matches_of[cls])

    def _exact_cameo(self, cls: str) -> bool:
        return any(relation == _EXACT and concept.startswith(CAMEO_NS) for relation, concept in self.matches_of[cls])


STATEMENT = DIP + "Statement"
MEETING = DIP + "Meeting"
VISIT = DIP + "Visit"
TROOP_MOVEMENT = DIP + "TroopMovement"
RETREAT = DIP + "Retreat"
APPEAL = DIP + "Appeal"
MATERIAL_SUPPORT = DIP + "MaterialSupport"
ALLIANCE_FORMATION = DIP + "AllianceFormation"
