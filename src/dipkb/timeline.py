"""The event view users read: name resolution and chronological timelines with roles and sources."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from pyoxigraph import Literal, NamedNode

from dipkb.errors import AmbiguousNameError, ParameterError, UnknownNameError
from dipkb.kb import KnowledgeBase
from dipkb.namespaces import DIP, RDF, RDFS, curie, expand
from dipkb.tallies import EventClasses
from dipkb.temporal import TIME_FIELDS, XSD_DATE, EventTime, overlapping_buckets, period_of

# Name look-ups compare lower-cased labels; the name is a bound literal, never part of the text.
# pyoxigraph substitutes only variables of the SELECT projection, hence ?needle and ?kind there.
_NAME_QUERY = """
SELECT DISTINCT ?thing ?label ?needle ?kind WHERE {
  ?thing rdfs:label|skos:altLabel|skos:prefLabel ?name .
  FILTER(LCASE(STR(?name)) = ?needle)
  ?thing a ?class . ?class rdfs:subClassOf* ?kind .
  OPTIONAL { ?thing rdfs:label ?label }
}"""
_EXISTS_QUERY = "ASK { ?thing a ?class . ?class rdfs:subClassOf* ?kind }"


def iri_node(iri: str) -> NamedNode | None:
    """The IRI as a term, None when it is no valid IRI (a space, a quote, '<'...): text a user typed
    must end in a message, not in pyoxigraph's ValueError."""
    try:
        return NamedNode(iri)
    except ValueError:
        return None


def resolve(kb: KnowledgeBase, text: str, kind: str = DIP + "Actor", noun: str = "actor") -> str:
    """An IRI, CURIE or name (label or alternative label, any case) to the one matching IRI."""
    kind_node = NamedNode(kind)
    iri = expand(text.strip())
    if iri is not None:
        node = iri_node(iri)
        if node is None:
            raise UnknownNameError(f"{text!r} is not a valid IRI.")
        if kb.ask(_EXISTS_QUERY, {"thing": node, "kind": kind_node}):
            return iri
        raise UnknownNameError(f"No {noun} {text!r} in the knowledge base.")
    found = _exact_label_matches(kb, text.strip(), kind_node)
    if not found:
        rows = kb.select(_NAME_QUERY, {"needle": Literal(text.strip().lower()), "kind": kind_node})
        found = sorted({(r["thing"].value, r["label"].value if "label" in r else "") for r in rows})
    if not found:
        hint = _suggestions(kb, text, kind_node)
        raise UnknownNameError(f"No {noun} named {text!r}." + (f" Did you mean: {hint}?" if hint else
                               " Give a label, an alternative label or an IRI such as actor:russia."))
    if len(found) > 1:
        raise AmbiguousNameError(text, [(curie(i), label) for i, label in found])
    return found[0][0]


# Plain triple patterns with the name bound: the engine answers from its object index.
_LABEL_QUERY = """
SELECT ?thing ?name WHERE {
  { ?thing rdfs:label ?name } UNION { ?thing skos:altLabel ?name } UNION { ?thing skos:prefLabel ?name }
}"""
_TYPES_QUERY = "SELECT ?thing ?class ?label WHERE { VALUES ?thing { %s } ?thing a ?class OPTIONAL { ?thing rdfs:label ?label } }"


def _exact_label_matches(kb: KnowledgeBase, text: str, kind: NamedNode) -> list[tuple[str, str]]:
    """Matches of the name as typed or in its usual casings, each looked up by the label itself.

    A case-insensitive FILTER must read every label of the KB (a minute at a million events), so the
    common spellings are looked up directly first; the full scan runs only when they find nothing.
    """
    things = set()
    for variant in {text, text.lower(), text.title(), text.capitalize(), text.upper()}:
        for literal in (Literal(variant, language="en"), Literal(variant)):
            things.update(row["thing"].value for row in kb.select(_LABEL_QUERY, {"name": literal}))
    kinds = _subclasses(kb, kind)
    found: dict[str, str] = {}
    # The IRIs come from the store, never from user text.
    for row in _select_chunked(kb, _TYPES_QUERY, sorted(things)):
        if row["class"] in kinds:
            found.setdefault(row["thing"].value, row["label"].value if "label" in row else "")
    return sorted(found.items())


def _subclasses(kb: KnowledgeBase, kind: NamedNode) -> set[NamedNode]:
    rows = kb.select("SELECT ?c ?kind WHERE { ?c rdfs:subClassOf* ?kind }", {"kind": kind})
    return {r["c"] for r in rows} | {kind}


_SUGGEST_QUERY = """
SELECT DISTINCT ?label ?needle ?kind WHERE {
  ?thing a ?class . ?class rdfs:subClassOf* ?kind .
  ?thing rdfs:label ?label . FILTER(CONTAINS(LCASE(STR(?label)), ?needle))
} ORDER BY ?label LIMIT 5"""


def _suggestions(kb: KnowledgeBase, text: str, kind: NamedNode) -> str:
    rows = kb.select(_SUGGEST_QUERY, {"needle": Literal(text.strip().lower()), "kind": kind})
    return ", ".join(f"'{r['label'].value}'" for r in rows)


def resolve_actor(kb: KnowledgeBase, text: str) -> str:
    return resolve(kb, text, DIP + "Actor", "actor")


def resolve_place(kb: KnowledgeBase, text: str) -> str:
    return resolve(kb, text, DIP + "Place", "place")


@dataclass(frozen=True)
class TypeFilter:
    """An event-type filter: a dipkb class, or a CAMEO/PLOVER concept whose descendants count too."""

    iri: str
    is_code: bool


_CODE_QUERY = """
SELECT ?concept ?code WHERE {
  ?concept skos:notation ?notation ; skos:inScheme ?scheme .
  FILTER(STR(?notation) = ?code)
  VALUES ?scheme { <https://w3id.org/dipkb/cameo/scheme> <https://w3id.org/dipkb/plover/scheme> }
}"""
_CLASS_QUERY = "SELECT ?class ?needle WHERE { ?class skos:inScheme dip:EventTypeScheme ; rdfs:label ?label . FILTER(LCASE(STR(?label)) = ?needle) }"


def resolve_event_type(kb: KnowledgeBase, text: str) -> TypeFilter:
    """``Meeting``, ``dip:Meeting``, ``meeting``, a CAMEO code (``04``, ``042``) or a PLOVER type (``CONSULT``)."""
    text = text.strip()
    candidates = [text, f"dip:{text}"]
    for candidate in candidates:
        node = iri_node(expand(candidate) or "")
        if node and kb.ask("ASK { ?c skos:inScheme dip:EventTypeScheme }", {"c": node}):
            return TypeFilter(node.value, is_code=False)
    rows = kb.select(_CLASS_QUERY, {"needle": Literal(text.lower())})
    if len(rows) == 1:
        return TypeFilter(rows[0]["class"].value, is_code=False)
    rows = kb.select(_CODE_QUERY, {"code": Literal(text)})
    if len(rows) == 1:
        return TypeFilter(rows[0]["concept"].value, is_code=True)
    raise UnknownNameError(
        f"Unknown event type {text!r}: use a dipkb class (Meeting, TroopMovement), a CAMEO code (04, 042) "
        "or a PLOVER type (CONSULT)."
    )


@dataclass(frozen=True)
class Ref:
    id: str
    label: str


@dataclass(frozen=True)
class Participant:
    id: str
    label: str
    role: str


@dataclass(frozen=True)
class SourceRef:
    id: str
    title: str
    url: str | None


@dataclass(frozen=True)
class TimelineEntry:
    id: str
    type: str
    label: str
    date: str
    modality: str
    participants: tuple[Participant, ...]
    place: Ref | None
    sources: tuple[SourceRef, ...]
    earliest_day: str | None = None
    latest_day: str | None = None
    context: bool = False

    def as_dict(self) -> dict:
        return {
            "id": curie(self.id), "type": self.type, "label": self.label, "date": self.date,
            "modality": self.modality,
            "participants": [{"id": curie(p.id), "label": p.label, "role": p.role} for p in self.participants],
            "place": {"id": curie(self.place.id), "label": self.place.label} if self.place else None,
            "sources": [{"id": curie(s.id), "title": s.title, "url": s.url} for s in self.sources],
            "context": self.context,
        }


@dataclass(frozen=True)
class TimelineFilter:
    """What to include. Several actors widen the timeline (any of them); with ``via_agents`` an
    actor's events include those of actors acting for it (Kabulov and the Foreign Ministry for Russia)."""

    actors: tuple[str, ...] = ()
    via_agents: bool = True
    event_type: TypeFilter | None = None
    place: str | None = None
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ParameterError(f"The date range is empty: it starts on {self.start.isoformat()}, after its end "
                                 f"on {self.end.isoformat()}.")


# The acting-for closure is fetched first and spliced as VALUES of store IRIs (never user text):
# pyoxigraph plans a query before substituting ?actor, so a path from it would scan every event.
_AGENTS_QUERY = "SELECT DISTINCT ?who ?actor WHERE { ?who dip:actsFor* ?actor }"
_ACTOR = "VALUES ?who { %s } ?event dip:participant ?who ."
_TYPE_CLASS = "?event a ?cls . ?cls rdfs:subClassOf* ?etype ."
_TYPE_CODE = """{ ?event dip:eventCode/skos:broader* ?etype }
  UNION { ?event a ?cls . ?cls rdfs:subClassOf*/(skos:exactMatch|skos:closeMatch) ?mapped . ?mapped skos:broader* ?etype }
  UNION { ?event dip:eventCode/skos:closeMatch ?etype }"""
_PLACE = "?event dip:place|dip:origin|dip:destination ?at . ?at dip:inCountry* ?place ."
_EVENT_CLASS = "?event a ?cls . ?cls rdfs:subClassOf* dip:Event ."
# First, when there is one; the buckets come from parsed dates, never from user text. In a
# subquery: given more than a few VALUES inline, Oxigraph joined them to the actor's events the
# slow way round (3.8 s instead of 0.6 s for a 6,000-event timeline at a million events).
_BUCKETS = "{ SELECT ?event WHERE { VALUES ?bucket { %s } ?event dip:timeBucket ?bucket } }"


def _selection_query(filt: TimelineFilter, agents: list[str]) -> str:
    patterns = []
    dated = filt.start is not None or filt.end is not None
    buckets = overlapping_buckets(filt.start, filt.end) if filt.start and filt.end else None
    if buckets is not None:
        patterns.append(_BUCKETS % " ".join(f"<{bucket}>" for bucket in buckets))
    if agents:
        patterns.append(_ACTOR % " ".join(str(NamedNode(iri)) for iri in agents))
    if filt.event_type:
        patterns.append(_TYPE_CODE if filt.event_type.is_code else _TYPE_CLASS)
    if filt.place:
        patterns.append(_PLACE)
    if not patterns:
        patterns.append(_EVENT_CLASS)
    return (
        "SELECT DISTINCT ?event ?lo ?hi ?from ?to ?etype ?place WHERE {\n  " + "\n  ".join(patterns) + "\n"
        "  OPTIONAL { ?event dip:earliestDay ?lo } OPTIONAL { ?event dip:latestDay ?hi }\n"
        # BOUND() is false for a substituted variable in pyoxigraph, so an absent bound or an
        # unset parameter is told by the comparison raising an error, which COALESCE turns to true.
        # An undated event is in no date range.
        f"  FILTER({'(BOUND(?lo) || BOUND(?hi)) && ' if dated else ''}"
        "COALESCE(?lo <= ?to, true) && COALESCE(?hi >= ?from, true))\n}"
    )


def select_events(kb: KnowledgeBase, filt: TimelineFilter) -> list[tuple[str, str | None, str | None]]:
    """The matching events as (IRI, earliest day, latest day), chronological."""
    bindings: dict = {}
    day = NamedNode(XSD_DATE)
    if filt.start:
        bindings["from"] = Literal(filt.start.isoformat(), datatype=day)
    if filt.end:
        bindings["to"] = Literal(filt.end.isoformat(), datatype=day)
    if filt.event_type:
        bindings["etype"] = NamedNode(filt.event_type.iri)
    if filt.place:
        bindings["place"] = NamedNode(filt.place)
    found: dict[str, tuple[str | None, str | None]] = {}
    for actor in filt.actors or (None,):
        agents = []
        if actor and filt.via_agents:
            agents = sorted({r["who"].value for r in kb.select(_AGENTS_QUERY, {"actor": NamedNode(actor)})} | {actor})
        elif actor:
            agents = [actor]
        for row in kb.select(_selection_query(filt, agents), bindings):
            found[row["event"].value] = (
                row["lo"].value if "lo" in row else None, row["hi"].value if "hi" in row else None
            )
    return sorted(((iri, lo, hi) for iri, (lo, hi) in found.items()), key=_chronological)


def empty_actor_notes(kb: KnowledgeBase, filt: TimelineFilter, entries: list[TimelineEntry]) -> list[str]:
    """Notes for the actors of ``filt`` that on their own have no event under it: an actor that
    exists but has none would otherwise show as an empty table, or vanish among the others' events."""
    if len(filt.actors) > 1 and entries:
        missing = [a for a in filt.actors if not select_events(kb, replace(filt, actors=(a,)))]
    else:
        missing = list(filt.actors) if not entries else []
    narrowed = filt.event_type or filt.place or filt.start or filt.end
    where = "that match the other filters" if narrowed else "in the knowledge base"
    return [f"{curie(actor)} has no events {where}." for actor in missing]


def _chronological(item: tuple[str, str | None, str | None]) -> tuple:
    iri, lo, hi = item
    anchor = lo or hi
    return (anchor is None, anchor or "", hi or "9999-12-31", iri)


# Plain triple patterns, labels fetched once per distinct object afterwards: OPTIONAL label joins
# per triple made the details of a 6,000-event timeline at a million events 3x slower.
_DETAIL_QUERY = "SELECT ?event ?p ?o WHERE { VALUES ?event { %s } ?event ?p ?o }"
_DESCRIPTION_QUERY = """
SELECT ?thing ?label ?title ?url WHERE {
  VALUES ?thing { %s }
  { ?thing rdfs:label ?label } UNION { ?thing dct:title ?title } UNION { ?thing dip:url|schema:url ?url }
}"""
_ROLE_QUERY = """
SELECT ?role ?label WHERE {
  ?role rdfs:subPropertyOf+ dip:participant .
  OPTIONAL { ?role rdfs:label ?label . FILTER(LANGMATCHES(LANG(?label), "en")) }
}"""


@dataclass
class _Collected:
    types: set[str] = field(default_factory=set)  # every rdf:type
    label: str = ""
    times: dict = field(default_factory=dict)
    modality: str = "occurred"
    participants: list[tuple[str, str]] = field(default_factory=list)  # (actor, role)
    place: str | None = None
    sources: list[str] = field(default_factory=list)
    context: bool = False


def timeline(kb: KnowledgeBase, filt: TimelineFilter = TimelineFilter()) -> list[TimelineEntry]:
    selected = select_events(kb, filt)
    if not selected:
        return []
    roles = {r["role"].value: r["label"].value if "label" in r else curie(r["role"].value)
             for r in kb.select(_ROLE_QUERY)}
    classes = _event_classes(kb)
    collected = {iri: _Collected() for iri, _, _ in selected}
    for row in _select_chunked(kb, _DETAIL_QUERY, list(collected)):
        _collect(collected[row["event"].value], row["p"].value, row["o"], roles)
    things = {thing for c in collected.values()
              for thing in [a for a, _ in c.participants] + c.sources + ([c.place] if c.place else [])}
    titles: dict[str, str] = {}
    labels: dict[str, str] = {}
    urls: dict[str, str] = {}
    for row in _select_chunked(kb, _DESCRIPTION_QUERY, sorted(things)):
        for name, found in (("title", titles), ("label", labels), ("url", urls)):
            if name in row:
                found.setdefault(row["thing"].value, row[name].value)
    names = {thing: titles.get(thing) or labels.get(thing) or curie(thing) for thing in things}
    return [_entry(iri, lo, hi, collected[iri], names, urls, classes) for iri, lo, hi in selected]


def _select_chunked(kb: KnowledgeBase, query: str, iris: list[str]) -> list[dict]:
    """``query`` with its VALUES filled from ``iris``, a thousand at a time."""
    return [row for chunk in _chunks(iris, 1000)
            for row in kb.select(query % " ".join(str(NamedNode(iri)) for iri in chunk))]


def _event_classes(kb: KnowledgeBase) -> EventClasses:
    """The event classes as the index reads them, so that an event shows the type it is counted under."""
    return EventClasses.from_rows((r["class"].value, r["sub"].value if "sub" in r else None)
                                  for r in kb.select(EventClasses.QUERY))


def _collect(c: _Collected, p: str, o, roles: dict[str, str]) -> None:
    if p == RDF + "type":
        c.types.add(o.value)
    elif p == RDFS + "label":
        c.label = o.value
    elif p.startswith(DIP) and p[len(DIP):] in TIME_FIELDS and isinstance(o, Literal):
        period = period_of(o.value, o.datatype.value)
        if period:
            c.times[TIME_FIELDS[p[len(DIP):]]] = period
    elif p == DIP + "modality":
        c.modality = o.value.rsplit("#", 1)[-1].lower()
    elif p in roles:
        c.participants.append((o.value, roles[p]))
    elif p == DIP + "place":
        c.place = o.value
    elif p == DIP + "source":
        c.sources.append(o.value)
    elif p == DIP + "contextFor":
        c.context = True


def _entry(iri: str, lo: str | None, hi: str | None, c: _Collected, labels: dict[str, str],
           urls: dict[str, str], classes: EventClasses) -> TimelineEntry:
    most_specific = classes.shown(c.types) or DIP + "Event"
    participants = {Participant(actor, labels[actor], role) for actor, role in c.participants}
    return TimelineEntry(
        id=iri,
        type=curie(most_specific),
        label=c.label,
        date=EventTime(**c.times).display(),
        modality=c.modality,
        participants=tuple(sorted(participants, key=lambda p: (p.role, p.label, p.id))),
        place=Ref(c.place, labels[c.place]) if c.place else None,
        sources=tuple(sorted({SourceRef(s, labels[s], urls.get(s)) for s in c.sources}, key=lambda s: (s.id, s.title))),
        earliest_day=lo,
        latest_day=hi,
        context=c.context,
    )


def _chunks(items: list[str], size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]
