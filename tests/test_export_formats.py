"""Export, issue 9: literals as the files write them, derived triples that travel (to a real
Oxigraph server with default settings), JSON-LD and RDF/XML read back by independent parsers, and
-o extensions no command can write refused instead of quietly written as something else."""
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import rdflib
import rdflib.compare
from click.testing import CliRunner
from pyld import jsonld
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Store, parse

from dipkb import KnowledgeBase
from dipkb.cli import cli
from dipkb.model.namespaces import DIP, PREFIXES, XSD
from dipkb.store.derivation import derived_graph
from dipkb.views.export import ExportFormat, export
from dipkb.views.jsonld import ExportSyntaxError, context_path, load_context

ROOT = Path(__file__).resolve().parent.parent
KB_BASE = "https://w3id.org/dipkb/kb/"

# Every literal here is valid but not in canonical form, so a store would rewrite it.
NON_CANONICAL = """
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix event: <https://w3id.org/dipkb/kb/event/> .
@prefix actor: <https://w3id.org/dipkb/kb/actor/> .
event:e a dip:Meeting ;
    dip:host actor:a ;
    dip:date "2021-07"^^xsd:gYearMonth ;
    dip:personnelCount "1000"^^xsd:nonNegativeInteger ;
    ex:int "05"^^xsd:integer ;
    ex:plus "+1"^^xsd:integer ;
    ex:dec "1.50"^^xsd:decimal ;
    ex:double "1e0"^^xsd:double ;
    ex:bool "1"^^xsd:boolean ;
    ex:day "2021-07-09+04:30"^^xsd:date ;
    ex:when "2021-07-09T10:00:00.500Z"^^xsd:dateTime, "2021-07-09T14:30:00+04:30"^^xsd:dateTime ;
    ex:bare 1.50, 1e0, true ;
    ex:label "Taliban"@EN-gb, "Талибан"@ru .
actor:a a dip:State ; ex:anyURI "https://example.org/a b"^^xsd:anyURI .
"""
# The same value written canonically in another file: a faithful export holds both literals.
CANONICAL_TWIN = """
@prefix ex: <http://example.org/> .
<https://w3id.org/dipkb/kb/event/e> ex:int 5 ; ex:dec 1.5 .
"""
BLANK = """
@prefix ex: <http://example.org/> .
ex:s ex:p [ ex:q "05"^^<http://www.w3.org/2001/XMLSchema#integer> ], [ ex:q 2 ] ; ex:list ( 1 2 ) .
ex:t ex:p _:loop . _:loop ex:q _:loop .
"""


@pytest.fixture(autouse=True)
def faithful_rdflib():
    """rdflib must keep lexical forms to compare them (pyshacl, run by other tests, resets this)."""
    was, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    yield
    rdflib.NORMALIZE_LITERALS = was


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.open()


@pytest.fixture()
def odd_kb(tmp_path) -> KnowledgeBase:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "a.ttl").write_text(NON_CANONICAL, encoding="utf-8")
    (kb_dir / "b.ttl").write_text(CANONICAL_TWIN, encoding="utf-8")
    (kb_dir / "c.ttl").write_text(BLANK, encoding="utf-8")
    return KnowledgeBase.open(tmp_path)


RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def exported(kb: KnowledgeBase, fmt: ExportFormat, **options) -> bytes:
    out = io.BytesIO()
    export(kb, fmt, out, **options)
    return out.getvalue()


def files_graph(kb: KnowledgeBase) -> rdflib.Graph:
    """The union of the KB files as rdflib reads them, language tags lower-cased: Oxigraph's parser
    lower-cases them (RDF compares them case-insensitively), rdflib keeps the case."""
    graph = rdflib.Graph()
    for path in kb.layout.kb_files():
        for s, p, o in rdflib.Graph().parse(path, format="turtle", publicID=KB_BASE):
            if isinstance(o, rdflib.Literal) and o.language:
                o = rdflib.Literal(str(o), lang=o.language.lower())
            graph.add((s, p, o))
    return graph


def rdflib_read(data: bytes, fmt: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=data, format=fmt)


def rapper_count(data: bytes, syntax: str) -> int:
    result = subprocess.run([shutil.which("rapper"), "-i", syntax, "-c", "-", "http://example.org/base"],
                            input=data, capture_output=True)
    stderr = result.stderr.decode()
    assert result.returncode == 0 and "Error" not in stderr and "Warning" not in stderr, stderr
    return int(re.search(r"Parsing returned (\d+) triples", stderr).group(1))


def serdi_count(data: bytes, syntax: str) -> int:
    result = subprocess.run([shutil.which("serdi"), "-i", syntax, "-o", "ntriples", "-"], input=data, capture_output=True)
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode()
    return len(result.stdout.splitlines())


# --- faithful literals -------------------------------------------------------------------------


def test_the_export_keeps_every_literal_as_the_files_write_it(odd_kb):
    stored = {q.object for q in odd_kb.store.quads_for_pattern(None, NamedNode("http://example.org/int"), None)}
    assert stored == {Literal("5", datatype=NamedNode(XSD + "integer"))}  # the store merged "05" and 5
    turtle = exported(odd_kb, ExportFormat.TURTLE)
    text = turtle.decode()
    for written in ('"05"^^xsd:integer', '"5"^^xsd:integer', '"+1"^^xsd:integer', '"1.50"^^xsd:decimal',
                    '"1.5"^^xsd:decimal', '"1000"^^xsd:nonNegativeInteger', '"1e0"^^xsd:double', '"1"^^xsd:boolean',
                    '"2021-07-09+04:30"^^xsd:date', '"2021-07-09T10:00:00.500Z"^^xsd:dateTime',
                    '"2021-07-09T14:30:00+04:30"^^xsd:dateTime', '"true"^^xsd:boolean',
                    '"Taliban"@en-gb', '"https://example.org/a b"^^xsd:anyURI'):
        assert written in text, written
    expected = files_graph(odd_kb)
    for fmt, syntax in ((ExportFormat.TURTLE, "turtle"), (ExportFormat.NTRIPLES, "nt"),
                        (ExportFormat.JSONLD, "json-ld"), (ExportFormat.RDFXML, "xml")):
        assert rdflib.compare.isomorphic(rdflib_read(exported(odd_kb, fmt), syntax), expected), fmt
    for fmt, syntax in ((ExportFormat.NQUADS, "nquads"), (ExportFormat.TRIG, "trig")):
        dataset = rdflib.Dataset()
        dataset.parse(data=exported(odd_kb, fmt), format=syntax)
        union = rdflib.Graph()
        for graph in dataset.graphs():
            union += graph
        assert rdflib.compare.isomorphic(union, expected), fmt
    assert rapper_count(turtle, "turtle") == serdi_count(turtle, "turtle") == len(expected)


def test_blank_nodes_are_labelled_by_rdfc_1_0(odd_kb):
    text = exported(odd_kb, ExportFormat.NTRIPLES).decode()
    labels = set(re.findall(r"_:(\S+)", text))
    assert labels == {f"c14n{i}" for i in range(5)}  # two [ ], the list's two cells, _:loop
    assert "_:c14n" in exported(odd_kb, ExportFormat.TURTLE).decode()
    assert exported(odd_kb, ExportFormat.NQUADS) == exported(KnowledgeBase.open(odd_kb.layout.root), ExportFormat.NQUADS)


# --- derived triples -----------------------------------------------------------------------------


def index_derived(kb: KnowledgeBase) -> set:
    return {q.triple for path in kb.layout.kb_files()
            for q in kb.store.quads_for_pattern(None, None, None, NamedNode(derived_graph(kb.layout.graph_name(path))))}


def test_with_derived_adds_exactly_what_the_index_derived_from_the_kb_files(kb):
    derived = index_derived(kb)
    predicates = {t.predicate.value for t in derived}
    assert {DIP + "participant", DIP + "earliestDay", DIP + "latestDay", DIP + "timeBucket", DIP + "tallyCount"} <= predicates
    plain = {q.triple for q in parse(exported(kb, ExportFormat.TURTLE), format=RdfFormat.TURTLE)}
    full = {q.triple for q in parse(exported(kb, ExportFormat.TURTLE, with_derived=True), format=RdfFormat.TURTLE)}
    assert not {t.predicate.value for t in plain} & {DIP + "earliestDay", DIP + "timeBucket", DIP + "tallyCount"}
    assert full == plain | derived


def test_with_derived_quads_keep_their_graphs_and_fill_the_default_graph(kb):
    data = exported(kb, ExportFormat.NQUADS, with_derived=True)
    quads = set(parse(data, format=RdfFormat.N_QUADS))
    named = {q for q in quads if isinstance(q.graph_name, NamedNode)}
    default = {q.triple for q in quads if not isinstance(q.graph_name, NamedNode)}
    assert {q.graph_name.value.split(":file:")[0] for q in named} == {"urn:dipkb", "urn:dipkb:derived:urn:dipkb"}
    assert default == {q.triple for q in named}
    assert rapper_count(exported(kb, ExportFormat.TRIG, with_derived=True), "trig") == len(quads)
    plain = set(parse(exported(kb, ExportFormat.NQUADS), format=RdfFormat.N_QUADS))
    assert all(isinstance(q.graph_name, NamedNode) for q in plain)  # the plain export: file graphs only


MEETINGS = f"""PREFIX dip: <{DIP}>
SELECT ?event ?actor ?day WHERE {{ ?event a dip:Meeting ; dip:participant ?actor ; dip:earliestDay ?day }}"""


OXIGRAPH = str(Path(sys.executable).parent / "oxigraph")  # the server binary of the test extra


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def oxigraph_server(tmp_path):
    """A real Oxigraph server with default settings (no --union-default-graph) on 127.0.0.1,
    loaded from a file; yields a function that loads and returns the query URL."""
    processes = []

    def serve(path: Path) -> str:
        location = tmp_path / "store"
        subprocess.run([OXIGRAPH, "load", "--location", str(location), "--file", str(path)],
                       check=True, capture_output=True)
        port = free_port()
        processes.append(subprocess.Popen([OXIGRAPH, "serve-read-only", "--location", str(location),
                                           "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return f"http://127.0.0.1:{port}/query"
            except OSError:
                assert time.monotonic() < deadline, "oxigraph did not start"
                time.sleep(0.05)

    yield serve
    for process in processes:
        process.terminate()
        process.wait(10)


def server_rows(url: str, query: str) -> set:
    request = urllib.request.Request(url, data=urllib.parse.urlencode({"query": query}).encode(),
                                     headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        bindings = json.load(response)["results"]["bindings"]
    return {tuple(row[v]["value"] for v in ("event", "actor", "day")) for row in bindings}


def test_a_server_with_default_settings_answers_from_the_nquads_export(kb, tmp_path, oxigraph_server):
    expected = {(r["event"].value, r["actor"].value, r["day"].value) for r in kb.select(MEETINGS)}
    assert len(expected) > 5
    path = tmp_path / "kb.nq"
    path.write_bytes(exported(kb, ExportFormat.NQUADS, with_derived=True))
    assert server_rows(oxigraph_server(path), MEETINGS) == expected
    store = Store()  # the plain export keeps everything in named graphs: no default graph to answer from
    store.load(exported(kb, ExportFormat.TRIG), format=RdfFormat.TRIG)
    assert list(store.query(MEETINGS)) == []
    store.load(exported(kb, ExportFormat.TRIG, with_derived=True), format=RdfFormat.TRIG)
    assert {(r["event"].value, r["actor"].value, r["day"].value) for r in store.query(MEETINGS)} == expected


# --- JSON-LD and RDF/XML ---------------------------------------------------------------------


@pytest.fixture()
def no_network():
    """pyld's document loader replaced by one that refuses and records every fetch."""
    fetched = []

    def refuse(url, options=None):
        fetched.append(url)
        raise jsonld.JsonLdError("fetching is not allowed in tests", "loading document failed")

    previous = jsonld.get_document_loader()
    jsonld.set_document_loader(refuse)
    yield fetched
    jsonld.set_document_loader(previous)


def pyld_graph(document: dict) -> rdflib.Graph:
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads"})
    return rdflib.Graph().parse(data=nquads, format="nt")


def canonical_doubles(graph: rdflib.Graph) -> rdflib.Graph:
    """pyld rewrites every xsd:double string in canonical form ("1e0" -> "1.0E0"; the JSON-LD 1.1
    toRdf algorithm does so for JSON numbers only): compare doubles by value with it."""
    out = rdflib.Graph()
    for s, p, o in graph:
        if isinstance(o, rdflib.Literal) and o.datatype == rdflib.XSD.double:
            o = rdflib.Literal(repr(float(str(o))), datatype=rdflib.XSD.double)
        out.add((s, p, o))
    return out


@pytest.mark.parametrize("which", ["shipped", "odd"])
def test_jsonld_reads_back_as_the_turtle_export_with_pyld_and_rdflib(kb, odd_kb, no_network, which):
    source = kb if which == "shipped" else odd_kb
    data = exported(source, ExportFormat.JSONLD, with_derived=which == "shipped")
    turtle = rdflib_read(exported(source, ExportFormat.TURTLE, with_derived=which == "shipped"), "turtle")
    document = json.loads(data)
    assert document["@context"] == load_context()  # inline: nothing to fetch
    assert rdflib.compare.isomorphic(canonical_doubles(pyld_graph(document)), canonical_doubles(turtle))
    assert rdflib.compare.isomorphic(rdflib_read(data, "json-ld"), turtle)
    assert no_network == []
    ids = [node["@id"] for node in document["@graph"]]
    assert len(ids) == len(set(ids)) == len({s for s in turtle.subjects()})  # one object per resource


def test_jsonld_is_compact_and_readable(kb):
    document = json.loads(exported(kb, ExportFormat.JSONLD))
    meeting = next(n for n in document["@graph"] if n["@id"] == "event:kabulov-taliban-meeting-2021-07")
    assert meeting["@type"] == "dip:Meeting"
    assert isinstance(meeting["dip:place"], str) and meeting["dip:place"].startswith("place:")  # coerced to an IRI
    assert meeting["dip:date"] == {"@value": "2021-07", "@type": "xsd:gYearMonth"}
    assert not any(isinstance(v, (int, float, bool)) for node in document["@graph"] for v in node.values())


def test_the_context_file_stands_alone_and_matches_the_ontology(no_network):
    context = json.loads(context_path().read_text(encoding="utf-8"))
    assert {k: v for k, v in context["@context"].items() if isinstance(v, str)} == PREFIXES
    ontology = Store()
    ontology.load(path=str(ROOT / "ontology" / "dipkb.ttl"), format=RdfFormat.TURTLE)
    owl = "http://www.w3.org/2002/07/owl#"
    kinds = {row["p"].value: row["k"].value for row in ontology.query(
        f"SELECT ?p ?k WHERE {{ ?p a ?k FILTER(?k IN (<{owl}ObjectProperty>, <{owl}DatatypeProperty>)) }}")}
    terms = {PREFIXES["dip"] + k[4:]: v for k, v in context["@context"].items() if isinstance(v, dict)}
    assert {p for p, kind in kinds.items() if kind.endswith("ObjectProperty")} == {
        p for p, v in terms.items() if v["@type"] == "@id"}
    assert set(terms) <= set(kinds)
    # A web developer's own document, with the file as its context: IRIs and types come out right.
    mine = {"@context": context["@context"], "@id": "event:x", "@type": "dip:Visit", "dip:place": "place:kabul",
            "dip:earliestDay": "2021-07-09", "dip:date": {"@value": "2021-07", "@type": "xsd:gYearMonth"}}
    triples = {(str(p), o) for _, p, o in pyld_graph(mine)}
    assert (DIP + "place", rdflib.URIRef(KB_BASE + "place/kabul")) in triples
    assert (DIP + "earliestDay", rdflib.Literal("2021-07-09", datatype=rdflib.XSD.date)) in triples
    assert no_network == []


def test_rdfxml_is_read_back_by_rapper_and_pyoxigraph(odd_kb, kb):
    for source in (kb, odd_kb):
        data = exported(source, ExportFormat.RDFXML)
        expected = files_graph(source)
        assert rapper_count(data, "rdfxml") == len(expected)
        assert rdflib.compare.isomorphic(rdflib_read(data, "xml"), expected)
    read = {q.triple for q in parse(exported(kb, ExportFormat.RDFXML), format=RdfFormat.RDF_XML)}
    assert read == {q.triple for q in parse(exported(kb, ExportFormat.NTRIPLES), format=RdfFormat.N_TRIPLES)}
    assert not any(isinstance(t.subject, BlankNode) for t in read)


@pytest.mark.parametrize("predicate", ["http://example.org/p/", "http://example.org/p#", "urn:x:1",
                                       "http://example.org/%41"])
def test_a_property_rdfxml_cannot_name_is_a_one_line_error_and_no_file(tmp_path, predicate):
    """RDF/XML writes a property as an element named by the end of its IRI; Oxigraph writes
    ill-formed XML (<oxprefix:>) for one that does not end in an XML name, so dipkb refuses it."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "odd.ttl").write_text(f'<http://example.org/s> <{predicate}> "x" .\n', encoding="utf-8")
    out = tmp_path / "out.rdf"
    result = CliRunner().invoke(cli, ["--kb", str(tmp_path), "export", "-o", str(out)])
    assert result.exit_code == 2
    assert result.output == (f"Error: RDF/XML cannot write the property <{predicate}>: its IRI does not end in an "
                             "XML name. Write Turtle, N-Triples or JSON-LD instead.\n")
    assert not out.exists()
    assert CliRunner().invoke(cli, ["--kb", str(tmp_path), "export", "-o", str(tmp_path / "out.ttl")]).exit_code == 0


def test_a_value_xml_cannot_hold_is_refused_by_rdfxml_and_kept_by_the_others(tmp_path):
    """XML 1.0 cannot hold U+0001 even escaped; Oxigraph 0.5 writes it raw, and XML parsers reject that."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "odd.ttl").write_text('<http://example.org/s> <http://example.org/p> "a\\u0001b" .\n',
                                             encoding="utf-8")
    kb = KnowledgeBase.open(tmp_path)
    with pytest.raises(ExportSyntaxError) as raised:
        exported(kb, ExportFormat.RDFXML)
    assert str(raised.value) == ("RDF/XML cannot write the value of <http://example.org/p> of <http://example.org/s>: it "
                                 "holds a character XML 1.0 does not allow (a control character). Write Turtle, "
                                 "N-Triples or JSON-LD instead.")
    for fmt, syntax in ((ExportFormat.TURTLE, "turtle"), (ExportFormat.JSONLD, "json-ld")):
        (_, _, value), = rdflib_read(exported(kb, fmt), syntax)
        assert str(value) == "a\x01b"


def _one_file_kb(tmp_path: Path, turtle: str) -> KnowledgeBase:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "odd.ttl").write_text(turtle, encoding="utf-8")
    return KnowledgeBase.open(tmp_path)


def test_a_carriage_return_in_rdfxml_reads_back_as_one(tmp_path):
    """XML parsers read a raw carriage return as a line feed: "a\\rb" came back from rapper as "a\\nb"."""
    kb = _one_file_kb(tmp_path, '<http://example.org/s> <http://example.org/cr> "a\\rb" ; '
                                '<http://example.org/p> "a\\r\\nb" .\n')
    data = exported(kb, ExportFormat.RDFXML)
    result = subprocess.run([shutil.which("rapper"), "-q", "-i", "rdfxml", "-o", "ntriples", "-", "http://x/"],
                            input=data, capture_output=True, check=True)
    assert sorted(result.stdout.decode().splitlines()) == [
        '<http://example.org/s> <http://example.org/cr> "a\\rb" .', '<http://example.org/s> <http://example.org/p> "a\\r\\nb" .']
    assert {str(o) for o in rdflib_read(data, "xml").objects()} == {"a\rb", "a\r\nb"}


@pytest.mark.parametrize("name", ["li", "aboutEach", "Description", "about"])
def test_a_property_rdfxml_reserves_is_refused_by_name(tmp_path, name):
    """Oxigraph refused some (the message said "cannot write to /tmp"), and wrote rdf:aboutEach, which no parser reads."""
    kb = _one_file_kb(tmp_path, f'<http://example.org/s> <http://www.w3.org/1999/02/22-rdf-syntax-ns#{name}> "x" .\n')
    with pytest.raises(ExportSyntaxError, match=rf"^RDF/XML cannot write the property <{re.escape(RDF_NS)}{name}>: "
                                                r"RDF/XML reserves its name for its own syntax\."):
        exported(kb, ExportFormat.RDFXML)


@pytest.mark.parametrize("inner", ['<http://example.org/s> <http://example.org/q> "bell\\u0007"',
                                   '<http://example.org/s> <http://example.org/dir/> "x"'])
def test_rdfxml_checks_inside_a_triple_term_too(tmp_path, inner):
    kb = _one_file_kb(tmp_path, f"<http://example.org/s> <http://example.org/p> <<( {inner} )>> .\n")
    with pytest.raises(ExportSyntaxError):
        exported(kb, ExportFormat.RDFXML)


@pytest.mark.parametrize("iri", ["schema:x", "actor:y"])
def test_jsonld_refuses_an_iri_that_would_read_as_a_compact_one(tmp_path, iri):
    """<schema:x> was written "schema:x", which every JSON-LD reader expands to https://schema.org/x."""
    kb = _one_file_kb(tmp_path, f"<{iri}> <http://example.org/p> <http://example.org/o> .\n")
    out = io.BytesIO()
    with pytest.raises(ExportSyntaxError, match=rf"^JSON-LD cannot write the IRI <{iri}>: its scheme is a prefix"):
        export(kb, ExportFormat.JSONLD, out)
    assert out.getvalue() == b""  # half a document went to standard output
    assert b"<" + iri.encode() + b">" in exported(kb, ExportFormat.NTRIPLES)


def test_rdfxml_with_derived_says_the_time_buckets_are_why(kb):
    with pytest.raises(ExportSyntaxError, match=r"^RDF/XML cannot write the property <urn:dipkb:time:[^>]+>: .* "
                                                r"\(the index files each participation under its time bucket this way: "
                                                r"leave out --with-derived\)\. Write Turtle"):
        exported(kb, ExportFormat.RDFXML, with_derived=True)


def test_rdfxml_names_every_property_that_ends_in_an_xml_name(tmp_path):
    names = ["http://example.org/1abc", "http://example.org/a-b.c", "http://example.org/é", "urn:x:a1",
             "http://example.org/ns#_x"]
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "names.ttl").write_text("".join(f'<http://example.org/s> <{p}> "x" .\n' for p in names),
                                              encoding="utf-8")
    data = exported(KnowledgeBase.open(tmp_path), ExportFormat.RDFXML)
    assert rapper_count(data, "rdfxml") == len(names)
    assert {t.predicate.value for t in parse(data, format=RdfFormat.RDF_XML)} == set(names)


CONSTRUCTED = "CONSTRUCT { ?e ?p ?o } WHERE { ?e a dip:Meeting ; ?p ?o }"


def test_a_construct_answer_is_written_in_each_syntax_of_the_export(kb):
    """`query` writes a CONSTRUCT answer as the export writes a graph: sorted, each triple once, in
    Turtle, N-Triples, JSON-LD or RDF/XML, each read back by an independent parser as the same triples."""
    expected = set(kb.query(CONSTRUCTED))

    def written(fmt: str) -> bytes:
        result = invoke("query", CONSTRUCTED, "-f", fmt)
        assert result.exit_code == 0, result.output
        return result.stdout_bytes

    ntriples = written("ntriples")
    lines = ntriples.splitlines(keepends=True)
    assert lines == sorted(set(lines)) and len(lines) == len(expected) > 20
    assert {q.triple for q in parse(ntriples, format=RdfFormat.N_TRIPLES)} == expected
    turtle = rdflib_read(written("turtle"), "turtle")
    assert len(turtle) == len(expected)
    assert rdflib.compare.isomorphic(rdflib_read(written("jsonld"), "json-ld"), turtle)
    rdfxml = written("rdfxml")
    assert rapper_count(rdfxml, "rdfxml") == len(expected)
    assert {q.triple for q in parse(rdfxml, format=RdfFormat.RDF_XML)} == expected
    assert len(written("table").splitlines()) == len(expected) + 2  # the header and its rule


def test_a_select_asked_for_in_a_graph_syntax_is_a_one_line_error(tmp_path):
    result = invoke("query", "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "-o", str(tmp_path / "rows.jsonld"))
    assert result.exit_code == 2
    assert result.output == ("Error: SELECT and ASK results cannot be written as jsonld; "
                             "use table, csv, tsv, json or xml.\n")
    assert list(tmp_path.iterdir()) == []


# --- -o extensions -------------------------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("name, first", [("x.jsonld", b"{"), ("x.rdf", b"<?xml"), ("x.ttl", b"@prefix"),
                                         ("x", b"@prefix")])
def test_export_writes_the_format_the_extension_names(tmp_path, name, first):
    result = invoke("export", "-o", str(tmp_path / name))
    assert result.exit_code == 0, result.output
    assert (tmp_path / name).read_bytes().startswith(first)


@pytest.mark.parametrize("args, name", [
    (["export"], "x.json"), (["export"], "x.xml"), (["export"], "x.csv"), (["export"], "x.txt"),
    (["query", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"], "d.trig"),
    (["query", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"], "d.nq"),
    (["query", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"], "d.bak"),
    (["timeline"], "t.ttl"), (["show", "Kabulov"], "s.csv"), (["stats"], "s.jsonld"), (["queries"], "q.xml"),
])
def test_an_extension_the_command_cannot_write_is_an_error(tmp_path, args, name):
    result = invoke(*args, "-o", str(tmp_path / name))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: cannot write a '{Path(name).suffix}' file"), result.output
    assert "-f" in lines[0]
    assert not (tmp_path / name).exists()


def test_txt_means_the_plain_text_form_and_f_overrides_the_extension(tmp_path):
    assert invoke("timeline", "-o", str(tmp_path / "t.txt")).exit_code == 0
    assert (tmp_path / "t.txt").read_text().startswith("date ")  # the table
    assert invoke("export", "-f", "jsonld", "-o", str(tmp_path / "k.data")).exit_code == 0
    assert json.loads((tmp_path / "k.data").read_text())["@graph"]
