"""Which events a timeline holds, in order: its filter turned into queries of what the index derives
(each event's days and time bucket, each participation filed under the bucket), with the names it
gives resolved to store IRIs first, never spliced as user text."""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from operator import itemgetter

from pyoxigraph import BlankNode, Literal, NamedNode

from dipkb.errors import ParameterError
from dipkb.model.modality import modality_iri
from dipkb.model.temporal import DATED_ELSEWHERE, XSD_DATE, overlapping_buckets
from dipkb.store.kb import KnowledgeBase
from dipkb.views.bucket_tallies import filed_buckets
from dipkb.views.names import TypeFilter
from dipkb.views.selected import Gathering, Selected, Solution


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
# The same, tested on each event of a few buckets: joined, the actor's every event was read (0.46 s
# for the 478 events of the `wide` bucket at a million events, 0.01 s so).
_ACTOR_TEST = "?event dip:participant ?who FILTER(?who IN (%s))"
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
# The same, tested on each event of a few buckets (their IRIs from KnowledgeBase.event_classes): joined,
# every typed event was read (2 s at a million events, whatever the buckets).
_EVENT_CLASS_TEST = "?event a ?cls FILTER(?cls IN (%s))"
# First, when there is one; the buckets come from parsed dates, never from user text. In a
# subquery: given more than a few VALUES inline, Oxigraph joined them to the actor's events the
# slow way round (3.8 s instead of 0.6 s for a 6,000-event timeline at a million events).
_BUCKETS = "{ SELECT ?event WHERE { VALUES ?bucket { @rows@ } ?event dip:timeBucket ?bucket } }"
# An actor's events in a range: its (bucket, actor) pairs looked up (facts.derive_graph states each
# participation with the event's bucket as predicate), where joining the range's events with the
# actor's read every event of the one or the other. Each event once, though two of the actor's agents
# take part in it: its days are looked up once (1,326 of the busiest actor's 14,072 pairs at a million).
_FILED = "{ SELECT DISTINCT ?event WHERE { VALUES (?bucket ?who) { @rows@ } ?event ?bucket ?who } }"
# Where the rows of the buckets' block go (KnowledgeBase.select_values), 128 a query: the queries run on
# two threads, where the busiest actor's 880 pairs at a million events made one query of 0.4 s. A
# block of fewer rows goes in two queries from half that (_dealt_in_two).
_ROWS, _ROWS_PER_QUERY = "@rows@", 128
# Without a range too, an actor's events past this many participations are read from its pairs under
# every bucket that holds an event (the tallies name them) and DATED_ELSEWHERE, on two threads, rather
# than in the one query of its participations: at a million events the busiest actor's 237,128 in
# 5.7 s instead of 8.3, an actor's 43,312 in 1.2 s instead of 1.6. Fewer, and the tallies' first
# reading (0.15 s) would cost more than the threads save. The probe reads that many at most.
_FILED_FROM = 10_000
_PARTICIPATIONS_PAST = "SELECT ?event WHERE { VALUES ?who { %s } ?event dip:participant ?who } OFFSET %d LIMIT 1"


# Store IRIs of the ontology's modalities, never user text; an event stating none is dip:Occurred.
_MODALITY = "OPTIONAL { ?event dip:modality ?modality } FILTER(IF(BOUND(?modality), ?modality IN (%s), %s))"
# Without dip:Occurred (an event stating no modality), and nothing else to start from, the events
# stating one are looked up, not every event tested (`timeline --modality planned` at a million
# events, 30,358 of them: 27.0 s, 4.5 s so).
_MODALITY_STATED = "VALUES ?modality { %s } ?event dip:modality ?modality ."
# A blank-node event can be neither shown by name nor linked (the shapes report it): no timeline lists
# or counts it.
_NAMED = "FILTER(isIRI(?event))"


# Counting a selection's events by time bucket, for a page of it (views.paging). Over a range, the
# pairs or the buckets of the range, as the selection reads them. Without one, each event's bucket
# looked up (_ITS_BUCKET), or every dated thing's read and joined to the filter's events by hash
# (_ANY_BUCKET), which pays for a large selection: at a million events, the busiest actor's 237,128
# events 2.5 s one way and 1.9 s the other, every event 11 s and 3.9 s, a CAMEO code's 99,340 1.3 s
# and 2.7 s. The pairs' sub-SELECTs keep the engine starting from their VALUES block; they are not
# DISTINCT, as the count is: a DISTINCT here held every (event, bucket) pair a second time (the
# busiest actor's first page at ten million events, 2,369,690 events: 2.9 s and 540 MB for the counts
# by bucket, 1.0 s and 150 MB so).
_FILED_IN = "{ SELECT ?event ?bucket WHERE { VALUES (?bucket ?who) { @rows@ } ?event ?bucket ?who } }"
_BUCKETED = "{ SELECT ?event ?bucket WHERE { VALUES ?bucket { @rows@ } ?event dip:timeBucket ?bucket } }"
# An actor's events without a range: its pairs under every bucket (12x faster than reading the
# buckets of its events at a million events: the busiest actor's 237,128 in 0.35 s), and those filed
# where nothing dates them with their own bucket, if any.
_FILED_ANYWHERE = """{ SELECT ?event ?bucket WHERE {
    { VALUES (?bucket ?who) { @rows@ } ?event ?bucket ?who }
    UNION { VALUES ?who { %s } ?event %s ?who OPTIONAL { ?event dip:timeBucket ?bucket } } } }"""
_ANY_BUCKET = """{ SELECT DISTINCT ?event WHERE {
  %s
} } OPTIONAL { SELECT ?event ?bucket WHERE { ?event dip:timeBucket ?bucket } }"""
_ITS_BUCKET = "%s\n  OPTIONAL { ?event dip:timeBucket ?bucket }"
_PER_BUCKET = "SELECT ?bucket (COUNT(DISTINCT ?event) AS ?n) WHERE {\n  %s\n} GROUP BY ?bucket"
_COUNT = "SELECT (COUNT(DISTINCT ?event) AS ?n) WHERE {\n  %s\n}"


def _type_pattern(kb: KnowledgeBase, event_type: TypeFilter, test: bool) -> str:
    """The pattern of the events of ``event_type``, or with ``test`` a filter on ?event."""
    def listed(query: str, name: str) -> str:
        found = kb.select(query, {"etype": NamedNode(event_type.iri)})
        return " ".join(sorted({str(r[name]) for r in found if isinstance(r[name], NamedNode)}))

    if event_type.is_code:
        return (_TYPE_CODE_TEST if test else _TYPE_CODE) % (listed(_CODES, "code"), listed(_MAPPED_CLASSES, "cls"))
    return (_TYPE_CLASS_TEST if test else _TYPE_CLASS) % listed(_TYPE_CLASSES, "cls")


@dataclass(frozen=True)
class Selection:
    """A filter with what it names fetched from the store, as store IRIs: each actor with the actors
    acting for it, the role properties, the places in its place, its event type's pattern."""

    filt: TimelineFilter
    agents: tuple[tuple[str, ...], ...]  # per actor of the filter; one empty tuple when it has none
    roles: tuple[str, ...]
    places: tuple[str, ...]
    of_type: str | None

    @classmethod
    def of(cls, kb: KnowledgeBase, filt: TimelineFilter) -> Selection:
        roles = sorted({r["sub"].value for role in filt.roles
                        for r in kb.select(_ROLE_FAMILY, {"role": NamedNode(role)})})
        places = sorted({r["at"].value for r in kb.select(_PLACES_QUERY, {"place": NamedNode(filt.place)})
                         if isinstance(r["at"], NamedNode)} | {filt.place}) if filt.place else []
        of_type = _type_pattern(kb, filt.event_type, test=bool(filt.actors or places)) if filt.event_type else None
        agents = [tuple(sorted({r["who"].value for r in kb.select(_AGENTS_QUERY, {"actor": NamedNode(actor)})
                                if isinstance(r["who"], NamedNode)} | {actor})) if filt.via_agents else (actor,)
                  for actor in filt.actors]
        return cls(filt, tuple(agents) or ((),), tuple(roles), tuple(places), of_type)

    @property
    def dated_buckets(self) -> list[str] | None:
        """The buckets the filter's dates reach; None without both dates, or past a few decades."""
        return overlapping_buckets(self.filt.start, self.filt.end) if self.filt.start and self.filt.end else None

    @property
    def bindings(self) -> dict[str, Literal]:
        day = NamedNode(XSD_DATE)
        given = {"from": self.filt.start, "to": self.filt.end}
        return {name: Literal(value.isoformat(), datatype=day) for name, value in given.items() if value}

    def events(self, kb: KnowledgeBase, buckets: list[str] | None, *, with_rows: bool = True) -> list[Selected]:
        """The matching events filed under ``buckets`` (None: under any bucket, or none), chronological;
        without ``with_rows`` their rows are left out (reading them took half of the selection of an
        actor's 237,128 events at a million)."""
        gathering = Gathering()
        add = gathering.add
        for solution in self.solutions(kb, buckets, with_rows=with_rows):
            add(*solution)
        return gathering.selected()

    def solutions(self, kb: KnowledgeBase, buckets: list[str] | None, *,
                  with_rows: bool = True) -> Iterator[Solution]:
        """What :meth:`events` gathers: each answer of the selection's queries, an event once for each
        of its rows (one a file that states it), and again from each chunk it comes back from, for
        each of the filter's agents that takes part in it, and for each file that dates it alike."""
        # Only the few buckets of a page, of every event: the event classes test each one.
        tested = buckets is not None and self.dated_buckets is None and not any(self.agents)
        classes = tuple(sorted(kb.event_classes.below)) if tested else ()
        for agents in self.agents:
            every = self._every_bucket(kb, agents) if buckets is None else None
            query, values = self._selection_query(agents, buckets, with_rows, classes, every)
            for solution in self._solutions(kb, query, values):
                if type(solution[0]) is BlankNode:
                    continue  # _NAMED, tested here: in the query, 20 MB more at a million events
                # By position, as the query projects them: by name took 15-20 ms of the busiest
                # 6,051-event timeline at a million events, 3 ms so.
                lo, hi, row = solution[1], solution[2], solution[3]
                yield (solution[0].value, lo.value if lo else None, hi.value if hi else None,
                       None if row is None else row.value)

    def matches_any(self, kb: KnowledgeBase) -> bool:
        """Whether any event matches: the first one found ends the search (selecting every event of
        each actor to say it had some made a two-actor timeline at a million events 64 s instead of 52)."""
        for agents in self.agents:
            query, values = self._selection_query(agents, self.dated_buckets, False, ())
            if next(iter(self._solutions(kb, query + " LIMIT 1", values)), None) is not None:
                return True
        return False

    @staticmethod
    def _every_bucket(kb: KnowledgeBase, agents: tuple[str, ...]) -> list[str] | None:
        """Every bucket an event of ``agents`` can be filed under, when they take part in enough events
        that reading them from their pairs pays (_FILED_FROM); else None."""
        if not agents or next(iter(kb.query(_PARTICIPATIONS_PAST % (_iris(agents), _FILED_FROM))), None) is None:
            return None
        buckets = filed_buckets(kb, agents)
        return None if buckets is None else buckets + [DATED_ELSEWHERE]

    def _solutions(self, kb: KnowledgeBase, query: str, values: list[tuple[NamedNode, ...]]) -> Iterable:
        """The solutions of a :meth:`_selection_query` and its block's rows, with the filter's dates bound."""
        if not values:
            return kb.query(query, self.bindings)
        if _ROWS_PER_QUERY // 2 < len(values) <= _ROWS_PER_QUERY:
            values, chunk = _dealt_in_two(values)
            return kb.select_values(query, values, self.bindings, chunk)
        return kb.select_values(query, values, self.bindings, _ROWS_PER_QUERY)

    def counting_in(self, buckets: list[str]) -> tuple[str, str, list[tuple[NamedNode, ...]]]:
        """Two queries over the matching events filed under ``buckets``, ignoring the filter's dates,
        and the rows of their VALUES block (KnowledgeBase.select_values): how many events each bucket
        holds, and how many they hold together. One actor at most."""
        (agents,) = self.agents
        if agents:
            patterns = [_FILED_IN, *self._narrowing(agents)]
            rows = [(NamedNode(bucket), NamedNode(actor)) for bucket in buckets for actor in agents]
        else:
            patterns = [_BUCKETED, *self._narrowing(agents)]
            rows = [(NamedNode(bucket),) for bucket in buckets]
        return _counting_queries(patterns, rows)

    def counting_filed(self, buckets: list[str]) -> tuple[str, str, list[tuple[NamedNode, ...]]]:
        """:meth:`counting` of an actor's events from its (bucket, actor) pairs under ``buckets``,
        every bucket that holds an event, and the rows of their VALUES block: a pair filed under
        DATED_ELSEWHERE counts under the event's own bucket, or none. One actor."""
        (agents,) = self.agents
        rows = [(NamedNode(bucket), NamedNode(actor)) for bucket in buckets for actor in agents]
        patterns = [_FILED_ANYWHERE % (_iris(agents), NamedNode(DATED_ELSEWHERE)), *self._narrowing(agents)]
        return _counting_queries(patterns, rows)

    def counting(self) -> tuple[str, str, str]:
        """Queries over the matching events, ignoring the filter's dates: how many there are, and how
        many each time bucket holds (unbound: how many have none), the events' buckets read by hash
        or event by event; an event under two buckets is counted under each. One actor at most."""
        (agents,) = self.agents
        where = "\n  ".join(([_ACTOR % _iris(agents)] if agents else []) + self._narrowing(agents) + [_NAMED])
        return _COUNT % where, _PER_BUCKET % (_ANY_BUCKET % where), _PER_BUCKET % (_ITS_BUCKET % where)

    def _narrowing(self, agents: tuple[str, ...], classes: tuple[str, ...] = ()) -> list[str]:
        """The patterns of the filter but its actor and dates (roles, type, place, modalities); of every
        event when nothing else (an actor, a range's buckets) chooses them, tested against ``classes``
        when they are given."""
        patterns = []
        if self.roles:
            patterns.append((f"VALUES ?who {{ {_iris(agents)} }} " if agents else "") + _ROLE % _iris(self.roles))
        if self.of_type:
            patterns.append(self.of_type)
        if self.places:
            patterns.append(_PLACE % _iris(self.places))
        modalities = [modality_iri(name) for name in sorted(self.filt.modalities)]
        if not patterns and not agents and self.dated_buckets is None:
            typed = _EVENT_CLASS_TEST % _iris(classes, ", ") if classes else _EVENT_CLASS
            if modalities and "occurred" not in self.filt.modalities:
                return [_MODALITY_STATED % _iris(modalities), typed]
            patterns.append(typed)
        if modalities:
            patterns.append(_MODALITY % (_iris(modalities, ", "), str("occurred" in self.filt.modalities).lower()))
        return patterns

    def _selection_query(self, agents: tuple[str, ...], buckets: list[str] | None, with_rows: bool,
                         classes: tuple[str, ...], every_bucket: list[str] | None = None,
                         ) -> tuple[str, list[tuple[NamedNode, ...]]]:
        """The query selecting the events of ``agents`` under ``buckets``, or from their pairs under
        ``every_bucket`` (with their timeline rows if ``with_rows``, else ?row unbound), and the rows of
        its block of buckets: when there are rows, the query has ``%s`` where they go (for
        KnowledgeBase.select_values) and its other ``%`` doubled."""
        rows: list[tuple[NamedNode, ...]] = []
        dated = self.filt.start is not None or self.filt.end is not None
        if every_bucket or buckets is not None and agents and dated:
            head = [_FILED]
            rows = [(NamedNode(bucket), NamedNode(actor)) for bucket in every_bucket or buckets for actor in agents]
        elif buckets is not None:
            # Without a range, the events' own buckets, as :meth:`counting` counts them: a file that
            # names a participant without dating the event files the pair under DATED_ELSEWHERE.
            head = [_BUCKETS] + ([_ACTOR_TEST % _iris(agents, ", ")] if agents else [])
            rows = [(NamedNode(bucket),) for bucket in buckets]
        else:
            head = [_ACTOR % _iris(agents)] if agents else []
        # The first day is tested before the last day is read: at a million events, 4,800 of the
        # busiest actor's 12,746 candidates in a three-month range start after it (0.15 s instead of
        # 0.18). The range's end is written in the subquery as a literal, from the parsed date as the
        # buckets are: pyoxigraph substitutes a binding in a subquery only where the subquery projects
        # it, and Virtuoso then joins nothing to the VALUES that binds it (remote.remote_text). The
        # bound filter below stays the one that decides. Not DISTINCT: the engine held every solution
        # to drop a repeat, which Gathering and a selection sorted on disk drop anyway (every event
        # at a million: 454 MB and 41-54 s with DISTINCT, 221 MB and 41-43 s without).
        end = self.filt.end and Literal(self.filt.end.isoformat(), datatype=NamedNode(XSD_DATE))
        first_day_test = f"FILTER(COALESCE(?lo <= {end}, true))" if end else ""
        query = (
            "SELECT ?event ?lo ?hi ?row ?from ?to WHERE {\n"
            "  { SELECT ?event ?lo WHERE {\n    "
            + "\n    ".join(head + self._narrowing(agents, classes)) + "\n"
            f"    OPTIONAL {{ ?event dip:earliestDay ?lo }} {first_day_test} }} }}\n"
            "  OPTIONAL { ?event dip:latestDay ?hi }\n"
            + ("  OPTIONAL { ?event dip:timelineRow ?row }\n" if with_rows else "") +
            # BOUND() is false for a substituted variable in pyoxigraph, so an absent bound or an
            # unset parameter is told by the comparison raising an error, which COALESCE turns to true.
            # An undated event is in no date range.
            f"  FILTER({'(BOUND(?lo) || BOUND(?hi)) && ' if dated else ''}"
            "COALESCE(?lo <= ?to, true) && COALESCE(?hi >= ?from, true))\n}"
        )
        return (query.replace("%", "%%").replace(_ROWS, "%s"), rows) if rows else (query, rows)


def select_events(kb: KnowledgeBase, filt: TimelineFilter, *, with_rows: bool = True) -> list[Selected]:
    """The events of ``filt``, chronological (see :meth:`Selection.events`)."""
    selection = Selection.of(kb, filt)
    return selection.events(kb, selection.dated_buckets, with_rows=with_rows)


def _dealt_in_two(values: list[tuple[NamedNode, ...]]) -> tuple[list[tuple[NamedNode, ...]], int]:
    """The rows of a bucket block in two halves, each with every other bucket (and the bucket's rows
    of every agent, so that an event two agents share is looked up once), and the first half's
    length: one query a thread. The buckets of a short range that hold events come first in the block
    (the range's months, years, decades, then the open-ended ones): two halves of the block as it is
    left nearly all the work to one thread. At a million events: the busiest actor's 111 pairs of its
    own (--direct) 0.105 -> 0.074 s, the 107 buckets of a month of every event 0.70 -> 0.58 s."""
    buckets = [list(rows) for _, rows in itertools.groupby(values, key=itemgetter(0))]
    first, second = buckets[0::2], buckets[1::2]
    return [row for half in (first, second) for rows in half for row in rows], sum(map(len, first))


def _counting_queries(patterns: list[str],
                      rows: list[tuple[NamedNode, ...]]) -> tuple[str, str, list[tuple[NamedNode, ...]]]:
    """How many events ``patterns`` match under each bucket and in all, with ``%s`` where the rows of
    their VALUES block go (KnowledgeBase.select_values), and those rows."""
    where = "\n  ".join(patterns + [_NAMED]).replace("%", "%%").replace(_ROWS, "%s")
    return _PER_BUCKET % where, _COUNT % where, rows


def _iris(iris: Iterable[str], separator: str = " ") -> str:
    """IRIs written by pyoxigraph (checked, escaped), for a VALUES block or, with ", ", an IN list."""
    return separator.join(str(NamedNode(iri)) for iri in iris)
