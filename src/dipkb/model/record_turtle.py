"""The Turtle of what an import adds: its records, actors, places and events, streamed block by block
with the term writers of dipkb.model.terms."""
from __future__ import annotations

from dipkb.model import terms
from dipkb.model.namespaces import DIP, XSD
from dipkb.model.records import ImportedEvent, NewActor, NewPlace, SourceRecord
from dipkb.model.terms import block, date, lang, string, term, typed


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
    return terms.actor(new.iri, new.cls, new.label, codes=new.codes, sectors=new.sectors, acts_for=new.acts_for)


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

