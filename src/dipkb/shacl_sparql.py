"""SHACL validation as SPARQL on Oxigraph: one query per (shape, constraint) over all focus nodes at once.

pyshacl evaluates every constraint once per focus node in Python, about 11 ms per event on dipkb's
shapes. Here each constraint of each shape with targets becomes one SELECT over the whole store that
returns only the failing focus nodes (and values), so the cost is Oxigraph's and grows with the data,
not with the number of Python calls. The findings are pyshacl's: same focus node, path, value,
constraint component, shape, severity and message (tests/test_validation_differential.py).

How each constraint is evaluated:
- counts, sh:class, sh:in, sh:hasValue and the shapes reached through sh:node, sh:or, sh:property and
  sh:qualifiedValueShape compile to SPARQL (:class:`_Compiler`);
- tests of a value term alone (sh:datatype, sh:pattern, bounds, and helper shapes made only of them,
  such as TemporalValueShape) run in Python on each distinct value (:mod:`dipkb.shacl_shapes`), and only
  the failing values go back into a query to find their focus nodes;
- SHACL-SPARQL constraints run as written, with ``$this`` joined to the shape's targets.

The store must hold the data graph, and only it, as the union of its named graphs. It holds literals in
canonical form, so :class:`dipkb.shacl_literals.Originals` gives back the form written in the files.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyoxigraph as ox
import rdflib

from dipkb.namespaces import RDF, RDFS
from dipkb.shacl_literals import Originals, quiet_rdflib, rdflib_term
from dipkb.shacl_shapes import Constraint, Shape, ShapeSet, Test, UnsupportedShapeError

_TYPE_OF = f"<{RDF}type>/<{RDFS}subClassOf>*"
_BATCH = 2000  # values per VALUES block
_LABEL = ox.NamedNode(RDFS + "label")


@dataclass(frozen=True)
class Row:
    """One failing focus node, as the store returns it, before it becomes a Finding."""

    shape: Shape
    component: str
    focus: ox.NamedNode | ox.BlankNode
    path: str | None
    value: ox.NamedNode | ox.BlankNode | ox.Literal | None
    messages: tuple[rdflib.Literal, ...]  # pyshacl's sh:resultMessage objects


@dataclass(frozen=True)
class Scope:
    """Where the focus nodes may be: every target (``graphs`` None) or only the subjects of these
    named graphs (the files being validated), in the context of the whole store."""

    graphs: tuple[str, ...] | None = None

    def restrict(self, var: str = "?this") -> str:
        if self.graphs is None:
            return ""
        names = " ".join(f"<{g}>" for g in self.graphs)
        return f"VALUES ?_g {{ {names} }} GRAPH ?_g {{ {var} ?_gp ?_go }}"


def _targets(shape: Shape, var: str = "?this") -> str:
    branches = [f"{{ {var} {_TYPE_OF} <{c}> }}" for c in shape.target_classes]
    branches += [f"{{ {var} <{p}> ?_t }}" for p in shape.target_subjects_of]
    return " UNION ".join(branches)


def _focus_nodes(shape: Shape, scope: Scope) -> str:
    """A group binding ?this to each focus node of ``shape`` once."""
    return f"{{ SELECT DISTINCT ?this WHERE {{ {scope.restrict()} {_targets(shape)} }} }}"


def _is_focus(shape: Shape, scope: Scope) -> str:
    """A filter keeping a bound ?this only if it is a focus node of ``shape``: cheaper than
    :func:`_focus_nodes` when another pattern already picks out a few nodes."""
    return f"FILTER EXISTS {{ {scope.restrict()} {_targets(shape)} }}"


class _Compiler:
    """Boolean SPARQL expressions that are true when a node fails a constraint or a shape.

    sh:class tests the node's types against the class and its subclasses, found once per class:
    ``?v rdf:type/rdfs:subClassOf* C`` walks the hierarchy again for every node (3x slower)."""

    def __init__(self, shapes: ShapeSet, subclasses: Callable[[str], list[str] | None]):
        self.shapes = shapes
        self.subclasses = subclasses
        self._count = 0

    def fresh(self) -> str:
        self._count += 1
        return f"?_v{self._count}"

    def violates(self, iri: str, node: str) -> str:
        shape = self.shapes[iri]
        if self.shapes.on_term(iri):
            raise UnsupportedShapeError(f"{iri}: a value-term shape nested inside a graph shape")
        tests = [self.node_fails(c, node) if shape.path is None else self.path_fails(shape.path, c, node)
                 for c in shape.constraints]
        return "(" + " || ".join(tests) + ")" if tests else "false"

    def node_fails(self, c: Constraint, node: str) -> str:
        """True when ``node`` itself (a value node, or a node shape's focus) fails ``c``."""
        if c.test is Test.CLASS:
            classes = self.subclasses(str(c.argument))
            if classes is None:
                return f"NOT EXISTS {{ {node} {_TYPE_OF} <{c.argument}> }}"
            listed = ", ".join(f"<{cls}>" for cls in classes)
            return f"NOT EXISTS {{ {node} <{RDF}type> ?_type FILTER(?_type IN ({listed})) }}"
        if c.test is Test.IN:
            return f"({node} NOT IN ({', '.join(f'<{m}>' for m in c.argument)}))"  # type: ignore[union-attr]
        if c.test is Test.HAS_VALUE:
            return f"(!sameTerm({node}, <{c.argument}>))"
        if c.test in (Test.NODE, Test.PROPERTY):
            return self.violates(c.argument[0], node)  # type: ignore[index]
        if c.test is Test.OR:
            return "(" + " && ".join(self.violates(s, node) for s in c.argument) + ")"  # type: ignore[union-attr]
        raise UnsupportedShapeError(f"sh:{c.test.value} on a node inside a graph shape")

    def path_fails(self, path: str, c: Constraint, node: str) -> str:
        """True when ``node`` fails ``c`` of a property shape with ``path``."""
        value = self.fresh()
        if c.test is Test.MIN_COUNT and c.argument == 1:
            return f"NOT EXISTS {{ {node} <{path}> {value} }}"
        if c.test is Test.HAS_VALUE:
            return f"NOT EXISTS {{ {node} <{path}> <{c.argument}> }}"
        if c.test is Test.QUALIFIED_MIN_COUNT and c.flags == "1":
            conforms = f"!{self.violates(c.argument[0], value)}"  # type: ignore[index]
            return f"NOT EXISTS {{ {node} <{path}> {value} FILTER({conforms}) }}"
        if c.test in (Test.CLASS, Test.IN, Test.NODE, Test.OR, Test.PROPERTY):
            return f"EXISTS {{ {node} <{path}> {value} FILTER({self.node_fails(c, value)}) }}"
        raise UnsupportedShapeError(f"sh:{c.test.value} {c.argument} in a nested property shape")


class Validator:
    """Validates the data graph held by ``store`` against ``shapes``: :meth:`rows` are the failures."""

    def __init__(self, shapes: ShapeSet, store: ox.Store, originals: Originals, scope: Scope = Scope()):
        self.shapes, self.store, self.originals, self.scope = shapes, store, originals, scope
        self._values: dict[str, list] = {}
        self._subclasses: dict[str, list[str] | None] = {}

    def subclasses(self, cls: str) -> list[str] | None:
        """The class and its subclasses in the data graph, what ``rdf:type/rdfs:subClassOf*`` reaches;
        None if one is a blank node (which a query cannot name)."""
        if cls not in self._subclasses:
            found = [row["c"] for row in self.select(f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS}subClassOf>* <{cls}> }}")]
            self._subclasses[cls] = (None if any(not isinstance(c, ox.NamedNode) for c in found)
                                     else sorted(c.value for c in found))
        return self._subclasses[cls]

    def compiler(self) -> _Compiler:
        return _Compiler(self.shapes, self.subclasses)

    def select(self, text: str, prefixes: dict[str, str] | None = None) -> ox.QuerySolutions:
        return self.store.query(text, use_default_graph_as_union=True, prefixes=prefixes)  # type: ignore[return-value]

    def jobs(self) -> list[tuple[Shape, Constraint]]:
        return [(shape, c) for shape in self.shapes.reporting for c in shape.constraints]

    def rows(self, threads: int = 1) -> list[Row]:
        """Every failure, in a stable order; ``threads`` > 1 runs the queries in parallel (pyoxigraph
        releases the GIL while it evaluates)."""
        jobs = self.jobs()
        with quiet_rdflib():  # the term tests build ill-typed rdflib literals, which rdflib logs
            return self._rows(jobs, threads)

    def _rows(self, jobs: list[tuple[Shape, Constraint]], threads: int) -> list[Row]:
        if threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                results = list(pool.map(lambda job: list(self.run(*job)), jobs))
        else:
            results = [list(self.run(*job)) for job in jobs]
        return [row for rows in results for row in rows]

    def run(self, shape: Shape, c: Constraint) -> Iterator[Row]:
        """The failures of one constraint of one shape."""
        if c.test is Test.SPARQL:
            yield from self._sparql(shape, c)
            return
        if shape.path is None:
            if c.test.on_term or c.test in (Test.MIN_COUNT, Test.MAX_COUNT, Test.QUALIFIED_MIN_COUNT) or \
                    (c.test in (Test.NODE, Test.OR) and all(self.shapes.on_term(s) for s in c.argument)):
                raise UnsupportedShapeError(f"{shape.iri}: sh:{c.test.value} on the focus node of a node shape")
            test = self.compiler().node_fails(c, "?this")
            for row in self.select(f"SELECT DISTINCT ?this WHERE {{ {_focus_nodes(shape, self.scope)} FILTER({test}) }}"):
                yield self._row(shape, c, row["this"], None)
        elif c.test.on_term or (c.test in (Test.NODE, Test.OR) and all(self.shapes.on_term(s) for s in c.argument)):
            yield from self._term(shape, c)
        elif c.test in (Test.MIN_COUNT, Test.MAX_COUNT):
            yield from self._count(shape, c)
        elif c.test in (Test.HAS_VALUE, Test.QUALIFIED_MIN_COUNT):
            test = self.compiler().path_fails(shape.path, c, "?this")
            for row in self.select(f"SELECT DISTINCT ?this WHERE {{ {_focus_nodes(shape, self.scope)} FILTER({test}) }}"):
                yield self._row(shape, c, row["this"], None)
        else:  # class, in, node, or on each value
            test = self.compiler().node_fails(c, "?v")
            query = (f"SELECT DISTINCT ?this ?v WHERE {{ {_focus_nodes(shape, self.scope)} "
                     f"?this <{shape.path}> ?v FILTER({test}) }}")
            for row in self.select(query):
                for value in self.originals.of(row["this"], shape.path, row["v"]):
                    yield self._row(shape, c, row["this"], value)

    def _row(self, shape: Shape, c: Constraint, focus, value) -> Row:
        return Row(shape, c.test.component, focus, shape.path, value, shape.messages)

    # --- Counts: the store merges literals written differently, the files do not --------------------

    def _count(self, shape: Shape, c: Constraint) -> Iterator[Row]:
        path, limit = shape.path, c.argument
        if c.test is Test.MIN_COUNT and limit == 1:
            query = (f"SELECT ?this WHERE {{ {_focus_nodes(shape, self.scope)} "
                     f"FILTER NOT EXISTS {{ ?this <{path}> ?_x }} }}")
        else:
            compare = "<" if c.test is Test.MIN_COUNT else ">"
            optional = c.test is Test.MIN_COUNT
            values = f"OPTIONAL {{ ?this <{path}> ?_x }}" if optional else f"?this <{path}> ?_x"
            query = (f"SELECT ?this WHERE {{ {_focus_nodes(shape, self.scope)} {values} }} "
                     f"GROUP BY ?this HAVING (COUNT(DISTINCT ?_x) {compare} {limit})")
        failing = {row["this"] for row in self.select(query)}
        if not (c.test is Test.MIN_COUNT and limit == 1):  # merged forms cannot make one value none
            # Where a file wrote one value in several forms, count the forms as pyshacl does.
            for subject in self._focus_among(shape, self.originals.subjects(path)):
                objects = {q.object for q in self.store.quads_for_pattern(subject, ox.NamedNode(path), None)}
                count = sum(len(self.originals.of(subject, path, v)) for v in objects)
                fails = count < limit if c.test is Test.MIN_COUNT else count > limit
                (failing.add if fails else failing.discard)(subject)
        for focus in sorted(failing, key=str):
            yield self._row(shape, c, focus, None)

    def _focus_among(self, shape: Shape, nodes: Iterable) -> list:
        """Those of ``nodes`` (IRIs) that are focus nodes of ``shape``."""
        ordered = sorted(nodes, key=str)
        found = []
        for start in range(0, len(ordered), _BATCH):
            block = " ".join(str(n) for n in ordered[start:start + _BATCH])
            found += [row["this"] for row in self.select(
                f"SELECT ?this WHERE {{ VALUES ?this {{ {block} }} {_is_focus(shape, self.scope)} }}")]
        return found

    # --- Tests of the value term, in Python ---------------------------------------------------------

    def _distinct_values(self, path: str) -> list:
        if path not in self._values:
            query = f"SELECT DISTINCT ?v WHERE {{ {self.scope.restrict('?_s')} ?_s <{path}> ?v }}"
            self._values[path] = [row["v"] for row in self.select(query)]
        return self._values[path]

    def _passes(self, c: Constraint, term) -> bool:
        return self.shapes.term_passes(c, rdflib_term(term))

    def _term(self, shape: Shape, c: Constraint) -> Iterator[Row]:
        path = shape.path
        suspects = {v for v in self._distinct_values(path) if not self._passes(c, v)}
        suspects |= self.originals.terms(path)  # the written form may fail where the stored one passes
        ordered = sorted((v for v in suspects if not isinstance(v, ox.BlankNode)), key=str)
        queries = [f"VALUES ?v {{ {' '.join(str(v) for v in ordered[i:i + _BATCH])} }}"
                   for i in range(0, len(ordered), _BATCH)]
        if any(isinstance(v, ox.BlankNode) for v in suspects):  # SPARQL has no blank nodes in VALUES
            queries.append("FILTER(isBlank(?v))")
        for values in queries:
            query = (f"SELECT DISTINCT ?this ?v WHERE {{ {values} ?this <{path}> ?v "
                     f"{_is_focus(shape, self.scope)} }}")
            for row in self.select(query):
                for value in self.originals.of(row["this"], path, row["v"]):
                    if not self._passes(c, value):
                        yield self._row(shape, c, row["this"], value)

    # --- SHACL-SPARQL ---------------------------------------------------------------------------------

    def _sparql(self, shape: Shape, c: Constraint) -> Iterator[Row]:
        select = SparqlSelect.parse(str(c.argument), c.node)
        query = (f"SELECT DISTINCT ?this {select.projection} WHERE {{ {_focus_nodes(shape, self.scope)} "
                 f"{select.body} }}")
        templates = [str(m.value) for m in shape.messages]
        templates += [str(m.value) for m in c.messages if m not in shape.messages]
        for row in self.select(query, dict(c.prefixes)):
            focus = row["this"]
            path = row["path"] if "path" in select.names else None
            value = row["value"] if "value" in select.names else None
            path_iri = path.value if isinstance(path, ox.NamedNode) else None
            if value is None:
                value = focus  # pyshacl's value for a node shape's result without ?value
            written = (self.originals.of(focus, path_iri, value) if path_iri and isinstance(value, ox.Literal)
                       else [value])
            for form in written:
                # In pyshacl's order: the other variables, then this, path and value.
                bound = {name: row[name] for name in select.names if name not in ("this", "path", "value")}
                bound.update({"this": focus if select.projects_this else None, "path": path, "value": form})
                messages = tuple(rdflib.Literal(_substitute(t, bound)) for t in templates)
                shown = None if path_iri is None and form == focus else form
                yield Row(shape, c.test.component, focus, path_iri, shown, messages)


def _substitute(template: str, bound: dict[str, object]) -> str:
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


def run(shapes: ShapeSet, store: ox.Store, originals: Originals, scope: Scope = Scope(),
        threads: int = 1) -> list[Row]:
    return Validator(shapes, store, originals, scope).rows(threads)


def label(store: ox.Store, node: ox.NamedNode | ox.BlankNode) -> str | None:
    """A node's rdfs:label as dipkb.validation picks it: English or untagged first, then alphabetical."""
    found = {q.object for q in store.quads_for_pattern(node, _LABEL, None) if isinstance(q.object, ox.Literal)}
    return min(found, key=lambda lit: (lit.language not in (None, "en"), lit.value)).value if found else None


def subject_graphs(store: ox.Store, scope: Scope, node: ox.NamedNode | ox.BlankNode | None = None) -> list[str]:
    """The named graphs holding triples about ``node``, or about any subject of the scope's graphs."""
    if node is not None:
        return sorted({q.graph_name.value for q in store.quads_for_pattern(node, None, None)
                       if isinstance(q.graph_name, ox.NamedNode)})
    query = f"SELECT DISTINCT ?g WHERE {{ {scope.restrict('?s')} GRAPH ?g {{ ?s ?p ?o }} }}"
    return sorted(row["g"].value for row in store.query(query) if isinstance(row["g"], ox.NamedNode))
