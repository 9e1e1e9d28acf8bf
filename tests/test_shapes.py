"""The SHACL shapes: golden cases in the W3C test-suite style, and the rules every shape follows.

Each tests/shapes/<Shape>-NNN.ttl holds a small data graph and, as triples of one sht:Case node, the
exact results expected when it is validated with the ontology (not the KB): every
(focus node, path, source shape, severity). A case without sht:result must produce no result at all.
Both engines run every case, and must give these results: test_validation_differential.py.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import rdflib
from rdflib import RDF, RDFS, OWL, Namespace, URIRef
from rdflib.collection import Collection

from dipkb.shacl.reference import parse_file
from dipkb.shacl.validation import load_shapes
from dipkb.store.layout import KBLayout

CASES_DIR = Path(__file__).parent / "shapes"
CASES = sorted(CASES_DIR.glob("*.ttl"))
CASE_NAME = re.compile(r"^(?P<shape>[A-Za-z]+)-(?P<number>\d{3})\.ttl$")
SH = Namespace("http://www.w3.org/ns/shacl#")
SHT = Namespace("https://w3id.org/dipkb/shapes/test#")
DSH = "https://w3id.org/dipkb/shapes#"
DCT = Namespace("http://purl.org/dc/terms/")
TARGETS = (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode)
# The parameters through which one shape uses another, so the user reports the helper's failures.
REFERENCES = (SH.node, SH.property, SH.qualifiedValueShape, SH["not"])
LIST_REFERENCES = (SH["or"], SH["and"], SH.xone)

Expected = set[tuple[str, str | None, str, str]]


@pytest.fixture(scope="module")
def layout() -> KBLayout:
    return KBLayout.locate()


@pytest.fixture(scope="module")
def ontology(layout) -> rdflib.Graph:
    graph = rdflib.Graph()
    for path in layout.ontology_files():
        parse_file(graph, path)
    return graph


@pytest.fixture(scope="module")
def shapes(layout) -> rdflib.Graph:
    return load_shapes(layout)


def read_case(path: Path) -> tuple[rdflib.Graph, Expected]:
    """The case's data graph (without the sht:Case description) and its expected results."""
    graph = rdflib.Graph()
    parse_file(graph, path)
    cases = list(graph.subjects(RDF.type, SHT.Case))
    assert len(cases) == 1, f"{path.name}: exactly one sht:Case expected"
    expected: Expected = set()
    for result in list(graph.objects(cases[0], SHT.result)):
        path_node = graph.value(result, SH.resultPath)
        focus = graph.value(result, SH.focusNode)
        expected.add((f"_:{focus}" if isinstance(focus, rdflib.BNode) else str(focus), str(path_node) if path_node else None,
                      str(graph.value(result, SH.sourceShape)),
                      str(graph.value(result, SH.resultSeverity)).removeprefix(str(SH))))
        graph.remove((result, None, None))
    graph.remove((cases[0], None, None))
    return graph, expected


def all_shapes(shapes: rdflib.Graph) -> set[URIRef]:
    typed = set(shapes.subjects(RDF.type, SH.NodeShape)) | set(shapes.subjects(RDF.type, SH.PropertyShape))
    return {s for s in typed if isinstance(s, URIRef)}


def uses(shapes: rdflib.Graph, shape: URIRef) -> set[URIRef]:
    """The shapes that ``shape`` uses, directly or through other helpers."""
    found: set[URIRef] = set()
    todo = [shape]
    while todo:
        current = todo.pop()
        direct = [o for p in REFERENCES for o in shapes.objects(current, p)]
        direct += [m for p in LIST_REFERENCES for head in shapes.objects(current, p) for m in Collection(shapes, head)]
        for used in direct:
            if used not in found:
                found.add(used)
                todo.append(used)
    return found


def test_every_shape_has_a_conforming_and_a_violating_case(shapes: rdflib.Graph):
    conforming: dict[str, list[str]] = {}
    violating: dict[str, list[Expected]] = {}
    for case in CASES:
        match = CASE_NAME.match(case.name)
        assert match, f"{case.name} is not named <Shape>-NNN.ttl"
        assert URIRef(DSH + match["shape"]) in all_shapes(shapes), f"{case.name} names no shape"
        _, expected = read_case(case)
        if expected:
            violating.setdefault(match["shape"], []).append(expected)
        else:
            conforming.setdefault(match["shape"], []).append(case.name)
    users = {s: uses(shapes, s) for s in all_shapes(shapes)}
    for shape in sorted(all_shapes(shapes)):
        name = shape.removeprefix(DSH)
        assert name in conforming, f"no conforming case for {name}"
        assert name in violating, f"no violating case for {name}"
        # A violating case must fail because of this shape: it reports it, or a shape that uses it does.
        reporters = {str(s) for s, used in users.items() if shape in used} | {str(shape)}
        assert any(r[2] in reporters for case in violating[name] for r in case), \
            f"the violating cases of {name} fail for other reasons"


def test_shapes_are_named_described_and_linked(shapes: rdflib.Graph):
    for node in set(shapes.subjects(SH.path, None)) | {s for p in TARGETS for s in shapes.subjects(p, None)}:
        assert isinstance(node, URIRef), f"a blank-node shape: {shapes.cbd(node).serialize(format='turtle')}"
    for shape in all_shapes(shapes):
        assert shape.startswith(DSH), shape
        for predicate in (SH.name, SH.message, SH.severity, RDFS.seeAlso):
            assert shapes.value(shape, predicate) is not None, f"{shape} has no {predicate}"
        messages = list(shapes.objects(shape, SH.message))
        assert len(messages) == 1 and str(messages[0]).endswith("."), f"{shape}: one message, a sentence"


def test_severity_follows_the_file(layout: KBLayout):
    expected = {"shapes-required.ttl": SH.Violation, "shapes-recommended.ttl": SH.Warning}
    assert sorted(p.name for p in layout.shapes_files()) == sorted(expected)
    for path in layout.shapes_files():
        graph = rdflib.Graph()
        parse_file(graph, path)
        severities = {graph.value(s, SH.severity) for s in all_shapes(graph)}
        assert severities == {expected[path.name]}, path.name


def test_shapes_files_have_an_ontology_header(layout: KBLayout):
    for path in layout.shapes_files():
        graph = rdflib.Graph()
        parse_file(graph, path)
        (header,) = graph.subjects(RDF.type, OWL.Ontology)
        for predicate in (DCT.title, DCT.created, DCT.modified, DCT.license, OWL.versionInfo, OWL.versionIRI):
            assert graph.value(header, predicate) is not None, f"{path.name}: no {predicate}"
        version = str(graph.value(header, OWL.versionInfo))
        assert str(graph.value(header, OWL.versionIRI)) == f"{header}/{version}", "versionIRI out of step"


def test_every_class_in_use_is_targeted(layout: KBLayout, ontology: rdflib.Graph, shapes: rdflib.Graph):
    """Every class the KB instantiates is a targeted class or a subclass of one."""
    targeted = set(shapes.objects(None, SH.targetClass))
    data = rdflib.Graph()
    for path in layout.kb_files():
        parse_file(data, path)
    in_use = set(data.objects(None, RDF.type))
    assert in_use, "the KB has no typed nodes"
    for cls in in_use:
        ancestors = set(ontology.transitive_objects(cls, RDFS.subClassOf))
        assert ancestors & targeted, f"no shape targets {cls} or a superclass of it"
