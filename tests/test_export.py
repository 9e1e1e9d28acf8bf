"""Export: every format parses with rapper, serdi, pyoxigraph and rdflib, holds exactly the KB's own
triples, and is byte-identical from run to run."""
import io
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
import rdflib.compare
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, parse, serialize

from dipkb import KnowledgeBase
from dipkb.model.namespaces import DERIVED_GRAPH, DIP, PREFIXES, RDF
from dipkb.store.derivation import is_derived_graph
from dipkb.views.export import ExportFormat, export
from dipkb.views.render import OutputFormat, UnsupportedFormat, choose_format
from processes import ends_within

rdflib.NORMALIZE_LITERALS = False  # compare lexical forms as written, not as rdflib would normalise them

ROOT = Path(__file__).resolve().parent.parent
OX_FORMAT = {ExportFormat.TURTLE: RdfFormat.TURTLE, ExportFormat.NTRIPLES: RdfFormat.N_TRIPLES,
             ExportFormat.NQUADS: RdfFormat.N_QUADS, ExportFormat.TRIG: RdfFormat.TRIG,
             ExportFormat.RDFXML: RdfFormat.RDF_XML}
RDFLIB_FORMAT = {ExportFormat.TURTLE: "turtle", ExportFormat.NTRIPLES: "nt",
                 ExportFormat.NQUADS: "nquads", ExportFormat.TRIG: "trig"}
MERGED = [ExportFormat.TURTLE, ExportFormat.NTRIPLES]
# The formats built by dipkb's own writer; JSON-LD and RDF/XML have tests/test_export_formats.py.
TEXT_FORMATS = [ExportFormat.TURTLE, ExportFormat.NTRIPLES, ExportFormat.NQUADS, ExportFormat.TRIG]
WITH_GRAPHS = [ExportFormat.NQUADS, ExportFormat.TRIG]
OWL_CLASS = NamedNode("http://www.w3.org/2002/07/owl#Class")
TYPE = NamedNode(RDF + "type")

TRICKY_TTL = r'''
@prefix ex: <http://example.org/> .
@prefix actor: <https://w3id.org/dipkb/kb/actor/> .
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:thing ex:quote "He said \"no\" and left" ;
    ex:multi """line one
line two with a \\ backslash and a tab\t""" ;
    ex:triple "three quotes: \"\"\" inside" ;
    ex:unicode "Kabul – کابل – 𝄞 – naïve" ;
    ex:tagged "colour"@en-GB ;
    ex:year "1996"^^xsd:gYear ;
    ex:control "nul \u0000 soh \u0001 end" ;
    ex:angle "a > b < c" ;
    ex:fake " <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> " .
actor:a a dip:State ; dip:actsFor actor:a-2 .
actor:a-2 dip:note "x" .
actor:a.b dip:note "y" .
<https://w3id.org/dipkb/kb/actor/a/b> dip:note "z" .
<https://w3id.org/dipkb/kb/actor/a.> dip:note "dot" .
<https://w3id.org/dipkb/kb/actor/q?x=1> dip:note "w" .
'''

BLANK_TTL = '''
@prefix ex: <http://example.org/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:shape sh:property [ sh:path ex:date ; sh:or ( [ sh:datatype xsd:date ] [ sh:datatype xsd:gYear ] ) ] .
ex:s ex:p [ ex:q 1 ], [ ex:q 1 ], [ ex:q 2 ] .
ex:t ex:p _:loop . _:loop ex:q _:loop .
'''


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} must be installed for these tests (apt-get install raptor2-utils serdi)"
    return path


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.open()


def exported(kb: KnowledgeBase, fmt: ExportFormat, **options) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = export(kb, fmt, out, **options).statements
    return out.getvalue(), count


def ox_quads(data: bytes, fmt: ExportFormat) -> set[Quad]:
    return set(parse(data, format=OX_FORMAT[fmt]))


def ox_triples(data: bytes, fmt: ExportFormat):
    return {quad.triple for quad in ox_quads(data, fmt)}


def rdflib_graph(data: bytes, fmt: ExportFormat) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(data=data, format=RDFLIB_FORMAT[fmt])
    return graph


def rdflib_union(data: bytes, fmt: ExportFormat) -> rdflib.Graph:
    """What rdflib reads from an export, all graphs merged into one."""
    if not fmt.keeps_graphs:
        return rdflib_graph(data, fmt)
    dataset = rdflib.Dataset()
    dataset.parse(data=data, format=RDFLIB_FORMAT[fmt])
    whole = rdflib.Graph()
    for graph in dataset.graphs():
        whole += graph
    return whole


def rdflib_graph_of_quads(quads) -> rdflib.Graph:
    """The quads' triples as one rdflib graph, by way of N-Triples."""
    return rdflib_graph(serialize([q.triple for q in quads], format=RdfFormat.N_TRIPLES), ExportFormat.NTRIPLES)


def lowercase_language_tags(graph: rdflib.Graph) -> rdflib.Graph:
    """Oxigraph stores language tags in lower case (RDF compares them case-insensitively); rdflib
    keeps the case as written and its isomorphism test compares it."""
    lowered = rdflib.Graph()
    for s, p, o in graph:
        if isinstance(o, rdflib.Literal) and o.language:
            o = rdflib.Literal(str(o), lang=o.language.lower())
        lowered.add((s, p, o))
    return lowered


def written_quads(kb: KnowledgeBase) -> list[Quad]:
    """The KB files' triples as the files write them (the store holds some literals in canonical
    form: "1000"^^xsd:nonNegativeInteger as xsd:integer), each in its file's graph."""
    return [Quad(*quad.triple, NamedNode(kb.layout.graph_name(path))) for path in kb.layout.kb_files()
            for quad in parse(path=str(path), format=RdfFormat.TURTLE, base_iri="https://w3id.org/dipkb/kb/")]


def write_kb(tmp_path: Path, text: str, name: str = "data.ttl") -> Path:
    kb_dir = tmp_path / "kbdir"
    kb_dir.mkdir(exist_ok=True)
    (kb_dir / name).write_text(text, encoding="utf-8")
    return kb_dir


def independent_counts() -> tuple[int, int]:
    """Statements (per file) and distinct triples of kb/*.ttl, counted by rdflib from the files."""
    per_file, merged = 0, rdflib.Graph()
    for path in sorted((ROOT / "kb").rglob("*.ttl")):
        graph = rdflib.Graph().parse(path, format="turtle")
        per_file += len(graph)
        merged += graph
    return per_file, len(merged)


# --- every format, the shipped KB ------------------------------------------------------------


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_every_format_exports_the_shipped_kb_with_the_right_count(kb, fmt):
    data, count = exported(kb, fmt)
    statements, triples = independent_counts()
    assert count == (statements if fmt.keeps_graphs else triples)
    parsed = ox_quads(data, fmt)
    assert len(parsed) == count
    assert count > 400  # the shipped KB, not an empty export


def rapper_count(data: bytes, fmt: ExportFormat) -> int:
    """The number of triples rapper reads, failing on any error or warning."""
    command = [tool("rapper"), "-i", fmt.value, "-c", "-", "http://example.org/base"]
    result = subprocess.run(command, input=data, capture_output=True, text=False)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "Error" not in stderr and "Warning" not in stderr, stderr
    return int(re.search(r"Parsing returned (\d+) triples", stderr).group(1))


def serdi_count(data: bytes, fmt: ExportFormat) -> int:
    """The number of statements serdi reads (in strict mode), failing on any error."""
    output = "nquads" if fmt.keeps_graphs else "ntriples"
    result = subprocess.run([tool("serdi"), "-i", fmt.value, "-o", output, "-"], input=data, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    return len(result.stdout.splitlines())


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_rapper_and_serdi_parse_every_format_with_the_same_count(kb, fmt):
    data, count = exported(kb, fmt)
    assert rapper_count(data, fmt) == count
    assert serdi_count(data, fmt) == count
    with_ontology, count = exported(kb, fmt, with_ontology=True)
    assert rapper_count(with_ontology, fmt) == count
    assert serdi_count(with_ontology, fmt) == count


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_export_holds_exactly_the_kb_own_triples(kb, fmt):
    data, _ = exported(kb, fmt)
    own = written_quads(kb)
    if fmt.keeps_graphs:
        assert ox_quads(data, fmt) == set(own)  # each file keeps its graph name
    else:
        assert ox_triples(data, fmt) == {q.triple for q in own}


@pytest.mark.parametrize("fmt", MERGED)
def test_rdflib_reads_back_a_graph_isomorphic_to_the_kb(kb, fmt):
    data, _ = exported(kb, fmt)
    assert rdflib.compare.isomorphic(rdflib_graph(data, fmt), rdflib_graph_of_quads(written_quads(kb)))


@pytest.mark.parametrize("fmt", WITH_GRAPHS)
def test_rdflib_reads_back_every_file_graph(kb, fmt):
    data, _ = exported(kb, fmt)
    dataset = rdflib.Dataset()
    dataset.parse(data=data, format=RDFLIB_FORMAT[fmt])
    own = written_quads(kb)
    names = sorted({q.graph_name.value for q in own})
    assert names and all(name.startswith("urn:dipkb:file:kb/") for name in names)
    assert sorted(str(g.identifier) for g in dataset.graphs() if len(g)) == names
    for name in names:
        expected = rdflib_graph_of_quads(q for q in own if q.graph_name.value == name)
        assert rdflib.compare.isomorphic(dataset.graph(rdflib.URIRef(name)), expected), name


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_derived_triples_never_reach_an_export(kb, fmt):
    derived = {q for q in kb.store if is_derived_graph(q.graph_name)}
    derived_participants = {q.triple for q in derived if q.predicate.value == DIP + "participant"}
    authored = {q.triple for q in kb.data_quads()}
    assert derived_participants - authored, "the shipped KB should have derived participants to leave out"
    assert any(q.predicate.value == DIP + "earliestDay" for q in derived)

    data, _ = exported(kb, fmt)
    triples = ox_triples(data, fmt)
    predicates = {t.predicate.value for t in triples}
    assert DIP + "earliestDay" not in predicates and DIP + "latestDay" not in predicates
    assert not (derived_participants - authored) & triples
    assert DERIVED_GRAPH.encode() not in data


# --- determinism and layout ------------------------------------------------------------------


def test_repeated_export_is_byte_identical(kb):
    for fmt in ExportFormat:  # every format, JSON-LD and RDF/XML too
        assert exported(kb, fmt) == exported(kb, fmt)
        assert exported(KnowledgeBase.open(), fmt) == exported(kb, fmt)


EXPORT_ALL = """
import sys
from dipkb import KnowledgeBase
from dipkb.views.export import ExportFormat, export
from dipkb.views.jsonld import ExportSyntaxError
from dipkb.views.render import OutputFormat, UnsupportedFormat, choose_format
kb = KnowledgeBase.open(sys.argv[1] if len(sys.argv) > 1 else None)
for fmt in ExportFormat:
    for with_ontology in (False, True):
        try:
            export(kb, fmt, sys.stdout.buffer, with_ontology=with_ontology)
        except ExportSyntaxError as error:  # RDF/XML and a control character: refused the same way each time
            sys.stdout.buffer.write(str(error).encode())
        sys.stdout.buffer.write(b"\\n=====\\n")
"""


def export_in_subprocess(seed: str, *args: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    # In the working directory: the session's copy of the shipped KB, not the checkout.
    result = subprocess.run([sys.executable, "-c", EXPORT_ALL, *args], capture_output=True, env=env)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def test_export_is_byte_identical_across_processes_with_different_hash_seeds(kb):
    first, second = export_in_subprocess("1"), export_in_subprocess("2")
    assert first == second
    assert first.count(b"\n=====\n") == 2 * len(ExportFormat)
    assert exported(kb, ExportFormat.TURTLE)[0] in first


# A process that starts the export's workers, prints one's PID and is killed: nothing can clean up after it.
KILLED_WITH_WORKERS = """
import os, signal
from dipkb.views.export import converters
pool = converters(2)
print(pool.submit(os.getpid).result(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_export_leaves_no_worker_process_behind():
    result = subprocess.run([sys.executable, "-c", KILLED_WITH_WORKERS], capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr[-500:]
    worker = int(result.stdout)
    assert ends_within(worker, 10)


def test_turtle_is_readable_grouped_and_sorted(kb):
    text = exported(kb, ExportFormat.TURTLE)[0].decode()
    header, _, body = text.partition("\n\n")
    declared = re.findall(r"^@prefix (\w+): <([^>]*)> \.$", header, re.M)
    assert [p for p, _ in declared] == sorted(p for p, _ in declared)
    assert all(PREFIXES[p] == ns for p, ns in declared)
    used = set(re.findall(r"(?<![\w<\"@])(\w+):[\w-]", body)) & set(PREFIXES)
    assert {p for p, _ in declared} == used  # every prefix used, no unused one
    assert "<https://w3id.org/dipkb/kb/" not in body  # the KB's own IRIs are all written as CURIEs

    blocks = body.rstrip("\n").split("\n\n")
    subjects = []
    for block in blocks:
        lines = block.split("\n")
        assert not lines[0].startswith(" ") and all(line.startswith("    ") for line in lines[1:])
        assert block.endswith(" .")
        subject, predicate = lines[0].split(" ")[:2]
        subjects.append(PREFIXES[subject.split(":")[0]] + subject.split(":", 1)[1])
        assert predicate == "a"  # every subject of the shipped KB has a type, and it comes first
        assert not any(line.startswith("    a ") for line in lines[1:])
    assert subjects == sorted(subjects) and len(subjects) == len(set(subjects))
    assert 'skos:altLabel "Afghan government troops"@en, "Afghan security personnel"@en ;' in body


def test_ntriples_and_nquads_are_sorted_unique_lines(kb):
    for fmt in (ExportFormat.NTRIPLES, ExportFormat.NQUADS):
        data = exported(kb, fmt)[0]
        lines = data.split(b"\n")
        assert lines.pop() == b""
        assert lines == sorted(set(lines))  # what LC_ALL=C sort -u gives


def test_trig_has_one_block_per_file_graph(kb):
    text = exported(kb, ExportFormat.TRIG)[0].decode()
    graphs = re.findall(r"^<(urn:dipkb:file:[^>]+)> \{$", text, re.M)
    assert graphs == sorted({q.graph_name.value for q in kb.data_quads()})
    assert text.count("\n}\n") == len(graphs)


# --- with the ontology ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_with_ontology_adds_the_ontology(kb, fmt):
    plain, plain_count = exported(kb, fmt)
    data, count = exported(kb, fmt, with_ontology=True)
    event_class = Quad(NamedNode(DIP + "Event"), TYPE, OWL_CLASS,
                       NamedNode("urn:dipkb:file:ontology/dipkb.ttl"))
    assert event_class.triple not in ox_triples(plain, fmt)
    if fmt.keeps_graphs:
        assert event_class in ox_quads(data, fmt)  # in the ontology file's own graph
        ontology = {q for q in kb.store if q.graph_name.value.startswith("urn:dipkb:file:ontology/")}
        shapes = [list(parse(path=str(path), format=RdfFormat.TURTLE)) for path in kb.layout.shapes_files()]
        assert count == plain_count + len(ontology) + sum(map(len, shapes))
        names = {q.graph_name.value for q in ox_quads(data, fmt)}
        assert {f"urn:dipkb:file:ontology/{path.name}" for path in kb.layout.shapes_files()} <= names
    else:
        assert event_class.triple in ox_triples(data, fmt)
    assert count > plain_count


def test_with_ontology_includes_shapes_files_as_graphs_and_stays_deterministic(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    (root / "ontology" / "shapes-test.ttl").write_text(BLANK_TTL, encoding="utf-8")
    (root / "kb").mkdir()
    (root / "kb" / "data.ttl").write_text(TRICKY_TTL, encoding="utf-8")
    kb = KnowledgeBase.open(root)
    data, _ = exported(kb, ExportFormat.NQUADS, with_ontology=True)
    shapes = {q for q in ox_quads(data, ExportFormat.NQUADS)
              if q.graph_name.value == "urn:dipkb:file:ontology/shapes-test.ttl"}
    assert len(shapes) == len(list(parse(BLANK_TTL.encode(), format=RdfFormat.TURTLE)))
    assert not any(q.predicate.value.startswith("http://www.w3.org/ns/shacl#")
                   for q in ox_quads(exported(kb, ExportFormat.NQUADS)[0], ExportFormat.NQUADS))
    assert export_in_subprocess("3", str(root)) == export_in_subprocess("4", str(root))


# --- tricky literals, IRIs and blank nodes ----------------------------------------------------


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_tricky_literals_round_trip_exactly(tmp_path, fmt):
    kb = KnowledgeBase.open(write_kb(tmp_path, TRICKY_TTL))
    data, count = exported(kb, fmt)
    ex = "http://example.org/"
    values = {t.predicate.value[len(ex):]: t.object for t in ox_triples(data, fmt) if t.subject.value == ex + "thing"}
    assert values == {
        "quote": Literal('He said "no" and left'),
        "multi": Literal("line one\nline two with a \\ backslash and a tab\t"),
        "triple": Literal('three quotes: """ inside'),
        "unicode": Literal("Kabul – کابل – 𝄞 – naïve"),
        "tagged": Literal("colour", language="en-gb"),  # Oxigraph keeps language tags in lower case
        "year": Literal("1996", datatype=NamedNode("http://www.w3.org/2001/XMLSchema#gYear")),
        "control": Literal("nul \x00 soh \x01 end"),
        "angle": Literal("a > b < c"),
        "fake": Literal(f" <{TYPE.value}> "),
    }
    assert ox_quads(data, fmt) == (set(kb.data_quads()) if fmt.keeps_graphs else {
        Quad(q.subject, q.predicate, q.object) for q in kb.data_quads()})
    source = lowercase_language_tags(rdflib.Graph().parse(data=TRICKY_TTL, format="turtle"))
    assert rdflib.compare.isomorphic(rdflib_union(data, fmt), source)
    assert count == len(source) == rapper_count(data, fmt) == serdi_count(data, fmt)


def test_turtle_sorts_subjects_by_iri_and_writes_curies_only_when_safe(tmp_path):
    kb = KnowledgeBase.open(write_kb(tmp_path, TRICKY_TTL))
    text = exported(kb, ExportFormat.TURTLE)[0].decode()
    subjects = [line.split(" ")[0] for line in text.split("\n") if line and not line.startswith(("@", " "))]
    assert subjects == [
        "<http://example.org/thing>",  # "http:" sorts before "https"
        "actor:a",
        "actor:a-2",  # right after actor:a, which it extends, although '-' sorts before '>'
        "<https://w3id.org/dipkb/kb/actor/a.>",  # a CURIE cannot end with a dot
        "actor:a.b",
        "<https://w3id.org/dipkb/kb/actor/a/b>",
        "<https://w3id.org/dipkb/kb/actor/q?x=1>",
    ]
    assert "actor:a a dip:State ;\n    dip:actsFor actor:a-2 .\n" in text
    assert '"1996"^^xsd:gYear' in text
    # rdf:type is written 'a' and ex: is not a dipkb prefix, so neither is declared.
    assert re.findall(r"^@prefix (\w+):", text, re.M) == ["actor", "dip", "xsd"]


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_blank_nodes_round_trip_with_labels_stable_across_processes(tmp_path, fmt):
    kb_dir = write_kb(tmp_path, BLANK_TTL, "a.ttl")
    (kb_dir / "b.ttl").write_text(BLANK_TTL, encoding="utf-8")  # the same structure twice: a tie to break
    kb = KnowledgeBase.open(kb_dir)
    data, count = exported(kb, fmt)
    own = kb.data_quads()
    assert any(isinstance(q.subject, BlankNode) for q in own)
    # Blank nodes of two files are distinct nodes: nothing merges, even in Turtle.
    assert count == len(own)
    assert rdflib.compare.isomorphic(rdflib_union(data, fmt), rdflib_graph_of_quads(own))
    if fmt.keeps_graphs:
        assert {q.graph_name for q in ox_quads(data, fmt)} == {q.graph_name for q in own}
    assert export_in_subprocess("5", str(kb_dir)) == export_in_subprocess("6", str(kb_dir))


def test_a_triple_stated_in_two_files_is_written_once_when_graphs_merge(tmp_path):
    kb_dir = write_kb(tmp_path, '<http://example.org/s> <http://example.org/p> "shared", "a" .\n', "a.ttl")
    (kb_dir / "b.ttl").write_text('<http://example.org/s> <http://example.org/p> "shared", "b" .\n')
    kb = KnowledgeBase.open(kb_dir)
    assert exported(kb, ExportFormat.NTRIPLES)[1] == exported(kb, ExportFormat.TURTLE)[1] == 3
    assert exported(kb, ExportFormat.NQUADS)[1] == exported(kb, ExportFormat.TRIG)[1] == 4
    assert exported(kb, ExportFormat.TURTLE)[0] == b'<http://example.org/s> <http://example.org/p> "a", "b", "shared" .\n'


def test_empty_kb_exports_nothing(tmp_path):
    kb = KnowledgeBase.open(write_kb(tmp_path, "# nothing yet\n"))
    for fmt in TEXT_FORMATS:
        assert exported(kb, fmt) == (b"", 0)
    # JSON-LD and RDF/XML have a document around the triples even when there are none.
    assert ox_quads(exported(kb, ExportFormat.RDFXML)[0], ExportFormat.RDFXML) == set()
    assert b'"@graph": []' in exported(kb, ExportFormat.JSONLD)[0]


EXPORT_FORMATS = [OutputFormat(f.value) for f in ExportFormat]


@pytest.mark.parametrize("name, fmt", [
    ("out.ttl", OutputFormat.TURTLE), ("dir/out.nt", OutputFormat.NTRIPLES), ("OUT.NQ", OutputFormat.NQUADS),
    ("a.b.trig", OutputFormat.TRIG), ("out.jsonld", OutputFormat.JSONLD), ("out.RDF", OutputFormat.RDFXML),
    ("out", OutputFormat.TURTLE),  # no extension: the command's default
])
def test_export_format_is_guessed_from_the_extension(name, fmt):
    assert choose_format(EXPORT_FORMATS, OutputFormat.TURTLE, None, name) is fmt


@pytest.mark.parametrize("name", ["out.json", "out.xml", "out.csv", "out.txt", "out.unknown"])
def test_an_extension_export_cannot_write_is_refused(name):
    with pytest.raises(UnsupportedFormat, match=r"\.jsonld \.nq \.nt \.rdf \.trig \.ttl"):
        choose_format(EXPORT_FORMATS, OutputFormat.TURTLE, None, name)
