"""`dipkb show`: everything the KB says about one event, actor, place or source, readable."""
from __future__ import annotations

from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pyoxigraph import BlankNode, Literal, NamedNode

from dipkb.errors import AmbiguousNameError, ParameterError, UnknownNameError
from dipkb.model.labels import label_order
from dipkb.model.namespaces import DIP, FILE_GRAPH_PREFIX, KB, curie, expand
from dipkb.model.terms import iri_node
from dipkb.store.kb import KnowledgeBase
from dipkb.util.terminal import display_width, padded, terminal_text
from dipkb.views.facts import Fact, fact_order, property_name
from dipkb.views.names import NAMED_ONLY_QUERY, did_you_mean, is_own_name, named_only, resolve_among
from dipkb.views.paging import timeline_window
from dipkb.views.render import json_pieces
from dipkb.views.long_selection import select_all
from dipkb.views.referrers import kept_referrers
from dipkb.views.timeline import Entries, TimelineEntry, TimelineFilter

_KINDS = (("Event", "event"), ("Actor", "actor"), ("Place", "place"), ("Source", "source"), ("Position", "position"))


@dataclass(frozen=True)
class Description:
    id: str
    label: str
    kind: str
    facts: tuple[Fact, ...]
    # Without a limit, read from disk (referrers.SortedReferrers) and made (timeline.Entries) as they
    # are written.
    referenced_by: Collection[Fact]
    details: tuple[tuple[str, tuple[Fact, ...]], ...]
    timeline: Collection[TimelineEntry]
    also_named: tuple[tuple[str, str], ...] = ()  # (IRI, kind) of the others the name given is an alternative label of
    # How many there are in all, of which a limited description lists the first few: (subject,
    # property) pairs referring to it, and timeline events; and how many pairs ``referenced_by``
    # lists (a thing with two labels is two facts).
    referenced_by_count: int = 0
    timeline_count: int = 0
    referenced_by_shown: int = 0

    def as_dict(self) -> dict:
        return {key: list(value) if isinstance(value, Iterator) else value for key, value in self._fields().items()}

    def json_pieces(self) -> Iterator[str]:
        """``json_text(self.as_dict())`` in pieces, the timeline's entries written as they are made."""
        return json_pieces(self._fields())

    def _fields(self) -> dict:
        return {
            "id": curie(self.id), "label": self.label, "kind": self.kind,
            "also_named": [{"id": curie(iri), "kind": kind} for iri, kind in self.also_named],
            "properties": [f.as_dict() for f in self.facts],
            "referenced_by": (f.as_dict() for f in self.referenced_by),
            "details": {curie(k): [f.as_dict() for f in facts] for k, facts in self.details},
            "timeline": (e.as_dict() for e in self.timeline),
            "referenced_by_count": self.referenced_by_count, "timeline_count": self.timeline_count,
        }


def find_resource(kb: KnowledgeBase, text: str) -> tuple[str, str, dict[str, str]]:
    """Resolve an IRI, CURIE or name against every kind of resource; returns (IRI, kind) and, when the
    name is the label of that one and only an alternative label of others, those others by IRI with their kind."""
    if not text.strip():  # every label holds "": the "did you mean" listed any five things of the KB
        raise ParameterError("No name given: give an IRI, a CURIE (event:..., actor:...) or a label.")
    found = resolve_among(kb, text, [(DIP + class_name, noun) for class_name, noun in _KINDS])
    if not found:
        iri = expand(text.strip())
        node = iri_node(iri) if iri else None
        if node and node.value.startswith(KB) and kb.ask(NAMED_ONLY_QUERY, {"thing": node}):
            raise UnknownNameError(named_only(text))
        if node and kb.ask("ASK { { ?thing ?p ?o } UNION { ?s ?p ?thing } }", {"thing": node}):
            raise UnknownNameError(f"{text!r} is in the knowledge base, but not as an event, actor, place, source "
                                   f"or position: its statements are in `dipkb query 'DESCRIBE <{node.value}>'`.")
        hint = did_you_mean(kb, text, [DIP + class_name for class_name, _ in _KINDS])
        raise UnknownNameError(f"Nothing named {text!r} in the knowledge base" + (
            f". Did you mean: {hint}?" if hint else ": give an IRI, a CURIE (event:..., actor:...) or a label."))
    if len(found) > 1:
        own = [iri for iri in found if is_own_name(kb, iri, text)]
        if len(own) != 1:
            raise AmbiguousNameError(text, [(curie(iri), noun) for iri, noun in sorted(found.items())])
        return own[0], found.pop(own[0]), found
    return *next(iter(found.items())), {}


# Only authored triples (file graphs), so derived helpers never show up as facts.
_OUTGOING = """
SELECT ?p ?o ?plabel ?title ?label ?subject WHERE {
  GRAPH ?g { ?subject ?p ?o } FILTER(STRSTARTS(STR(?g), "%s"))
  OPTIONAL { ?p rdfs:label ?plabel }
  OPTIONAL { ?o dct:title ?title } OPTIONAL { ?o rdfs:label ?label }
}""" % FILE_GRAPH_PREFIX


def facts_of(kb: KnowledgeBase, iri: str) -> tuple[Fact, ...]:
    """What the files say of ``iri``: a fact a value, its property and the value by the names shown
    (dipkb.model.labels), a title before a label; a row of the query each name of each."""
    names: dict[tuple, dict[str, tuple[int, bool, str]]] = {}  # (property, value) -> the least name of each
    for row in kb.select(_OUTGOING, {"subject": NamedNode(iri)}):
        shown = names.setdefault((row["p"], row["o"]), {})
        for key, of, rank in (("plabel", "property", 0), ("title", "value", 0), ("label", "value", 1)):
            if key in row:
                candidate = (rank, *label_order(row[key].value, row[key].language))
                shown[of] = min(shown.get(of, candidate), candidate)
    facts = []
    for (prop, obj), shown in names.items():
        plabel = property_name(prop.value, shown["property"][-1] if "property" in shown else None)
        if isinstance(obj, Literal):
            facts.append(Fact(curie(prop.value), plabel, obj.value, None, obj.language))
        else:
            # A blank node by its label as N-Triples writes it: its bare id read as a name.
            node = f"_:{obj.value}" if isinstance(obj, BlankNode) else curie(obj.value)
            facts.append(Fact(curie(prop.value), plabel, shown["value"][-1] if "value" in shown else node, node))
    return tuple(sorted(facts, key=fact_order))


def describe(kb: KnowledgeBase, text: str, *, limit: int | None = None, first_event: int = 0) -> Description:
    """All the KB says about what ``text`` names; with ``limit``, at most that many of what refers to
    it and of its timeline's events (from ``first_event``), with how many there are in all."""
    iri, kind, others = find_resource(kb, text)
    facts = facts_of(kb, iri)
    names = [f for f in facts if f.predicate == "dct:title"] or [f for f in facts if f.predicate == "rdfs:label"]
    label = min((label_order(f.value, f.language) for f in names), default=(False, curie(iri)))[1]
    details = tuple(
        (f.value_id, facts_of(kb, expand(f.value_id) or f.value_id))
        for f in facts if f.predicate == "dip:holdsPosition" and f.value_id
    )
    filt = {"actor": TimelineFilter(actors=(iri,)), "place": TimelineFilter(place=iri)}.get(kind)
    events: Collection[TimelineEntry] = ()
    events_count = 0
    # What refers to it is read beside its timeline, on the engine's second core: at a million events,
    # the busiest actor's first page took 5.8-6.0 s one after the other, 3.6-4.0 s so.
    with ThreadPoolExecutor(1) as pool:
        incoming = pool.submit(kept_referrers, kb, iri, limit)
        if filt and limit:
            shown, events_count = timeline_window(kb, filt, first_event, limit)
            events = tuple(shown)
        elif filt:
            # Made as they are written: `show "Republic of Vara" -f json` at a million events, its 237,128
            # events held at once, took 2.9 GB; 1.0 GB so.
            events = Entries(kb, select_all(kb, filt))
            events_count = len(events)
        referred = incoming.result()
    return Description(iri, label, kind, facts, referred.facts, details, events, tuple(sorted(others.items())),
                       referred.count, events_count, referred.shown)


def render_text(d: Description) -> str:
    return "".join(text_lines(d))


def text_lines(d: Description) -> Iterator[str]:
    """:func:`render_text` line by line, the timeline's as its entries are made."""
    lines = [f"{curie(d.id)}  ({d.kind})", f"  {d.label}", ""]
    if d.also_named:
        others = ", ".join(f"{curie(iri)} ({kind})" for iri, kind in d.also_named)
        lines[-1:] = [f"  Note: the name also stands for {others}, as an alternative label; show it by its IRI.", ""]
    lines += _fact_lines(d.facts)
    for position, facts in d.details:
        lines += ["", f"  {position}:"] + ["  " + line for line in _fact_lines(facts)]
    if d.referenced_by:
        lines += ["", f"  Referenced by{_of_all(d.referenced_by_shown, d.referenced_by_count)}:"]
    yield from (terminal_text(line) + "\n" for line in lines)
    yield from (terminal_text(f"    {f.value} ({f.value_id}) {f.predicate_label}") + "\n" for f in d.referenced_by)
    if d.timeline:
        yield "\n" + terminal_text(f"  Timeline{_of_all(len(d.timeline), d.timeline_count)}:") + "\n"
    # The modality too: a planned summit listed as a date, a type and a label read as one that took place.
    yield from (terminal_text(f"    {e.date:<14} {e.type:<24} {e.modality:<9} {e.label}") + "\n" for e in d.timeline)


def _of_all(shown: int, count: int) -> str:
    return "" if shown == count else f" ({shown:,} of {count:,})"


def _fact_lines(facts: tuple[Fact, ...]) -> list[str]:
    width = max((display_width(f.predicate_label) for f in facts), default=0)
    lines = []
    for fact in facts:
        value = f"{fact.value} ({fact.value_id})" if fact.value_id and fact.value_id != fact.value else fact.value
        if fact.language:
            value = f"“{value}” @{fact.language}"
        lines.append(f"  {padded(fact.predicate_label, width)}  {value}")
    return lines
