"""The timeline as HTML: what a page shows of each event, and `dipkb export -f html`'s one-file timeline.

One look, defined once: the templates and static files beside this module draw both the served
timeline and the shared file, where the CSS and the script are inlined and the events embedded as
JSON. The script draws the events in both; the file also filters them, over the keys :func:`filter_keys`
embeds with each event.
"""
from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import ClassVar

import jinja2
from pyoxigraph import NamedNode
from markupsafe import Markup

from dipkb.errors import ParameterError
from dipkb.model.countries import country_table
from dipkb.model.modality import MODALITIES, modality_name
from dipkb.model.namespaces import curie
from dipkb.store.kb import KnowledgeBase
from dipkb.views.selected import Selected
from dipkb.views.timeline import (CHUNK, TimelineEntry, TimelineFilter, timeline_entries, typed_filter,
                                  with_roles)

WEB = Path(__file__).resolve().parent
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"
# Events drawn at once: a page of the served timeline, a page of the file's. vis-timeline users
# report trouble around 5,000 items; 200 cards stay quick to draw and to read.
PER_PAGE = 200


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def script_json(data: object) -> Markup:
    """JSON to embed in a ``<script type="application/json">``: ``<``, ``>`` and ``&`` escaped, so that
    no label can close the element (JSON.parse reads the escapes back)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def event_data(entries: Sequence[TimelineEntry]) -> list[dict]:
    """What the script draws of each event: ``timeline -f json``'s fields, the days the event is filed
    under (``earliest_day``, ``latest_day``: the file's date filter compares them, as the server's
    does), its date in words, and what was said (quotes verbatim, contents as reported), which the
    timeline's rows leave out."""
    return [{**e.as_dict(), "earliest_day": e.earliest_day, "latest_day": e.latest_day, "words": e.time.words(),
             "quotes": list(e.quotes), "contents": list(e.contents)} for e in entries]


# The keys of the file's client-side filters, with the semantics of views.timeline's selection:
# an actor's events include those of actors acting for it or attributed to it (dip:ofState); a
# place holds the places inside it (origin and destination count); a type is a class with its
# subclasses, or a CAMEO/PLOVER code with its narrower codes and the classes mapped to it. Each
# step is one look-up per distinct thing, not per event, over IRIs the store returned.
_PARTICIPANTS = "SELECT ?event ?who WHERE { VALUES ?event { %s } ?event dip:participant ?who }"
_ACTS_FOR = "SELECT ?who ?actor WHERE { VALUES ?who { %s } ?who (dip:actsFor|dip:ofState)* ?actor }"
_LOCATED = "SELECT ?event ?at WHERE { VALUES ?event { %s } ?event dip:place|dip:origin|dip:destination ?at }"
_INSIDE = "SELECT ?at ?place WHERE { VALUES ?at { %s } ?at dip:inCountry* ?place }"
_CLASSES = "SELECT ?event ?class WHERE { VALUES ?event { %s } ?event a ?class }"
_CODES = "SELECT ?event ?code WHERE { VALUES ?event { %s } ?event dip:eventCode ?code }"
_CLASS_TYPES = """
SELECT ?class ?type WHERE { VALUES ?class { %s } ?class rdfs:subClassOf* ?type . ?type skos:inScheme dip:EventTypeScheme }"""
_CLASS_CODES = """
SELECT ?class ?type WHERE {
  VALUES ?class { %s } ?class rdfs:subClassOf*/(skos:exactMatch|skos:closeMatch) ?mapped . ?mapped skos:broader* ?type
}"""
_CODE_TYPES = "SELECT ?code ?type WHERE { VALUES ?code { %s } { ?code skos:broader* ?type } UNION { ?code skos:closeMatch ?type } }"
_NAMES = "SELECT ?thing ?label ?alt WHERE { VALUES ?thing { %s } { ?thing rdfs:label ?label } UNION { ?thing skos:altLabel|skos:prefLabel ?alt } }"
_ROLE_PAIRS = "SELECT ?event ?role ?who WHERE { VALUES ?event { %s } ?event ?role ?who . ?role rdfs:subPropertyOf+ dip:participant }"
# Every role, with its names and the roles below it, as views.names.resolve_role and the selection read them.
_ROLE_NAMES = """
SELECT ?role ?label ?sub WHERE {
  ?role rdfs:subPropertyOf+ dip:participant . ?sub rdfs:subPropertyOf* ?role OPTIONAL { ?role rdfs:label ?label } }"""
_STATE_CODES = """
SELECT ?thing ?code WHERE { VALUES ?thing { %s } ?thing dip:actorCode ?code ; a/rdfs:subClassOf* dip:State }"""
_TYPE_KEYS = """
SELECT ?type ?label ?notation ?scheme WHERE {
  VALUES ?type { %s }
  { ?type skos:inScheme dip:EventTypeScheme ; rdfs:label ?label }
  UNION { ?type skos:notation ?notation ; skos:inScheme ?scheme
          VALUES ?scheme { <https://w3id.org/dipkb/cameo/scheme> <https://w3id.org/dipkb/plover/scheme> } }
}"""


@dataclass(frozen=True)
class FilterKeys:
    """Per event (by CURIE): the actors it counts for directly and through agents, the places it
    lies in, the type ids it matches; and the names each of those answers to, lower-cased."""

    direct: dict[str, list[str]]
    acting_for: dict[str, list[str]]
    located: dict[str, list[str]]
    typed: dict[str, list[str]]
    actors: dict[str, list[str]]
    places: dict[str, list[str]]
    types: dict[str, dict]
    codes: dict[str, list[str]]  # a state by the codes of its country, as written (RUS, RU), as views.names finds it
    in_roles: dict[str, list[list[str]]]  # per event, [role, participant] of each named role
    counts_for: dict[str, list[str]]  # per participant, the actors it counts for, itself included

    def of(self, event: str) -> dict:
        return {"direct": self.direct.get(event, []), "for": self.acting_for.get(event, []),
                "in": self.located.get(event, []), "types": self.typed.get(event, []),
                "roles": self.in_roles.get(event, [])}

    def lookups(self) -> dict:
        return {"actors": self.actors, "places": self.places, "types": self.types, "codes": self.codes,
                "counts_for": self.counts_for}


def _pairs(kb: KnowledgeBase, text: str, iris: Iterable[str], key: str, value: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for row in kb.select_for_each(text, sorted(set(iris))):
        # Only IRIs lead on: `dip:host "Zamir Kabulov"` (a slip validate reports) is no actor to look up.
        if isinstance(row.get(value), NamedNode):
            found[row[key].value].add(row[value].value)
    return found


def _through(first: dict[str, set[str]], then: dict[str, set[str]]) -> dict[str, list[str]]:
    """Compose two relations: every event to the things its things lead to, as sorted CURIEs."""
    return {curie(a): sorted({curie(c) for b in bs for c in then.get(b, ())}) for a, bs in first.items()}


def _names(kb: KnowledgeBase, things: Iterable[str]) -> dict[str, list[str]]:
    """Every name of each thing by CURIE, in CURIE order: its labels as written first (an ambiguity
    message shows the first), then its other names; the script compares them lower-cased."""
    labels: dict[str, list[str]] = defaultdict(list)
    others: dict[str, set[str]] = defaultdict(set)
    for row in kb.select_for_each(_NAMES, sorted(set(things))):
        if "label" in row:
            labels[row["thing"].value].append(row["label"].value)
        if "alt" in row:
            others[row["thing"].value].add(row["alt"].value.lower())
    return {curie(t): sorted(labels[t]) + sorted(others[t] - {n.lower() for n in labels[t]})
            for t in sorted(labels.keys() | others.keys(), key=curie)}


def filter_keys(kb: KnowledgeBase, entries: Sequence[TimelineEntry]) -> FilterKeys:
    events = [e.id for e in entries]
    takes_part = _pairs(kb, _PARTICIPANTS, events, "event", "who")
    acts_for = _pairs(kb, _ACTS_FOR, {w for ws in takes_part.values() for w in ws}, "who", "actor")
    located = _pairs(kb, _LOCATED, events, "event", "at")
    inside = _pairs(kb, _INSIDE, {a for ats in located.values() for a in ats}, "at", "place")
    classes = _pairs(kb, _CLASSES, events, "event", "class")
    codes = _pairs(kb, _CODES, events, "event", "code")
    all_classes = {c for cs in classes.values() for c in cs}
    class_types = _pairs(kb, _CLASS_TYPES, all_classes, "class", "type")
    class_codes = _pairs(kb, _CLASS_CODES, all_classes, "class", "type")
    code_types = _pairs(kb, _CODE_TYPES, {c for cs in codes.values() for c in cs}, "code", "type")
    types = _type_keys(kb, {t for ts in (*class_types.values(), *class_codes.values(), *code_types.values())
                            for t in ts})

    def type_ids(event: str) -> set[str]:
        # A coded event answers to its own codes, not to those its class maps to (as views.timeline).
        through = (code_types, codes.get(event, ())) if event in codes else (class_codes, classes.get(event, ()))
        return ({t for c in classes.get(event, ()) for t in class_types.get(c, ())}
                | {t for c in through[1] for t in through[0].get(c, ())})

    typed = {curie(e): sorted({curie(t) for t in type_ids(e)} & types.keys()) for e in events}
    actors = {a for xs in acts_for.values() for a in xs}
    places = {p for ps in inside.values() for p in ps}
    return FilterKeys(
        direct={curie(e): sorted(curie(w) for w in ws) for e, ws in takes_part.items()},
        acting_for=_through(takes_part, acts_for),
        located=_through(located, inside),
        typed=typed,
        actors=_names(kb, actors),
        places=_names(kb, places),
        types=types,
        codes=_country_codes(kb, actors),
        in_roles=_in_roles(kb, events),
        counts_for={curie(who): sorted(curie(a) for a in xs) for who, xs in acts_for.items()},
    )


def _in_roles(kb: KnowledgeBase, events: Iterable[str]) -> dict[str, list[list[str]]]:
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in kb.select_for_each(_ROLE_PAIRS, sorted(set(events))):
        if isinstance(row["who"], NamedNode):
            found[curie(row["event"].value)].add((curie(row["role"].value), curie(row["who"].value)))
    return {event: [list(pair) for pair in sorted(pairs)] for event, pairs in found.items()}


def role_lookup(kb: KnowledgeBase) -> dict[str, dict]:
    """Every role by CURIE, with its names and its family (itself and the roles below it)."""
    labels: dict[str, set[str]] = defaultdict(set)
    family: dict[str, set[str]] = defaultdict(set)
    for row in kb.select(_ROLE_NAMES):
        role = row["role"].value
        labels[role] |= {row["label"].value} if "label" in row else set()
        family[role].add(curie(row["sub"].value))
    return {curie(role): {"local": (local := role.rsplit("#", 1)[-1]), "names": sorted(labels[role] | {local}),
                          "family": sorted(family[role])} for role in sorted(family)}


def _country_codes(kb: KnowledgeBase, actors: Iterable[str]) -> dict[str, list[str]]:
    """The states among ``actors`` by every code of their country (ISO 3166 alpha-2 and alpha-3, CAMEO)."""
    found: dict[str, set[str]] = defaultdict(set)
    for row in kb.select_for_each(_STATE_CODES, sorted(set(actors))):
        if country := country_table().find(row["code"].value):
            for code in filter(None, (country.alpha2, *country.codes)):
                found[code].add(curie(row["thing"].value))
    return {code: sorted(states) for code, states in found.items()}


def _type_keys(kb: KnowledgeBase, iris: set[str]) -> dict[str, dict]:
    """The types a person may type, by CURIE, as written: a dipkb class by its CURIE, name or label,
    a CAMEO or PLOVER concept by its CURIE or notation (``042``, ``CONSULT``); ``code`` tells which,
    for the server's order (views.names.resolve_event_type)."""
    keys: dict[str, set[str]] = defaultdict(set)
    classes = set()
    for row in kb.select_for_each(_TYPE_KEYS, sorted(iris)):
        short = curie(row["type"].value)
        keys[short].add(short)
        if "label" in row:
            classes.add(short)
            keys[short] |= {short.split(":", 1)[-1], row["label"].value}
        if "notation" in row:
            keys[short].add(row["notation"].value)
    return {t: {"keys": sorted(keys[t]), "code": t not in classes} for t in sorted(keys)}


@dataclass(frozen=True)
class TimelineForm:
    """The timeline's filters as typed: the served page's form, /api/timeline's and /timeline.json's
    query string (`dipkb timeline`'s options by their long names)."""

    actors: tuple[str, ...] = ()
    direct: bool = False
    type: str = ""
    place: str = ""
    start: str = ""
    end: str = ""
    modalities: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    REPEATABLE: ClassVar[tuple[str, ...]] = ("actor", "modality", "role")
    SINGLE: ClassVar[tuple[str, ...]] = ("type", "place", "from", "to", "direct")
    # Each name is looked up in the KB (55 ms for a case-insensitive one at 5,000 events), on a thread
    # no time limit stops: a URL of 1,000 actors held one for 55 s.
    MOST_REPEATED: ClassVar[int] = 20

    @classmethod
    def read(cls, pairs: Sequence[tuple[str, str]], also: tuple[str, ...] = ()) -> TimelineForm:
        """The form of a query string's ``pairs``; ``also`` names the other parameters the caller
        reads. A name given twice or unknown is an error rather than a silent choice: a misspelt
        filter would widen the answer."""
        single = single_values(pairs, allowed=cls.REPEATABLE + cls.SINGLE + also, repeatable=cls.REPEATABLE)
        direct = single.get("direct", "false").strip().lower()
        if direct not in _FLAG:
            raise ParameterError(f"Parameter 'direct' must be true or false; got {single['direct']!r}.")
        repeated = {name: tuple(dict.fromkeys(v for k, v in pairs if k == name and v)) for name in cls.REPEATABLE}
        for name, values in repeated.items():
            if len(values) > cls.MOST_REPEATED:
                raise ParameterError(f"At most {cls.MOST_REPEATED} values of {name!r}, not {len(values)}.")
        return cls(actors=repeated["actor"], direct=_FLAG[direct], type=single.get("type", ""),
                   place=single.get("place", ""), start=single.get("from", ""), end=single.get("to", ""),
                   modalities=tuple(dict.fromkeys(modality_name(m) or m for m in repeated["modality"])),
                   roles=repeated["role"])

    def in_words(self) -> list[str]:
        """The filters as typed: ``["Russia", "from 2021"]``."""
        start, end = self.start.strip(), self.end.strip()
        span = (start if start == end else f"{start}–{end}") if start and end else f"from {start}" if start \
            else f"to {end}" if end else ""
        own = "its own events only" if self.direct and self.actors else ""
        shown = [*self.actors, own, self.type, self.place, span, *self.roles, *self.modalities]
        return [text for text in shown if text]

    def resolve(self, kb: KnowledgeBase) -> TimelineFilter:
        filt = typed_filter(kb, actors=self.actors, direct=self.direct, event_type=self.type, place=self.place,
                            start=self.start, end=self.end, modalities=self.modalities)
        return with_roles(kb, filt, self.roles)


def single_values(pairs: Sequence[tuple[str, str]], allowed: tuple[str, ...] | None = None,
                  repeatable: tuple[str, ...] = ()) -> dict[str, str]:
    """A query string's values by name, ``repeatable`` names left out. A name given twice, or not
    ``allowed``, is an error rather than a silent choice: a misspelt filter would widen the answer."""
    values: dict[str, str] = {}
    for name, value in pairs:
        if allowed is not None and name not in allowed:
            raise ParameterError(f"Unknown parameter {name!r}; this takes: {', '.join(allowed)}.")
        if name in repeatable:
            continue
        if name in values:
            raise ParameterError(f"Parameter {name!r} is given twice; give it once.")
        values[name] = value
    return values


# A checkbox sends "on"; a URL written by hand says true or 1.
_FLAG = {"": True, "1": True, "true": True, "yes": True, "on": True,
         "0": False, "false": False, "no": False, "off": False}


def asset(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


# Where the events go in the file's page: its two halves are written around them.
_EVENTS_HERE = "\x00dipkb-events\x00"


# Measured in headless Chromium (bench/NOTES.md, 2026-12-06): the page of 100,000 generated events
# (92 MB) drew its first events in 1.8 s with 1.7 GB of the browser's memory; the page of a million
# (913 MB) drew none: its JSON, longer than a JavaScript string may be, came to the script cut short.
COMFORTABLE_PAGE = 100_000


def page_size_note(events: int) -> str | None:
    """A word for whoever is about to share a page that browsers may not open, or None."""
    if events <= COMFORTABLE_PAGE:
        return None
    return (f"the page holds {events:,} events; Chromium took 1.7 GB to open 100,000 and may not open this "
            "many. A filter makes a smaller page: dipkb timeline --actor NAME --from YEAR -o page.html")


def static_timeline(kb: KnowledgeBase, selected: Collection[Selected],
                    chosen_by: TimelineForm | None = None) -> Iterator[str]:
    """A timeline as one HTML file that needs no network, in pieces: the ``selected`` events (from
    long_selection.select_all). CSS and script inlined, every event embedded as JSON with its filter
    keys; the script pages and filters it in the browser. The events are made, given their keys and
    written a chunk (timeline.CHUNK) at a time, and the names the filters look up come after them:
    memory holds the selection and one chunk, not the page (100k events took 1.3 GB when the page
    was made whole). ``chosen_by``: the filters ``selected`` was chosen by, said on the page: its
    readers would take the events it holds for all there are."""
    chosen = chosen_by.in_words() if chosen_by else []
    notes = [f"This file holds only the events of: {' · '.join(chosen)}. The filters below search among them."] \
        if chosen else []
    page = environment().get_template("timeline.html").render(
        static=True, css=Markup(asset("dipkb.css")), script=Markup(asset("dipkb.js")), data=Markup(_EVENTS_HERE),
        form=TimelineForm(), modalities=MODALITIES, notes=notes, error=None,
        title=" · ".join(chosen + ["dipkb timeline"]), alternate=None, stale=None)
    head, tail = page.split(_EVENTS_HERE)
    yield head + f'{{"mode":"static","total":{len(selected)},"offset":0,"per_page":{PER_PAGE},"events":['
    lookups: dict[str, dict] = {"actors": {}, "places": {}, "types": {}, "codes": {}, "counts_for": {}, "roles": role_lookup(kb)}
    entries, separator = timeline_entries(kb, selected), ""
    for chunk in iter(lambda: list(islice(entries, CHUNK)), []):
        keys = filter_keys(kb, chunk)
        events = [{**data, "match": keys.of(data["id"])} for data in event_data(chunk)]
        yield separator + str(script_json(events))[1:-1]  # the list's items, without its brackets
        separator = ","
        for name, found in keys.lookups().items():
            if name == "codes":  # states of one code may come in several chunks
                found = {code: sorted({*lookups["codes"].get(code, ()), *states}) for code, states in found.items()}
            lookups[name].update(found)
    sorted_lookups = {name: dict(sorted(found.items())) for name, found in lookups.items()}
    yield f'],"lookups":{script_json(sorted_lookups)}}}' + tail
