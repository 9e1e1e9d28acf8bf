"""Actors and places of dataset rows to IRIs: curated ones where codes or names match, new ones otherwise.

Actors, in order: a CAMEO actor code equal to a curated dip:actorCode ("RUS" is actor:russia); then,
for datasets that give only names (ICEWS), a case-insensitive label or alternative label that names
exactly one actor. A country, by code ("GBR", "ROM") or by name ("Bangladesh"), is the KB's state with
one of its codes or names, else one new ``actor:cameo-<alpha-3>`` per country, labelled with the
country's name from model/countries.tsv (not with whatever the first row called it). Otherwise a new
actor: ``actor:cameo-<code>`` for a coded actor (one per CAMEO actor code, shared by every dataset
that uses the code, so GDELT and PLOVER rows about RUSGOV name the same actor) or
``actor:<dataset>-<name-slug>`` for a named one. Every new actor with a country (its dataset's country
field, else the country part of its code: CountryTable.of_actor, the rule `import --country` follows
too) is linked to that country's state: a state sector (GOV, MIL, COP...; ICEWS "Government",
"Police"...) acts for it (dip:actsFor), anyone else, citizens, media, business, a region, is of it
(dip:ofState). Either way its events are found under the state.

Places: a country by FIPS 10-4 code (GDELT) mapped to ISO 3166 alpha-3 and through the curated state
with that dip:actorCode to its territory (dip:territoryOf), else by name; a city or region by the
first part of its name among the curated places of the same country. New places get
``place:<name-slug>`` and coordinates only when they are cities: a region's or country's centroid is
an arbitrary point, which the KB does not record (see kb/places.ttl).
"""
from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from dipkb.model.countries import Country, country_table, name_key
from dipkb.model.labels import composed
from dipkb.model.namespaces import DIP, KB, expand
from dipkb.model.records import ActorSpec, NewActor, NewPlace, PlaceKind, PlaceSpec, Rejection
from dipkb.store.kb import KnowledgeBase

ACTOR_NS, PLACE_NS = KB + "actor/", KB + "place/"

# FIPS 10-4 (GDELT's geographic country codes) to ISO 3166-1 alpha-3, for countries whose codes we
# are sure of. Only needed to reach curated states through their dip:actorCode; other countries are
# matched by name.
FIPS_TO_ISO3 = {
    "AF": "AFG", "RS": "RUS", "TI": "TJK", "IR": "IRN", "CH": "CHN", "IN": "IND", "PK": "PAK",
    "US": "USA", "UK": "GBR", "FR": "FRA", "GM": "DEU", "JA": "JPN", "IZ": "IRQ", "SY": "SYR",
    "IS": "ISR", "TU": "TUR", "UP": "UKR", "CA": "CAN", "AS": "AUS", "KS": "KOR", "KN": "PRK",
    "UZ": "UZB", "TX": "TKM", "KZ": "KAZ", "KG": "KGZ", "SA": "SAU", "EG": "EGY", "MX": "MEX",
    "BR": "BRA", "IT": "ITA", "SP": "ESP",
}
# CAMEO role codes whose actors act on behalf of their state.
STATE_SECTORS = {"GOV", "MIL", "COP", "JUD", "LEG", "SPY"}
# ICEWS sector names, matched as words, with the same meaning.
STATE_SECTOR_WORDS = ("government", "military", "police", "executive", "legislative", "judicial",
                      "cabinet", "ministry")
_CLASS_OF_SECTOR = {
    "GOV": "GovernmentBody", "LEG": "GovernmentBody", "JUD": "GovernmentBody", "SPY": "GovernmentBody",
    "MIL": "ArmedForce", "COP": "ArmedForce",
    "REB": "ArmedGroup", "INS": "ArmedGroup", "SEP": "ArmedGroup", "UAF": "ArmedGroup",
    "MED": "MediaOrganisation",
    "IGO": "Organisation", "NGO": "Organisation", "MNC": "Organisation", "PTY": "Organisation",
    "BUS": "Organisation",
}

# CAMEO actor role codes, for labels of coded actors: RUSGOV is "Russia government (RUSGOV)". A name
# from the data would be one row's wording ("Vladimir Putin") for everyone the code stands for.
ROLE_WORDS = {
    "GOV": "government", "MIL": "military", "COP": "police", "JUD": "judiciary", "LEG": "legislature",
    "SPY": "intelligence", "OPP": "opposition", "REB": "rebels", "INS": "insurgents", "SEP": "separatists",
    "PTY": "political party", "MED": "media", "EDU": "education", "BUS": "business", "CVL": "civilians",
    "HLH": "health", "REF": "refugees", "LAB": "labour", "AGR": "agriculture", "ELI": "elites",
    "ENV": "environment", "HRI": "human rights", "CRM": "criminals", "IGO": "intergovernmental organisation",
    "NGO": "non-governmental organisation", "MNC": "multinational corporation",
    "UAF": "unidentified armed forces", "REL": "religious", "MOD": "moderates", "RAD": "radicals",
}

_ACTORS = "SELECT DISTINCT ?a ?class WHERE { ?a a ?class . ?class rdfs:subClassOf* dip:Actor }"
_PLACES = "SELECT DISTINCT ?p ?class WHERE { ?p a ?class . ?class rdfs:subClassOf* dip:Place }"
# The names of the actors and places read (VALUES ?x), not every label of the KB: a million events'
# labels took 12 s to read. A FILTER on ?p, not a VALUES block: with two VALUES blocks the engine
# read every label of the KB again, chunk by chunk (minutes at a million events).
_NAMES = "SELECT ?x ?name ?p WHERE { VALUES ?x { %s } ?x ?p ?name FILTER(?p IN (rdfs:label, skos:altLabel)) }"
_LABELS = "SELECT ?name WHERE { ?x rdfs:label|skos:altLabel ?name }"
_CODES = "SELECT ?a ?code WHERE { ?a dip:actorCode ?code }"
_IN_COUNTRY = "SELECT ?p ?c WHERE { ?p dip:inCountry ?c }"
_TERRITORY = "SELECT ?p ?s WHERE { ?p dip:territoryOf ?s }"


def slug(text: str) -> str:
    """``Vancouver, British Columbia`` -> ``vancouver-british-columbia``: ASCII letters, digits, hyphens.
    A name with no ASCII letter or digit at all gets a short hash, so it still has a stable IRI."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    made = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
    if len(made) > 80:  # keep IRIs short; the hash keeps two long names that share a start apart
        return made[:70].strip("-") + "-" + digest[:8]
    return made or "h" + digest[:10]


def _title(name: str) -> str:
    # GDELT writes names in capitals ("RUSSIA"); other datasets as the source did.
    return name.title() if name.isupper() else name


def _decimal(text: str | None, what: str, limit: int) -> str | None:
    """A coordinate as an xsd:decimal lexical form; None when absent; Rejection when not a number in range."""
    if text is None or text.strip() in ("", "NA"):
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise Rejection("invalid coordinates", f"{what} '{text}' is not a number") from None
    if not value.is_finite() or abs(value) > limit:
        raise Rejection("invalid coordinates", f"{what} '{text}' is outside -{limit}..{limit}")
    return format(value, "f")


def compared_name(name: str) -> str:
    """A name as names are compared: in any case, its spaces single, its characters composed."""
    return composed(" ".join(name.split())).lower()


class Reconciler:
    """The KB's actors and places, read once; new actors and places are collected as rows need them."""

    def __init__(self, kb: KnowledgeBase):
        self.actor_classes: defaultdict[str, set[str]] = defaultdict(set)
        for row in kb.select(_ACTORS):
            self.actor_classes[row["a"].value].add(row["class"].value)
        self.place_classes: defaultdict[str, set[str]] = defaultdict(set)
        for row in kb.select(_PLACES):
            self.place_classes[row["p"].value].add(row["class"].value)
        self.names: defaultdict[str, set[str]] = defaultdict(set)  # of actors and places only
        self.labels: dict[str, str] = {}
        for row in kb.select_for_each(_NAMES, sorted(self.actor_classes.keys() | self.place_classes.keys())):
            self.names[compared_name(row["name"].value)].add(row["x"].value)
            if row["p"].value.endswith("#label") and (row["x"].value not in self.labels
                                                       or getattr(row["name"], "language", None) == "en"):
                self.labels[row["x"].value] = row["name"].value
        self.codes: defaultdict[str, set[str]] = defaultdict(set)
        for row in kb.select(_CODES):
            self.codes[row["code"].value.strip().upper()].add(row["a"].value)
        self.in_country = {row["p"].value: row["c"].value for row in kb.select(_IN_COUNTRY)}
        self.territory: defaultdict[str, set[str]] = defaultdict(set)  # state -> country places
        for row in kb.select(_TERRITORY):
            self.territory[row["s"].value].add(row["p"].value)
        self.new_actors: dict[str, NewActor] = {}
        self.new_places: dict[str, NewPlace] = {}
        self.countries = country_table()
        self._country_actors: dict[str, str] = {}  # alpha-3 -> actor IRI
        self._kb = kb

    @functools.cached_property
    def labels_in_use(self) -> frozenset[str]:
        """Every label and alternative label of the KB, lower-cased: read only when a dataset names a new
        actor, whose label must not be taken (the labels of a million events take seconds to read)."""
        return frozenset(solution[0].value.strip().lower() for solution in self._kb.query(_LABELS))

    def label(self, iri: str) -> str:
        """The label of a KB or new actor or place, for the labels of imported events."""
        if iri in self.new_actors:
            return self.new_actors[iri].label
        if iri in self.new_places:
            return self.new_places[iri].label
        return self.labels.get(iri) or iri.rsplit("/", 1)[-1]

    # --- actors -------------------------------------------------------------------------------

    def actor(self, spec: ActorSpec, dataset: str) -> str:
        """The IRI for a dataset actor; a new actor is recorded in ``new_actors``."""
        if spec.code:
            return self._coded_actor(spec)
        if spec.name:
            return self._named_actor(spec, dataset)
        raise Rejection("missing actor", "an actor has neither a code nor a name")

    def _coded_actor(self, spec: ActorSpec) -> str:
        code = spec.code.strip()
        found = self.codes.get(code.upper(), set())
        if len(found) == 1:
            return next(iter(found))
        if len(found) > 1:
            raise Rejection("ambiguous actor code", f"'{code}' is the dip:actorCode of {len(found)} actors")
        if not re.search(r"[A-Za-z0-9]", code):
            raise Rejection("malformed actor code", f"'{code}' is not a CAMEO actor code")
        country = self.countries.by_code.get(code.upper())
        if country is not None:
            return self.country_actor(country)
        iri = ACTOR_NS + "cameo-" + slug(code)
        if iri not in self.actor_classes and iri not in self.new_actors:
            role = next((s for s in spec.sectors if s), code[3:6] if spec.country else code[:3])
            country = self.countries.of_actor(code, spec.country)
            acts_for, of_state = self._links(country, bool(STATE_SECTORS.intersection(s.upper() for s in spec.sectors)))
            self.new_actors[iri] = NewActor(
                iri=iri, label=self._code_label(code, spec, country),
                cls=DIP + _CLASS_OF_SECTOR.get(role.upper(), "Actor"), codes=(code,),
                sectors=tuple(s for s in spec.sectors if s), acts_for=acts_for, of_state=of_state)
        return iri

    def _code_label(self, code: str, spec: ActorSpec, country: Country | None) -> str:
        """``Russia government (RUSGOV)``, ``police (COP)``; a code with parts we cannot name (a known
        group) gets the name the row gives it: ``Taliban (AFGINSTAL)``."""
        prefix = next((c for c in (country.codes if country else ()) if code.upper().startswith(c)), "")
        rest = code[len(prefix):].upper()
        chunks = [rest[i:i + 3] for i in range(0, len(rest), 3)]
        if chunks and all(chunk in ROLE_WORDS for chunk in chunks):
            where = self.label(self.country_actor(country)) if prefix else ""
            return " ".join(p for p in (where, " ".join(ROLE_WORDS[c] for c in chunks)) if p) + f" ({code})"
        name = _title(spec.name.strip()) if spec.name and spec.name.strip() else code
        return f"{name} ({code})"

    def country_actor(self, country: Country) -> str:
        """The actor of a country: the KB's actor with one of its codes (a state first), else its state
        by name, else a new dip:State ``actor:cameo-<alpha-3>`` with the country's label and codes."""
        iri = self._country_actors.get(country.alpha3)
        if iri is not None:
            return iri
        coded = {a for code in country.codes for a in self.codes.get(code, ())}
        found = {a for a in coded if self._is_state(a)} or coded
        if not found:
            found = {a for name in (country.label, *country.names) for a in self.names.get(compared_name(name), ())
                     if self._is_state(a)}
        if len(found) > 1:
            raise Rejection("ambiguous actor code", f"{country.label} is {len(found)} actors of the KB: "
                            + ", ".join(sorted(found)))
        iri = next(iter(found)) if found else ACTOR_NS + "cameo-" + slug(country.alpha3)
        if iri not in self.actor_classes and iri not in self.new_actors:
            self.new_actors[iri] = NewActor(iri=iri, label=country.label, cls=DIP + "State", codes=country.codes)
        self._country_actors[country.alpha3] = iri
        return iri

    def _links(self, country: Country | None, acts: bool) -> tuple[str | None, str | None]:
        """(dip:actsFor, dip:ofState) of a new actor of ``country``: a state sector acts for its state."""
        if country is None:
            return None, None
        state = self.country_actor(country)
        return (state, None) if acts else (None, state)

    def new_actors_linked(self, used: set[str]) -> list[NewActor]:
        """The new actors among ``used`` and the new states they act for or are of, sorted by IRI: a
        state that only a link names must be written too."""
        wanted, todo = set(), [iri for iri in used if iri in self.new_actors]
        while todo:
            iri = todo.pop()
            if iri not in wanted:
                wanted.add(iri)
                new = self.new_actors[iri]
                todo += [link for link in (new.acts_for, new.of_state) if link in self.new_actors]
        return [self.new_actors[iri] for iri in sorted(wanted)]

    def _named_actor(self, spec: ActorSpec, dataset: str) -> str:
        name = spec.name.strip()
        matches = {iri for iri in self.names.get(compared_name(name), ()) if iri in self.actor_classes}
        if len(matches) == 1:
            return next(iter(matches))
        country = self.countries.of_actor(None, spec.country)
        named = self.countries.by_name.get(name_key(name))
        if named is not None and country in (None, named):  # "Bangladesh" of Bangladesh is the country
            return self.country_actor(named)
        iri = ACTOR_NS + f"{dataset}-{slug(name)}"
        if iri not in self.actor_classes and iri not in self.new_actors:
            label = name if name.lower() not in self.labels_in_use else f"{name} ({dataset.upper()})"
            acts = any(word in s.lower() for s in spec.sectors for word in STATE_SECTOR_WORDS)
            acts_for, of_state = self._links(country, acts)
            self.new_actors[iri] = NewActor(
                iri=iri, label=label, cls=DIP + "Actor", sectors=tuple(s for s in spec.sectors if s),
                acts_for=acts_for, of_state=of_state)
        return iri

    def _is_state(self, iri: str) -> bool:
        return DIP + "State" in self.actor_classes.get(iri, ())

    def resolve(self, text: str, *, kind: str = "actor") -> str:
        """A user's IRI, CURIE or name (any case) to the one matching actor or place, as the CLI's
        resolve_actor does, but from the tables read once; Rejection when none or several match."""
        table = self.actor_classes if kind == "actor" else self.place_classes
        iri = expand(text.strip())
        if iri is not None:
            if iri in table:
                return iri
            raise Rejection(f"unknown {kind}", f"no {kind} {text} in the knowledge base")
        matches = sorted(i for i in self.names.get(compared_name(text), ()) if i in table)
        if not matches and kind == "actor":
            matches = self._actors_of_country(text)
        if not matches:
            raise Rejection(f"unknown {kind}", f"no {kind} named {text!r}")
        if len(matches) > 1:
            raise Rejection(f"ambiguous {kind}", f"{text!r} names {len(matches)} {kind}s: " + ", ".join(matches))
        return matches[0]

    def _actors_of_country(self, text: str) -> list[str]:
        """The actor of the country an ISO or CAMEO code or another of its names gives, as `timeline
        --actor RUS` finds it: the states with one of its codes, else the actors with one, else the
        states named by one of its names."""
        country = self.countries.find(text.strip()) or self.countries.find(text.strip().upper())
        if country is None:
            return []
        coded = {actor for code in country.codes for actor in self.codes.get(code, ()) if actor in self.actor_classes}
        named = {actor for name in (country.label, *country.names) for actor in self.names.get(compared_name(name), ())}
        return sorted(filter(self._is_state, coded)) or sorted(coded) or sorted(filter(self._is_state, named))

    # --- places -------------------------------------------------------------------------------

    def country(self, text: str) -> str:
        """The KB's place of a country a user names: a place as :meth:`resolve` finds one, else the
        country an ISO or CAMEO code or another of its names gives (model.countries, as `timeline
        --actor TJK` finds its state): the place of the state with one of its codes, or the country
        place of one of its names. Rejection as :meth:`resolve`'s when neither finds one place."""
        try:
            return self.resolve(text, kind="place")
        except Rejection as rejection:
            if rejection.reason != "unknown place":
                raise
            country = self.countries.find(text.strip()) or self.countries.find(text.strip().upper())
            places: set[str] = set()
            if country is not None:
                states = {state for code in country.codes for state in self.codes.get(code, ())}
                places = {place for state in states for place in self.territory.get(state, ())}
            if country is not None and not places:
                named = {iri for name in (country.label, *country.names)
                         for iri in self.names.get(compared_name(name), ())}
                places = {iri for iri in named if DIP + "Country" in self.place_classes.get(iri, ())}
            if len(places) != 1:
                raise
            return places.pop()

    def place(self, spec: PlaceSpec) -> str:
        """The IRI for a dataset place; new places (and their countries) are recorded in ``new_places``."""
        if spec.kind is PlaceKind.COUNTRY:
            country = self._country(spec.fips, spec.country_name or spec.name)
            if country is None:
                raise Rejection("invalid place", f"'{spec.name}' names no country")
            return country
        if spec.kind is PlaceKind.UNKNOWN:
            country = self._known_country(None, spec.name)
            if country:
                return country
        lat = long = None
        if spec.kind is PlaceKind.CITY:  # checked first: a row naming a known place was not checked at all
            lat, long = _decimal(spec.lat, "latitude", 90), _decimal(spec.long, "longitude", 180)
            if (lat is None) != (long is None):
                raise Rejection("invalid coordinates", "a latitude without a longitude or the reverse")
        country = self._country(spec.fips, spec.country_name)
        first = compared_name(spec.name.split(",")[0])
        matches = {iri for iri in self.names.get(first, set()) | self.names.get(compared_name(spec.name), set())
                   if iri in self.place_classes and DIP + "Country" not in self.place_classes[iri]
                   and (country is None or self.in_country.get(iri) == country)}
        if len(matches) == 1:
            return next(iter(matches))
        iri = PLACE_NS + slug(spec.name)
        if iri not in self.place_classes and iri not in self.new_places:
            self.new_places[iri] = NewPlace(iri=iri, label=spec.name.strip(), in_country=country, lat=lat, long=long)
        return iri

    def _known_country(self, fips: str | None, name: str | None) -> str | None:
        iso3 = FIPS_TO_ISO3.get((fips or "").upper())
        candidates: set[str] = set()
        if iso3:
            for state in self.codes.get(iso3, ()):
                candidates |= self.territory.get(state, set())
        if not candidates and name:
            for iri in self.names.get(compared_name(name), ()):
                if DIP + "Country" in self.place_classes.get(iri, ()):
                    candidates.add(iri)
                elif self._is_state(iri):
                    candidates |= self.territory.get(iri, set())
        return next(iter(candidates)) if len(candidates) == 1 else None

    def _country(self, fips: str | None, name: str | None) -> str | None:
        known = self._known_country(fips, name)
        if known or not name or not name.strip():
            return known
        iri = PLACE_NS + "country-" + slug(name)
        if iri not in self.place_classes and iri not in self.new_places:
            self.new_places[iri] = NewPlace(iri=iri, label=name.strip(), is_country=True)
        return iri
