"""The event view users read: chronological timelines with roles and sources."""
from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice

from pyoxigraph import Literal

from dipkb.errors import ParameterError
from dipkb.model.labels import label_order
from dipkb.model.modality import MODALITIES, modality_name, shown_modality
from dipkb.model.namespaces import DIP, curie
from dipkb.model.temporal import TIME_FIELDS, EventTime, parse_partial_date, period_of
from dipkb.store.kb import KnowledgeBase
from dipkb.store.tallies import EventClasses
from dipkb.views.eventrow import EventRow
from dipkb.views.names import resolve_actor, resolve_event_type, resolve_place, resolve_role
from dipkb.views.selected import Selected
from dipkb.views.selection import Selection, TimelineFilter, select_events

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
    origin: Ref | None = None  # a movement's, which has no dip:place
    destination: Ref | None = None

    @property
    def where(self) -> str:
        """Where it happened, in words: the place, whence and whither a movement went, or both."""
        moves = " ".join(f"{word} {ref.label}" for word, ref in (("from", self.origin), ("to", self.destination)) if ref)
        if self.place:
            return f"{self.place.label} ({moves})" if moves else self.place.label
        return moves

    def as_dict(self) -> dict:
        return {
            "id": curie(self.id), "type": self.type, "label": self.label, "date": self.date,
            "modality": self.modality,
            "participants": [{"id": curie(p.id), "label": p.label, "role": p.role} for p in self.participants],
            "place": _ref(self.place), "origin": _ref(self.origin), "destination": _ref(self.destination),
            "sources": [{"id": curie(s.id), "title": s.title, "url": s.url} for s in self.sources],
            "context": self.context,
        }


def _ref(ref: Ref | None) -> dict | None:
    return {"id": curie(ref.id), "label": ref.label} if ref else None


def empty_actor_notes(kb: KnowledgeBase, filt: TimelineFilter, found: bool) -> list[str]:
    """Notes for the actors of ``filt`` that on their own have no event under it, given whether the
    filter ``found`` any: an actor that exists but has none would otherwise show as an empty table, or
    vanish among the others' events."""
    if len(filt.actors) > 1 and found:
        missing = [a for a in filt.actors if not Selection.of(kb, replace(filt, actors=(a,))).matches_any(kb)]
    else:
        missing = [] if found else list(filt.actors)
    narrowed = filt.event_type or filt.place or filt.start or filt.end or filt.modalities or filt.roles
    where = "that match the other filters" if narrowed else "in the knowledge base"
    return [f"{curie(actor)} has no events {where}." for actor in missing]


# A thing's name is its title, else its label, as dipkb.model.labels picks them; its URL its first
# dip:url, else schema:url.
_DESCRIPTION_QUERY = """SELECT ?n ?k ?o WHERE {
  VALUES (?thing ?n) { %s } ?thing ?p ?o
  OPTIONAL { VALUES (?p ?k) { (dct:title 0) (rdfs:label 1) (dip:url 2) (schema:url 3) } } FILTER(BOUND(?k)) }"""
# dip:participant among them: what a source says when it does not say in which role.
_ROLE_QUERY = """
SELECT ?role ?label WHERE {
  ?role rdfs:subPropertyOf* dip:participant .
  OPTIONAL { ?role rdfs:label ?label . FILTER(LANGMATCHES(LANG(?label), "en")) }
}"""


def timeline(kb: KnowledgeBase, filt: TimelineFilter = TimelineFilter(), *,
             source_titles: bool = True) -> list[TimelineEntry]:
    """Every matching event, chronological, with what a reader needs; without ``source_titles`` its
    sources by IRI only, for a view that shows no more (looking up a title and URL for each of the
    7,000 sources of a 6,000-event timeline at a million events took a quarter of a second)."""
    return list(timeline_entries(kb, select_events(kb, filt), source_titles=source_titles))


# A long timeline's entries are made, and written, this many at a time.
CHUNK = 10_000


def timeline_entries(kb: KnowledgeBase, selected: Collection[Selected], *,
                     source_titles: bool = True) -> Iterator[TimelineEntry]:
    """The entries of ``selected`` (:func:`entries_of`), made CHUNK at a time as they are asked for: a
    writer that takes them as they come holds one chunk (two actors' 338,767 entries at a million
    events, held at once, took the CSV to 1,988 MB; 862 MB so, most of it the selection)."""
    events = iter(selected)
    kept: dict[str, Described] = {}
    while chunk := list(islice(events, CHUNK)):
        yield from entries_of(kb, chunk, source_titles=source_titles, kept=kept)


@dataclass(frozen=True)
class Entries(Collection[TimelineEntry]):
    """The entries of ``selected``, made as they are iterated (:func:`timeline_entries`), each time: for
    a view of a long timeline that writes them as they come, while ``kb`` stays open."""

    kb: KnowledgeBase
    selected: Collection[Selected]

    def __len__(self) -> int:
        return len(self.selected)

    def __iter__(self) -> Iterator[TimelineEntry]:
        return timeline_entries(self.kb, self.selected)

    def __contains__(self, entry: object) -> bool:
        return any(entry == made for made in self)


@dataclass(frozen=True, slots=True)
class Described:
    """What an entry shows of a participant, place or source: its name, and its URL if it has one."""

    name: str
    url: str | None


# The actors and places described for one chunk of a long timeline are kept for the next, up to this
# many: they recur from chunk to chunk (a busy actor's 237,128 events at a million events: 41,302
# look-ups of 2,640 actors and places), where nearly every source is cited by one event.
KEPT_AT_MOST = 100_000


def entries_of(kb: KnowledgeBase, selected: list[Selected], *, source_titles: bool = True,
               kept: dict[str, Described] | None = None) -> list[TimelineEntry]:
    """The timeline entries of events chosen by :func:`select_events`, in the same order; sources
    with their titles and URLs, or by IRI only. ``kept``: actors and places described before, which
    are not looked up again, and to which those of these events are added."""
    if not selected:
        return []
    roles = {r["role"].value: r["label"].value if "label" in r else curie(r["role"].value)
             for r in kb.select(_ROLE_QUERY)}
    rows = [EventRow.merged(event.rows) for event in selected]
    kept = {} if kept is None else kept
    others = ({a for row in rows for r, a in row.roles if r in roles}
              | {at for row in rows for at in (row.place, row.origin, row.destination) if at})
    sources = {s for row in rows for s in row.sources} if source_titles else set()
    wanted = others | sources
    things = sorted(wanted - kept.keys())
    best: dict[tuple[int, int], tuple[bool, str]] = {}
    for n, k, o in kb.numbered_for_each(_DESCRIPTION_QUERY, things):
        key = (int(n.value), int(k.value))
        order = label_order(o.value, o.language) if isinstance(o, Literal) else (False, o.value)
        if key not in best or order < best[key]:
            best[key] = order
    first = {key: value for key, (_, value) in best.items()}
    described = {thing: Described(first.get((n, 0)) or first.get((n, 1)) or curie(thing),
                                  first.get((n, 2), first.get((n, 3))))
                 for n, thing in enumerate(things)}
    for thing in others - kept.keys():
        if len(kept) >= KEPT_AT_MOST:
            break
        kept[thing] = described[thing]
    described.update((thing, kept[thing]) for thing in wanted - described.keys())
    return list(map(_Shaper(roles, described, kb.event_classes, source_titles).entry, selected, rows))


def typed_filter(kb: KnowledgeBase, *, actors: Sequence[str] = (), direct: bool = False, event_type: str | None = None,
                 place: str | None = None, start: str | None = None, end: str | None = None,
                 modalities: Sequence[str] = ()) -> TimelineFilter:
    """The filter a person typed (names, codes, partial dates), resolved against the KB: the one
    reading of `dipkb timeline`'s options and of the web timeline's fields. Empty texts are absent."""
    unknown = [m for m in modalities if modality_name(m) is None]
    if unknown:
        raise ParameterError(f"Unknown modality {unknown[0]!r}: use one of {', '.join(MODALITIES)}.")
    return TimelineFilter(
        actors=tuple(resolve_actor(kb, a) for a in actors if a.strip()),
        via_agents=not direct,
        event_type=resolve_event_type(kb, event_type) if event_type and event_type.strip() else None,
        place=resolve_place(kb, place) if place and place.strip() else None,
        start=parse_partial_date(start).first_day if start and start.strip() else None,
        end=parse_partial_date(end).last_day if end and end.strip() else None,
        modalities=frozenset(map(modality_name, modalities)),
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
    described: dict[str, Described]
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
            modality=shown_modality(row.modality),
            participants=tuple(sorted({self._participant(role, actor) for role, actor in row.roles
                                       if role in self.roles}, key=lambda p: (p.role, p.label, p.id))),
            place=self._ref(row.place),
            sources=tuple(self._source(s) for s in sorted(set(row.sources))),
            earliest_day=event.earliest_day,
            latest_day=event.latest_day,
            context=row.context,
            time=time,
            quotes=tuple(sorted(row.quotes)),
            contents=tuple(sorted(row.contents)),
            origin=self._ref(row.origin),
            destination=self._ref(row.destination),
        )

    def _ref(self, thing: str | None) -> Ref | None:
        return Ref(thing, self.described[thing].name) if thing else None

    def _participant(self, role: str, actor: str) -> Participant:
        if (participant := self.participants.get((role, actor))) is None:
            participant = Participant(actor, self.described[actor].name, self.roles[role])
            self.participants[role, actor] = participant
        return participant

    def _source(self, source: str) -> SourceRef:
        if not self.source_titles:
            return SourceRef(source, None, None)
        described = self.described[source]
        return SourceRef(source, described.name, described.url)
