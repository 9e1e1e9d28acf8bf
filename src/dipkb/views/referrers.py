"""What refers to one resource, for `dipkb show` and an entity's web page: a page's first few, or
every referrer, sorted on disk.

Every referrer, without a limit, goes through two external sorts (views/sorting.py), as a long
timeline's selection does: by (property, thing), to count the pairs and drop repeats, then in the
order the description lists them. Held as facts, the busiest actor's 166,930 references at a
million events took 280 MB; at ten million, ten times as many.
"""
from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from itertools import groupby

from pyoxigraph import NamedNode

from dipkb.model.labels import label_order
from dipkb.model.namespaces import FILE_GRAPH_PREFIX, curie
from dipkb.store.engine import Term
from dipkb.store.kb import KnowledgeBase
from dipkb.views.facts import Fact, fact_order, predicate_rank, property_name
from dipkb.views.sorting import LineSorter, fields_line, line_fields

# Only authored triples (file graphs), so derived helpers never show up as references. Sorted here
# rather than by the engine, which took 19 s to order an actor's 166,930 references at a million
# events (3.3 s to read them all). A page of them counts them by property first (below), then reads
# the referrers of the first properties only (by IRI, as the page lists them): for one property, the
# filter on the graph's name is as fast as reading the files' graphs by name (below), or faster
# (the busiest actor's 20,022 `dip:about` at a million events: 0.28 s and 0.29 s; 7 `dip:actsFor`:
# 0.002 s and 0.07 s).
_IN_FILES = 'FILTER(STRSTARTS(STR(?g), "%s"))' % FILE_GRAPH_PREFIX
_REFERRERS = """SELECT DISTINCT ?s ?p ?object WHERE {
  GRAPH ?g { ?s ?p ?object } %s
}""" % _IN_FILES
# How many (thing, property) pairs refer to it, by property: a thing that few quads name, with the
# filter above; one that many name, over the files' graphs only (KnowledgeBase.files_dataset),
# each read by name. The filter reads every quad that names the thing, the derived ones too, and
# the name of its graph; naming the graphs costs a look-up in each. At a million events: the
# busiest actor (390,334 quads, 2,007 file graphs) 0.73 s with the filter, 0.09 s so; an actor of
# one event 0.05 s more and 50 MB more so.
_PER_PROPERTY = """SELECT ?p ?object (COUNT(DISTINCT ?s) AS ?n) WHERE {
  GRAPH ?g { ?s ?p ?object } %s
} GROUP BY ?p ?object"""
_MANY_QUADS = 20_000  # where the two ways took about as long at a million events
_SOME_QUADS = "SELECT ?object WHERE { ?s ?p ?object } LIMIT %d"
# Every referrer with its labels, in one query; not DISTINCT, which would hold every solution in the
# engine: the sorts drop the repeats.
_LABELLED_REFERRERS = """SELECT ?s ?p ?label ?object WHERE {
  GRAPH ?g { ?s ?p ?object } %s
  OPTIONAL { ?s rdfs:label ?label }
}""" % _IN_FILES
_LABELS = "SELECT ?thing ?label WHERE { VALUES ?thing { %s } ?thing rdfs:label ?label }"
# At most this many referrers of a page are kept (KnowledgeBase.remembered): a ?limit= can ask for all.
_REMEMBERED_REFERRERS = 1000
# Each of the two sorts holds this much before spilling a run: both are in memory at once while
# the first is read into the second.
_SORT_BOUND = 32 << 20


@dataclass(frozen=True)
class Referrers:
    """What refers to a resource, as facts whose value is the referring thing; how many (thing,
    property) pairs they show, and how many there are in all."""

    facts: Collection[Fact]
    shown: int
    count: int


def referrers(kb: KnowledgeBase, iri: str, limit: int | None = None) -> Referrers:
    """What refers to ``iri``; with ``limit``, the first that many pairs by property and thing IRI."""
    target = NamedNode(iri)
    if limit is None:
        return _every_referrer(kb, target)
    per_property = _per_property(kb, target)
    count, pairs = sum(per_property.values()), []
    for prop in sorted(per_property, key=lambda prop: prop.value):
        if len(pairs) >= limit:
            break
        pairs += _referring_pairs(kb, target, prop)
    shown = pairs[:limit]
    found = _labels(kb, {term.value for pair in shown for term in pair if isinstance(term, NamedNode)})
    facts = {Fact(curie(p.value), property_name(p.value, found.get(p.value)), found.get(s.value, curie(s.value)),
                  curie(s.value))
             for p, s in shown}
    return Referrers(tuple(sorted(facts, key=fact_order)), len(shown), count)


def _per_property(kb: KnowledgeBase, target: NamedNode) -> dict[NamedNode, int]:
    if sum(1 for _ in kb.query(_SOME_QUADS % _MANY_QUADS, {"object": target})) < _MANY_QUADS:
        rows = kb.select(_PER_PROPERTY % _IN_FILES, {"object": target})
    else:
        rows = kb.select(_PER_PROPERTY % "", {"object": target}, dataset=kb.files_dataset())
    return {row["p"]: int(row["n"].value) for row in rows}


def kept_referrers(kb: KnowledgeBase, iri: str, limit: int | None) -> Referrers:
    """:func:`referrers`; a page's few are kept with the index generation, for the entity's next page
    (at a million events, reading the busiest actor's 166,930 references took 3.3 s of each page)."""
    if limit and limit <= _REMEMBERED_REFERRERS:
        return kb.remembered(("referrers", iri, limit), lambda: referrers(kb, iri, limit))
    return referrers(kb, iri, limit)


def _labels(kb: KnowledgeBase, iris: Collection[str]) -> dict[str, str]:
    """The label shown of each of ``iris`` that has any (dipkb.model.labels)."""
    found: dict[str, tuple[bool, str]] = {}
    for row in kb.select_for_each(_LABELS, sorted(iris)):
        thing, label = row["thing"].value, row["label"]
        order = label_order(label.value, label.language)
        if thing not in found or order < found[thing]:
            found[thing] = order
    return {thing: label for thing, (_, label) in found.items()}


def _referring_pairs(kb: KnowledgeBase, target: NamedNode, prop: NamedNode) -> list[tuple]:
    """The (property, thing) pairs of the things whose ``prop`` is ``target``, by thing IRI."""
    return sorted(((p, s) for s, p, _ in kb.query(_REFERRERS, {"object": target, "p": prop})),
                  key=lambda pair: (pair[0].value, pair[1].value))


class SortedReferrers(Collection[Fact]):
    """Referrers' facts in the order of :func:`facts.fact_order`, read back from a sorter's runs
    each time they are iterated: a line is (rank, property, thing's label, thing), a fact."""

    def __init__(self, sorter: LineSorter, property_labels: dict[str, str], count: int):
        self._sorter, self._property_labels, self._count = sorter, property_labels, count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Fact]:
        for line in self._sorter.lines():
            _, prop, label, thing = line_fields(line)
            yield Fact(prop, self._property_labels[prop], label, thing)

    def __contains__(self, fact: object) -> bool:
        return any(fact == held for held in self)


def _every_referrer(kb: KnowledgeBase, target: NamedNode) -> Referrers:
    curies: dict[str, str] = {}  # a property's IRI, its CURIE: a handful of properties

    def pair_line(thing: Term, prop: NamedNode, label: Term | None) -> bytes:
        prop_curie = curies.get(prop.value) or curies.setdefault(prop.value, curie(prop.value))
        thing_curie = curie(thing.value)
        named = label is not None and isinstance(thing, NamedNode)
        # A thing's lines sort by the label shown first (dipkb.model.labels): "0" before an English one.
        shown = ("1" if label_order(label.value, label.language)[0] else "0") + label.value if named \
            else "0" + thing_curie
        return fields_line((prop_curie, thing_curie, shown))

    by_pair = LineSorter(_SORT_BOUND)
    by_pair.add_lines(pair_line(s, p, label) for s, p, label, _ in kb.query(_LABELLED_REFERRERS, {"object": target}))
    found = _labels(kb, curies)
    property_labels = {prop_curie: property_name(prop, found.get(prop)) for prop, prop_curie in curies.items()}
    in_order, pairs = LineSorter(_SORT_BOUND), 0

    def listed() -> Iterator[bytes]:
        nonlocal pairs
        for (prop, thing), lines in groupby(map(line_fields, by_pair.lines()), key=lambda fields: fields[:2]):
            pairs += 1
            label = next(lines)[2][1:]  # the one shown
            yield fields_line((str(predicate_rank(prop)), prop, label, thing))

    in_order.add_lines(listed())
    by_pair.close()
    return Referrers(SortedReferrers(in_order, property_labels, pairs), pairs, pairs)
