"""The reference engine: pyshacl over an rdflib graph that holds the ontology and the KB's files.

Slow (~11 ms an event) and exact: the SPARQL engine (dipkb.shacl.compiler) is tested to give its findings."""
from __future__ import annotations

import contextlib
import functools
import gc
import pickle
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pyshacl
import rdflib
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from dipkb.model.labels import label_order
from dipkb.model.namespaces import KB_BASE, RDFS, SH
from dipkb.shacl.findings import Finding, Severity
from dipkb.shacl.originals import quiet_rdflib, rdflib_term
from dipkb.shacl.placement import holder, ntriples_term
from dipkb.store.layout import KBLayout
from dipkb.store.loading import read_quads
from dipkb.util.paths import display_path, file_stamps

# Keep literals as written: normalising would turn an ill-typed "2021-02-31"^^xsd:date into something
# else before the shapes could report it.
rdflib.NORMALIZE_LITERALS = False

_SH = rdflib.Namespace(SH)


# The PREFIX lines pyshacl puts before a constraint's query, in the order of a set of blank nodes,
# which changes with each load of the shapes: the query is cached under them sorted, so that it is
# parsed once in a process that validates many times (a library's caller, the tests), not once a load.
_PREFIX_LINE = re.compile(r"PREFIX ([^:\s]*): <([^>]*)>\n")


def _prepared(text: str) -> Query:
    prefixes, position = [], 0
    while line := _PREFIX_LINE.match(text, position):
        prefixes.append(line.groups())
        position = line.end()
    return _prepared_under(text[position:], tuple(sorted(dict(prefixes).items())))


@functools.lru_cache(maxsize=64)
def _prepared_under(body: str, prefixes: tuple[tuple[str, str], ...]) -> Query:
    return prepareQuery(body, initNs=dict(prefixes))


class _PreparedQueryGraph(rdflib.Graph):
    """pyshacl sends the same SHACL-SPARQL text once per focus node, and rdflib parses it every time:
    about 50 ms each, which made validation scale with the KB at ten times the cost of the checks."""

    def query(self, query_object, *args, **kwargs):  # type: ignore[override]
        if isinstance(query_object, str):
            query_object = _prepared(query_object)
        return super().query(query_object, *args, **kwargs)


def new_graph() -> rdflib.Graph:
    """An empty graph to build a data graph in; :func:`run_shapes` runs fastest on one of these."""
    return _PreparedQueryGraph()


def parse_file(graph: rdflib.Graph, path: Path, *, base_iri: str = KB_BASE) -> None:
    """Add the triples of one Turtle or N-Triples file to ``graph``; a parse error becomes a KBSyntaxError.

    pyoxigraph parses, three times faster than rdflib's own parser, and without a store, which would
    canonicalise literals ("-3"^^xsd:nonNegativeInteger comes out of one as an xsd:integer)."""
    triples = read_quads(path, base_iri=base_iri)
    # One rdflib term for each term of the file, made once: a pickled copy (parsed_files) then holds
    # it once, not once for each of its uses.
    terms: dict = {}

    def term(node):
        found = terms.get(node)
        if found is None:
            found = terms[node] = rdflib_term(node)
        return found
    with quiet_rdflib():
        graph.addN((term(t.subject), term(t.predicate), term(t.object), graph) for t in triples)


def parsed_files(paths: Sequence[Path], graph_class: type[rdflib.Graph] = rdflib.Graph) -> rdflib.Graph:
    """A new graph holding the files' triples, for pyshacl to change as it will (it adds to the shapes).

    The files are parsed once in a process while they stay as they are; each graph after the first is
    unpickled from that one: 25 ms for the ontology's 5,031 triples, where parsing them into rdflib's
    store again takes 110 (most of pyshacl's time on a small KB; the golden tests validate hundreds)."""
    with _no_collection():
        identifier, store = pickle.loads(_pickled(tuple(paths), file_stamps(paths)))
    return graph_class(store=store, identifier=identifier)


@functools.lru_cache(maxsize=4)
def _pickled(paths: tuple[Path, ...], stamps: tuple) -> bytes:
    graph = rdflib.Graph()
    for path in paths:
        parse_file(graph, path)
    # The store finds a graph's triples by the graph's identifier: the copies keep it.
    return pickle.dumps((graph.identifier, graph.store), protocol=pickle.HIGHEST_PROTOCOL)


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """The cyclic garbage collector paused: unpickling makes ~10,000 objects that are all kept, and
    the collections they set off walk the whole heap (a golden test: 70 ms unpickling, up to 500 ms
    collecting)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_shapes(data: rdflib.Graph, shapes: rdflib.Graph) -> list[Finding]:
    """Validate ``data`` (which must hold the ontology: targets follow rdfs:subClassOf in it) against
    ``shapes``. Findings carry no file or line; dipkb.shacl.validation places them."""
    if not isinstance(data, _PreparedQueryGraph):
        copy = new_graph()
        copy += data
        data = copy
    with quiet_rdflib():
        # inplace: the graph is ours and no inference runs, so pyshacl need not copy it (a copy would
        # also lose the prepared-query cache).
        try:
            _, results, _ = pyshacl.validate(data, shacl_graph=shapes, inference=None, advanced=True,
                                             allow_warnings=True, inplace=True)
        finally:
            rdflib.NORMALIZE_LITERALS = False  # pyshacl sets it to True on its way out
    return [_finding(results, data, result)
            for report in results.subjects(rdflib.RDF.type, _SH.ValidationReport)
            for result in results.objects(report, _SH.result)]  # top level only: not sh:detail


def _finding(results: rdflib.Graph, data: rdflib.Graph, result: rdflib.term.Node) -> Finding:
    def one(predicate: str) -> rdflib.term.Node | None:
        return results.value(result, _SH[predicate])

    focus, path, value = one("focusNode"), one("resultPath"), one("value")
    if path is None and value == focus:
        value = None  # a node-level result repeats the focus node as its value
    messages = sorted(str(m) for m in results.objects(result, _SH.resultMessage))
    return Finding(
        focus=_node_id(focus),
        focus_label=_label(data, focus),
        path=str(path) if isinstance(path, rdflib.URIRef) else None,
        value=ntriples_term(value) if value is not None else None,
        message=" ".join(messages),
        severity=Severity(str(one("resultSeverity"))[len(SH):]),
        shape=_node_id(one("sourceShape")),
        constraint=_node_id(one("sourceConstraintComponent")),
        file=None,
        line=None,
        holder=holder(focus, lambda node: ((s, str(p)) for s, p in data.subject_predicates(node)),
                      lambda node: str(node) if isinstance(node, rdflib.URIRef) else None)
        if isinstance(focus, rdflib.BNode) else None,
    )


def _node_id(node: rdflib.term.Node | None) -> str:
    return f"_:{node}" if isinstance(node, rdflib.BNode) else str(node)


def _label(data: rdflib.Graph, node: rdflib.term.Node | None) -> str | None:
    labels = [label for label in data.objects(node, rdflib.URIRef(RDFS + "label"))
              if isinstance(label, rdflib.Literal)]
    labels.sort(key=lambda label: label_order(str(label), label.language))  # dipkb.model.labels
    return str(labels[0]) if labels else None


def pyshacl_findings(layout: KBLayout, shapes: rdflib.Graph, data_files: list[Path],
                     chosen: list[Path] | None) -> list[Finding]:
    """pyshacl's findings about the KB (about ``chosen`` files only, if given), without file or line but
    for a blank node's file (which a store holding the files again cannot tell: its blank nodes are not these)."""
    data = parsed_files(layout.ontology_files(), _PreparedQueryGraph)
    subjects: dict[Path, set[rdflib.term.Node]] = {}
    for path in data_files:
        own = rdflib.Graph()
        parse_file(own, path)
        subjects[path.resolve()] = set(own.subjects())
        data += own
    findings = [replace(f, file=_file_of(f.focus, subjects)) if f.focus.startswith("_:") else f
                for f in run_shapes(data, shapes)]
    if chosen is not None:
        wanted = set().union(*(subjects[p] for p in chosen))
        findings = [f for f in findings if _term(f.focus) in wanted]
    return findings


def _file_of(node_id: str, subjects: dict[Path, set[rdflib.term.Node]]) -> str | None:
    return next((display_path(path) for path, nodes in subjects.items() if _term(node_id) in nodes), None)


def _term(node_id: str) -> rdflib.term.Node:
    return rdflib.BNode(node_id[2:]) if node_id.startswith("_:") else rdflib.URIRef(node_id)
