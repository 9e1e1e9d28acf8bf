"""Per-file tallies: how many triples, instances of each class, events of each type, modality,
month and time bucket, and citations one KB file holds, derived by the index with the days and
participants.

``dipkb stats`` and the events-by-type-and-month query add these up (a few numbers per file)
instead of grouping every event: Oxigraph groups a few hundred thousand rows a second here, and
at a million events the same figures took 44 s and 13 s that way, 2.2 s and 1.1 s from the
tallies. So does the first page of every event (views.paging), when the tallies show that no event
is typed or dated in two files. A file's tallies change only with the file, so a refresh recounts
only what it reloads.

Counted per file: a resource typed in two files counts in each, as each file's own figures say.
Terms are kept as N-Triples text (``<iri>``), as Oxigraph's TSV results give them.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode

from dipkb.model.namespaces import DIP, RDF, RDFS, XSD
from dipkb.model.temporal import XSD_DATE, Period, Precision

_OCCURRED = f"<{DIP}Occurred>"
UNKNOWN_MONTH = "unknown"


@dataclass(frozen=True)
class EventClasses:
    """dip:Event and its subclasses, each with its strict subclasses, as IRIs in one form: N-Triples
    (``<iri>``) for the index, plain for the timeline. The one place that says which types of a
    multi-typed event are the most specific, so that the timeline and ``dipkb stats`` agree."""

    below: dict[str, frozenset[str]]
    # How many event classes are above each one (dip:Event itself: 0), counted once: the tallies ask
    # for every event of the KB.
    depth: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        depth = {c: sum(c in subs for subs in self.below.values()) for c in self.below}
        object.__setattr__(self, "depth", depth)  # frozen: set once, here

    # `subClassOf/subClassOf*` rather than `subClassOf+`: the same pairs, and Virtuoso 7.2.5 (read
    # through `dipkb --endpoint`) drops most of them for a `+` path inside the OPTIONAL.
    QUERY = f"""SELECT ?class ?sub WHERE {{
      ?class <{RDFS}subClassOf>* <{DIP}Event> .
      OPTIONAL {{ ?sub <{RDFS}subClassOf> ?mid . ?mid <{RDFS}subClassOf>* ?class }} }}"""

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str | None]]) -> EventClasses:
        below: dict[str, set[str]] = {}
        for event_class, sub in rows:
            below.setdefault(event_class, set())
            if sub and sub != event_class:
                below[event_class].add(sub)
        return cls({c: frozenset(subs) for c, subs in below.items()})

    def most_specific(self, types: Iterable[str]) -> set[str]:
        """The event classes among ``types`` that no other of them specialises: ``dipkb stats``
        counts an event typed Meeting and Statement under both."""
        events = {t for t in types if t in self.below}
        return {t for t in events if not self.below[t] & (events - {t})}

    def shown(self, types: Iterable[str]) -> str | None:
        """The one type a timeline shows: of the most specific, the one with most classes above it,
        then the last by IRI, as timelines always chose (the same order in either form of IRI); None
        for no event class."""
        return max(self.most_specific(types), key=lambda t: (self.depth[t], t.strip("<>")), default=None)


def month_key(filed_by: Period | None) -> str:
    """The month an event is counted under: that of its first day, at the precision of the time that
    gives it (:meth:`EventTime.filed_by`): the year alone for a year, not padded to January;
    "unknown" without one (undated, or known only by its end)."""
    if filed_by is None:
        return UNKNOWN_MONTH
    first = filed_by.first_day.isoformat()
    return first[:4] if filed_by.precision is Precision.YEAR else first[:7]


@dataclass
class FileTally:
    triples: int = 0
    citations: int = 0
    events: int = 0
    first_day: str | None = None
    last_day: str | None = None
    classes: Counter = field(default_factory=Counter)  # class -> things typed with it
    event_types: Counter = field(default_factory=Counter)  # most specific event type -> events
    type_months: Counter = field(default_factory=Counter)  # (asserted event type, month) -> events
    modalities: Counter = field(default_factory=Counter)  # modality -> events; none stated: Occurred
    buckets: Counter = field(default_factory=Counter)  # time bucket IRI -> events; None: undated here
    dated_non_events: int = 0  # things the file dates without typing them as events

    @classmethod
    def count(cls, triples: int, citations: int, types: dict[str, set[str]], modalities: dict[str, set[str]],
              days: dict[str, tuple[str | None, str | None]], months: dict[str, str], buckets: dict[str, str],
              classes: EventClasses) -> FileTally:
        """From the file's classes and modalities of each thing (terms as N-Triples text), its
        events' days, the month each is counted under (:func:`month_key`) and their time buckets."""
        tally = cls(triples, citations)
        # Things with the same classes, month, bucket and modalities are counted alike: a file has a
        # few hundred such profiles for thousands of things.
        profiles = Counter((frozenset(t for t in its_types if t.startswith("<")),
                            months.get(thing, UNKNOWN_MONTH), buckets.get(thing),
                            frozenset(modalities.get(thing, ())))
                           for thing, its_types in types.items())
        for (its_types, month, bucket, stated), n in profiles.items():
            for class_ in its_types:
                tally.classes[class_] += n
            if not (specific := classes.most_specific(its_types)):
                continue
            tally.events += n
            tally.buckets[bucket] += n
            for type_ in specific:
                tally.event_types[type_] += n
            for type_ in its_types:
                if type_ in classes.below:
                    tally.type_months[type_, month] += n
            for modality in stated or (_OCCURRED,):
                tally.modalities[modality] += n
        tally.dated_non_events = sum(not classes.most_specific(types.get(thing, ())) for thing in buckets)
        lows = [lo for lo, _ in days.values() if lo]
        known = lows + [hi for _, hi in days.values() if hi]
        tally.first_day = min(lows) if lows else None
        tally.last_day = max(known) if known else None
        return tally

    def nquads(self, file_graph: str, target: str) -> bytes:
        """The tally as N-Quads in graph ``target``, on nodes named after it."""
        suffix = f" <{target}> .\n"
        lines = []

        def node(name: str, *pairs: tuple[str, str]) -> None:
            lines.extend(f"<{target}#{name}> <{DIP}{p}> {o}{suffix}" for p, o in pairs)

        file_pairs = [("tallyFile", f"<{file_graph}>"), ("tallyTriples", _integer(self.triples)),
                      ("tallyCitations", _integer(self.citations)), ("tallyEvents", _integer(self.events)),
                      ("tallyUndatedEvents", _integer(self.buckets[None])),
                      ("tallyDatedNonEvents", _integer(self.dated_non_events)),
                      ("tallyEventsByBucket", _json({b: n for b, n in self.buckets.items() if b}))]
        file_pairs += [(p, f'"{day}"^^<{XSD_DATE}>') for p, day in
                       (("tallyFirstDay", self.first_day), ("tallyLastDay", self.last_day)) if day]
        node("file", *file_pairs)
        for kind, counter, prop in (("class", self.classes, "tallyClass"), ("type", self.event_types, "tallyEventType"),
                                    ("modality", self.modalities, "tallyModality")):
            for i, (term, n) in enumerate(sorted(counter.items())):
                node(f"{kind}-{i}", (prop, term), ("tallyCount", _integer(n)))
        for i, ((type_, month), n) in enumerate(sorted(self.type_months.items())):
            node(f"month-{i}", ("tallyAssertedType", type_), ("tallyMonth", f'"{month}"'),
                 ("tallyCount", _integer(n)))
        return "".join(lines).encode()


def _integer(n: int) -> str:
    return f'"{n}"^^<{XSD}integer>'


def _json(counts: dict[str, int]) -> str:
    """An object of counts by IRI as an rdf:JSON literal, in N-Triples: one value for a file's
    buckets, which a page reads for every file (at a million events, the 56k rows of the month
    tallies took 1.4 s to read, the 2,007 files' bucket objects 0.07-0.10 s with their parsing)."""
    return str(Literal(json.dumps(counts, sort_keys=True, separators=(",", ":")), datatype=NamedNode(RDF + "JSON")))
