"""dipkb.shacl.vocabulary: a term of dipkb's namespaces that the ontology does not declare, or of a
standard vocabulary whose terms are all known that is not one of them, is a violation, with the
closest declared term, wherever validation runs: the whole KB, one file against the index, the check
of `add` and `import`."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli

from conftest import TURTLE_PREFIXES

REPO = Path(__file__).resolve().parent.parent
HEADER = TURTLE_PREFIXES
# A meeting as the shapes want it, but for the terms put in by each test.
MEETING = """
event:talks a {type} ;
    rdfs:label "Talks in Moscow"@en ;
    {host} actor:russia ; dip:visitor actor:taliban ;
    dip:date "2021-07-08"^^xsd:date ; dip:modality {modality} ;
    dip:source source:founding-article .
"""


@pytest.fixture(autouse=True)
def _no_kb_from_environment(monkeypatch):
    monkeypatch.delenv("DIPKB_KB", raising=False)


@pytest.fixture
def kb(tmp_path) -> Path:
    """A copy of the bundled KB, with its ontology and shapes."""
    for name in ("kb", "ontology"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns(".*"))
    return tmp_path


def validate(kb: Path, *args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(cli, ["--kb", str(kb), "validate", "-f", "json", *args], catch_exceptions=False)
    return result.exit_code, json.loads(result.output)["findings"]


def write(kb: Path, name: str, text: str, header: str = HEADER) -> Path:
    path = kb / "kb" / name
    path.write_text(header + text, encoding="utf-8")
    return path


def said(findings: list[dict]) -> list[tuple[str, str | None, str, str]]:
    return sorted((f["focus"].rsplit("/", 1)[1], f["path"], f["value"], f["message"]) for f in findings
                  if f["shape"].endswith("#DeclaredTermShape"))


def test_a_misspelt_class_role_and_modality_are_violations_with_the_term_meant(kb):
    path = write(kb, "typos.ttl", MEETING.format(type="dip:Meting", host="dip:hots", modality="dip:Ocurred"))
    code, findings = validate(kb)
    assert code == 1
    assert said(findings) == sorted([
        ("talks", "https://w3id.org/dipkb/ontology#hots", "<https://w3id.org/dipkb/kb/actor/russia>",
         "dip:hots is not a term of the dipkb ontology; did you mean dip:host?"),
        ("talks", "https://w3id.org/dipkb/ontology#modality", "<https://w3id.org/dipkb/ontology#Ocurred>",
         "dip:Ocurred is not a term of the dipkb ontology; did you mean dip:Occurred?"),
        ("talks", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "<https://w3id.org/dipkb/ontology#Meting>",
         "dip:Meting is not a term of the dipkb ontology; did you mean dip:Meeting?"),
    ])
    line = HEADER.count("\n") + 2  # the meeting's first line
    assert {(f["file"], f["line"]) for f in findings if f["focus"].endswith("/talks")} == {(str(path), line)}


def test_a_term_nothing_resembles_is_named_without_a_guess(kb):
    write(kb, "typos.ttl", MEETING.format(type="dip:Meeting", host="dip:zzz", modality="dip:Occurred"))
    assert [s[3] for s in said(validate(kb)[1])] == ["dip:zzz is not a term of the dipkb ontology."]


@pytest.mark.parametrize("namespace", ["http://w3id.org/dipkb/ontology#", "https://w3id.org/dipkb/ontology/",
                                       "https://w3id.org/dipkb/ontology"])
def test_a_prefix_that_only_looks_like_dipkbs_is_said_to_be_one(kb, namespace):
    """With dip: declared wrongly, nothing of the file reaches an event; the shapes, which look for dipkb's
    classes, see no event to check."""
    header = HEADER.replace("<https://w3id.org/dipkb/ontology#>", f"<{namespace}>")
    write(kb, "typos.ttl", MEETING.format(type="dip:Meeting", host="dip:host", modality="dip:Occurred"), header)
    code, findings = validate(kb)
    assert code == 1
    type_finding = [s for s in said(findings) if s[1].endswith("#type")]
    assert type_finding == [("talks", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", f"<{namespace}Meeting>",
                             f"{namespace}Meeting is not a term of the dipkb ontology; did you mean dip:Meeting "
                             f"(dip: is <https://w3id.org/dipkb/ontology#>)?")]
    assert {s[1] for s in said(findings)} >= {f"{namespace}host", f"{namespace}date", f"{namespace}source"}


def test_the_kbs_own_nodes_and_the_ontologys_version_iris_are_no_terms(kb):
    """actor:, event:... are under the same host; the ontology names its versions under its own IRI."""
    assert validate(kb) == (0, [])


STANDARD = """@prefix rdf:  <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix owl:  <http://www.w3.org/2002/07/owl#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix geo:  <http://www.w3.org/2003/01/geo/wgs84_pos#> .
@prefix schema: <https://schema.org/> .
@prefix time: <http://www.w3.org/2006/time#> .
"""


@pytest.mark.parametrize("triple, message", [
    ("actor:russia rdfs:lable \"Russland\"@de", "rdfs:lable is not a term of RDF Schema; did you mean rdfs:label?"),
    ("actor:russia rdf:tpye dip:State", "rdf:tpye is not a term of RDF; did you mean rdf:type?"),
    ("actor:russia a rdf:Propety", "rdf:Propety is not a term of RDF; did you mean rdf:Property?"),
    ("actor:russia skos:prefLable \"Russia\"@en", "skos:prefLable is not a term of SKOS; did you mean skos:prefLabel?"),
    ("actor:russia geo:lon 37.6", "geo:lon is not a term of the WGS84 vocabulary; did you mean geo:long?"),
    ("actor:russia dct:isued \"2021\"", "dct:isued is not a term of the DCMI Metadata Terms; did you mean dct:issued?"),
    ("actor:russia prov:wasInformedBi actor:india",
     "prov:wasInformedBi is not a term of PROV-O; did you mean prov:wasInformedBy?"),
    ("actor:russia owl:sameas actor:india", "owl:sameas is not a term of OWL; did you mean owl:sameAs?"),
])
def test_a_misspelt_term_of_a_standard_vocabulary_is_a_violation_with_the_term_meant(kb, triple, message):
    """Nothing reads rdfs:lable or geo:lon: the label and the longitude were silently lost."""
    path = write(kb, "typos.ttl", triple + " .\n", header=HEADER + STANDARD)
    code, findings = validate(kb)
    assert code == 1 and [s[3] for s in said(findings)] == [message]
    assert {f["file"] for f in findings} == {str(path)}


@pytest.mark.parametrize("declared, typed, meant", [
    ("geo: <http://www.w3.org/2003/01/geo/wgs84_pos>", "http://www.w3.org/2003/01/geo/wgs84_poslat", "geo:lat"),
    ("geo: <https://www.w3.org/2003/01/geo/wgs84_pos#>", "https://www.w3.org/2003/01/geo/wgs84_pos#lat", "geo:lat"),
    ("rdfs: <http://www.w3.org/2000/01/rdf-schema>", "http://www.w3.org/2000/01/rdf-schemalat", None),
    ("skos: <http://www.w3.org/2004/02/skos/core>", "http://www.w3.org/2004/02/skos/corelat", None),
])
def test_a_standard_vocabularys_namespace_declared_wrongly_is_said_to_be(kb, declared, typed, meant):
    """A namespace without its '#' or with https: made geo:lat an IRI nothing reads: the place lost its
    coordinates without a word. Only terms of the vocabulary are taken for it (rdfs:lat is no term)."""
    header = HEADER + f"@prefix {declared} .\n"
    write(kb, "wrong.ttl", f"actor:russia {declared.split(':')[0]}:lat 55.75 .\n", header=header)
    code, findings = validate(kb)
    if meant is None:
        assert (code, findings) == (0, [])
        return
    namespace = "http://www.w3.org/2003/01/geo/wgs84_pos#"
    assert code == 1 and [s[3] for s in said(findings)] == [
        f"{typed} is not a term of the WGS84 vocabulary; did you mean {meant} (geo: is <{namespace}>)?"]


def test_a_document_of_a_standard_vocabularys_site_is_no_misspelt_term(kb):
    write(kb, "documents.ttl", "actor:russia rdfs:isDefinedBy <http://www.w3.org/2002/07/owl>, "
          "<http://www.w3.org/2004/02/skos/core.rdf>, <https://www.w3.org/2003/01/geo/wgs84_pos> .\n")
    assert validate(kb) == (0, [])


def test_every_term_of_the_closed_vocabularies_and_the_open_ones_pass(kb):
    """rdf:_3 and RDF 1.2's rdf:reifies are RDF's; schema.org and OWL-Time grow, so their terms are not
    checked."""
    write(kb, "standard.ttl", """actor:russia rdf:_3 actor:india ; rdf:reifies actor:india ; owl:sameAs actor:india ;
    skos:altLabel "RF"@en ; prov:wasAttributedTo actor:india ; geo:lat 55.75 ; geo:long 37.62 ;
    dct:description "A state."@en ; rdfs:seeAlso <http://www.w3.org/2003/01/geo/wgs84_pos#> ;
    schema:someNewTerm "x" ; time:someNewTerm "y" .
""", header=HEADER + STANDARD)
    assert validate(kb) == (0, [])


def test_a_term_the_kbs_own_ontology_file_declares_is_accepted(kb):
    write(kb, "typos.ttl", MEETING.format(type="dip:Meeting", host="dip:coHost", modality="dip:Occurred"))
    assert validate(kb)[0] == 1
    (kb / "ontology" / "local.ttl").write_text(
        HEADER + "dip:coHost rdfs:subPropertyOf dip:host ; rdfs:label \"co-host\"@en .\n", encoding="utf-8")
    assert validate(kb) == (0, [])


def test_one_file_validated_against_the_index_is_checked_too(kb):
    assert CliRunner().invoke(cli, ["--kb", str(kb), "index"]).exit_code == 0
    path = write(kb, "typos.ttl", MEETING.format(type="dip:Meeting", host="dip:hots", modality="dip:Occurred"))
    code, findings = validate(kb, str(path))
    assert code == 1
    assert [s[3] for s in said(findings)] == ["dip:hots is not a term of the dipkb ontology; did you mean dip:host?"]


def test_a_misspelling_in_another_file_about_a_files_subject_is_found_validating_either(kb):
    """As with the shapes, validating a file checks what the KB says about its subjects."""
    typos = write(kb, "typos.ttl", "event:talks dip:hots actor:russia .\n")
    talks = write(kb, "talks.ttl", MEETING.format(type="dip:Meeting", host="dip:host", modality="dip:Occurred"))
    for path in (typos, talks):
        code, findings = validate(kb, str(path))
        assert code == 1 and [(s[0], s[1].rsplit("#")[1]) for s in said(findings)] == [("talks", "hots")]
    write(kb, "other.ttl", "event:other dip:hots actor:russia .\n")
    assert validate(kb, str(talks))[0] == 1 and len(said(validate(kb)[1])) == 2
    assert [s[0] for s in said(validate(kb, str(talks))[1])] == ["talks"]


def test_the_ontologys_versions_the_namespaces_and_the_shapes_are_no_misspelt_terms(kb):
    """A dataset description names them; so does the ontology, as owl:versionIRI."""
    write(kb, "dataset.ttl", """@prefix dct: <http://purl.org/dc/terms/> .
@prefix void: <http://rdfs.org/ns/void#> .
<https://w3id.org/dipkb/kb/dataset> a void:Dataset ;
    dct:conformsTo <https://w3id.org/dipkb/ontology/0.2.0>, <https://w3id.org/dipkb/shapes/required/0.2.0>,
        <https://w3id.org/dipkb/shapes#RoleShape> ;
    void:vocabulary <https://w3id.org/dipkb/ontology#>, <https://w3id.org/dipkb/ontology>,
        <https://w3id.org/dipkb/cameo/>, <https://w3id.org/dipkb/plover/> .
""")
    assert validate(kb) == (0, [])


@pytest.mark.parametrize("typed, meant", [("dip:sourse", "dip:source"), ("dip:Sourse", "dip:Source"),
                                          ("dip:plase", "dip:place"), ("dip:Plase", "dip:Place")])
def test_of_terms_alike_but_for_case_the_one_of_the_typed_kind_is_meant(kb, typed, meant):
    """dip:source and dip:Source both exist: the suggestion changed from run to run."""
    write(kb, "typos.ttl", f"event:talks {typed} actor:russia .\n")
    assert {s[3].rsplit(" ", 1)[1] for s in said(validate(kb)[1])} == {f"{meant}?"}


def test_the_shapes_severity_applies_and_without_the_shape_nothing_is_checked(kb):
    write(kb, "typos.ttl", MEETING.format(type="dip:Meeting", host="dip:host", modality="dip:Occurred")
          + "event:talks dip:hots actor:india .\n")
    shapes = kb / "ontology" / "shapes-required.ttl"
    text = shapes.read_text(encoding="utf-8")
    start = text.index("dsh:DeclaredTermShape a sh:NodeShape")
    shapes.write_text(text[:start] + text[start:].replace("sh:Violation .", "sh:Warning .", 1), encoding="utf-8")
    code, findings = validate(kb)
    assert code == 0 and [(f["severity"], f["path"].rsplit("#")[1]) for f in findings] == [("Warning", "hots")]
    shapes.write_text(text[:start], encoding="utf-8")  # the shape is the file's last
    assert validate(kb) == (0, [])
