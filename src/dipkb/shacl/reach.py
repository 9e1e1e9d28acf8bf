"""How far from a focus node the shapes read, which decides whether a KB can be validated in batches
of files (dipkb.shacl.batches) and still give the findings of the whole KB at once.

A focus node is at distance 0, the objects and predicates of its triples at 1. Reading the triples of
a node at distance 0 or 1 is local: a batch holds every triple about the subjects of its files and
about the nodes one triple away from them. Any other read (a source's publisher's name, a reverse
path, a class hierarchy) names its predicate, and a batch then also holds every file with a triple of
that predicate (the ontology's rdfs:subClassOf, in practice). A read whose predicate is not known
(a variable, about a node at any distance) or of another graph cannot be batched.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import rdflib
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, Path, SequencePath
from rdflib.plugins.sparql.parserutils import CompValue

from dipkb.model.namespaces import RDF, RDFS
from dipkb.shacl.algebra import always_binds
from dipkb.shacl.shapes import Constraint, ShapeSet, SparqlSelect, Test

_THIS = rdflib.Variable("this")
_FAR = None  # a node at an unknown distance


@dataclass(frozen=True)
class Reach:
    """``local``: every read is about a node at distance 0 or 1, or of a predicate in ``everywhere``."""

    local: bool
    everywhere: frozenset[str]


@dataclass
class _Reads:
    local: bool = True
    everywhere: set[str] = field(default_factory=lambda: {RDFS + "subClassOf"})  # class targets

    def read(self, predicate: str, distance: int | None) -> None:
        if distance is _FAR or distance > 1:
            self.everywhere.add(predicate)


def reach(shapes: ShapeSet) -> Reach:
    reads = _Reads()
    for shape in shapes.reporting:
        for predicate in (RDF + "type", *shape.target_subjects_of):
            reads.read(predicate, 0)
        _shape(shapes, shape.iri, 0, reads)
    return Reach(reads.local, frozenset(reads.everywhere))


def _shape(shapes: ShapeSet, iri: str, distance: int | None, reads: _Reads) -> None:
    """The reads of shape ``iri`` applied to a node at ``distance``."""
    shape = shapes[iri]
    values = distance
    if shape.path is not None:
        reads.read(shape.path, distance)
        values = None if distance is _FAR else distance + 1
    for c in shape.constraints:
        if c.test is Test.SPARQL:
            _sparql(c, distance, reads)
        elif c.test not in (Test.MIN_COUNT, Test.MAX_COUNT, Test.HAS_VALUE):
            _constraint(shapes, c, values, reads)


def _constraint(shapes: ShapeSet, c: Constraint, distance: int | None, reads: _Reads) -> None:
    if c.test is Test.CLASS:
        reads.read(RDF + "type", distance)
    elif c.test in (Test.NODE, Test.PROPERTY, Test.OR, Test.QUALIFIED_MIN_COUNT):
        for iri in c.argument:  # type: ignore[union-attr]
            _shape(shapes, iri, distance, reads)


# --- SHACL-SPARQL bodies, from their algebra --------------------------------------------------------

Distances = dict[rdflib.term.Node, int]


def _sparql(c: Constraint, distance: int | None, reads: _Reads) -> None:
    algebra = SparqlSelect.parse(str(c.argument), c.node).algebra(dict(c.prefixes))
    if algebra is None:  # nothing known of its reads
        reads.local = False
        return
    _pattern(algebra, {_THIS: distance} if distance is not _FAR else {}, reads)


def _pattern(node: CompValue, known: Distances, reads: _Reads) -> Distances:
    """Record the reads of an algebra node evaluated with ``known`` variables bound; the distances of
    the variables every one of its solutions binds."""
    name = node.name
    if name == "BGP":
        return _bgp(node.triples, known, reads)
    if name in ("Join", "LeftJoin", "Minus"):
        # The right side matters only where it agrees with the left on the variables the left binds.
        left = _pattern(node.p1, known, reads)
        bound = {**known, **{v: d for v, d in left.items() if always_binds(node.p1, v)}}
        right = _pattern(node.p2, bound, reads)
        _expression(node.get("expr"), bound, reads)
        return {**right, **bound} if name == "Join" else bound
    if name == "Union":
        left, right = _pattern(node.p1, known, reads), _pattern(node.p2, known, reads)
        return {v: max(d, right[v]) for v, d in left.items() if v in right and d is not _FAR
                and right[v] is not _FAR}
    if name == "Filter":
        inner = _pattern(node.p, known, reads)
        _expression(node.expr, {**known, **{v: d for v, d in inner.items() if always_binds(node.p, v)}}, reads)
        return inner
    if name == "Extend":
        inner = _pattern(node.p, known, reads)
        _expression(node.expr, inner, reads)
        return {v: d for v, d in inner.items() if v != node.var}
    if name in ("Project", "Distinct", "Reduced", "ToMultiSet"):
        return _pattern(node.p, known, reads)
    if name == "values":
        return dict(known)
    reads.local = False  # GRAPH, SERVICE, or something not thought through
    return dict(known)


def _bgp(triples: list, known: Distances, reads: _Reads) -> Distances:
    found = dict(known)

    def distance(term) -> int | None:
        return found.get(term) if isinstance(term, (rdflib.Variable, rdflib.BNode)) else _FAR

    changed = True
    while changed:  # a triple about a node at distance d puts its predicate and object at d + 1
        changed = False
        for s, p, o in triples:
            d = distance(s)
            for term in (p, o) if not isinstance(p, Path) else ():  # a path's end may be anywhere
                if d is not _FAR and isinstance(term, (rdflib.Variable, rdflib.BNode)) \
                        and (found.get(term) is _FAR or found[term] > d + 1):
                    found[term], changed = d + 1, True
    for s, p, o in triples:
        d = distance(s)
        if isinstance(p, Path):
            _path(p, d, reads)
        elif isinstance(p, rdflib.URIRef):
            reads.read(str(p), d)
        elif d is _FAR or d > 1:
            reads.local = False  # any predicate, about a node that may be anywhere
    return found


def _path(path, distance: int | None, reads: _Reads) -> None:
    if isinstance(path, rdflib.URIRef):
        reads.read(str(path), distance)
    elif isinstance(path, SequencePath):
        for step in path.args:
            _path(step, distance, reads)
            distance = _FAR if distance is _FAR or not isinstance(step, rdflib.URIRef) else distance + 1
    elif isinstance(path, AlternativePath):
        for step in path.args:
            _path(step, distance, reads)
    elif isinstance(path, MulPath):
        _path(path.path, distance if path.mod == "?" else _FAR, reads)
    elif isinstance(path, InvPath):
        _path(path.arg, _FAR, reads)  # the subject is whatever points at the node
    elif isinstance(path, NegatedPath):  # any predicate but some: all the node's triples, or its inverse
        if distance is _FAR or distance > 1 or any(not isinstance(arg, rdflib.URIRef) for arg in path.args):
            reads.local = False
    else:
        reads.local = False


def _expression(expr, known: Distances, reads: _Reads) -> None:
    """The reads of the EXISTS and NOT EXISTS groups in a filter or BIND expression."""
    if isinstance(expr, CompValue):
        if expr.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            _pattern(expr.graph, known, reads)
            return
        for value in expr.values():
            _expression(value, known, reads)
    elif isinstance(expr, (list, tuple)):
        for value in expr:
            _expression(value, known, reads)
