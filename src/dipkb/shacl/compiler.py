"""SHACL validation as SPARQL on Oxigraph: one query per (shape, constraint) over all focus nodes at once.

pyshacl evaluates every constraint once per focus node in Python, about 11 ms per event on dipkb's
shapes. Here each constraint of each shape with targets becomes one SELECT over the whole store that
returns only the failing focus nodes (and values), so the cost is Oxigraph's. The findings are
pyshacl's: same focus node, path, value, constraint component, shape, severity and message
(tests/test_validation_differential.py).

How each constraint is evaluated:
- counts, sh:class, sh:in, sh:hasValue and the shapes reached through sh:node, sh:or, sh:property and
  sh:qualifiedValueShape compile to SPARQL (:class:`_Compiler`);
- tests of a value term alone (sh:datatype, sh:pattern, bounds, and helper shapes made only of them,
  such as TemporalValueShape) run in Python on each distinct value (:mod:`dipkb.shacl.shapes`), and only
  the failing values go back into a query to find their focus nodes;
- SHACL-SPARQL constraints run as written, with ``$this`` the focus nodes. Three rewrites keep them
  fast and change no answer: a body that binds $this is filtered by the targets rather than joined
  to them (:meth:`Validator.on_focus`), ``EXISTS { ?x rdf:type/rdfs:subClassOf* C }`` lists C's
  subclasses once (:meth:`Validator._listed_types`), and ``?p rdfs:subPropertyOf*/P C .`` the
  properties it matches (:meth:`Validator._listed_properties`).

Measured on 2 shared cores: 100k events 13 s end to end, 1M events 144 s and 3.8 GB (pyshacl: ~11 ms
per event). The store must hold the data graph, and only it, as the union of its named graphs. It
holds literals in canonical form, so :class:`dipkb.store.written_forms.Originals` gives back the written form.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyoxigraph as ox
import rdflib

from dipkb.model.namespaces import RDF, RDFS
from dipkb.shacl.originals import quiet_rdflib, rdflib_term
from dipkb.store.written_forms import Originals
from dipkb.shacl.shapes import Constraint, Shape, ShapeSet, SparqlSelect, Test, UnsupportedShapeError, substitute

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
        # Each subject once, before any join: a subject has a dozen triples in its file.
        return f"{{ SELECT DISTINCT {var} WHERE {{ VALUES ?_g {{ {names} }} GRAPH ?_g {{ {var} ?_gp ?_go }} }} }}"


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
            listed, kind = ", ".join(f"<{cls}>" for cls in classes), self.fresh()
            return f"NOT EXISTS {{ {node} <{RDF}type> {kind} FILTER({kind} IN ({listed})) }}"
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
        if c.test is Test.QUALIFIED_MIN_COUNT and c.minimum == 1:
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

    def _targets(self, shape: Shape, bound: bool) -> str:
        """A pattern matching ?this to the shape's targets. When ?this is ``bound`` already, a class
        target is tested as a list of classes: the path ``rdf:type/rdfs:subClassOf*`` would walk the
        hierarchy from each node (1M events, ActorReferenceQuery: >5 min against 92 s)."""
        branches = []
        for cls in shape.target_classes:
            classes = self.subclasses(cls) if bound else None
            if classes is None:
                branches.append(f"{{ ?this {_TYPE_OF} <{cls}> }}")
            else:
                listed = ", ".join(f"<{c}>" for c in classes)
                branches.append(f"{{ ?this <{RDF}type> ?_class FILTER(?_class IN ({listed})) }}")
        branches += [f"{{ ?this <{p}> ?_t }}" for p in shape.target_subjects_of]
        return " UNION ".join(branches)

    def focus_nodes(self, shape: Shape) -> str:
        """A group binding ?this to each focus node of ``shape`` once."""
        return f"{{ SELECT DISTINCT ?this WHERE {{ {self.scope.restrict()} {self._targets(shape, False)} }} }}"

    def is_focus(self, shape: Shape) -> str:
        """A filter keeping a bound ?this only if it is a focus node of ``shape``: cheaper than
        :meth:`focus_nodes` when another pattern already picks out the candidates."""
        return f"FILTER EXISTS {{ {self.scope.restrict()} {self._targets(shape, True)} }}"

    def on_focus(self, shape: Shape, pattern: str) -> str:
        """``pattern``, every solution of which binds ?this, kept to the focus nodes of ``shape``.

        Joining the pattern to the focus nodes and filtering its solutions by them give the same
        solutions; Oxigraph answers the join with a table of one side (1M events: 0.3 to 1.1 GB more),
        the filter by streaming. So the whole KB is filtered, and a few files' subjects joined. The
        filter goes outside a subquery of the pattern: in the pattern's own group Oxigraph tests every
        triple the pattern reads, outside only the pattern's solutions, the few failures
        (ActorReferenceQuery, 100k events: 0.36 s instead of 1.06 s; a sh:class on values 2.3x faster)."""
        if self.scope.graphs is None:
            return f"{{ SELECT * WHERE {{ {pattern} }} }} {self.is_focus(shape)}"
        return f"{self.focus_nodes(shape)} {pattern}"

    def select(self, text: str, prefixes: dict[str, str] | None = None) -> ox.QuerySolutions:
        return self.store.query(text, use_default_graph_as_union=True, prefixes=prefixes)  # type: ignore[return-value]

    def jobs(self) -> list[tuple[Shape, Constraint]]:
        """Each constraint of each shape with targets, SHACL-SPARQL ones first: the slowest, so that
        on several threads the others fill in around them."""
        jobs = [(shape, c) for shape in self.shapes.reporting for c in shape.constraints]
        return sorted(jobs, key=lambda job: job[1].test is not Test.SPARQL)

    def rows(self, threads: int = 1) -> list[Row]:
        """Every failure, in job order. ``threads`` > 1 runs the jobs on threads, which share the store:
        pyoxigraph lets go of the GIL while it evaluates a query."""
        jobs = self.jobs()
        with quiet_rdflib():  # the term tests build ill-typed rdflib literals, which rdflib logs
            if threads > 1 and len(jobs) > 1:
                with ThreadPoolExecutor(threads) as pool:
                    done = list(pool.map(lambda job: list(self.run(*job)), jobs))
                return [row for rows in done for row in rows]
            return [row for job in jobs for row in self.run(*job)]

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
            for row in self.select(f"SELECT DISTINCT ?this WHERE {{ {self.focus_nodes(shape)} FILTER({test}) }}"):
                yield self._row(shape, c, row["this"], None)
        elif c.test.on_term or (c.test in (Test.NODE, Test.OR) and all(self.shapes.on_term(s) for s in c.argument)):
            yield from self._term(shape, c)
        elif c.test in (Test.MIN_COUNT, Test.MAX_COUNT):
            yield from self._count(shape, c)
        elif c.test in (Test.HAS_VALUE, Test.QUALIFIED_MIN_COUNT):
            test = self.compiler().path_fails(shape.path, c, "?this")
            for row in self.select(f"SELECT DISTINCT ?this WHERE {{ {self.focus_nodes(shape)} FILTER({test}) }}"):
                yield self._row(shape, c, row["this"], None)
        else:  # class, in, node, or on each value
            test = self.compiler().node_fails(c, "?v")
            query = f"SELECT DISTINCT ?this ?v WHERE {{ {self.on_focus(shape, f'?this <{shape.path}> ?v FILTER({test})')} }}"
            for row in self.select(query):
                for value in self.originals.of(row["this"], shape.path, row["v"]):
                    yield self._row(shape, c, row["this"], value)

    def _row(self, shape: Shape, c: Constraint, focus, value) -> Row:
        return Row(shape, c.test.component, focus, shape.path, value, shape.messages)

    # --- Counts: the store merges literals written differently, the files do not --------------------

    def _count(self, shape: Shape, c: Constraint) -> Iterator[Row]:
        path, limit = shape.path, c.argument
        if c.test is Test.MIN_COUNT and limit == 1:
            query = (f"SELECT ?this WHERE {{ {self.focus_nodes(shape)} "
                     f"FILTER NOT EXISTS {{ ?this <{path}> ?_x }} }}")
        elif c.test is Test.MAX_COUNT and limit == 1:  # two different values: no table of counts
            pairs = f"?this <{path}> ?_x . ?this <{path}> ?_y FILTER(!sameTerm(?_x, ?_y))"
            query = f"SELECT DISTINCT ?this WHERE {{ {self.on_focus(shape, pairs)} }}"
        else:
            compare = "<" if c.test is Test.MIN_COUNT else ">"
            optional = c.test is Test.MIN_COUNT
            values = f"OPTIONAL {{ ?this <{path}> ?_x }}" if optional else f"?this <{path}> ?_x"
            query = (f"SELECT ?this WHERE {{ {self.focus_nodes(shape)} {values} }} "
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
                f"SELECT ?this WHERE {{ VALUES ?this {{ {block} }} {self.is_focus(shape)} }}")]
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
                     f"{self.is_focus(shape)} }}")
            for row in self.select(query):
                for value in self.originals.of(row["this"], path, row["v"]):
                    if not self._passes(c, value):
                        yield self._row(shape, c, row["this"], value)

    # --- SHACL-SPARQL ---------------------------------------------------------------------------------

    def _sparql(self, shape: Shape, c: Constraint) -> Iterator[Row]:
        select = SparqlSelect.parse(str(c.argument), c.node)
        prefixes = dict(c.prefixes)
        body = self._listed_properties(self._listed_types(select.body, prefixes), prefixes)
        # Over the whole KB, a body whose every solution binds ?this (ActorReferenceQuery,
        # EventNotAfterSourceQuery) is filtered by the targets; another needs it bound first
        # (MeetingParticipantsQuery is a single FILTER NOT EXISTS). A few files' nodes are joined to
        # the body either way (on_focus), without parsing it again in rdflib (~50 ms a body).
        if self.scope.graphs is None and select.binds_this(prefixes):
            where = self.on_focus(shape, body)
        else:
            where = f"{self.focus_nodes(shape)} {body}"
        query = f"SELECT DISTINCT ?this {select.projection} WHERE {{ {where} }}"
        templates = [str(m.value) for m in shape.messages]
        templates += [str(m.value) for m in c.messages if m not in shape.messages]
        for row in self.select(query, prefixes):
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
                messages = tuple(rdflib.Literal(substitute(t, bound)) for t in templates)
                shown = None if path_iri is None and form == focus else form
                yield Row(shape, c.test.component, focus, path_iri, shown, messages)


    def _listed_types(self, body: str, prefixes: dict[str, str]) -> str:
        """The body with each ``EXISTS { ?x rdf:type/rdfs:subClassOf* C }`` (or NOT EXISTS) testing
        ?x's types against C's subclasses, listed once: the same truth value, found without walking the
        hierarchy from every ?x (ActorReferenceQuery, 100k events: 1.5 s instead of 9.3 s). Only a
        group that is exactly that one triple, under EXISTS, where no extra variable can show."""
        def listed(match: re.Match) -> str:
            kind, subclass_of, cls = _iri(match["type"], prefixes) if match["type"] != "a" else f"{RDF}type", \
                _iri(match["sub"], prefixes), _iri(match["cls"], prefixes)
            classes = self.subclasses(cls) if cls and kind == f"{RDF}type" and subclass_of == f"{RDFS}subClassOf" \
                else None
            if classes is None:
                return match[0]
            var = f"?_type{next(counter)}"
            return (f"{match['exists']} {{ {match['node']} <{RDF}type> {var} "
                    f"FILTER({var} IN ({', '.join(f'<{c}>' for c in classes)})) }}")
        counter = itertools.count()
        return _TYPE_PATH.sub(listed, body)

    def _listed_properties(self, body: str, prefixes: dict[str, str]) -> str:
        """The body with each triple ``?p rdfs:subPropertyOf*/P C .`` (a property, or one of its
        super-properties, has P C) or ``?p rdfs:subPropertyOf* C .`` as ``VALUES ?p { ... }``, the
        properties found once: a pattern joined with its own solutions, so the rows are the same but
        for repeats, which the SELECT DISTINCT around every body removes. The triple pattern before
        it is then a look-up by each property instead of a scan of every triple (ActorReferenceQuery
        on one thread, 1M events: 11-12 s instead of 17-19 s), and no path is walked from each
        property (MeetingParticipantsQuery, 100k events: 0.38 s instead of 0.58 s)."""
        def listed(match: re.Match) -> str:
            sub, target = _iri(match["sub"], prefixes), _iri(match["target"], prefixes)
            step = _iri(match["step"], prefixes) if match["step"] else ""
            if sub != f"{RDFS}subPropertyOf" or step is None or not target or match["var"][1:] == "this":
                return match[0]  # the focus node is bound by the targets, never listed
            path = f"<{sub}>*/<{step}>" if step else f"<{sub}>*"
            found = [row["p"] for row in self.select(f"SELECT DISTINCT ?p WHERE {{ ?p {path} <{target}> }}")]
            if any(not isinstance(p, ox.NamedNode) for p in found):  # a blank node cannot be listed
                return match[0]
            return f"{match['space']}VALUES {match['var']} {{ {' '.join(sorted(str(p) for p in found))} }}"
        return _PROPERTY_PATH.sub(listed, body)


def _iri(token: str, prefixes: dict[str, str]) -> str | None:
    """The IRI a token of a SHACL-SPARQL body names (<...> or a prefixed name), None if unknown."""
    if token.startswith("<"):
        return token[1:-1]
    prefix, _, local = token.partition(":")
    return prefixes[prefix] + local if prefix in prefixes else None


_NAME = r"(?:<[^<>\s]*>|(?:[A-Za-z](?:[\w-]|\.(?=[\w-]))*)?:(?:[\w-]|\.(?=[\w-]))*)"  # no final '.'"
_TYPE_PATH = re.compile(rf"(?P<exists>(?i:NOT\s+EXISTS|EXISTS))\s*\{{\s*(?P<node>[?$]\w+)\s+(?P<type>{_NAME}|a)\s*/\s*"
                        rf"(?P<sub>{_NAME})\s*\*\s+(?P<cls>{_NAME})\s*\.?\s*\}}")
# A whole triple ending in '.', after the start of a group or another triple's end.
_PROPERTY_PATH = re.compile(rf"(?<=[{{.])(?P<space>\s*)(?P<var>[?$]\w+)\s+(?P<sub>{_NAME})\s*\*\s*"
                            rf"(?:/\s*(?P<step>{_NAME})\s+|\s)(?P<target>{_NAME})\s*\.")


def run(shapes: ShapeSet, store: ox.Store, originals: Originals, scope: Scope = Scope(), *,
        threads: int = 1) -> list[Row]:
    """The failures of the data graph in ``store`` (nothing else may be in it) against ``shapes``."""
    return Validator(shapes, store, originals, scope).rows(threads)
