"""dipkb.shacl.validation: the shipped KB conforms; faults are found with their file and line; output formats."""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import rdflib

from dipkb.errors import KBNotFoundError, KBSyntaxError
from dipkb.model.namespaces import DIP, KB, SH, XSD, expand
from dipkb.shacl.findings import (Finding, Holder, Severity, ValidationReport, render_finding, render_json,
                                  render_text, render_turtle, sort_key)
from dipkb.shacl.reference import parsed_files
from dipkb.shacl.validation import Engine, validate
from dipkb.store.layout import KBLayout
from dipkb.util.paths import display_path

PREFIXES = """@prefix dip:    <https://w3id.org/dipkb/ontology#> .
@prefix actor:  <https://w3id.org/dipkb/kb/actor/> .
@prefix source: <https://w3id.org/dipkb/kb/source/> .
@prefix dct:    <http://purl.org/dc/terms/> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
"""
DATE_MESSAGE = ("dip:date must be a date of any precision: xsd:date (2021-07-08), xsd:gYearMonth (2021-07), "
                "xsd:gYear (2021) or xsd:dateTime, with a valid value.")
SOURCE_MESSAGE = "Every event needs at least one source (dip:source)."
MODALITY_MESSAGE = ("The event has no modality (dip:modality) and is read as dip:Occurred; say so explicitly, "
                    "or give dip:Ongoing, dip:Planned, dip:Possible, dip:Claimed or dip:Denied.")


@pytest.fixture(autouse=True)
def _no_kb_from_environment(monkeypatch):
    monkeypatch.delenv("DIPKB_KB", raising=False)


# --- The shipped knowledge base -------------------------------------------------------------------


def test_shipped_kb_conforms_without_warnings():
    layout = KBLayout.locate()
    report = validate(layout)
    assert report.findings == []
    assert report.files_checked == len(layout.kb_files())
    assert report.conforms(strict=True)
    assert render_text(report) == f"Conforms: 0 violations, 0 warnings in {len(layout.kb_files())} files.\n"


@pytest.fixture
def kb_copy(tmp_path) -> Path:
    """A copy of the shipped KB's data; the ontology and shapes stay the bundled ones."""
    target = tmp_path / "kb"
    shutil.copytree(KBLayout.locate().kb_dir, target, ignore=shutil.ignore_patterns(".*"))
    return target


def subject_line(lines: list[str], index: int) -> int:
    """The 0-based index of the subject line of the block that ``index`` is in."""
    return max(j for j in range(index + 1) if lines[j][:1] not in ("", " ", "#", "@"))


def remove_a_source(path: Path) -> tuple[str, int]:
    """Drop the only dip:source of the first event that ends with one; return its CURIE and line."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        if not (line.strip().startswith("dip:source ") and line.rstrip().endswith(" .") and "," not in line):
            continue
        start = subject_line(lines, i)
        if lines[i - 1].rstrip().endswith(";") and not any("dip:source" in earlier for earlier in lines[start:i]):
            lines[i - 1] = lines[i - 1].rstrip()[:-1].rstrip() + " .\n"
            del lines[i]
            path.write_text("".join(lines), encoding="utf-8")
            return lines[start].split()[0], start + 1
    raise AssertionError(f"no event with a single final dip:source in {path}")


def replace_first(path: Path, old: str, new: str) -> tuple[str, int]:
    """Replace the first line that reads ``old`` (stripped); return the CURIE and line of its subject."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.strip() == old)
    lines[index] = "    " + new + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    start = subject_line(lines, index)
    return lines[start].split()[0], start + 1


def test_removed_source_is_found_with_file_and_line(kb_copy):
    events = kb_copy / "events-2021.ttl"
    event, line = remove_a_source(events)
    report = validate(KBLayout.locate(kb_copy.parent))
    assert [(f.focus, f.path, f.shape, f.severity, f.file, f.line, f.value, f.message) for f in report.findings] == [
        (expand(event), DIP + "source", "https://w3id.org/dipkb/shapes#EventSourceShape", Severity.VIOLATION,
         display_path(events), line, None, SOURCE_MESSAGE)]
    assert report.findings[0].constraint == SH + "MinCountConstraintComponent"
    assert report.findings[0].focus_label  # the event's rdfs:label
    assert not report.conforms()


def test_end_before_start_is_found(kb_copy):
    events = kb_copy / "events-2021.ttl"
    event, line = replace_first(events, 'dip:date "2021-07"^^xsd:gYearMonth ;',
                                'dip:startDate "2021-07-08"^^xsd:date ; dip:endDate "2021-07-01"^^xsd:date ;')
    (finding,) = validate(KBLayout.locate(kb_copy.parent)).findings
    assert (finding.focus, finding.path, finding.value, finding.file, finding.line) == (
        expand(event), DIP + "endDate", f'"2021-07-01"^^<{XSD}date>', display_path(events), line)
    assert finding.shape.endswith("#EventIntervalShape")
    assert finding.message == "The event ends before it starts: dip:endDate 2021-07-01 is before dip:startDate 2021-07-08."


def test_ill_typed_date_is_found_without_log_noise(kb_copy, caplog):
    history = kb_copy / "history.ttl"
    event, line = replace_first(history, 'dip:date "1996"^^xsd:gYear ;', 'dip:date "1996-02-30"^^xsd:date ;')
    with caplog.at_level(logging.WARNING):
        (finding,) = validate(KBLayout.locate(kb_copy.parent)).findings
    assert (finding.focus, finding.path, finding.value, finding.file, finding.line, finding.message) == (
        expand(event), DIP + "date", f'"1996-02-30"^^<{XSD}date>', display_path(history), line, DATE_MESSAGE)
    assert finding.constraint == SH + "NodeConstraintComponent"
    assert [r for r in caplog.records if r.name.startswith("rdflib")] == []


def test_a_fault_another_file_adds_to_a_node_is_placed_in_that_file(kb_copy):
    """A triple about a place or an actor of another file is the mistake of the file that states it,
    whether the whole KB or that file is validated; the place was where the node is described."""
    added = kb_copy / "added.ttl"
    added.write_text(PREFIXES + '@prefix place: <https://w3id.org/dipkb/kb/place/> .\n'
                     '@prefix geo: <http://www.w3.org/2003/01/geo/wgs84_pos#> .\n\n'
                     'place:moscow geo:lat "55,7558" .\n'
                     'actor:zamir-kabulov dip:actsFor actor:russian-foreign-ministy .\n', encoding="utf-8")
    layout = KBLayout.locate(kb_copy.parent)
    for report in (validate(layout), validate(layout, [added])):
        placed = {(f.focus.rsplit("/", 1)[1], f.path.rsplit("#", 1)[1]): (f.file, f.line)
                  for f in report.findings if f.value is not None}
        assert placed == {("moscow", "lat"): (display_path(added), 10),
                          ("zamir-kabulov", "actsFor"): (display_path(added), 11)}


def test_a_subject_written_relative_to_the_files_base_is_placed_at_its_line(kb_copy):
    """`@base <.../event/>` then `<b1> a dip:Meeting`: the finding had no line (the base was not followed)."""
    based = kb_copy / "based.ttl"
    based.write_text(PREFIXES + "@base <https://w3id.org/dipkb/kb/event/> .\n\n"
                     '<b1> a dip:Meeting ; rdfs:label "B1"@en ; dip:host actor:russia ; dip:visitor actor:india ;\n'
                     '    dip:date "2021-02-30"^^xsd:date ; dip:modality dip:Occurred ; dip:source source:founding-article .\n',
                     encoding="utf-8")
    line = PREFIXES.count("\n") + 3
    findings = [f for f in validate(KBLayout.locate(kb_copy.parent)).findings if f.focus.endswith("/event/b1")]
    assert findings and {(f.file, f.line) for f in findings} == {(display_path(based), line)}


def test_paths_limit_findings_to_those_files(kb_copy):
    remove_a_source(kb_copy / "events-2021.ttl")
    history = kb_copy / "history.ttl"
    event, _ = replace_first(history, 'dip:date "1996"^^xsd:gYear ;', 'dip:date "1996-02-30"^^xsd:date ;')
    layout = KBLayout.locate(kb_copy.parent)
    assert len(validate(layout).violations) == 2
    report = validate(layout, [history])
    assert [f.focus for f in report.findings] == [expand(event)]
    assert report.files_checked == 1
    assert render_text(report).endswith("\n1 violation, 0 warnings in 1 file.\n")


def test_a_file_outside_the_kb_is_validated_in_its_context(kb_copy, tmp_path):
    new = tmp_path / "new-events.ttl"
    new.write_text(PREFIXES + """@prefix event:  <https://w3id.org/dipkb/kb/event/> .

event:new-talks a dip:Meeting ;
    rdfs:label "Russia and India meet"@en ;
    dip:host actor:russia ;
    dip:visitor actor:india ;
    dip:date "2021-07"^^xsd:gYearMonth ;
    dip:modality dip:Occurred ;
    dip:source source:founding-article .
""", encoding="utf-8")
    layout = KBLayout.locate(kb_copy.parent)
    assert validate(layout, [new]).findings == []  # actors and source resolve in the KB
    new.write_text(new.read_text(encoding="utf-8").replace("actor:india", "actor:indai"), encoding="utf-8")
    (finding,) = validate(layout, [new]).findings
    assert (finding.path, finding.value, finding.file, finding.line) == (
        DIP + "visitor", "<https://w3id.org/dipkb/kb/actor/indai>", display_path(new), 9)


def test_missing_path_is_reported(kb_copy):
    with pytest.raises(KBNotFoundError, match="no-such.ttl"):
        validate(KBLayout.locate(kb_copy.parent), [kb_copy / "no-such.ttl"])


def test_syntax_errors_list_every_bad_file_with_line_and_column(kb_copy):
    (kb_copy / "actors.ttl").write_text(PREFIXES + "\nactor:x a dip:Person ;\n    rdfs:label \"X\"@en\n"
                                        "actor:y a dip:Person .\n", encoding="utf-8")
    (kb_copy / "places.ttl").write_text("@prefix dip: <https://w3id.org/dipkb/ontology#> .\n\n"
                                        "place:x a dip:Place .\n", encoding="utf-8")
    with pytest.raises(KBSyntaxError) as caught:
        validate(KBLayout.locate(kb_copy.parent))
    problems = [(p.path, p.line, p.column) for p in caught.value.problems]
    assert problems == [(display_path(kb_copy / "actors.ttl"), 10, 1), (display_path(kb_copy / "places.ttl"), 3, 1)]
    assert str(caught.value).endswith("2 files failed to load.")
    assert caught.value.exit_code == 2


# --- Output formats, on a small KB written here -----------------------------------------------------

EVENTS = PREFIXES + """@prefix ev:     <https://w3id.org/dipkb/kb/event/> .

actor:a a dip:State ; rdfs:label "A"@en .
actor:b a dip:State ; rdfs:label "B"@en .

ev:talks a dip:Meeting ;
    rdfs:label "A meets B"@en ;
    dip:host actor:a ; dip:visitor actor:b ;
    dip:date "2021-02-31"^^xsd:date ;
    dip:modality dip:Occurred .

<https://w3id.org/dipkb/kb/event/visit> a dip:Visit ;
    rdfs:label "B visits A"@en ;
    dip:visitor actor:b ; dip:host actor:a ;
    dip:date "2021-07"^^xsd:gYearMonth ;
    dip:source source:report .
"""
SOURCES = PREFIXES + """
source:report a dip:NewsArticle ;
    dct:title "A report"@en ;
    dct:issued "2021-07"^^xsd:gYearMonth .
"""


@pytest.fixture
def small_kb(tmp_path) -> Path:
    (tmp_path / "events.ttl").write_text(EVENTS, encoding="utf-8")
    (tmp_path / "sources.ttl").write_text(SOURCES, encoding="utf-8")
    return tmp_path


def test_text_format(small_kb):
    events = display_path(small_kb / "events.ttl")
    # Lines: ev:talks at 12 (a CURIE of the file's own prefix), the <IRI> subject at 18.
    assert render_text(validate(KBLayout.locate(small_kb))) == (
        f'{events}:12: Violation: event:talks ("A meets B") dip:date "2021-02-31"^^xsd:date: {DATE_MESSAGE}\n'
        f'{events}:12: Violation: event:talks ("A meets B") dip:source: {SOURCE_MESSAGE}\n'
        f'{events}:18: Warning: event:visit ("B visits A") dip:modality: {MODALITY_MESSAGE}\n'
        "2 violations, 1 warning in 2 files.\n"
    )


def test_warnings_conform_unless_strict(small_kb):
    fixed = EVENTS.replace('"2021-02-31"^^xsd:date ;', '"2021-07"^^xsd:gYearMonth ;').replace(
        "dip:modality dip:Occurred .", "dip:modality dip:Occurred ;\n    dip:source source:report .")
    (small_kb / "events.ttl").write_text(fixed, encoding="utf-8")
    report = validate(KBLayout.locate(small_kb))
    assert [f.severity for f in report.findings] == [Severity.WARNING]
    assert report.conforms() and not report.conforms(strict=True)
    assert (report.violations, len(report.warnings)) == ([], 1)
    assert render_text(report).endswith("\nConforms: 0 violations, 1 warning in 2 files.\n")
    # --strict exits 1 on it: the text, the JSON and the SHACL report said it conforms all the same.
    assert render_text(report, strict=True).endswith("\n0 violations, 1 warning in 2 files.\n")
    assert json.loads(render_json(report, strict=True))["conforms"] is False
    assert "sh:conforms false" in render_turtle(report, strict=True)


def test_json_format(small_kb):
    document = json.loads(render_json(validate(KBLayout.locate(small_kb))))
    assert {k: document[k] for k in ("conforms", "violations", "warnings", "files_checked")} == {
        "conforms": False, "violations": 2, "warnings": 1, "files_checked": 2}
    assert document["findings"][0] == {
        "file": display_path(small_kb / "events.ttl"), "line": 12, "severity": "Violation",
        "focus": "https://w3id.org/dipkb/kb/event/talks", "focus_label": "A meets B", "path": DIP + "date",
        "value": f'"2021-02-31"^^<{XSD}date>', "message": DATE_MESSAGE,
        "shape": "https://w3id.org/dipkb/shapes#EventDateShape", "constraint": SH + "NodeConstraintComponent",
        "held_by": None}


def test_turtle_format_is_a_shacl_report(small_kb):
    report = validate(KBLayout.locate(small_kb))
    graph = rdflib.Graph().parse(data=render_turtle(report), format="turtle")
    sh = rdflib.Namespace(SH)
    (node,) = graph.subjects(rdflib.RDF.type, sh.ValidationReport)
    assert graph.value(node, sh.conforms) == rdflib.Literal(False)
    results = list(graph.objects(node, sh.result))
    found = {(str(graph.value(r, sh.focusNode)), str(graph.value(r, sh.resultPath)), graph.value(r, sh.value),
              str(graph.value(r, sh.resultSeverity)), str(graph.value(r, sh.sourceShape)),
              str(graph.value(r, sh.resultMessage))) for r in results}
    assert len(results) == 3
    assert ("https://w3id.org/dipkb/kb/event/talks", DIP + "date",
            rdflib.Literal("2021-02-31", datatype=rdflib.URIRef(XSD + "date")), SH + "Violation",
            "https://w3id.org/dipkb/shapes#EventDateShape", DATE_MESSAGE) in found


def test_turtle_format_of_a_conforming_report():
    graph = rdflib.Graph().parse(data=render_turtle(ValidationReport([], 3)), format="turtle")
    assert set(graph.objects(None, rdflib.URIRef(SH + "conforms"))) == {rdflib.Literal(True)}
    assert not list(graph.objects(None, rdflib.URIRef(SH + "result")))


def test_render_finding_without_place_label_or_curie():
    finding = Finding(focus="http://example.org/x y", focus_label=None, path=None, value=None,
                      message="Something is wrong.", severity=Severity.WARNING,
                      shape="https://w3id.org/dipkb/shapes#S", constraint=SH + "OrConstraintComponent",
                      file=None, line=None)
    assert render_finding(finding) == "Warning: <http://example.org/x y>: Something is wrong."


def test_a_blank_node_is_shown_by_the_path_from_its_holder_and_named_in_json():
    """``_:b0e3...`` is a name the parser made up; a reader finds ``event:a dip:source [ ... ]``."""
    holder = Holder(KB + "event/a", (DIP + "source", DIP + "storyPublisher"))
    finding = Finding(focus="_:b0e3", focus_label=None, path=DIP + "actsFor", value="_:c1f2", message="Wrong.",
                      severity=Severity.VIOLATION, shape="https://w3id.org/dipkb/shapes#S",
                      constraint=SH + "ClassConstraintComponent", file="kb/x.ttl", line=3, holder=holder)
    assert render_finding(finding) == ("kb/x.ttl:3: Violation: event:a dip:source/dip:storyPublisher [] "
                                       "dip:actsFor []: Wrong.")
    found = json.loads(render_json(ValidationReport([finding], 1)))["findings"][0]
    assert (found["focus"], found["held_by"]) == ("_:b0e3", {"node": KB + "event/a",
                                                            "path": [DIP + "source", DIP + "storyPublisher"]})
    # Findings come in the order of their holders, not of the names a parse gave their blank nodes.
    later = replace(finding, focus="_:0000", holder=Holder(KB + "event/b", (DIP + "source",)))
    assert sorted([later, finding], key=sort_key) == [finding, later]


def test_a_long_label_or_value_is_cut_in_the_text_and_whole_in_json():
    """A 50 MB label made 100 MB of text, once in each of its findings."""
    label, value = "L" * 5000, '"' + "v" * 5000 + '"'
    finding = Finding(focus=DIP + "x", focus_label=label, path=DIP + "note", value=value, message="Too long.",
                      severity=Severity.VIOLATION, shape="https://w3id.org/dipkb/shapes#S",
                      constraint=SH + "MaxLengthConstraintComponent", file="kb/x.ttl", line=3)
    assert render_finding(finding) == (f'kb/x.ttl:3: Violation: dip:x ("{"L" * 199}…") dip:note "{"v" * 198}…: '
                                       "Too long.")
    document = json.loads(render_json(ValidationReport([finding], 1)))
    assert (document["findings"][0]["focus_label"], document["findings"][0]["value"]) == (label, value)


def test_an_ontology_directory_without_shapes_is_an_error(tmp_path):
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "sources.ttl").write_text(SOURCES, encoding="utf-8")
    shutil.copytree(KBLayout.locate().ontology_dir, tmp_path / "ontology", ignore=shutil.ignore_patterns("shapes*"))
    with pytest.raises(KBNotFoundError, match="No SHACL shapes"):
        validate(KBLayout.locate(tmp_path))


@pytest.mark.parametrize("engine", [Engine.SPARQL, Engine.PYSHACL])
def test_shapes_edited_while_a_process_runs_are_read_again(tmp_path, engine):
    """A process keeps the shapes (and, for pyshacl, the ontology) between validations while their
    files stay as they are."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "sources.ttl").write_text(SOURCES, encoding="utf-8")
    shutil.copytree(KBLayout.locate().ontology_dir, tmp_path / "ontology")
    layout = KBLayout.locate(tmp_path)
    assert validate(layout, engine=engine).findings == []
    with (tmp_path / "ontology" / "shapes-recommended.ttl").open("a", encoding="utf-8") as shapes:
        shapes.write("dsh:SourceNoteShape a sh:PropertyShape ; sh:targetClass dip:Article ; sh:path rdfs:comment ;\n"
                     '    sh:minCount 1 ; sh:severity sh:Warning ; sh:message "A source has a note."@en .\n')
    with (tmp_path / "ontology" / "dipkb.ttl").open("a", encoding="utf-8") as ontology:
        ontology.write("\ndip:Article a owl:Class .\ndip:NewsArticle rdfs:subClassOf dip:Article .\n")
    assert [(f.focus, f.shape) for f in validate(layout, engine=engine).findings] == [
        ("https://w3id.org/dipkb/kb/source/report", "https://w3id.org/dipkb/shapes#SourceNoteShape")]


def test_each_graph_of_parsed_files_is_a_copy_of_its_own_with_literals_as_written(tmp_path):
    """pyshacl adds triples to the shapes graph it is given: the next graph of the same files has none
    of them, and keeps "05"^^xsd:integer as the file writes it."""
    path = tmp_path / "a.ttl"
    path.write_text('<urn:a> <urn:b> "05"^^<http://www.w3.org/2001/XMLSchema#integer> .\n', encoding="utf-8")
    first = parsed_files([path])
    first.add((rdflib.URIRef("urn:added"), rdflib.RDF.type, rdflib.OWL.Class))
    again = parsed_files([path])
    assert sorted(again) == [(rdflib.URIRef("urn:a"), rdflib.URIRef("urn:b"), rdflib.Literal("05", datatype=rdflib.XSD.integer))]
    assert str(next(again.objects())) == "05"


# --- The whole KB in a child process (dipkb.util.forked) -------------------------------------------


@pytest.fixture
def through_child(monkeypatch) -> list[int]:
    """Every validation of the whole KB goes through a child process; the list counts them."""
    from dipkb.shacl import validation
    from dipkb.util import forked

    calls: list[int] = []
    in_child = forked.in_child

    def counted(work):
        calls.append(1)
        return in_child(work)

    monkeypatch.setattr(validation, "_CHILD_BYTES", 0)
    monkeypatch.setattr(validation.forked, "in_child", counted)
    return calls


def test_the_whole_kb_validated_in_a_child_gives_the_same_findings(kb_copy, monkeypatch, through_child):
    remove_a_source(kb_copy / "events-2021.ttl")
    replace_first(kb_copy / "history.ttl", 'dip:date "1996"^^xsd:gYear ;', 'dip:date "1996-02-30"^^xsd:date ;')
    layout = KBLayout.locate(kb_copy.parent)
    in_child = validate(layout)
    assert through_child == [1]
    monkeypatch.undo()
    here = validate(layout)
    assert len(in_child.findings) == 2
    assert in_child == here


def test_a_syntax_error_found_in_the_child_keeps_its_place(kb_copy, through_child):
    (kb_copy / "places.ttl").write_text("@prefix dip: <https://w3id.org/dipkb/ontology#> .\n\n"
                                        "place:x a dip:Place .\n", encoding="utf-8")
    with pytest.raises(KBSyntaxError) as caught:
        validate(KBLayout.locate(kb_copy.parent))
    assert through_child == [1]
    assert [(p.path, p.line, p.column) for p in caught.value.problems] == [(display_path(kb_copy / "places.ttl"), 3, 1)]
    assert "\n" not in str(caught.value)
