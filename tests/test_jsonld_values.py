"""JSON-LD and RDF/XML exports: each value reads back as the very literal it was, the statements
counted as the other formats count them, and every prefix an element name needs declared, those
only types use included."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, parse

from dipkb import KnowledgeBase
from dipkb.views.export import ExportFormat, export

VALUES_TTL = """@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix actor: <https://w3id.org/dipkb/kb/actor/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
actor:x <http://example.org/plain> "just text" ;
    dip:earliestDay "not a date" ;
    a "a literal, not a class" .
actor:y a skos:Concept ;
    dip:note "skos names this node's class alone" .
"""


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    return KnowledgeBase.open()


@pytest.fixture()
def values_kb(tmp_path: Path) -> KnowledgeBase:
    kb_dir = tmp_path / "kbdir"
    kb_dir.mkdir()
    (kb_dir / "data.ttl").write_text(VALUES_TTL, encoding="utf-8")
    return KnowledgeBase.open(kb_dir, index=False)


def exported(kb: KnowledgeBase, fmt: ExportFormat) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = export(kb, fmt, out).statements
    return out.getvalue(), count


def triples(data: bytes, fmt: RdfFormat) -> set:
    return {quad.triple for quad in parse(data, format=fmt)}


def test_jsonld_and_rdfxml_count_the_statements_turtle_counts(shipped):
    turtle = exported(shipped, ExportFormat.TURTLE)[1]
    assert turtle > 100
    assert exported(shipped, ExportFormat.JSONLD)[1] == exported(shipped, ExportFormat.RDFXML)[1] == turtle


def test_jsonld_writes_each_value_so_that_it_reads_back_as_the_same_literal(values_kb):
    data = exported(values_kb, ExportFormat.JSONLD)[0]
    turtle = triples(exported(values_kb, ExportFormat.TURTLE)[0], RdfFormat.TURTLE)
    assert triples(data, RdfFormat.JSON_LD) == turtle
    node = next(n for n in json.loads(data)["@graph"] if n["@id"] == "actor:x")
    assert node["http://example.org/plain"] == "just text"  # a plain string stays a JSON string
    assert node["dip:earliestDay"] == {"@value": "not a date"}  # not the date the term coerces to
    assert "@type" not in node and node["rdf:type"] == "a literal, not a class"


def test_rdfxml_declares_a_prefix_that_only_a_nodes_class_uses(values_kb):
    data = exported(values_kb, ExportFormat.RDFXML)[0]
    assert b"<skos:Concept " in data
    assert triples(data, RdfFormat.RDF_XML) == triples(exported(values_kb, ExportFormat.TURTLE)[0], RdfFormat.TURTLE)
