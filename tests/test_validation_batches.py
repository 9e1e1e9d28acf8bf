"""A big KB is validated in batches of files (dipkb.shacl.batches), each in a store of its own, with
the findings of the whole KB in one store (and pyshacl's), on a KB whose findings need files of other
batches (a source cited across batches, a subject two batches or two files of one batch describe, a
role declared in another batch's file). Shapes that read further than a batch holds leave the KB to be validated in
one store, and say why (dipkb.shacl.reach)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dipkb.errors import KBSyntaxError
from dipkb.model.namespaces import DCT, RDF, RDFS
from dipkb.shacl import batches
from dipkb.shacl.findings import sort_key
from dipkb.shacl.reach import reach
from dipkb.shacl.shapes import ShapeSet
from dipkb.shacl.validation import Engine, _batched_findings, load_shapes, validate, validate_changed
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout

from test_validation_differential import PLACE, PREFIXES, generate, in_one_store

DIP = "https://w3id.org/dipkb/ontology#"
SHAPES = "https://w3id.org/dipkb/shapes#"
EVENT = "https://w3id.org/dipkb/kb/event/"
DEFAULT = {RDFS + "subClassOf"}  # class targets read the hierarchy from any class


@pytest.fixture(autouse=True)
def _no_kb_from_environment(monkeypatch):
    monkeypatch.delenv("DIPKB_KB", raising=False)


# Each numbered file its own batch (batch_bytes=1): what one needs of another is found only by the check.
EXTRA = {
    # Cites a source of extra-8, published before the meeting; adds a second modality to extra-9's event.
    "extra-7.ttl": """
event:x7 a dip:Meeting ; rdfs:label "Talks"@en ; dip:date "2021-07-01"^^xsd:date ; dip:modality dip:Occurred ;
    dip:host actor:a7 ; dip:visitor actor:b7 ; dip:source source:s8 .
actor:a7 a dip:State ; rdfs:label "A7"@en .
actor:b7 a dip:State ; rdfs:label "B7"@en .
event:x9 dip:modality dip:Planned .
""",
    # The source, and a role whose values must be actors.
    "extra-8.ttl": """@prefix ex: <https://example.org/> .
source:s8 a dip:NewsArticle ; dct:title "Earlier"@en ; dct:issued "2001-02-03"^^xsd:date .
ex:coHost rdfs:subPropertyOf dip:host .
""",
    # A meeting whose co-host is a place: wrong only with extra-8's declaration.
    "extra-9.ttl": """@prefix ex: <https://example.org/> .
event:x9 a dip:Meeting ; rdfs:label "Visit"@en ; dip:date "2021-07-01"^^xsd:date ; dip:modality dip:Occurred ;
    dip:host actor:a9 ; dip:visitor actor:b9 ; ex:coHost place:p9 ; dip:source source:s9 .
actor:a9 a dip:State ; rdfs:label "A9"@en .
actor:b9 a dip:State ; rdfs:label "B9"@en .
place:p9 a dip:Place ; rdfs:label "P9"@en .
source:s9 a dip:NewsArticle ; dct:title "S9"@en ; dct:issued "2021-07-02"^^xsd:date .
""",
    # Literals the store keeps in another form.
    "extra-10.ttl": PLACE.removeprefix(PREFIXES),
    # A source two files of one batch describe (its title in one, its type and day in the other),
    # cited by a later batch: that batch needs both.
    "extra-11.ttl": """
source:s11 dct:title "Told twice"@en .
""",
    "more-11.ttl": """
source:s11 a dip:NewsArticle ; dct:issued "2001-02-03"^^xsd:date .
""",
    "extra-12.ttl": """
event:x12 a dip:Meeting ; rdfs:label "Talks"@en ; dip:date "2021-07-01"^^xsd:date ; dip:modality dip:Occurred ;
    dip:host actor:a12 ; dip:visitor actor:b12 ; dip:source source:s11 .
actor:a12 a dip:State ; rdfs:label "A12"@en .
actor:b12 a dip:State ; rdfs:label "B12"@en .
""",    # A file without a number, checked first, that adds to extra-12's event: its batch reports the
    # event, so it reads the event's source, from the files of a third batch.
    "links.ttl": """
event:x12 dip:relatedTo event:x7 .
""",
    # A misspelt class and role of extra-7's event, which extra-7's batch reports: its store must see them.
    "extra-13.ttl": """
event:x7 a dip:Meting ; dip:attende actor:a7 .
""",
}


def across_batches(tmp_path: Path, seed: int, states: int = 20) -> KBLayout:
    """A generated KB with faults, and the files above."""
    generate(tmp_path, seed, states=states)
    for name, text in EXTRA.items():
        (tmp_path / "kb" / name).write_text(PREFIXES + text, encoding="utf-8")
    return KBLayout.locate(tmp_path)


@pytest.mark.parametrize("seed, engine", [(1, Engine.PYSHACL), (2, Engine.SPARQL)])
def test_batches_find_what_one_store_finds_over_the_whole_kb(tmp_path, seed, engine):
    layout = across_batches(tmp_path, seed)
    plan = batches._plan(layout.kb_files(), 1)
    assert [[p.name for p in batch] for batch in plan][-6:] == [
        ["extra-8.ttl"], ["extra-9.ttl"], ["extra-10.ttl"], ["extra-11.ttl", "more-11.ttl"],
        ["extra-12.ttl"], ["extra-13.ttl"]]
    found = _batched_findings(layout, layout.kb_files(), batch_bytes=1)
    assert found is not None
    reference = validate(layout, engine=engine).findings
    assert sorted(found, key=sort_key) == reference
    shown = {(f.focus.removeprefix(EVENT), f.shape.removeprefix(SHAPES)) for f in reference}
    assert {("x7", "EventNotAfterSourceShape"),  # the source is in extra-8
            ("x9", "EventModalityShape"),  # two modalities, one in extra-7: reported once
            ("x9", "ActorReferenceShape"),  # ex:coHost's range, from extra-8
            ("x12", "EventNotAfterSourceShape"),  # the source's day is in more-11, its title in extra-11
            ("x7", "DeclaredTermShape"),  # dip:Meting and dip:attende, in extra-13
            } <= shown


@pytest.mark.parametrize("workers, sizes", [
    (1, [40, 30, 30, 30]),  # four batches of at most 40 bytes, as even as the files allow
    (2, [40, 30, 30, 30]),
    (3, [30, 20, 20, 20, 20, 20]),  # six: two for each worker
])
def test_batches_are_as_many_as_the_workers_share_evenly(tmp_path, workers, sizes):
    for name, size in [("actors.nt", 100), *((f"events-{n:05}.nt", 5) for n in range(1, 14)),
                       *((f"sources-{n:05}.nt", 5) for n in range(1, 14))]:
        (tmp_path / name).write_bytes(b"x" * size)
    plan = batches._plan(sorted(tmp_path.iterdir()), 40, workers)
    assert [p.name for p in plan[0]] == ["actors.nt"]  # those without a number, first and alone
    assert [sum(p.stat().st_size for p in batch) for batch in plan[1:]] == sizes
    for batch in plan[1:]:  # files numbered alike together
        assert {p.name.replace("events", "sources") for p in batch} == {p.name for p in batch if "sources" in p.name}


def test_validate_checks_a_kb_of_twice_the_batch_size_in_batches(tmp_path, monkeypatch):
    layout = across_batches(tmp_path, 2)
    one_store = validate(layout)
    calls = []

    def counted(*args, **kwargs):
        calls.append(len(batches._plan(args[1], kwargs["batch_bytes"])))
        return real(*args, **kwargs)
    real = batches.findings
    monkeypatch.setattr(batches, "findings", counted)
    monkeypatch.setattr(batches, "BATCH_BYTES", sum(p.stat().st_size for p in layout.kb_files()) // 8)
    assert validate(layout) == one_store
    assert calls and calls[0] > 2


def test_batches_report_every_file_that_does_not_parse_in_the_kbs_order(tmp_path):
    layout = across_batches(tmp_path, 1)
    for name in ("extra-7.ttl", "events-00001.ttl", "extra-9.ttl"):
        with (tmp_path / "kb" / name).open("a", encoding="utf-8") as file:
            file.write("\nevent:broken dip:date .\n")
    with pytest.raises(KBSyntaxError) as whole:
        validate(layout, engine=Engine.SPARQL)  # a small KB: one store
    with pytest.raises(KBSyntaxError) as batched:
        _batched_findings(layout, layout.kb_files(), batch_bytes=1)
    assert batched.value.problems == whole.value.problems
    assert len(whole.value.problems) == 3


# --- What the shapes read, and when batches cannot hold it -------------------------------------------


def with_shape(tmp_path: Path, shape: str, *, data: bool = True, states: int = 20) -> KBLayout:
    """A KB whose ontology has one more shapes file: a generated one (seed 1) and the files above, or
    none (``data`` False)."""
    if data:
        across_batches(tmp_path, 1, states)
    else:
        (tmp_path / "kb").mkdir()
    ontology = tmp_path / "ontology"
    shutil.copytree(KBLayout.locate().ontology_dir, ontology)
    (ontology / "shapes-extra.ttl").write_text(PREFIXES + "@prefix ex: <https://example.org/> .\n" + shape,
                                               encoding="utf-8")
    return KBLayout.locate(tmp_path)


def test_the_shipped_shapes_read_no_further_than_a_value_and_the_schema():
    reads = reach(ShapeSet(load_shapes(KBLayout.locate())))
    assert reads.local
    assert reads.everywhere == {RDFS + "subClassOf", RDFS + "subPropertyOf", RDFS + "range"}


def sparql_shape(body: str) -> str:
    return f"""ex:S a sh:NodeShape ; sh:targetClass dip:Event ; sh:message "m" ;
    sh:sparql [ a sh:SPARQLConstraint ; sh:select \"\"\"SELECT $this WHERE {{ {body} }}\"\"\" ] ."""


@pytest.mark.parametrize("body, local, everywhere", [
    ("$this <https://w3id.org/dipkb/ontology#source>/<http://purl.org/dc/terms/issued> ?d", True, set()),
    ("$this <urn:p> ?v . ?v ?anything ?w", True, set()),
    ("$this <urn:p> ?v OPTIONAL { ?v <urn:q> ?w }", True, set()),
    ("$this <urn:p> ?v FILTER NOT EXISTS { ?v <urn:q> ?w }", True, set()),
    ("$this <urn:p> ?v . ?v <urn:q> ?w . ?w <urn:r> ?x", True, {"urn:r"}),  # two triples away
    ("?x <urn:p> $this", True, {"urn:p"}),  # what points at the node may be anywhere
    ("$this ^<urn:p> ?x", True, {"urn:p"}),
    ("$this <urn:p>+ ?x", True, {"urn:p"}),
    ("{ $this <urn:p> ?v } UNION { ?other <urn:q> ?v }", True, {"urn:q"}),
    ("FILTER NOT EXISTS { ?v <urn:q> ?w }", True, {"urn:q"}),  # ?v is anything there
    ("BIND (<urn:c> AS ?c) ?c <urn:q> ?w", True, {"urn:q"}),
    ("<urn:c> <urn:q> ?w", True, {"urn:q"}),
    ("$this <urn:p> ?v . ?v <urn:q> ?w . ?w ?any ?x", False, set()),
    ("?x ?any $this", False, set()),
    ("GRAPH ?g { $this <urn:p> ?v }", False, set()),
    ("$this !<urn:p> ?v", True, set()),  # the node's own triples, whatever their predicate
    ("$this <urn:p> ?v . ?v <urn:q> ?w . ?w !<urn:p> ?x", False, set()),
    ("$this !^<urn:p> ?v", False, set()),
])
def test_what_a_sparql_constraint_reads_is_read_from_its_algebra(tmp_path, body, local, everywhere):
    shipped = reach(ShapeSet(load_shapes(KBLayout.locate())))
    reads = reach(ShapeSet(load_shapes(with_shape(tmp_path, sparql_shape(body), data=False))))
    assert reads.local is local
    if local:
        assert reads.everywhere == shipped.everywhere | everywhere


def test_a_nested_shape_on_a_values_value_reads_its_types_anywhere(tmp_path):
    layout = with_shape(tmp_path, PUBLISHED, data=False)
    assert RDF + "type" in reach(ShapeSet(load_shapes(layout))).everywhere


# Reads the type of a source's publisher, two triples from the event.
PUBLISHED = """ex:SourcePublisher a sh:PropertyShape ; sh:targetClass dip:Event ; sh:severity sh:Warning ;
    sh:message "Published by an organisation." ; sh:path dip:source ; sh:node ex:Published .
ex:Published a sh:NodeShape ; sh:property ex:PublishedBy .
ex:PublishedBy a sh:PropertyShape ; sh:path dct:publisher ; sh:class dip:Organisation .
"""


@pytest.mark.parametrize("shape", [
    PUBLISHED,  # every file has rdf:type triples
    # Any predicate of anything pointing at the event.
    sparql_shape("?x ?any $this . ?x <https://w3id.org/dipkb/ontology#nothing> ?y"),
])
def test_shapes_reading_beyond_a_batch_leave_the_kb_to_one_store(tmp_path, shape):
    layout = with_shape(tmp_path, shape)
    assert _batched_findings(layout, layout.kb_files(), batch_bytes=1) is None
    assert validate(layout, engine=Engine.SPARQL).findings == validate(layout, engine=Engine.PYSHACL).findings


def test_a_shape_reading_a_predicate_anywhere_puts_its_files_in_every_batch(tmp_path):
    # dct:issued read about any node: every file holding one joins every batch, as the check finds.
    # In a world of 200 states, whose actors file outweighs the sources every batch fetches again.
    layout = with_shape(tmp_path, states=200, shape="""ex:S a sh:NodeShape ; sh:targetClass dip:Meeting ; sh:severity sh:Warning ;
    sh:message "A meeting on a day a source was issued." ;
    sh:sparql [ a sh:SPARQLConstraint ; sh:select \"\"\"SELECT $this ?value WHERE {
        $this <https://w3id.org/dipkb/ontology#date> ?value . ?any <http://purl.org/dc/terms/issued> ?value }\"\"\" ] .
""")
    assert DCT + "issued" in reach(ShapeSet(load_shapes(layout))).everywhere
    (tmp_path / "kb" / "extra-11.ttl").write_text(PREFIXES + """
event:x11 a dip:Meeting ; rdfs:label "On the day"@en ; dip:date "2001-02-03"^^xsd:date ; dip:modality dip:Planned ;
    dip:host actor:a11 ; dip:visitor actor:b11 ; dip:source source:s11 .
actor:a11 a dip:State ; rdfs:label "A11"@en .
actor:b11 a dip:State ; rdfs:label "B11"@en .
source:s11 a dip:NewsArticle ; dct:title "S11"@en ; dct:issued "2021-07-02"^^xsd:date .
""", encoding="utf-8")
    found = _batched_findings(layout, layout.kb_files(), batch_bytes=1)
    assert found is not None
    # One store; the SPARQL engine's SHACL-SPARQL against pyshacl's: the test above.
    reference = validate(layout, engine=Engine.SPARQL).findings
    assert sorted(found, key=sort_key) == reference
    # Only extra-8's source was issued that day, and nothing of extra-11 refers to extra-8.
    assert EVENT + "x11" in [f.focus for f in reference if f.shape == "https://example.org/S"]


# --- Incremental validation reads what the shapes read ---------------------------------------------------


def test_a_changed_file_is_validated_with_the_files_a_super_propertys_range_is_in(tmp_path):
    # extra-8 says ex:coHost is a sub-property of ex:role; extra-12 gives ex:role its range; extra-9
    # uses ex:coHost. Neither extra-12 nor ex:role is one triple away from extra-9's subjects.
    layout = across_batches(tmp_path, 1)
    (tmp_path / "kb" / "extra-8.ttl").write_text(PREFIXES + """@prefix ex: <https://example.org/> .
source:s8 a dip:NewsArticle ; dct:title "Earlier"@en ; dct:issued "2001-02-03"^^xsd:date .
ex:coHost rdfs:subPropertyOf ex:role .
""", encoding="utf-8")
    (tmp_path / "kb" / "extra-12.ttl").write_text(PREFIXES + """@prefix ex: <https://example.org/> .
ex:role rdfs:range dip:Actor .
""", encoding="utf-8")
    changed = [tmp_path / "kb" / "extra-9.ttl"]
    with KnowledgeBase.open(layout=layout) as kb:
        found = validate_changed(kb, changed)
    assert found == in_one_store(layout, changed)
    assert (EVENT + "x9", SHAPES + "ActorReferenceShape") in {(f.focus, f.shape) for f in found.findings}


def test_a_changed_file_is_validated_with_every_file_a_shape_reads_anywhere(tmp_path):
    # PUBLISHED reads the type of a source's publisher, described in a file two triples away: every
    # file with rdf:type triples is read.
    layout = with_shape(tmp_path, PUBLISHED)
    (tmp_path / "kb" / "extra-8.ttl").write_text(PREFIXES + """
source:s8 a dip:NewsArticle ; dct:title "Earlier"@en ; dct:issued "2001-02-03"^^xsd:date ;
    dct:publisher actor:press .
""", encoding="utf-8")
    (tmp_path / "kb" / "extra-13.ttl").write_text(PREFIXES + """
actor:press a dip:MediaOrganisation ; rdfs:label "The press"@en .
""", encoding="utf-8")
    changed = [tmp_path / "kb" / "extra-7.ttl"]
    with KnowledgeBase.open(layout=layout) as kb:
        found = validate_changed(kb, changed)
    assert found == in_one_store(layout, changed)
    assert found.findings and not any(f.shape.endswith("SourcePublisher") for f in found.findings)


def test_a_changed_file_is_validated_in_the_whole_kb_when_the_shapes_read_anything(tmp_path):
    # Any predicate of whatever points at an event: only the whole KB can say.
    layout = with_shape(tmp_path, sparql_shape('?x ?any $this FILTER(STRSTARTS(STR(?x), "https://example.org/"))'))
    (tmp_path / "kb" / "extra-13.ttl").write_text(PREFIXES + """@prefix ex: <https://example.org/> .
ex:thing ex:points event:x7 .
""", encoding="utf-8")
    assert not reach(ShapeSet(load_shapes(layout))).local
    changed = [tmp_path / "kb" / "extra-7.ttl"]
    with KnowledgeBase.open(layout=layout) as kb:
        found = validate_changed(kb, changed)
    assert found == in_one_store(layout, changed)
    assert (EVENT + "x7", "https://example.org/S") in {(f.focus, f.shape) for f in found.findings}
