"""What the index derives from one file graph, computed in one pass over its triples.

The triples come from the parser while the index is built or refreshed (the file is read again
beside the bulk loader, which runs without the GIL: the derivation costs no extra pass over the
store), or from the store itself for the in-memory KB and for a file whose events or participants
are blank nodes (the parser and the loader name those differently, so only the store's names hold).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pyoxigraph import BlankNode, Literal, NamedNode, Quad

from dipkb.model.namespaces import DIP, RDF, RDFS
from dipkb.model.temporal import DATED_ELSEWHERE, TIME_FIELDS, XSD_DATE, EventTime, period_of, time_bucket
from dipkb.store import eventrows, tallies

_TIME_FIELD = {DIP + name: field_name for name, field_name in TIME_FIELDS.items()}
_TYPE, _MODALITY = RDF + "type", DIP + "modality"
# What the vocabulary derivation reads (derivation.Vocabulary) is made of: the roles and event classes.
_DECLARING = frozenset({RDFS + "subClassOf", RDFS + "subPropertyOf"})
_READ = eventrows.SHOWN | _DECLARING
_EARLIEST, _LATEST = NamedNode(DIP + "earliestDay"), NamedNode(DIP + "latestDay")
_ROW = NamedNode(eventrows.ROW)
_PARTICIPANT, _BUCKET, _DAY = NamedNode(DIP + "participant"), NamedNode(DIP + "timeBucket"), NamedNode(XSD_DATE)
Term = NamedNode | BlankNode | Literal


@dataclass
class GraphFacts:
    """What derivation reads of one file graph: its events' time values, everything's types, the
    events' modalities and their participants (the object of any participant role), and what the
    timeline shows of each named thing."""

    times: list[tuple[Term, str, str, str]] = field(default_factory=list)  # (event, field, lexical, datatype)
    types: dict[str, set[str]] = field(default_factory=dict)  # thing -> classes, as N-Triples text
    modalities: dict[str, set[str]] = field(default_factory=dict)  # event -> modalities, as text
    participants: set[tuple[Term, Term]] = field(default_factory=set)
    rows: dict[NamedNode, eventrows.RowBuilder] = field(default_factory=dict)  # named thing -> its row
    declares_vocabulary: bool = False  # a subclass or subproperty: the roles or event classes may change

    @property
    def has_blank_nodes(self) -> bool:
        """Whether a derived triple would name a blank node: N-Quads text cannot carry one."""
        return any(isinstance(event, BlankNode) for event, *_ in self.times) or any(
            isinstance(event, BlankNode) or isinstance(actor, BlankNode) for event, actor in self.participants)


def read_facts(quads: Iterable[Quad], roles: frozenset[str]) -> GraphFacts:
    """The facts among ``quads``; ``roles``: the IRIs of the participant roles."""
    facts = GraphFacts()
    rows = facts.rows
    for quad in quads:
        predicate = quad.predicate.value
        is_role = predicate in roles
        if not is_role and predicate not in _READ:
            continue
        if predicate in _DECLARING:
            facts.declares_vocabulary = True
            continue
        subject, obj = quad.subject, quad.object
        if isinstance(subject, NamedNode):
            if (row := rows.get(subject)) is None:
                row = rows[subject] = eventrows.RowBuilder()
            row.add(predicate, obj, is_role)
        if predicate == _TYPE:
            facts.types.setdefault(str(subject), set()).add(str(obj))
        elif is_role:
            facts.participants.add((subject, obj))
        elif (time_field := _TIME_FIELD.get(predicate)) is not None:
            if isinstance(obj, Literal):
                facts.times.append((subject, time_field, obj.value, obj.datatype.value))
        elif predicate == _MODALITY:
            facts.modalities.setdefault(str(subject), set()).add(str(obj))
    return facts


def event_bounds(times: list[tuple[Term, str, str, str]]) -> Iterator[tuple[Term, str | None, str | None, str, str]]:
    """(event, first day, last day, time bucket, month counted under), the days as ISO dates, by the
    rules of temporal.EventTime.bounds, temporal.time_bucket and tallies.month_key. Of two values of
    one time property, the greater lexical form counts, whatever order the triples came in."""
    values: dict[Term, dict[str, tuple[str, str]]] = {}
    for event, time_field, lexical, datatype in times:
        fields = values.setdefault(event, {})
        if (value := (lexical, datatype)) > fields.get(time_field, ("", "")):
            fields[time_field] = value
    known: dict[frozenset, tuple[str | None, str | None, str] | None] = {}
    for event, fields in values.items():
        key = frozenset(fields.items())
        if key not in known:  # thousands of events share the time values of another
            known[key] = _bounds(fields)
        if (bounds := known[key]) is not None:
            yield event, *bounds


def _bounds(values: dict[str, tuple[str, str]]) -> tuple[str | None, str | None, str, str] | None:
    periods = {name: period for name, value in values.items() if (period := period_of(*value)) is not None}
    if not periods:
        return None
    time = EventTime(**periods)
    low, high = time.bounds()
    bucket = time_bucket(low, high)
    if not bucket:
        return None
    first, last = (day.isoformat() if day else None for day in (low, high))
    return first, last, bucket, tallies.month_key(time.filed_by())


@dataclass
class Derived:
    """The derived triples of one file graph: as N-Quads text, or as quads when a blank node is in
    them; the tallies are always text."""

    text: bytes
    quads: list[Quad]


def derive_graph(facts: GraphFacts, graph: str, target: str, *, triples: int, citations: int,
                 classes: tallies.EventClasses) -> Derived:
    """The triples derived from file graph ``graph`` into graph ``target``: each event's first and
    last day and time bucket, dip:participant for every role, each participant under the bucket, each
    named event's timeline row (eventrows), and the file's tallies, given its number of distinct
    ``triples`` and ``citations``."""
    as_quads, days, months, buckets, lines, quads = facts.has_blank_nodes, {}, {}, {}, [], []
    suffix, to = f" <{target}> .\n", NamedNode(target)
    for event, low, high, bucket, month in event_bounds(facts.times):
        days[str(event)], months[str(event)] = (low, high), month
        buckets[event] = bucket
        for prop, day in ((_EARLIEST, low), (_LATEST, high)):
            if not day:
                continue
            if as_quads:
                quads.append(Quad(event, prop, Literal(day, datatype=_DAY), to))
            else:
                lines.append(f'{event} <{prop.value}> "{day}"^^<{XSD_DATE}>{suffix}')
        if as_quads:
            quads.append(Quad(event, _BUCKET, NamedNode(bucket), to))
        else:
            lines.append(f"{event} <{_BUCKET.value}> <{bucket}>{suffix}")
    # Each participation under the event's time bucket too, the bucket as predicate: a timeline of one
    # actor over a range then looks up its (bucket, actor) pairs. Terms the store holds already: an IRI
    # made of the two took an entry per pair in the store's dictionary and slowed every look-up. A
    # participation of an event this file does not date goes under DATED_ELSEWHERE.
    filed = [(event, buckets.get(event, DATED_ELSEWHERE), actor) for event, actor in facts.participants]
    if as_quads:
        quads += [Quad(event, _PARTICIPANT, actor, to) for event, actor in facts.participants]
        quads += [Quad(event, NamedNode(bucket), actor, to) for event, bucket, actor in filed]
    else:
        lines += [f"{event} <{_PARTICIPANT.value}> {actor}{suffix}" for event, actor in facts.participants]
        lines += [f"{event} <{bucket}> {actor}{suffix}" for event, bucket, actor in filed]
    event_classes = {c[1:-1] for c in classes.below}
    rows = [(subject, Literal(row.text())) for subject, row in facts.rows.items() if row.is_event_row(event_classes)]
    if as_quads:
        quads += [Quad(subject, _ROW, text, to) for subject, text in rows]
    else:
        lines += [f"{subject} <{eventrows.ROW}> {text}{suffix}" for subject, text in rows]
    tally = tallies.FileTally.count(triples=triples, citations=citations, types=facts.types,
                                    modalities=facts.modalities, days=days, months=months,
                                    buckets={str(event): bucket for event, bucket in buckets.items()}, classes=classes)
    return Derived("".join(lines).encode() + tally.nquads(graph, target), quads)
