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
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyoxigraph as ox
import rdflib

from dipkb.namespaces import RDF, RDFS
from dipkb.shacl_literals import Originals, rdflib_term
from dipkb.shacl_shapes import Constraint, Shape, ShapeSet, Test, UnsupportedShapeError

_TYPE_OF = f"<{RDF}type>/<{RDFS}subClassOf>*"
_BATCH = 2000  # values per VALUES block


@dataclass(frozen=True)
class Row:
    """One failing focus node, as the store returns it, before it becomes a Finding."""

    shape: Shape
    component: str
    focus: ox.NamedNode | ox.BlankNode
    path: str | None
    value: ox.NamedNode | ox.BlankNode | ox.Literal | None
    messages: tuple[str, ...]


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
    """Boolean SPARQL expressions that are true when a node fails a constraint or a shape."""

    def __init__(self, shapes: ShapeSet):
        self.shapes = shapes
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
            return f"NOT EXISTS {{ {node} {_TYPE_OF} <{c.argument}> }}"
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


class Engine:
    """Validates the data graph held by ``store`` against ``shapes``: :meth:`rows` are the failures."""

    def __init__(self, shapes: ShapeSet, store: ox.Store, originals: Originals, scope: Scope = Scope()):
        self.shapes, self.store, self.originals, self.scope = shapes, store, originals, scope
        self._values: dict[str, list] = {}

    def select(self, text: str, prefixes: dict[str, str] | None = None) -> ox.QuerySolutions:
        return self.store.query(text, use_default_graph_as_union=True, prefixes=prefixes)  # type: ignore[return-value]

    def jobs(self) -> list[tuple[Shape, Constraint]]:
        return [(shape, c) for shape in self.shapes.reporting for c in shape.constraints]

    def rows(self, threads: int = 1) -> list[Row]:
        """Every failure, in a stable order; ``threads`` > 1 runs the queries in parallel (pyoxigraph
        releases the GIL while it evaluates)."""
        jobs = self.jobs()
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
            test = _Compiler(self.shapes).node_fails(c, "?this")
            for row in self.select(f"SELECT DISTINCT ?this WHERE {{ {_focus_nodes(shape, self.scope)} FILTER({test}) }}"):
                yield self._row(shape, c, row["this"], None)
        elif c.test.on_term or (c.test in (Test.NODE, Test.OR) and all(self.shapes.on_term(s) for s in c.argument)):
            yield from self._term(shape, c)
        elif c.test in (Test.MIN_COUNT, Test.MAX_COUNT):
            yield from self._count(shape, c)
        elif c.test in (Test.HAS_VALUE, Test.QUALIFIED_MIN_COUNT):
            test = _Compiler(self.shapes).path_fails(shape.path, c, "?this")
            for row in self.select(f"SELECT DISTINCT ?this WHERE {{ {_focus_nodes(shape, self.scope)} FILTER({test}) }}"):
                yield self._row(shape, c, row["this"], None)
        else:  # class, in, node, or on each value
            test = _Compiler(self.shapes).node_fails(c, "?v")
            query = (f"SELECT DISTINCT ?this ?v WHERE {{ {_focus_nodes(shape, self.scope)} "
                     f"?this <{shape.path}> ?v FILTER({test}) }}")
            for row in self.select(query):
                for value in self.originals.of(row["this"], shape.path, row["v"]):
                    yield self._row(shape, c, row["this"], value)

    def _row(self, shape: Shape, c: Constraint, focus, value, messages: tuple[str, ...] | None = None) -> Row:
        if messages is None:
            messages = tuple(str(m) for m in shape.messages)
        return Row(shape, c.test.component, focus, shape.path, value, messages)

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
        # Where the files wrote one value in several forms, count the forms as pyshacl does.
        for subject in self.originals.subjects(path) & self._all_focus(shape):
            count = sum(len(self.originals.of(subject, path, v)) for v in self._objects(subject, path))
            fails = count < limit if c.test is Test.MIN_COUNT else count > limit
            (failing.add if fails else failing.discard)(subject)
        for focus in sorted(failing, key=str):
            yield self._row(shape, c, focus, None)

    def _all_focus(self, shape: Shape) -> set:
        return {row["this"] for row in self.select(f"SELECT ?this WHERE {_focus_nodes(shape, self.scope)}")}

    def _objects(self, subject, path: str) -> list:
        return [q.object for q in self.store.quads_for_pattern(subject, ox.NamedNode(path), None)]

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
        ordered = sorted(suspects, key=str)
        for start in range(0, len(ordered), _BATCH):
            block = " ".join(str(v) for v in ordered[start:start + _BATCH])
            query = (f"SELECT DISTINCT ?this ?v WHERE {{ VALUES ?v {{ {block} }} ?this <{path}> ?v "
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
            focus, path, value = row["this"], row["path"], row["value"]
            path_iri = path.value if isinstance(path, ox.NamedNode) else None
            if value is None:
                value = focus  # pyshacl's value for a node shape's result without ?value
            written = (self.originals.of(focus, path_iri, value) if path_iri and isinstance(value, ox.Literal)
                       else [value])
            for form in written:
                bound = {name: row[name] for name in select.variables if row[name] is not None}
                bound.update({"path": path, "value": form})
                bound.pop("path") if path is None else None
                if select.projects_this:
                    bound["this"] = focus
                messages = tuple(_substitute(t, bound) for t in templates)
                shown = None if path_iri is None and form == focus else form
                yield Row(shape, c.test.component, focus, path_iri, shown, messages)


def _substitute(template: str, bound: dict[str, object]) -> str:
    """pyshacl's substitution of {?var} and {$var} in a SPARQL constraint's message, to the letter
    (re.sub with the value's text as the replacement)."""
    for name, term in bound.items():
        template = re.sub("{{[?$]{}}}".format(name), str(rdflib_term(term)), template)
    return template


_SELECT = re.compile(r"^\s*SELECT\s+(?P<distinct>DISTINCT\s+|REDUCED\s+)?(?P<projection>.*?)\s*WHERE\s*\{"
                     r"(?P<body>.*)\}\s*$", re.S | re.I)
_FORBIDDEN = re.compile(r"\b(?:SELECT|GROUP\s+BY|HAVING|LIMIT|OFFSET|ORDER\s+BY|SERVICE)\b|[$?](?:PATH|currentShape|"
                        r"shapesGraph|failure)\b", re.I)


@dataclass(frozen=True)
class SparqlSelect:
    """A SHACL-SPARQL SELECT taken apart: the projected expressions and variables, and the body that
    runs with ?this free, joined to the focus nodes."""

    projection: str  # the projection without ?this
    variables: tuple[str, ...]  # projected names other than this, path, value
    projects_this: bool
    body: str

    @classmethod
    def parse(cls, text: str, node: str) -> SparqlSelect:
        match = _SELECT.match(text)
        if match is None or match["projection"].strip() == "*":
            raise UnsupportedShapeError(f"{node}: only 'SELECT ?vars WHERE {{ ... }}' is supported")
        if _FORBIDDEN.search(match["body"]) or _FORBIDDEN.search(match["projection"]):
            raise UnsupportedShapeError(f"{node}: subqueries, aggregates, solution modifiers, SERVICE, "
                                        f"$PATH, $currentShape, $shapesGraph and ?failure are not supported")
        projection = match["projection"]
        names = re.findall(r"[?$](\w+)", re.sub(r"\((?:[^()]|\([^()]*\))*\bAS\s+", "(", projection, flags=re.I))
        this = re.compile(r"(?<![\w)])[?$]this\b")
        return cls(projection=this.sub(" ", projection), projects_this="this" in names,
                   variables=tuple(n for n in dict.fromkeys(names) if n not in ("this", "path", "value")),
                   body=match["body"])


def run(shapes: ShapeSet, store: ox.Store, originals: Originals, scope: Scope = Scope(),
        threads: int = 1) -> list[Row]:
    return Engine(shapes, store, originals, scope).rows(threads)


def labels(store: ox.Store, nodes: Iterable) -> dict:
    """The rdfs:label pyshacl's report shows for each node: English or untagged first, then alphabetical."""
    found: dict = {}
    ordered = sorted(set(nodes), key=str)
    for start in range(0, len(ordered), _BATCH):
        block = " ".join(str(n) for n in ordered[start:start + _BATCH])
        query = (f"SELECT ?n ?l WHERE {{ VALUES ?n {{ {block} }} ?n <{RDFS}label> ?l FILTER(isLiteral(?l)) }}")
        for row in store.query(query, use_default_graph_as_union=True):
            found.setdefault(row["n"], set()).add(row["l"])
    return {node: min(ls, key=lambda label: (label.language not in (None, "en"), label.value)).value
            for node, ls in found.items()}


def row_terms(row: Row) -> tuple[str, rdflib.term.Node | None]:
    """The row's focus node id and value as rdflib terms, as dipkb.validation reports them."""
    focus = row.focus
    return (f"_:{focus.value}" if isinstance(focus, ox.BlankNode) else focus.value,
            rdflib_term(row.value) if row.value is not None else None)
