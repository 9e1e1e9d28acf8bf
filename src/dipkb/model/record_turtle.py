"""The Turtle of what an import adds: its records, actors, places and events, streamed block by block
with the term writers of dipkb.model.terms."""
from __future__ import annotations

from dipkb.model import terms
from dipkb.model.namespaces import DIP, XSD
from dipkb.model.records import ImportedEvent, NewActor, NewPlace, Signals, SourceRecord
from dipkb.model.terms import block, date, lang, string, term, typed

# The readers check a signal's decimals against xsd:decimal's lexical form, which needs no escaping:
# written directly, as they are on every record of a 100,000-row import.
_DECIMAL = "^^" + term(XSD + "decimal")


def _signals(signals: Signals) -> list[tuple[str, str]]:
    pairs = []
    for predicate, value in (("dip:goldsteinScale", signals.goldstein), ("dip:averageTone", signals.avg_tone),
                             ("dip:intensity", signals.intensity)):
        if value is not None:
            pairs.append((predicate, f'"{value}"{_DECIMAL}'))
    for predicate, count in (("dip:quadClass", signals.quad_class), ("dip:numMentions", signals.num_mentions),
                             ("dip:numSources", signals.num_sources), ("dip:numArticles", signals.num_articles)):
        if count is not None:
            pairs.append((predicate, str(count)))
    if signals.root_event is not None:
        pairs.append(("dip:isRootEvent", "true" if signals.root_event else "false"))
    if signals.publisher:
        pairs.append(("dip:storyPublisher", string(signals.publisher)))
    return pairs


def record(rec: SourceRecord) -> str:
    pairs = [("a", term(DIP + rec.kind.value)), ("rdfs:label", lang(rec.label)),
             ("dip:dataset", string(rec.dataset)), ("dip:recordId", string(rec.record_id))]
    if rec.story_id:
        pairs.append(("dip:storyId", string(rec.story_id)))
    if rec.sentence is not None:
        pairs.append(("dip:sentenceNumber", str(rec.sentence)))
    if rec.url:
        pairs.append(("dip:url", typed(rec.url, XSD + "anyURI")))
    if rec.identifier:
        pairs.append(("dct:identifier", string(rec.identifier)))
    if rec.created:
        pairs.append(("dct:created", date(rec.created)))
    if rec.confidence is not None:
        pairs.append(("dip:mentionConfidence", str(rec.confidence)))
    pairs += _signals(rec.signals)
    return block(rec.iri, pairs)


def actor(new: NewActor) -> str:
    return terms.actor(new.iri, new.cls, new.label, codes=new.codes, sectors=new.sectors, acts_for=new.acts_for,
                       of_state=new.of_state)


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
        if ev.window:
            pairs += [("dip:earliestDate", date(ev.window[0])), ("dip:latestDate", date(ev.window[1]))]
        else:
            pairs.append(("dip:date", date(ev.date)))
        pairs.append(("dip:modality", term(DIP + ev.modality)))
        if content:
            pairs.append(("dip:content", lang(content)))
    pairs += [("dip:eventCode", term(concept)) for concept, _ in ev.codes]
    pairs += [("dip:source", r) for r in records + [term(m.iri) for m in ev.mentions]]
    pairs += [("dip:mergedFrom", r) for r in merged]
    return block(ev.iri, pairs)
