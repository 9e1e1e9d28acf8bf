"""`dipkb query`: a CONSTRUCT or DESCRIBE answer gives the KB's literals as the files write them (the
store keeps canonical forms); query files with or without a header; the answers' edges."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, parse

from dipkb.cli import cli
from dipkb.model.namespaces import XSD

pytestmark = pytest.mark.prebuilt_index

PLACE = "https://w3id.org/dipkb/kb/place/hard"
GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"
PREFIXES = """@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix place: <https://w3id.org/dipkb/kb/place/> .
@prefix geo: <http://www.w3.org/2003/01/geo/wgs84_pos#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
HARD = PREFIXES + """place:hard a dip:Place ; rdfs:label "Hard"@en ;
    geo:lat "55.7500"^^xsd:decimal ; geo:long "037.60"^^xsd:decimal ; dip:note "05"^^xsd:integer .
"""
# Another file states the longitude in the canonical form: both forms are the KB's.
ALSO = PREFIXES + 'place:hard geo:long "37.6"^^xsd:decimal .\n'


@pytest.fixture
def hard_kb(kb_copy: Path) -> Path:
    (kb_copy / "kb" / "hard.ttl").write_text(HARD, encoding="utf-8")
    (kb_copy / "kb" / "also.ttl").write_text(ALSO, encoding="utf-8")
    return kb_copy


def query(root: Path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["--kb", str(root), "query", *args], input=stdin)


def triples(text: str) -> set[Triple]:
    return {Triple(q.subject, q.predicate, q.object) for q in parse(text.encode(), format=RdfFormat.N_TRIPLES)}


def decimal(text: str) -> Literal:
    return Literal(text, datatype=NamedNode(XSD + "decimal"))


def test_a_describe_answer_has_every_literal_as_the_files_write_it(hard_kb):
    result = query(hard_kb, f"DESCRIBE <{PLACE}>", "-f", "ntriples")
    assert result.exit_code == 0, result.output
    stated = {Triple(q.subject, q.predicate, q.object)
              for text in (HARD, ALSO) for q in parse(text.encode(), format=RdfFormat.TURTLE)}
    assert triples(result.output) == stated
    assert '"037.60"' in result.output and '"37.6"' in result.output and '"05"' in result.output


def test_a_construct_answer_keeps_a_stated_triples_literal_and_the_stores_form_of_a_made_one(hard_kb):
    text = f"CONSTRUCT {{ ?s geo:lat ?o ; <urn:made> ?o }} WHERE {{ BIND (<{PLACE}> AS ?s) ?s geo:lat ?o }}"
    result = query(hard_kb, text, "-f", "ntriples")
    assert result.exit_code == 0, result.output
    place = NamedNode(PLACE)
    assert triples(result.output) == {Triple(place, NamedNode(GEO + "lat"), decimal("55.7500")),
                                      Triple(place, NamedNode("urn:made"), decimal("55.75"))}


def test_turtle_and_a_table_of_triples_show_the_written_forms_too(hard_kb):
    turtle = query(hard_kb, f"DESCRIBE <{PLACE}>", "-f", "turtle")
    table = query(hard_kb, f"DESCRIBE <{PLACE}>")
    assert '"55.7500"^^xsd:decimal' in turtle.output
    assert "55.7500" in table.output and "55.75 " not in table.output


def test_a_query_file_without_a_header_runs_as_it_is(hard_kb, tmp_path):
    for name in ("places.sparql", "places.rq"):
        path = tmp_path / name
        path.write_text("# every place\nSELECT (COUNT(*) AS ?n) WHERE { ?p a dip:Place }\n", encoding="utf-8")
        result = query(hard_kb, str(path), "-f", "csv")
        assert (result.exit_code, result.output) == (0, "n\n7\n")  # six shipped places and place:hard
        refused = query(hard_kb, str(path), "-p", "actor=Russia")
        assert refused.exit_code == 2 and "declare parameters" in refused.output


def test_a_query_file_with_a_header_takes_its_parameters(hard_kb, tmp_path):
    path = tmp_path / "labelled.sparql"
    path.write_text("# title: A place's label\n# param: place (iri, required)\n"
                    "SELECT ?label WHERE { ?place rdfs:label ?label }\n", encoding="utf-8")
    result = query(hard_kb, str(path), "-p", f"place={PLACE}", "-f", "csv")
    assert (result.exit_code, result.output) == (0, "label\nHard\n")


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_an_empty_query_is_said_to_be_empty(hard_kb, text):
    result = query(hard_kb, "-", stdin=text)
    assert result.exit_code == 2
    assert result.output == "Error: The query is empty: give a SELECT, ASK, CONSTRUCT or DESCRIBE query.\n"


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_an_ask_answer_is_a_line(hard_kb, fmt):
    assert query(hard_kb, "ASK { ?p a dip:Place }", "-f", fmt).output == "true\n"
