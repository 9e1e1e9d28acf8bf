"""The SPARQL engine gives pyshacl's findings, field for field: on every golden case, on the shipped KB,
on generated KBs with injected faults (all of which it finds), and on literals the store rewrites.
It refuses, by name, a SHACL feature it does not implement."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyoxigraph
import pytest
import rdflib

from dipkb.authoring.checking import check_text
from dipkb.errors import KBNotFoundError
from dipkb.model.namespaces import DIP, SH, XSD
from dipkb.shacl.compiler import Validator, run
from dipkb.shacl import reference, validation
from dipkb.shacl.findings import ValidationReport, sort_key
from dipkb.store.written_forms import Originals
from dipkb.shacl.shapes import ShapeSet, SparqlSelect, UnsupportedShapeError
from dipkb.shacl.reference import parse_file
from dipkb.shacl.validation import Engine, load_shapes, validate, validate_changed
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.loading import load_files

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "tests" / "shapes").glob("*.ttl"))
SHT = rdflib.Namespace("https://w3id.org/dipkb/shapes/test#")
_SH = rdflib.Namespace(SH)
PREFIXES = """@prefix dip:   <https://w3id.org/dipkb/ontology#> .
@prefix dsh:   <https://w3id.org/dipkb/shapes#> .
@prefix place: <https://w3id.org/dipkb/kb/place/> .
@prefix event: <https://w3id.org/dipkb/kb/event/> .
@prefix actor: <https://w3id.org/dipkb/kb/actor/> .
@prefix source: <https://w3id.org/dipkb/kb/source/> .
@prefix dct:   <http://purl.org/dc/terms/> .
@prefix geo:   <http://www.w3.org/2003/01/geo/wgs84_pos#> .
@prefix rdfs:  <http://www.w3.org/2000/01/rdf-schema#> .
@prefix sh:    <http://www.w3.org/ns/shacl#> .
@prefix xsd:   <http://www.w3.org/2001/XMLSchema#> .
"""


@pytest.fixture(autouse=True)
def _no_kb_from_environment(monkeypatch):
    monkeypatch.delenv("DIPKB_KB", raising=False)


def both(layout: KBLayout, paths=None) -> list:
    """The findings of both engines, which must be equal in every field; returned for more checks."""
    reference = validate(layout, paths, engine=Engine.PYSHACL)
    fast = validate(layout, paths, engine=Engine.SPARQL)
    assert _blank_labels_aside(fast.findings) == _blank_labels_aside(reference.findings)
    assert fast.files_checked == reference.files_checked
    return fast.findings


def _blank_labels_aside(findings: list) -> list:
    """The findings with a blank node's label left out: rdflib keeps the file's (_:e), Oxigraph's parser
    makes its own."""
    return [replace(f, focus="_:") if f.focus.startswith("_:") else f for f in findings]


def test_a_constraints_query_is_parsed_once_whatever_the_order_of_its_prefixes():
    # pyshacl writes a constraint's PREFIX lines in the order of a set of blank nodes, which changes
    # from one load of the shapes to the next: each validation parsed its queries anew (~1 s each).
    body = "\nSELECT $this WHERE { $this dip:source/dct:issued ?issued }"
    dip, dct = "PREFIX dip: <https://w3id.org/dipkb/ontology#>\n", "PREFIX dct: <http://purl.org/dc/terms/>\n"
    assert reference._prepared(dip + dct + body) is reference._prepared(dct + dip + body)
    assert reference._prepared(dip + dct + body) is not reference._prepared(dip + dct + body.replace("issued", "title"))


# --- Every shape is supported, and an unsupported one is refused by name ------------------------------


def test_every_shape_of_the_ontology_is_supported():
    layout = KBLayout.locate()
    graph = load_shapes(layout)
    shapes = ShapeSet(graph)
    declared = {str(s) for cls in (_SH.NodeShape, _SH.PropertyShape) for s in graph.subjects(rdflib.RDF.type, cls)}
    assert declared and declared <= set(shapes.shapes)
    targeted = {str(s) for p in (_SH.targetClass, _SH.targetSubjectsOf) for s in graph.subjects(p, None)}
    assert {s.iri for s in shapes.reporting} == targeted
    # Compiling and running every constraint once, on an empty store, raises for anything unsupported.
    assert Validator(shapes, pyoxigraph.Store(), Originals()).rows() == []


@pytest.mark.parametrize("feature, shape_body", [
    ("sh:languageIn", 'sh:targetClass dip:Event ; sh:path dip:quote ; sh:languageIn ( "en" )'),
    ("sh:targetNode", "sh:targetNode event:x ; sh:path rdfs:label ; sh:minCount 1"),
    ("a sh:path that is not a single predicate", "sh:targetClass dip:Event ; sh:path ( dip:source dct:issued ) ; "
                                                 "sh:minCount 1"),
])
def test_an_unsupported_feature_is_refused_by_name(tmp_path, feature, shape_body):
    ontology = tmp_path / "ontology"
    shutil.copytree(KBLayout.locate().ontology_dir, ontology)
    (ontology / "shapes-extra.ttl").write_text(
        PREFIXES + f'dsh:FutureShape a sh:PropertyShape ; sh:message "A future rule." ; {shape_body} .\n',
        encoding="utf-8")
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "empty.ttl").write_text("", encoding="utf-8")
    layout = KBLayout.locate(tmp_path)
    with pytest.raises(UnsupportedShapeError, match=f"FutureShape: {feature}"):
        validate(layout, engine=Engine.SPARQL)
    validate(layout, engine=Engine.PYSHACL)  # the reference engine still runs


@pytest.mark.parametrize("body, binds", [
    ("$this <urn:p> ?v", True),
    ("?v <urn:p> $this OPTIONAL { ?v <urn:q> ?w }", True),
    ("{ $this <urn:p> ?v } UNION { $this <urn:q> ?v } FILTER NOT EXISTS { $this <urn:r> ?w }", True),
    ("{ ?v <urn:p> ?w } UNION { ?v <urn:q> ?w } $this <urn:p>/<urn:q> ?x BIND (STR(?x) AS ?y)", True),
    ("{ $this <urn:p> ?v } UNION { ?other <urn:q> ?v }", False),
    ("?v <urn:p> ?w OPTIONAL { $this <urn:q> ?v }", False),
    ("FILTER NOT EXISTS { $this <urn:p> ?v }", False),
    ("?v <urn:p> ?w BIND (?w AS ?this)", False),
])
def test_a_body_binds_this_only_if_every_solution_does(body, binds):
    # Such a body runs filtered by the targets (Validator.on_focus): wrongly, a solution without ?this
    # would pass the filter as anything's.
    assert SparqlSelect.parse(f"SELECT $this WHERE {{ {body} }}", "urn:c").binds_this({}) is binds


def test_a_union_that_may_leave_this_unbound_is_joined_to_the_focus_nodes(tmp_path):
    ontology = tmp_path / "ontology"
    shutil.copytree(KBLayout.locate().ontology_dir, ontology)
    (ontology / "shapes-extra.ttl").write_text(PREFIXES + """dsh:QuotedShape a sh:NodeShape ;
    sh:targetClass dip:Statement ; sh:severity sh:Warning ; sh:message "Quoted." ;
    sh:sparql [ a sh:SPARQLConstraint ; sh:message "Quoted." ; sh:select \"\"\"
        SELECT $this ?value WHERE {
            { $this <https://w3id.org/dipkb/ontology#quote> ?value }
            UNION { ?other <https://w3id.org/dipkb/ontology#quote> ?value }
        }\"\"\" ] .
""", encoding="utf-8")
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "data.ttl").write_text(PREFIXES + """
event:a a dip:Statement ; rdfs:label "A says"@en ; dip:date "2021-07-01"^^xsd:date ; dip:modality dip:Occurred ;
    dip:speaker actor:x ; dip:quote "One"@en ; dip:source source:s .
event:b a dip:Statement ; rdfs:label "B says"@en ; dip:date "2021-07-01"^^xsd:date ; dip:modality dip:Occurred ;
    dip:speaker actor:x ; dip:quote "Two"@en ; dip:source source:s .
actor:x a dip:State ; rdfs:label "X"@en .
source:s a dip:NewsArticle ; dct:title "S"@en ; dct:issued "2021-07-02"^^xsd:date .
""", encoding="utf-8")
    quoted = [(f.focus.rsplit("/", 1)[-1], f.value) for f in both(KBLayout.locate(tmp_path))
              if f.shape.endswith("#QuotedShape")]
    assert sorted(quoted) == [("a", '"One"@en'), ("a", '"Two"@en'), ("b", '"One"@en'), ("b", '"Two"@en')]


def with_a_declared_role(tmp_path: Path, data: str) -> KBLayout:
    """A KB of one file: ``data``, a source source:s, and a role ex:coHost the file declares under dip:host."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "data.ttl").write_text(PREFIXES + """@prefix ex: <https://example.org/> .
ex:coHost rdfs:subPropertyOf dip:host .
source:s a dip:NewsArticle ; dct:title "S"@en ; dct:issued "2021-07-02"^^xsd:date .
""" + data, encoding="utf-8")
    return KBLayout.locate(tmp_path)


def test_a_role_a_kb_file_declares_is_checked_for_actors_by_both_engines(tmp_path):
    # The SPARQL engine lists ActorReferenceQuery's actor-valued properties (rdfs:subPropertyOf* then
    # rdfs:range dip:Actor) once, from the data graph: a role a KB file adds must be among them.
    findings = both(with_a_declared_role(tmp_path, """
event:e a dip:Meeting ; rdfs:label "A meeting"@en ; dip:date "2021-07-01"^^xsd:date ;
    dip:host actor:a ; ex:coHost place:p ; dip:source source:s .
actor:a a dip:State ; rdfs:label "A"@en .
place:p a dip:Place ; rdfs:label "P"@en .
"""))
    found = {(f.focus, f.path, f.shape, f.value) for f in findings}
    assert ("https://w3id.org/dipkb/kb/event/e", "https://example.org/coHost",
            "https://w3id.org/dipkb/shapes#ActorReferenceShape", "<https://w3id.org/dipkb/kb/place/p>") in found


def test_a_role_a_kb_file_declares_counts_as_a_meeting_participant_for_both_engines(tmp_path):
    # MeetingParticipantsQuery's roles (rdfs:subPropertyOf* dip:participant) are listed once too.
    findings = both(with_a_declared_role(tmp_path, """
event:e a dip:Meeting ; rdfs:label "A meeting"@en ; dip:date "2021-07-01"^^xsd:date ;
    dip:host actor:a ; ex:coHost actor:b ; dip:source source:s .
event:f a dip:Meeting ; rdfs:label "A meeting with one"@en ; dip:date "2021-07-01"^^xsd:date ;
    ex:coHost actor:b ; dip:source source:s .
actor:a a dip:State ; rdfs:label "A"@en .
actor:b a dip:State ; rdfs:label "B"@en .
"""))
    assert [f.focus for f in findings if f.shape.endswith("#MeetingParticipantsShape")] == [
        "https://w3id.org/dipkb/kb/event/f"]


def test_a_finding_about_a_blank_node_is_placed_where_an_iri_holds_it_by_both_engines(tmp_path):
    """``dip:source [ ... ]`` is found by the event whose description holds it: its file and line, and
    the path from it. A blank node written on its own, which nothing holds, has its file."""
    (tmp_path / "kb").mkdir()
    text = PREFIXES + """event:z a dip:Meeting ; rdfs:label "Z"@en ;
    dip:date "2021-07-01"^^xsd:date ; dip:modality dip:Occurred ; dip:host actor:x ; dip:visitor actor:y ;
    dip:source _:shared .
event:a a dip:Meeting ; rdfs:label "A"@en ; dip:date "2021-07-01"^^xsd:date ; dip:modality dip:Occurred ;
    dip:host actor:x ; dip:visitor actor:y ;
    dip:source _:shared , [ a dip:NewsArticle ; dct:title "Outer"@en ; dct:issued "2021-07-01"^^xsd:date ;
                            dip:storyPublisher [ a dip:MediaOrganisation ] ] .
_:shared a dip:NewsArticle ; dct:title "Shared"@en .
actor:x a dip:State ; rdfs:label "X"@en .
actor:y a dip:State ; rdfs:label "Y"@en .
[] a dip:Meeting ; rdfs:label "Nameless"@en .
"""
    (tmp_path / "kb" / "data.ttl").write_text(text, encoding="utf-8")
    findings = both(KBLayout.locate(tmp_path))
    line_a = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("event:a "))
    held = {(f.holder.iri.rsplit("/", 1)[1], f.holder.path, f.shape.rsplit("#", 1)[1], f.line)
            for f in findings if f.holder is not None}
    # _:shared is held by both events, through dip:source: the first IRI is its holder.
    assert held == {("a", (DIP + "source",), "SourceIssuedPresentShape", line_a),
                    ("a", (DIP + "source", DIP + "storyPublisher"), "ActorLabelShape", line_a)}
    assert {f.file for f in findings} == {str(tmp_path / "kb" / "data.ttl")}
    assert {(f.focus_label, f.line) for f in findings if f.holder is None} == {("Nameless", None)}


# --- Golden cases ---------------------------------------------------------------------------------------


def case_kb(case: Path, directory: Path) -> tuple[KBLayout, set]:
    """A KB holding the case's data (without its sht:Case description), and the results it expects."""
    graph = rdflib.Graph()
    parse_file(graph, case)
    expected = set()
    for description in list(graph.subjects(rdflib.RDF.type, SHT.Case)):
        for result in list(graph.objects(description, SHT.result)):
            path = graph.value(result, _SH.resultPath)
            focus = graph.value(result, _SH.focusNode)
            expected.add(("_:" if isinstance(focus, rdflib.BNode) else str(focus), str(path) if path else None,
                          str(graph.value(result, _SH.sourceShape)),
                          str(graph.value(result, _SH.resultSeverity)).removeprefix(SH)))
            graph.remove((result, None, None))
        graph.remove((description, None, None))
    (directory / "kb").mkdir()
    # N-Triples written by rdflib keep every literal as the case wrote it.
    (directory / "kb" / "case.nt").write_text(graph.serialize(format="nt"), encoding="utf-8")
    return KBLayout.locate(directory), expected


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_case(case: Path, tmp_path):
    layout, expected = case_kb(case, tmp_path)
    findings = _blank_labels_aside(both(layout))
    assert {(f.focus, f.path, f.shape, f.severity.value) for f in findings} == expected


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_a_text_checked_before_it_is_written_gets_the_findings_of_the_written_file(case: Path, tmp_path):
    """What `add` and `import` check before they write (every node of the text) is what validate finds
    in the file once written (pyshacl's findings: test_golden_case): the same findings, field for
    field, but the file and line."""
    layout, _ = case_kb(case, tmp_path)
    written = validate(layout, engine=Engine.SPARQL).findings
    text = (tmp_path / "kb" / "case.nt").read_text(encoding="utf-8")  # N-Triples is Turtle
    (tmp_path / "kb" / "case.nt").unlink()
    with KnowledgeBase.open(layout=KBLayout.locate(tmp_path), index=False) as kb:
        checked = check_text(kb, text, sample=False)

    def unplaced(findings: list) -> list:
        return sorted(_blank_labels_aside([replace(f, file=None, line=None) for f in findings]), key=sort_key)
    assert unplaced(checked) == unplaced(written)


# --- Whole knowledge bases --------------------------------------------------------------------------------


def test_shipped_kb_has_no_findings_with_either_engine():
    assert both(KBLayout.locate()) == []


def generate(out: Path, seed: int, events: int = 150, faults: int = 9, states: int = 20) -> list[dict]:
    """A generated KB with injected faults, in a world of 20 states unless told: pyshacl's time grows
    with the actors and places (the generator's 200 states, 2,590 actors: 1.6 times the time)."""
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--events", str(events),
                    "--states", str(states),
                    "--seed", str(seed), "--faults", str(faults), "--out", str(out)],
                   check=True, capture_output=True, cwd=ROOT)
    return json.loads((out / "faults.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_kb_with_faults(tmp_path, seed):
    faults = generate(tmp_path, seed)
    assert len(faults) == 9
    findings = both(KBLayout.locate(tmp_path))
    for fault in faults:
        assert any(f.focus == fault["focus"] and f.shape == fault["shape"]
                   and (fault["path"] is None or f.path == fault["path"])
                   and (fault["value"] is None or f.value == f"<{fault['value']}>")
                   for f in findings), fault


def test_chosen_files_are_validated_in_the_context_of_the_kb(tmp_path):
    faults = generate(tmp_path, seed=1)
    layout = KBLayout.locate(tmp_path)
    events = both(layout, [tmp_path / "kb" / "events-00001.ttl"])
    assert {f.focus for f in events} == {f["focus"] for f in faults}  # sources and actors resolve in the KB
    assert all(f.file.endswith("kb/events-00001.ttl") for f in events)
    assert validate(layout, [tmp_path / "kb" / "actors.ttl"], engine=Engine.SPARQL).findings == []


def test_two_threads_find_what_one_finds_in_the_same_order(tmp_path):
    generate(tmp_path, seed=2)
    layout = KBLayout.locate(tmp_path)
    files = layout.ontology_files() + layout.kb_files()
    store = pyoxigraph.Store()
    load_files(store, layout, files)
    shapes, originals = ShapeSet(load_shapes(layout)), Originals.scan(store, files, layout.graph_name)

    def rows(threads: int) -> list:
        found = run(shapes, store, originals, threads=threads)
        return [(r.focus.value, r.path, str(r.value), r.component, r.shape.iri) for r in found]
    alone = rows(1)
    assert len(alone) == 9
    assert rows(2) == alone


# --- Incremental validation against an open KB -------------------------------------------------------------


def in_one_store(layout: KBLayout, paths: list[Path]) -> ValidationReport:
    """What validate() finds of ``paths`` without an index: the SPARQL engine over one store holding the
    whole KB, whose findings of generated KBs are pyshacl's (test_generated_kb_with_faults and
    test_chosen_files_are_validated_in_the_context_of_the_kb): the reference of validate_changed."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation, "_has_index", lambda layout: False)
        return validate(layout, paths, engine=Engine.SPARQL)


def test_validate_changed_reads_only_what_the_files_touch(tmp_path):
    faults = generate(tmp_path, seed=3)
    events = tmp_path / "kb" / "events-00001.ttl"
    kb = KnowledgeBase.open(tmp_path)  # builds the on-disk index: its store also holds derived triples
    reference = in_one_store(kb.layout, [events])
    assert {f.focus for f in reference.findings} == {f["focus"] for f in faults}
    assert validate_changed(kb, [events]) == reference
    assert validate(kb.layout, [events]) == reference  # with an index, validate() uses it
    # Just built, the index loaded every file: all are validated.
    assert validate_changed(kb).findings == validate(kb.layout, engine=Engine.SPARQL).findings

    # One more fault in the events file: reopening refreshes that file alone, and only it is validated.
    text = events.read_text(encoding="utf-8")
    events.write_text(text.replace("dip:modality dip:Occurred", "dip:modality dip:Happened", 1), encoding="utf-8")
    kb = KnowledgeBase.open(tmp_path)
    assert kb.index.report.changed == ("kb/events-00001.ttl",)
    changed = validate_changed(kb)
    assert changed == in_one_store(kb.layout, [events])
    added = [f for f in changed.findings if f not in reference.findings]
    assert sorted(f.shape.rsplit("#")[1] for f in added) == ["DeclaredTermShape", "EventModalityShape"]
    assert len(changed.findings) == len(reference.findings) + 2 and changed.files_checked == 1


def test_validate_changed_on_an_in_memory_kb(tmp_path):
    generate(tmp_path, seed=1)
    kb = KnowledgeBase.open(tmp_path, index=False)
    sources = tmp_path / "kb" / "sources-00001.ttl"
    assert validate_changed(kb, [sources]) == validate(kb.layout, [sources], engine=Engine.SPARQL)
    assert validate_changed(kb).files_checked == 0
    with pytest.raises(KBNotFoundError, match="Not a file of the open knowledge base"):
        validate_changed(kb, [ROOT / "kb" / "places.ttl"])


# --- Literals the store keeps in another form -------------------------------------------------------------

PLACE = PREFIXES + """
place:x a dip:Place ;
    rdfs:label "X"@en ;
    geo:lat "55.750"^^xsd:decimal, "55.75"^^xsd:decimal ;
    geo:long "200.0"^^xsd:decimal .

place:y a dip:Place ;
    rdfs:label "Y"@en ;
    geo:lat "+05.10"^^xsd:decimal ;
    geo:long "07.0e0"^^xsd:double .

event:e a dip:Deployment ;
    rdfs:label "A deployment"@en ;
    dip:movingForce actor:f ;
    dip:destination place:y ;
    dip:date "2021-07-08+00:00"^^xsd:date ;
    dip:modality dip:Occurred ;
    dip:source source:s ;
    dip:personnelCount "-05"^^xsd:nonNegativeInteger ;
    dip:minPersonnelCount "0100"^^xsd:nonNegativeInteger .

actor:f a dip:ArmedForce ; rdfs:label "F"@en .

source:s a dip:NewsArticle ; dct:title "A report"@en ; dct:issued "2021-07"^^xsd:gYearMonth .
"""


@pytest.mark.parametrize("suffix", [".ttl", ".nt"])
def test_literals_are_judged_and_reported_as_written(tmp_path, suffix):
    (tmp_path / "kb").mkdir()
    if suffix == ".ttl":
        (tmp_path / "kb" / "data.ttl").write_text(PLACE, encoding="utf-8")
    else:  # an N-Triples file's forms are read from its lines with "^^" (dipkb.store.written_forms)
        graph = rdflib.Graph()
        graph.parse(data=PLACE, format="turtle")
        text = graph.serialize(format="nt") + '<urn:s> <urn:p> "not typed, with ^^ inside" .\n'
        (tmp_path / "kb" / "data.nt").write_text(text, encoding="utf-8")
    findings = both(KBLayout.locate(tmp_path))
    found = {(f.focus.rsplit("/", 1)[1], f.path.rsplit("#", 1)[1], f.value, f.constraint.removeprefix(SH))
             for f in findings}
    assert found == {
        ("x", "lat", None, "MaxCountConstraintComponent"),  # two forms of one value: pyshacl counts both
        ("x", "long", f'"200.0"^^<{XSD}decimal>', "MaxInclusiveConstraintComponent"),
        ("y", "long", f'"07.0e0"^^<{XSD}double>', "OrConstraintComponent"),  # a decimal or a whole number
        ("e", "personnelCount", f'"-05"^^<{XSD}nonNegativeInteger>', "NodeConstraintComponent"),
    }
