"""The event view users read: chronological timelines with roles and sources."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from pyoxigraph import Literal, NamedNode

from dipkb.errors import ParameterError
from dipkb.model.namespaces import DIP, curie
from dipkb.model.temporal import TIME_FIELDS, XSD_DATE, EventTime, overlapping_buckets, parse_partial_date, period_of
from dipkb.store.kb import KnowledgeBase
from dipkb.store.tallies import EventClasses
from dipkb.views.eventrow import EventRow
from dipkb.views.names import TypeFilter, resolve_actor, resolve_event_type, resolve_place, resolve_role

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
    title: str | None  # None when the timeline was asked for its sources' IRIs only
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
    # What the rows leave out and a reader of the web timeline or a TimelineJS slide sees.
    time: EventTime = EventTime()
    quotes: tuple[str, ...] = ()  # verbatim
    contents: tuple[str, ...] = ()  # as reported

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
    modalities: frozenset[str] = frozenset()  # occurred, planned, ...: any of them; empty: all
    # Role properties (dip:host...): an actor of the filter, or anyone without one, took part in one of them.
    roles: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise ParameterError(f"The date range is empty: it starts on {self.start.isoformat()}, after its end "
                                 f"on {self.end.isoformat()}.")


# The acting-for closure is fetched first and spliced as VALUES of store IRIs (never user text):
# pyoxigraph plans a query before substituting ?actor, so a path from it would scan every event.
# Actors a dataset attributes to a state (dip:ofState: its citizens, media, regions) count as its too,
# so that `timeline --actor Russia` shows what `import --country RUS` kept.
_AGENTS_QUERY = "SELECT DISTINCT ?who ?actor WHERE { ?who (dip:actsFor|dip:ofState)* ?actor }"
_ACTOR = "VALUES ?who { %s } ?event dip:participant ?who ."
# The roles and their sub-properties, store IRIs; ?who is the actor or an agent of it when one is given.
_ROLE = "VALUES ?role { %s } ?event ?role ?who ."
_ROLE_FAMILY = "SELECT DISTINCT ?sub ?role WHERE { ?sub rdfs:subPropertyOf* ?role }"
# An event type's classes and codes are fetched first and spliced as VALUES of store IRIs, as the
# agents are: paths from a substituted ?etype were planned from every typed or coded event (a
# CAMEO code over three months at a million events: 4.6 s, 1.3 s so). An actor's or a place's
# events are tested one by one instead (FILTER EXISTS): joined as a pattern, the type's events were
# read first (the busiest actor's 042 events over three months: 4.2 s, 0.2 s so).
_TYPE_CLASSES = "SELECT DISTINCT ?cls ?etype WHERE { ?cls rdfs:subClassOf* ?etype }"
_TYPE_CLASS = "VALUES ?cls { %s } ?event a ?cls ."
_TYPE_CLASS_TEST = "FILTER EXISTS { VALUES ?cls { %s } ?event a ?cls }"
# A code matches the events coded with it, with a narrower code (042 finds 0421, not 043 "host a
# visit", though both are visits) or with a code close to it; an event without a code, through the
# codes its class is mapped to.
_CODES = "SELECT DISTINCT ?code ?etype WHERE { { ?code skos:broader* ?etype } UNION { ?code skos:closeMatch ?etype } }"
_MAPPED_CLASSES = """SELECT DISTINCT ?cls ?etype WHERE {
  ?mapped skos:broader* ?etype . ?cls rdfs:subClassOf*/(skos:exactMatch|skos:closeMatch) ?mapped }"""
_TYPE_CODE = """{ VALUES ?code { %s } ?event dip:eventCode ?code }
  UNION { VALUES ?cls { %s } ?event a ?cls FILTER NOT EXISTS { ?event dip:eventCode ?coded } }"""
_TYPE_CODE_TEST = """FILTER(EXISTS { VALUES ?code { %s } ?event dip:eventCode ?code }
  || (NOT EXISTS { ?event dip:eventCode ?coded } && EXISTS { VALUES ?cls { %s } ?event a ?cls }))"""
# A place's events are those at it or at a place in it: the places in it are fetched first and
# spliced as VALUES of store IRIs, as the agents are (the path from a substituted ?place took 7.4 s
# of a country's 91,893 events at a million, against 2.2 s).
_PLACES_QUERY = "SELECT ?at ?place WHERE { ?at dip:inCountry* ?place }"
_PLACE = "VALUES ?at { %s } ?event dip:place|dip:origin|dip:destination ?at ."
_EVENT_CLASS = "?event a ?cls . ?cls rdfs:subClassOf* dip:Event ."
# First, when there is one; the buckets come from parsed dates, never from user text. In a
# subquery: given more than a few VALUES inline, Oxigraph joined them to the actor's events the
# slow way round (3.8 s instead of 0.6 s for a 6,000-event timeline at a million events).
_BUCKETS = "{ SELECT ?event WHERE { VALUES ?bucket { @rows@ } ?event dip:timeBucket ?bucket } }"
# An actor's events in a range: its (bucket, actor) pairs looked up (facts.derive_graph states each
# participation with the event's bucket as predicate), where joining the range's events with the
# actor's read every event of the one or the other.
_FILED = "{ SELECT ?event WHERE { VALUES (?bucket ?who) { @rows@ } ?event ?bucket ?who } }"
# Where the rows of the buckets' block go (KnowledgeBase.select_values), 128 a query: the queries run on
# two threads, where the busiest actor's 880 pairs at a million events made one query of 0.4 s.
_ROWS, _ROWS_PER_QUERY = "@rows@", 128


# Store IRIs of the ontology's modalities, never user text; an event stating none is dip:Occurred.
_MODALITY = "OPTIONAL { ?event dip:modality ?modality } FILTER(IF(BOUND(?modality), ?modality IN (%s), %s))"


def _type_pattern(kb: KnowledgeBase, event_type: TypeFilter, test: bool) -> str:
    """The pattern of the events of ``event_type``, or with ``test`` a filter on ?event."""
    def listed(query: str, name: str) -> str:
        found = kb.select(query, {"etype": NamedNode(event_type.iri)})
        return " ".join(sorted({str(r[name]) for r in found if isinstance(r[name], NamedNode)}))

    if event_type.is_code:
        return (_TYPE_CODE_TEST if test else _TYPE_CODE) % (listed(_CODES, "code"), listed(_MAPPED_CLASSES, "cls"))
    return (_TYPE_CLASS_TEST if test else _TYPE_CLASS) % listed(_TYPE_CLASSES, "cls")


def _selection_query(filt: TimelineFilter, agents: list[str], roles: list[str], places: list[str],
                     of_type: str | None, with_rows: bool) -> tuple[str, list[tuple[NamedNode, ...]]]:
    """The query selecting the events of ``filt`` (with their timeline rows if ``with_rows``, else ?row
    unbound; ``of_type`` the pattern of its event type), and the rows of its block of buckets: when there are rows, the query has ``%s`` where
    they go (for KnowledgeBase.select_values) and its other ``%`` doubled."""
    patterns, rows = [], []
    dated = filt.start is not None or filt.end is not None
    buckets = overlapping_buckets(filt.start, filt.end) if filt.start and filt.end else None
    who = " ".join(str(NamedNode(iri)) for iri in agents)
    if buckets is not None and agents:
        patterns.append(_FILED)
        rows = [(NamedNode(bucket), NamedNode(actor)) for bucket in buckets for actor in agents]
    elif buckets is not None:
        patterns.append(_BUCKETS)
        rows = [(NamedNode(bucket),) for bucket in buckets]
    elif agents:
        patterns.append(_ACTOR % who)
    if roles:
        listed = " ".join(str(NamedNode(iri)) for iri in roles)
        patterns.append((f"VALUES ?who {{ {who} }} " if agents else "") + _ROLE % listed)
    if of_type:
        patterns.append(of_type)
    if places:
        patterns.append(_PLACE % " ".join(str(NamedNode(iri)) for iri in places))
    if not patterns:
        patterns.append(_EVENT_CLASS)
    if filt.modalities:
        listed = ", ".join(str(NamedNode(DIP + name.capitalize())) for name in sorted(filt.modalities))
        patterns.append(_MODALITY % (listed, str("occurred" in filt.modalities).lower()))
    query = (
        "SELECT DISTINCT ?event ?lo ?hi ?row ?from ?to WHERE {\n  " + "\n  ".join(patterns) + "\n"
        "  OPTIONAL { ?event dip:earliestDay ?lo } OPTIONAL { ?event dip:latestDay ?hi }\n"
        + ("  OPTIONAL { ?event dip:timelineRow ?row }\n" if with_rows else "") +
        # BOUND() is false for a substituted variable in pyoxigraph, so an absent bound or an
        # unset parameter is told by the comparison raising an error, which COALESCE turns to true.
        # An undated event is in no date range.
        f"  FILTER({'(BOUND(?lo) || BOUND(?hi)) && ' if dated else ''}"
        "COALESCE(?lo <= ?to, true) && COALESCE(?hi >= ?from, true))\n}"
    )
    return (query.replace("%", "%%").replace(_ROWS, "%s"), rows) if rows else (query, rows)


@dataclass(frozen=True)
class Selected:
    """An event :func:`select_events` chose: its first and last day, and the texts of its rows
    (dip:timelineRow, one from each file that states it)."""

    iri: str
    earliest_day: str | None
    latest_day: str | None
    rows: tuple[str, ...]


def select_events(kb: KnowledgeBase, filt: TimelineFilter, *, with_rows: bool = True) -> list[Selected]:
    """The matching events, chronological; without ``with_rows`` their rows are left for
    :func:`_rows_read` to read for the few that are shown (reading them took half of the selection of an
    actor's 237,128 events at a million)."""
    bindings: dict = {}
    day = NamedNode(XSD_DATE)
    if filt.start:
        bindings["from"] = Literal(filt.start.isoformat(), datatype=day)
    if filt.end:
        bindings["to"] = Literal(filt.end.isoformat(), datatype=day)
    roles = sorted({r["sub"].value for role in filt.roles
                    for r in kb.select(_ROLE_FAMILY, {"role": NamedNode(role)})})
    places = sorted({r["at"].value for r in kb.select(_PLACES_QUERY, {"place": NamedNode(filt.place)})
                     if isinstance(r["at"], NamedNode)} | {filt.place}) if filt.place else []
    of_type = _type_pattern(kb, filt.event_type, test=bool(filt.actors or places)) if filt.event_type else None
    days: dict[str, tuple[str | None, str | None]] = {}
    rows: dict[str, set[str]] = {}
    for actor in filt.actors or (None,):
        agents = []
        if actor and filt.via_agents:
            agents = sorted({r["who"].value for r in kb.select(_AGENTS_QUERY, {"actor": NamedNode(actor)})
                             if isinstance(r["who"], NamedNode)} | {actor})
        elif actor:
            agents = [actor]
        query, values = _selection_query(filt, agents, roles, places, of_type, with_rows)
        # In chunks, an event may come back from two of them, with the same days; with one row a
        # file that states it.
        for found in kb.select_values(query, values, bindings, _ROWS_PER_QUERY) if values else kb.query(query, bindings):
            iri, lo, hi, row = found["event"].value, found["lo"], found["hi"], found["row"]
            days[iri] = (lo.value if lo else None, hi.value if hi else None)
            if row is not None:
                rows.setdefault(iri, set()).add(row.value)
    selected = [Selected(iri, lo, hi, tuple(sorted(rows.get(iri, ())))) for iri, (lo, hi) in days.items()]
    return sorted(selected, key=_chronological)


def empty_actor_notes(kb: KnowledgeBase, filt: TimelineFilter, entries: list[TimelineEntry]) -> list[str]:
    """Notes for the actors of ``filt`` that on their own have no event under it: an actor that
    exists but has none would otherwise show as an empty table, or vanish among the others' events."""
    if len(filt.actors) > 1 and entries:
        missing = [a for a in filt.actors if not select_events(kb, replace(filt, actors=(a,)), with_rows=False)]
    else:
        missing = list(filt.actors) if not entries else []
    narrowed = filt.event_type or filt.place or filt.start or filt.end or filt.modalities or filt.roles
    where = "that match the other filters" if narrowed else "in the knowledge base"
    return [f"{curie(actor)} has no events {where}." for actor in missing]


def _chronological(event: Selected) -> tuple:
    anchor = event.earliest_day or event.latest_day
    return (anchor is None, anchor or "", event.latest_day or "9999-12-31", event.iri)


# A thing's name is its first title, else its first label; its URL its first dip:url, else schema:url.
_DESCRIPTION_QUERY = """SELECT ?n ?k ?o WHERE {
  VALUES (?thing ?n) { %s } ?thing ?p ?o
  OPTIONAL { VALUES (?p ?k) { (dct:title 0) (rdfs:label 1) (dip:url 2) (schema:url 3) } } FILTER(BOUND(?k)) }"""
_ROLE_QUERY = """
SELECT ?role ?label WHERE {
  ?role rdfs:subPropertyOf+ dip:participant .
  OPTIONAL { ?role rdfs:label ?label . FILTER(LANGMATCHES(LANG(?label), "en")) }
}"""


def timeline(kb: KnowledgeBase, filt: TimelineFilter = TimelineFilter(), *,
             source_titles: bool = True) -> list[TimelineEntry]:
    """Every matching event, chronological, with what a reader needs; without ``source_titles`` its
    sources by IRI only, for a view that shows no more (looking up a title and URL for each of the
    7,000 sources of a 6,000-event timeline at a million events took a quarter of a second)."""
    return entries_of(kb, select_events(kb, filt), source_titles=source_titles)


def timeline_window(kb: KnowledgeBase, filt: TimelineFilter, start: int, size: int) -> tuple[list[TimelineEntry], int]:
    """The ``size`` matching events from position ``start`` and how many match in all: a page of a
    long timeline costs its own events' details, not everyone's."""
    selected = select_events(kb, filt, with_rows=False)
    return entries_of(kb, _rows_read(kb, selected[start:start + size])), len(selected)


_ROWS_QUERY = "SELECT ?n ?row WHERE { VALUES (?event ?n) { %s } ?event dip:timelineRow ?row }"


def _rows_read(kb: KnowledgeBase, selected: list[Selected]) -> list[Selected]:
    """``selected``, chosen without their rows, with them."""
    rows: list[set[str]] = [set() for _ in selected]
    for n, row in kb.numbered_for_each(_ROWS_QUERY, [event.iri for event in selected]):
        rows[int(n.value)].add(row.value)
    return [replace(event, rows=tuple(sorted(found))) for event, found in zip(selected, rows)]


def entries_of(kb: KnowledgeBase, selected: list[Selected], *, source_titles: bool = True) -> list[TimelineEntry]:
    """The timeline entries of events chosen by :func:`select_events`, in the same order; sources
    with their titles and URLs, or by IRI only."""
    if not selected:
        return []
    roles = {r["role"].value: r["label"].value if "label" in r else curie(r["role"].value)
             for r in kb.select(_ROLE_QUERY)}
    rows = [EventRow.merged(event.rows) for event in selected]
    things = sorted({thing for row in rows for thing in [a for r, a in row.roles if r in roles]
                     + (row.sources if source_titles else []) + ([row.place] if row.place else [])})
    first: dict[tuple[int, int], str] = {}
    for n, k, o in kb.numbered_for_each(_DESCRIPTION_QUERY, things):
        first.setdefault((int(n.value), int(k.value)), o.value)
    names = {thing: first.get((n, 0)) or first.get((n, 1)) or curie(thing) for n, thing in enumerate(things)}
    urls = {thing: url for n, thing in enumerate(things) if (url := first.get((n, 2), first.get((n, 3)))) is not None}
    return list(map(_Shaper(roles, names, urls, kb.event_classes, source_titles).entry, selected, rows))


MODALITIES = ("occurred", "ongoing", "planned", "possible", "claimed", "denied")


def typed_filter(kb: KnowledgeBase, *, actors: Sequence[str] = (), direct: bool = False, event_type: str | None = None,
                 place: str | None = None, start: str | None = None, end: str | None = None,
                 modalities: Sequence[str] = ()) -> TimelineFilter:
    """The filter a person typed (names, codes, partial dates), resolved against the KB: the one
    reading of `dipkb timeline`'s options and of the web timeline's fields. Empty texts are absent."""
    unknown = sorted(set(modalities) - set(MODALITIES))
    if unknown:
        raise ParameterError(f"Unknown modality {unknown[0]!r}: use one of {', '.join(MODALITIES)}.")
    return TimelineFilter(
        actors=tuple(resolve_actor(kb, a) for a in actors if a.strip()),
        via_agents=not direct,
        event_type=resolve_event_type(kb, event_type) if event_type and event_type.strip() else None,
        place=resolve_place(kb, place) if place and place.strip() else None,
        start=parse_partial_date(start).first_day if start and start.strip() else None,
        end=parse_partial_date(end).last_day if end and end.strip() else None,
        modalities=frozenset(modalities),
    )


def with_roles(kb: KnowledgeBase, filt: TimelineFilter, roles: Sequence[str]) -> TimelineFilter:
    """``filt`` narrowed to events in which someone (the filter's actor, when it has one) took one of the
    ``roles`` a person typed (host, visitor, moving force...); empty texts are absent."""
    return replace(filt, roles=frozenset(resolve_role(kb, role) for role in roles if role.strip()))


@dataclass
class _Shaper:
    """Makes the entries of a timeline; what thousands of its events share (their dates, types and
    participants) once each."""

    roles: dict[str, str]  # role property -> its label
    names: dict[str, str]
    urls: dict[str, str]
    classes: EventClasses
    source_titles: bool
    times: dict[tuple, tuple[EventTime, str]] = field(default_factory=dict)
    types: dict[frozenset[str], str] = field(default_factory=dict)
    participants: dict[tuple[str, str], Participant] = field(default_factory=dict)

    def entry(self, event: Selected, row: EventRow) -> TimelineEntry:
        if (times := tuple(sorted(row.times.items()))) not in self.times:
            time = EventTime(**{TIME_FIELDS[name]: period for name, value in times
                                if (period := period_of(*value)) is not None})
            self.times[times] = (time, time.display())
        time, shown_date = self.times[times]
        if (types := frozenset(row.types)) not in self.types:
            self.types[types] = curie(self.classes.shown(types) or DIP + "Event")
        return TimelineEntry(
            id=event.iri,
            type=self.types[types],
            label=row.label,
            date=shown_date,
            modality=row.modality.rsplit("#", 1)[-1].lower() if row.modality else "occurred",
            participants=tuple(sorted({self._participant(role, actor) for role, actor in row.roles
                                       if role in self.roles}, key=lambda p: (p.role, p.label, p.id))),
            place=Ref(row.place, self.names[row.place]) if row.place else None,
            sources=tuple(SourceRef(s, self.names[s] if self.source_titles else None, self.urls.get(s))
                          for s in sorted(set(row.sources))),
            earliest_day=event.earliest_day,
            latest_day=event.latest_day,
            context=row.context,
            time=time,
            quotes=tuple(sorted(row.quotes)),
            contents=tuple(sorted(row.contents)),
        )

    def _participant(self, role: str, actor: str) -> Participant:
        if (participant := self.participants.get((role, actor))) is None:
            participant = self.participants[role, actor] = Participant(actor, self.names[actor], self.roles[role])
        return participant
