"""Turtle text written directly, without an RDF library: imports of 100,000 rows must stream."""
from __future__ import annotations

import re
from collections.abc import Iterable

from dipkb.importers.records import DateValue, ImportedEvent, NewActor, NewPlace, SourceRecord
from dipkb.namespaces import DIP, PREFIXES, XSD

GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"
USED_PREFIXES = ("dip", "actor", "event", "place", "source", "cameo", "plover", "rdfs", "skos", "dct",
                 "xsd", "geo")
# A local name written unescaped after a prefix: letters, digits, '_' and '-', not ending in '.'.
_SAFE_LOCAL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_NEEDS_ESCAPE = re.compile(r'[\\"\n\r\t\b\f\x00-\x1f\x7f]')
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def prefix_block(names: Iterable[str] = USED_PREFIXES) -> str:
    return "".join(f"@prefix {name}: <{PREFIXES[name]}> .\n" for name in names)


def term(iri: str) -> str:
    """An IRI as a CURIE when a known prefix fits and the local name is safe, else as <IRI>."""
    for name in USED_PREFIXES:
        namespace = PREFIXES[name]
        if iri.startswith(namespace) and _SAFE_LOCAL.match(iri[len(namespace):]):
            return f"{name}:{iri[len(namespace):]}"
    if _IRI_FORBIDDEN.search(iri):
        raise ValueError(f"not a valid IRI: {iri!r}")
    return f"<{iri}>"


def string(text: str) -> str:
    if _NEEDS_ESCAPE.search(text):
        text = "".join(_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7f else c)
                       for c in text)
    return f'"{text}"'


def lang(text: str, language: str = "en") -> str:
    return f"{string(text)}@{language}"


def typed(text: str, datatype: str) -> str:
    return f"{string(text)}^^{term(datatype)}"


def date(value: DateValue) -> str:
    return typed(value.lexical, value.datatype)


def block(subject: str, pairs: list[tuple[str, str]]) -> str:
    """One subject with its predicate-object pairs, objects of a repeated predicate joined by commas."""
    grouped: dict[str, list[str]] = {}
    for predicate, obj in pairs:
        objects = grouped.setdefault(predicate, [])
        if obj not in objects:
            objects.append(obj)
    lines = [f"    {predicate} {', '.join(objects)}" for predicate, objects in grouped.items()]
    return f"{term(subject)}\n" + " ;\n".join(lines) + " .\n"


def record(rec: SourceRecord) -> str:
    pairs = [("a", term(DIP + "DatasetRecord")), ("rdfs:label", lang(rec.label)),
             ("dip:dataset", string(rec.dataset)), ("dip:recordId", string(rec.record_id))]
    if rec.story_id:
        pairs.append(("dip:storyId", string(rec.story_id)))
    if rec.sentence is not None:
        pairs.append(("dip:sentenceNumber", str(rec.sentence)))
    if rec.url:
        pairs.append(("dip:url", typed(rec.url, XSD + "anyURI")))
    if rec.issued:
        pairs.append(("dct:issued", date(rec.issued)))
    return block(rec.iri, pairs)


def actor(new: NewActor) -> str:
    pairs = [("a", term(new.cls)), ("rdfs:label", lang(new.label))]
    pairs += [("dip:actorCode", string(code)) for code in new.codes]
    pairs += [("dip:sector", string(sector)) for sector in new.sectors]
    if new.acts_for:
        pairs.append(("dip:actsFor", term(new.acts_for)))
    return block(new.iri, pairs)


def place(new: NewPlace) -> str:
    pairs = [("a", term(DIP + ("Country" if new.is_country else "Place"))), ("rdfs:label", lang(new.label))]
    if new.in_country:
        pairs.append(("dip:inCountry", term(new.in_country)))
    if new.lat is not None and new.long is not None:
        pairs += [("geo:lat", typed(new.lat, XSD + "decimal")), ("geo:long", typed(new.long, XSD + "decimal"))]
    return block(new.iri, pairs)


def event(ev: ImportedEvent, content: str | None) -> str:
    """A new event in full; for an event already in the KB only what the import adds to it."""
    records = [term(r.iri) for r in ev.records]
    merged = records + [term(r) for r in ev.existing_records] if ev.merged else []
    pairs: list[tuple[str, str]] = []
    if not ev.existing:
        pairs += [("a", term(ev.cls)), ("rdfs:label", lang(ev.label))]
        pairs += [(term(role), term(who)) for role, who in ev.roles]
        if ev.place:
            pairs.append((f"dip:{ev.place_property}", term(ev.place)))
        pairs += [("dip:date", date(ev.date)), ("dip:modality", term(DIP + ev.modality))]
        if content:
            pairs.append(("dip:content", lang(content)))
    pairs += [("dip:eventCode", term(concept)) for concept, _ in ev.codes]
    pairs += [("dip:source", r) for r in records]
    pairs += [("dip:mergedFrom", r) for r in merged]
    return block(ev.iri, pairs)

