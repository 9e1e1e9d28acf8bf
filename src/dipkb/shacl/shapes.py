"""The SHACL shapes as plain data, for the SPARQL engine (:mod:`dipkb.shacl.compiler`).

Only the SHACL features dipkb's shapes use are supported. Loading any other feature raises
UnsupportedShapeError naming the shape and the feature, so that a new shape is never silently skipped.

The tests of a single value term (sh:datatype, sh:pattern, sh:minInclusive...) are decided here, in
Python, on the term as written in the file: the store canonicalises literals ("-3"^^xsd:nonNegativeInteger
comes out as an xsd:integer, "1.50" as "1.5"), so SPARQL cannot tell what pyshacl sees. The rules are
pyshacl's own (same rdflib literals, same comparison helper), so both engines agree.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum

import rdflib
from pyshacl.rdfutil.compare import compare_literal
from rdflib.collection import Collection
from rdflib.plugins.sparql.parserutils import CompValue

from dipkb.errors import DipkbError
from dipkb.model.namespaces import RDF, RDFS, SH, XSD
from dipkb.shacl import algebra as algebra_of
from dipkb.shacl.originals import rdflib_term

# The engines must see the same literals: see dipkb.shacl.reference.
rdflib.NORMALIZE_LITERALS = False
_SH = rdflib.Namespace(SH)
_LANG_STRING, _STRING = rdflib.URIRef(RDF + "langString"), rdflib.URIRef(XSD + "string")


class UnsupportedShapeError(DipkbError):
    """A shapes file uses a SHACL feature the SPARQL engine does not implement; the message names them."""


class Test(Enum):
    """What a constraint checks: its SHACL constraint component, and how the engine evaluates it."""

    MIN_COUNT = "MinCount"
    MAX_COUNT = "MaxCount"
    CLASS = "Class"
    IN = "In"
    HAS_VALUE = "HasValue"
    DATATYPE = "Datatype"
    PATTERN = "Pattern"
    MIN_INCLUSIVE = "MinInclusive"
    MAX_INCLUSIVE = "MaxInclusive"
    NODE = "Node"
    OR = "Or"
    PROPERTY = "Property"
    QUALIFIED_MIN_COUNT = "QualifiedMinCount"
    SPARQL = "SPARQL"

    @property
    def component(self) -> str:
        return f"{SH}{self.value}ConstraintComponent"

    @property
    def on_term(self) -> bool:
        """Decided by the value term alone, in Python."""
        return self in (Test.DATATYPE, Test.PATTERN, Test.MIN_INCLUSIVE, Test.MAX_INCLUSIVE)


@dataclass(frozen=True)
class Constraint:
    """One constraint of a shape. ``argument`` holds, by test: the count (counts), the class or value IRI
    (class, hasValue), the IRIs (in), the rdflib term (datatype, pattern, bounds), the shape IRIs
    (node, or, property, qualified), the SELECT text (SPARQL)."""

    test: Test
    argument: object
    flags: str = ""  # sh:flags of a pattern
    minimum: int = 0  # sh:qualifiedMinCount
    node: str = ""  # the sh:SPARQLConstraint node, for SPARQL
    messages: tuple[rdflib.Literal, ...] = ()  # the SPARQL constraint's own messages
    prefixes: tuple[tuple[str, str], ...] = ()  # the SPARQL constraint's sh:declare'd prefixes


@dataclass(frozen=True)
class Shape:
    iri: str
    path: str | None  # a predicate IRI for a property shape
    target_classes: tuple[str, ...]
    target_subjects_of: tuple[str, ...]
    severity: str
    messages: tuple[rdflib.Literal, ...]
    constraints: tuple[Constraint, ...]

    @property
    def targeted(self) -> bool:
        return bool(self.target_classes or self.target_subjects_of)


# Everything a shape may say. Predicates outside sh: (rdfs:seeAlso, skos:...) are annotations and ignored.
_ANNOTATIONS = {SH + name for name in ("name", "description", "message", "severity", "order", "group")}
_STRUCTURE = {SH + name for name in ("path", "targetClass", "targetSubjectsOf", "flags", "qualifiedMinCount")}
_PARAMETERS = {
    "minCount": Test.MIN_COUNT, "maxCount": Test.MAX_COUNT, "class": Test.CLASS, "in": Test.IN,
    "hasValue": Test.HAS_VALUE, "datatype": Test.DATATYPE, "pattern": Test.PATTERN,
    "minInclusive": Test.MIN_INCLUSIVE, "maxInclusive": Test.MAX_INCLUSIVE, "node": Test.NODE, "or": Test.OR,
    "property": Test.PROPERTY, "qualifiedValueShape": Test.QUALIFIED_MIN_COUNT, "sparql": Test.SPARQL,
}
_SPARQL_KEYS = {RDF + "type", SH + "select", SH + "prefixes", SH + "message", RDFS + "comment", RDFS + "label"}
_SHAPE_CLASSES = {rdflib.URIRef(SH + "NodeShape"), rdflib.URIRef(SH + "PropertyShape")}


class ShapeSet:
    """Every shape of a shapes graph, by IRI; :attr:`reporting` are those with targets, in IRI order."""

    def __init__(self, graph: rdflib.Graph):
        self.graph = graph
        self.shapes: dict[str, Shape] = {}
        self._problems: list[str] = []
        roots = {s for cls in _SHAPE_CLASSES for s in graph.subjects(rdflib.RDF.type, cls)}
        # Any target, even one not supported, makes a shape that pyshacl validates: load it to report it.
        roots |= {s for p in ("targetClass", "targetSubjectsOf", "targetObjectsOf", "targetNode", "target", "path")
                  for s in graph.subjects(_SH[p], None)}
        for node in sorted(roots, key=str):
            self._load(node)
        for iri in sorted(self.shapes):
            if self.shapes[iri] is not None and self._cycle(iri, ()):
                self._unsupported(rdflib.URIRef(iri), "a shape that refers to itself (recursive shapes)")
        if self._problems:
            raise UnsupportedShapeError(
                "The SPARQL validation engine does not support: " + "; ".join(sorted(set(self._problems)))
                + ". Validate with the pyshacl engine, or implement the feature in dipkb.shacl.compiler.")
        self.reporting = [s for iri, s in sorted(self.shapes.items()) if s.targeted]

    def __getitem__(self, iri: str) -> Shape:
        return self.shapes[iri]

    def _cycle(self, iri: str, path: tuple[str, ...]) -> bool:
        shape = self.shapes.get(iri)
        if iri in path or shape is None:
            return iri in path
        return any(self._cycle(used, path + (iri,)) for c in shape.constraints
                   if c.test in (Test.NODE, Test.OR, Test.PROPERTY, Test.QUALIFIED_MIN_COUNT) for used in c.argument)

    def _unsupported(self, node: rdflib.term.Node, what: str) -> None:
        self._problems.append(f"{node}: {what}")

    def _load(self, node: rdflib.term.Node) -> str:
        if not isinstance(node, rdflib.URIRef):
            self._unsupported(node, "a blank-node shape")
            return str(node)
        iri, g = str(node), self.graph
        if iri in self.shapes:
            return iri
        self.shapes[iri] = None  # type: ignore[assignment]  # a placeholder against cycles
        if (node, rdflib.RDF.type, rdflib.RDFS.Class) in g or (node, rdflib.RDF.type, rdflib.OWL.Class) in g:
            self._unsupported(node, "a shape that is also a class (implicit class target)")
        constraints = []
        for predicate, value in sorted(g.predicate_objects(node)):
            name = str(predicate)
            if not name.startswith(SH) or name in _ANNOTATIONS or name in _STRUCTURE:
                continue
            test = _PARAMETERS.get(name[len(SH):])
            if test is None:
                self._unsupported(node, f"sh:{name[len(SH):]}")
            else:
                constraints.append(self._constraint(node, test, value))
        path = g.value(node, _SH.path)
        if path is not None and not isinstance(path, rdflib.URIRef):
            self._unsupported(node, "a sh:path that is not a single predicate")
        for p in ("targetClass", "targetSubjectsOf"):
            for target in g.objects(node, _SH[p]):
                if not isinstance(target, rdflib.URIRef):
                    self._unsupported(node, f"a sh:{p} that is not an IRI")
        shape = Shape(
            iri=iri,
            path=str(path) if path is not None else None,
            target_classes=tuple(sorted(str(o) for o in g.objects(node, _SH.targetClass))),
            target_subjects_of=tuple(sorted(str(o) for o in g.objects(node, _SH.targetSubjectsOf))),
            severity=str(g.value(node, _SH.severity) or _SH.Violation),
            messages=tuple(sorted(m for m in g.objects(node, _SH.message) if isinstance(m, rdflib.Literal))),
            constraints=tuple(c for c in constraints if c is not None),
        )
        if shape.targeted and not shape.messages:  # pyshacl's generic messages are not reproduced
            self._unsupported(node, "a shape with targets but no sh:message")
        if shape.targeted and any(c.test is Test.PROPERTY for c in shape.constraints):
            self._unsupported(node, "sh:property on a shape with targets (use targets on the property shape)")
        if shape.path is not None and any(c.test is Test.SPARQL for c in shape.constraints):
            self._unsupported(node, "sh:sparql on a property shape ($PATH)")
        self.shapes[iri] = shape
        return iri

    def _constraint(self, node: rdflib.term.Node, test: Test, value: rdflib.term.Node) -> Constraint | None:
        g = self.graph
        if test in (Test.MIN_COUNT, Test.MAX_COUNT):
            return Constraint(test, int(value))
        if test in (Test.CLASS, Test.HAS_VALUE):
            if not isinstance(value, rdflib.URIRef):
                self._unsupported(node, f"sh:{test.value[0].lower()}{test.value[1:]} with a literal or blank node")
            return Constraint(test, str(value))
        if test is Test.IN:
            members = list(Collection(g, value))
            if not all(isinstance(m, rdflib.URIRef) for m in members):
                self._unsupported(node, "sh:in with literals or blank nodes")
            return Constraint(test, tuple(str(m) for m in members))
        if test is Test.PATTERN:
            return Constraint(test, value, flags=str(g.value(node, _SH.flags) or ""))
        if test in (Test.DATATYPE, Test.MIN_INCLUSIVE, Test.MAX_INCLUSIVE):
            return Constraint(test, value)
        if test is Test.OR:
            return Constraint(test, tuple(self._load(m) for m in Collection(g, value)))
        if test is Test.QUALIFIED_MIN_COUNT:
            minimum = g.value(node, _SH.qualifiedMinCount)
            if minimum is None or int(minimum) != 1 or (node, _SH.qualifiedValueShapesDisjoint, None) in g:
                self._unsupported(node, "sh:qualifiedValueShape other than with sh:qualifiedMinCount 1")
                return None
            return Constraint(test, (self._load(value),), minimum=1)
        if test in (Test.NODE, Test.PROPERTY):
            return Constraint(test, (self._load(value),))
        return self._sparql(node, value)

    def _sparql(self, node: rdflib.term.Node, constraint: rdflib.term.Node) -> Constraint | None:
        g = self.graph
        for key in {str(p) for p in g.predicates(constraint)} - _SPARQL_KEYS:
            self._unsupported(constraint, f"<{key}> on a SPARQL constraint")
        select = g.value(constraint, _SH.select)
        if select is None:
            self._unsupported(constraint, "a SPARQL constraint without sh:select")
            return None
        prefixes = tuple(sorted((str(g.value(d, _SH.prefix)), str(g.value(d, _SH.namespace)))
                                for source in g.objects(constraint, _SH.prefixes)
                                for d in g.objects(source, _SH.declare)))
        messages = tuple(sorted(m for m in g.objects(constraint, _SH.message) if isinstance(m, rdflib.Literal)))
        try:
            SparqlSelect.parse(str(select), str(constraint))
        except UnsupportedShapeError as error:
            self._problems.append(str(error))
        return Constraint(Test.SPARQL, str(select), node=str(constraint), messages=messages, prefixes=prefixes)

    # --- Shapes decided by the value term alone ----------------------------------------------------

    def on_term(self, iri: str) -> bool:
        """True when conformance to the shape depends on the value term alone (a helper such as
        TemporalValueShape), so it is decided in Python; else it is compiled to SPARQL."""
        shape = self.shapes[iri]
        return shape.path is None and all(
            c.test.on_term or (c.test in (Test.NODE, Test.OR) and all(self.on_term(s) for s in c.argument))
            for c in shape.constraints)

    def term_conforms(self, iri: str, term: rdflib.term.Node) -> bool:
        """Whether ``term`` (as written in the file) conforms to a shape for which :meth:`on_term` holds."""
        return all(self.term_passes(c, term) for c in self.shapes[iri].constraints)

    def term_passes(self, c: Constraint, term: rdflib.term.Node) -> bool:
        if c.test is Test.NODE:
            return self.term_conforms(c.argument[0], term)
        if c.test is Test.OR:
            return any(self.term_conforms(s, term) for s in c.argument)
        return _TERM_TESTS[c.test](c, term)


# --- pyshacl's rules for one term (pyshacl/constraints/core/*.py) ------------------------------------


def _datatype(c: Constraint, v: rdflib.term.Node) -> bool:
    if not isinstance(v, rdflib.Literal):
        return False
    rule = c.argument
    if v.datatype == rule:
        return getattr(v, "ill_typed", None) is not True and _actual_datatype(v, rule)
    if rule == rdflib.RDFS.Literal:
        return True
    if rule == rdflib.RDFS.Datatype and v.datatype:
        return True
    if v.datatype is None and v.language is None and rule == _STRING:
        return _actual_datatype(v, rule)
    return bool(rule == _LANG_STRING and v.language and _actual_datatype(v, rule))


_PYTHON_TYPES = {XSD + "integer": int, XSD + "float": float, XSD + "decimal": Decimal, XSD + "boolean": bool,
                 XSD + "date": date, XSD + "time": time, XSD + "dateTime": datetime}


def _actual_datatype(v: rdflib.Literal, rule: rdflib.term.Node) -> bool:
    if rule in (_STRING, _LANG_STRING):
        return isinstance(v.value, (str, bytes))
    expected = _PYTHON_TYPES.get(str(rule))
    return expected is None or isinstance(v.value, expected)


def _pattern(c: Constraint, v: rdflib.term.Node) -> bool:
    if isinstance(v, rdflib.BNode):
        return False
    pattern: rdflib.Literal = c.argument  # type: ignore[assignment]
    flags = (re.I if "i" in c.flags.lower() else 0) | (re.M if "m" in c.flags.lower() else 0)
    text = str(pattern.value) if pattern.value is not None and len(pattern.value) > 1 else str(pattern)
    if isinstance(v, rdflib.Literal) and v.value is not None and v.datatype in (None, _LANG_STRING, _STRING):
        subject = str(v.value)
    else:
        subject = str(v)
    return re.compile(text, flags).search(subject) is not None


def _bound(accept: Callable[[int], bool]) -> Callable[[Constraint, rdflib.term.Node], bool]:
    def test(c: Constraint, v: rdflib.term.Node) -> bool:
        if not isinstance(v, rdflib.Literal):
            return False
        limit: rdflib.Literal = c.argument  # type: ignore[assignment]
        if isinstance(limit.value, str) != isinstance(v.value, str):
            return False
        try:
            return accept(compare_literal(v, limit))
        except (TypeError, NotImplementedError):
            return False
    return test


_TERM_TESTS: dict[Test, Callable[[Constraint, rdflib.term.Node], bool]] = {
    Test.DATATYPE: _datatype,
    Test.PATTERN: _pattern,
    Test.MIN_INCLUSIVE: _bound(lambda cmp: cmp >= 0),
    Test.MAX_INCLUSIVE: _bound(lambda cmp: cmp <= 0),
}


# --- SHACL-SPARQL constraints ---------------------------------------------------------------------


def substitute(template: str, bound: dict[str, object]) -> str:
    """pyshacl's substitution of {?var} and {$var} in a SPARQL constraint's message, to the letter
    (re.sub with the value's text as the replacement)."""
    for name, term in bound.items():
        if term is None:
            continue
        template = re.sub("{{[?$]{}}}".format(name), str(rdflib_term(term)), template)
    return template


_SELECT = re.compile(r"^\s*SELECT\s+(?P<distinct>DISTINCT\s+|REDUCED\s+)?(?P<projection>.*?)\s*WHERE\s*\{"
                     r"(?P<body>.*)\}\s*$", re.S | re.I)
# Pre-bound variables other than $this, and what would make one query per focus node differ from one for all.
_FORBIDDEN = re.compile(r"(?i:\b(?:SELECT|GROUP\s+BY|HAVING|LIMIT|OFFSET|ORDER\s+BY|SERVICE)\b)"
                        r"|[$?](?:PATH|currentShape|shapesGraph)\b")


@dataclass(frozen=True)
class SparqlSelect:
    """A SHACL-SPARQL SELECT taken apart: the projected expressions and variables, and the body that
    runs with ?this free, joined to the focus nodes."""

    projection: str  # the projected variables without ?this
    names: tuple[str, ...]  # the projected variables' names
    body: str

    @property
    def projects_this(self) -> bool:
        return "this" in self.names

    def binds_this(self, prefixes: Mapping[str, str]) -> bool:
        """Whether every solution of the body binds $this, read from the body's SPARQL algebra (rdflib's
        parser, ``prefixes`` declared): a triple pattern naming $this joined to anything, a union of
        groups that each bind it, or such a group with OPTIONAL, MINUS, FILTER or BIND after it."""
        algebra = self.algebra(prefixes)
        return algebra is not None and algebra_of.always_binds(algebra, rdflib.Variable("this"))

    def algebra(self, prefixes: Mapping[str, str]) -> CompValue | None:
        """The body's SPARQL algebra, as rdflib parses it (``prefixes`` declared); None if it does not
        parse there (Oxigraph reports the query's own errors)."""
        return algebra_of.body(self.body, tuple(sorted(prefixes.items())))

    @classmethod
    def parse(cls, text: str, node: str) -> SparqlSelect:
        match = _SELECT.match(text)
        if match is None or not re.fullmatch(r"(\s*[?$]\w+)+\s*", match["projection"]):
            raise UnsupportedShapeError(f"{node}: only 'SELECT ?var ... WHERE {{ ... }}' is supported")
        if _FORBIDDEN.search(match["body"]):
            raise UnsupportedShapeError(f"{node}: subqueries, aggregates, solution modifiers, SERVICE, "
                                        f"$PATH, $currentShape, $shapesGraph and ?failure are not supported")
        names = tuple(dict.fromkeys(re.findall(r"[?$](\w+)", match["projection"])))
        if "failure" in names:
            raise UnsupportedShapeError(f"{node}: ?failure is not supported")
        return cls(projection=" ".join(f"?{n}" for n in names if n != "this"), names=names, body=match["body"])
