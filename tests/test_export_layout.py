"""The export's documented layout, beyond what parsers check: TriG's default graph first, then its
graphs by name, a blank line apart, each written as the Turtle export writes; N-Quads lines in
canonical form; JSON-LD's nodes and their keys in the Turtle export's order."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, parse, serialize
from test_export_formats import exported

from dipkb import KnowledgeBase
from dipkb.views.export import ExportFormat


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.open()


def test_trig_with_derived_writes_the_default_graph_first_then_the_graphs_by_name_a_blank_line_apart(kb):
    text = exported(kb, ExportFormat.TRIG, with_derived=True).decode()
    openings = list(re.finditer(r"^(?:<([^>]+)> )?\{$", text, re.M))
    names = [match[1] for match in openings]
    assert names[0] is None  # the union of every graph, as the default graph
    assert None not in names[1:] and names[1:] == sorted(names[1:]) and len(names) > 3
    assert any(name.startswith("urn:dipkb:derived:") for name in names[1:])
    assert text[:openings[0].start()].endswith(" .\n\n")  # after the prefix header
    for match in openings[1:]:
        assert text[:match.start()].endswith("\n}\n\n")
    assert text.endswith("\n}\n") and text.count("\n}\n") == len(names)


def test_trig_writes_types_as_a_and_datatypes_as_curies_as_turtle_does(kb):
    for fmt in (ExportFormat.TURTLE, ExportFormat.TRIG):
        text = exported(kb, fmt).decode()
        assert " a dip:" in text, fmt
        assert "rdf:type" not in text and "22-rdf-syntax-ns#type" not in text, fmt
        assert "^^xsd:" in text and "^^<http://www.w3.org/2001/XMLSchema#" not in text, fmt


def test_nquads_lines_are_each_quad_in_canonical_n_quads(kb):
    lines = exported(kb, ExportFormat.NQUADS, with_derived=True).split(b"\n")
    assert lines.pop() == b"" and len(lines) > 1000
    for line in lines:
        quads = list(parse(line + b"\n", format=RdfFormat.N_QUADS))
        assert len(quads) == 1 and serialize(quads, format=RdfFormat.N_QUADS) == line + b"\n"


# actor:a-2 extends actor:a, and ex:p sorts before rdf:type: in plain byte order both come first.
ORDER_TTL = """@prefix actor: <https://w3id.org/dipkb/kb/actor/> .
@prefix dip: <https://w3id.org/dipkb/ontology#> .
actor:a-2 <http://example.org/p> "second" ; a dip:State .
actor:a <http://example.org/p> "first" ; a dip:State .
"""


def test_jsonld_nodes_and_their_keys_come_in_the_turtle_exports_order(tmp_path: Path):
    kb_dir = tmp_path / "kbdir"
    kb_dir.mkdir()
    (kb_dir / "data.ttl").write_text(ORDER_TTL, encoding="utf-8")
    kb = KnowledgeBase.open(kb_dir, index=False)
    turtle = exported(kb, ExportFormat.TURTLE).decode()
    assert re.findall(r"^(actor:\S+) a dip:State ;$", turtle, re.M) == ["actor:a", "actor:a-2"]
    nodes = json.loads(exported(kb, ExportFormat.JSONLD))["@graph"]
    assert [node["@id"] for node in nodes] == ["actor:a", "actor:a-2"]
    assert all(list(node)[:2] == ["@id", "@type"] for node in nodes)
