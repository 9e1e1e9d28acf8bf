"""The SPARQL 1.1 Protocol endpoint of `dipkb serve`, against a real server process: SPARQLWrapper for
what clients see, raw HTTP for the protocol's corners (methods, negotiation, errors, the time limit,
the row cap, CORS, edits seen without a restart)."""
from __future__ import annotations

import csv
import http.client
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from xml.dom.minidom import Document

import pytest
import rdflib
from click.testing import CliRunner
from pyoxigraph import (BaseDirection, BlankNode, Literal, NamedNode, Quad, QueryResultsFormat, Store, Triple,
                        parse_query_results)
from SPARQLWrapper import CSV, JSON, JSONLD, TSV, TURTLE, XML, SPARQLWrapper

from conftest import Served, serving
from dipkb.cli import cli
from dipkb.model.namespaces import FILE_GRAPH_PREFIX
from dipkb.sparql.saved import find_query
from dipkb.views.names import resolve_actor
from dipkb.store.kb import KnowledgeBase
from dipkb.web.query_workers import Query, ResultFormat, serialise

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"  # never ends on any KB
MEETINGS = "SELECT ?e ?label WHERE { ?e a dip:Meeting ; rdfs:label ?label } ORDER BY ?e"
CONSTRUCT = "CONSTRUCT { ?e a dip:Meeting ; rdfs:label ?label } WHERE { ?e a dip:Meeting ; rdfs:label ?label }"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Reply:
    def __init__(self, response: http.client.HTTPResponse):
        self.status = response.status
        self.headers = response.headers
        self.body = response.read()

    @property
    def type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def request(server: Served, method: str = "GET", params: dict | list | None = None, body: bytes | None = None,
            headers: dict | None = None, timeout: float = 60) -> Reply:
    """One raw HTTP request to /sparql; no status raises."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)
    try:
        path = "/sparql" + (f"?{urlencode(params, doseq=True)}" if params else "")
        connection.request(method, path, body=body, headers=headers or {})
        return Reply(connection.getresponse())
    finally:
        connection.close()


def get(server: Served, query: str, accept: str | None = None, **params) -> Reply:
    return request(server, params={"query": query, **params}, headers={"Accept": accept} if accept else {})


def run_cli(root: Path, *args: str) -> bytes:
    result = CliRunner().invoke(cli, ["--kb", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def wrapper(server: Served, query: str, fmt: str) -> SPARQLWrapper:
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client


@pytest.fixture(scope="module")
def limited(shipped_kb: Path):
    """A second server on the same KB with a 2-row cap, a 2 s limit and CORS."""
    with serving(shipped_kb, "--max-rows", "2", "--timeout", "2", "--cors") as server:
        yield server


def saved_text(root: Path, name: str, **values: str) -> str:
    """The text `dipkb query NAME -p ...` runs: the saved query with its parameters bound."""
    with KnowledgeBase.open(root) as kb:
        saved = find_query(kb.layout.queries_dir, name)
        return saved.with_values(saved.bind(values, lambda actor: resolve_actor(kb, actor)))


def xml_bindings(document: Document) -> list[dict]:
    """SPARQL XML results as the JSON results' bindings."""
    rows = []
    for result in document.getElementsByTagName("result"):
        row = {}
        for binding in result.getElementsByTagName("binding"):
            node = next(n for n in binding.childNodes if n.nodeType == n.ELEMENT_NODE)
            term = {"type": {"uri": "uri", "literal": "literal", "bnode": "bnode"}[node.tagName],
                    "value": "".join(t.data for t in node.childNodes)}
            if node.getAttribute("xml:lang"):
                term["xml:lang"] = node.getAttribute("xml:lang")
            if node.getAttribute("datatype"):
                term["datatype"] = node.getAttribute("datatype")
            row[binding.getAttribute("name")] = term
        rows.append(row)
    return rows


# --- SPARQLWrapper: the same rows as `dipkb query` ---------------------------------------------

@pytest.mark.parametrize("name, values", [("claims", {}), ("statements-by-actor", {"actor": "Shaheen"})])
def test_sparqlwrapper_select_gives_the_rows_of_dipkb_query(served_kb, name, values):
    root = served_kb.root
    text = saved_text(root, name, **values)
    params = [item for key, value in values.items() for item in ("-p", f"{key}={value}")]
    expected = json.loads(run_cli(root, "query", name, *params, "-f", "json"))
    assert expected["results"]["bindings"], "the comparison needs rows"

    as_json = wrapper(served_kb, text, JSON).query().convert()
    assert as_json["head"] == expected["head"]
    assert as_json["results"]["bindings"] == expected["results"]["bindings"]
    assert xml_bindings(wrapper(served_kb, text, XML).query().convert()) == expected["results"]["bindings"]
    assert wrapper(served_kb, text, CSV).query().convert() == run_cli(root, "query", name, *params, "-f", "csv")
    assert wrapper(served_kb, text, TSV).query().convert() == run_cli(root, "query", name, *params, "-f", "tsv")


@pytest.mark.parametrize("fmt", [JSON, XML])
def test_sparqlwrapper_ask(served_kb, fmt):
    yes = wrapper(served_kb, "ASK { event:kabulov-taliban-meeting-2021-07 a dip:Meeting }", fmt).query().convert()
    no = wrapper(served_kb, "ASK { event:kabulov-taliban-meeting-2021-07 a dip:Visit }", fmt).query().convert()
    if fmt == JSON:
        assert (yes["boolean"], no["boolean"]) == (True, False)
    else:
        assert [d.getElementsByTagName("boolean")[0].firstChild.data for d in (yes, no)] == ["true", "false"]


def test_sparqlwrapper_construct_as_turtle_ntriples_and_jsonld(served_kb):
    root = served_kb.root
    turtle = wrapper(served_kb, CONSTRUCT, TURTLE).query().convert()
    assert turtle == run_cli(root, "query", CONSTRUCT, "-f", "turtle")

    client = wrapper(served_kb, CONSTRUCT, TURTLE)
    client.addCustomHttpHeader("Accept", "application/n-triples")
    ntriples = client.query()
    assert ntriples.response.headers["content-type"] == "application/n-triples; charset=utf-8"
    assert ntriples.convert() == run_cli(root, "query", CONSTRUCT, "-f", "ntriples")

    expected = rdflib.Graph().parse(data=turtle, format="turtle")
    assert len(expected) >= 8
    from_jsonld = wrapper(served_kb, CONSTRUCT, JSONLD).query().convert()  # an rdflib graph
    assert set(from_jsonld) == set(expected)


# --- Raw HTTP: methods and the protocol's parameters --------------------------------------------

def test_get_form_post_and_direct_post_give_the_same_answer(served_kb):
    by_get = get(served_kb, MEETINGS)
    by_form = request(served_kb, "POST", body=urlencode({"query": MEETINGS}).encode(),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    direct = request(served_kb, "POST", body=MEETINGS.encode(),
                     headers={"Content-Type": "application/sparql-query; charset=utf-8"})
    assert by_get.status == by_form.status == direct.status == 200
    assert by_get.body == by_form.body == direct.body
    assert len(json.loads(by_get.body)["results"]["bindings"]) == 4


def test_dataset_parameters_replace_the_querys_dataset(served_kb):
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s a dip:Meeting }"
    actors, events = FILE_GRAPH_PREFIX + "kb/actors.ttl", FILE_GRAPH_PREFIX + "kb/events-2021.ttl"

    def number(reply: Reply) -> int:
        assert reply.status == 200, reply.text
        return int(json.loads(reply.body)["results"]["bindings"][0]["n"]["value"])

    assert number(get(served_kb, count)) == 4
    assert number(get(served_kb, count, **{"default-graph-uri": actors})) == 0
    assert number(get(served_kb, count, **{"default-graph-uri": [actors, events]})) == number(
        get(served_kb, f"SELECT (COUNT(*) AS ?n) FROM <{actors}> FROM <{events}> WHERE {{ ?s a dip:Meeting }}")) > 0
    # The protocol's dataset overrides FROM in the query.
    assert number(get(served_kb, f"SELECT (COUNT(*) AS ?n) FROM <{events}> WHERE {{ ?s a dip:Meeting }}",
                      **{"default-graph-uri": actors})) == 0
    graphs = get(served_kb, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", **{"named-graph-uri": [actors]})
    assert [b["g"]["value"] for b in json.loads(graphs.body)["results"]["bindings"]] == [actors]
    direct = request(served_kb, "POST", params={"default-graph-uri": actors}, body=count.encode(),
                     headers={"Content-Type": "application/sparql-query"})
    assert number(direct) == 0


# --- Content negotiation ------------------------------------------------------------------------

@pytest.mark.parametrize("accept, expected", [
    (None, "application/sparql-results+json"),
    ("*/*", "application/sparql-results+json"),
    ("text/html", "text/html"),  # a person's browser: the editor, running the query (Virtuoso draws a table)
    (BROWSER, "text/html"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("application/json", "application/sparql-results+json"),
    ("text/xml", "application/sparql-results+xml"),  # a 406 before
    ("text/csv;q=0.5, text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.9, application/sparql-results+xml;q=0.95, */*;q=0.1", "application/sparql-results+xml"),
    ("text/*", "text/csv"),
    ("text/csv;q=0, */*;q=0.5", "application/sparql-results+json"),
])
def test_select_negotiation(served_kb, accept, expected):
    reply = get(served_kb, MEETINGS, accept)
    assert reply.status == 200
    assert reply.type == f"{expected}; charset=utf-8"
    assert reply.headers["vary"] == "Accept"


@pytest.mark.parametrize("accept, expected", [
    (None, "text/turtle"),
    ("*/*", "text/turtle"),
    ("application/n-triples", "application/n-triples"),
    ("text/turtle;q=0.5, application/ld+json", "application/ld+json"),
    ("application/rdf+xml", "application/rdf+xml"),
])
def test_construct_negotiation(served_kb, accept, expected):
    reply = get(served_kb, CONSTRUCT, accept)
    assert reply.status == 200
    assert reply.type == f"{expected}; charset=utf-8"
    graph = rdflib.Graph().parse(data=reply.body, format={"text/turtle": "turtle", "application/n-triples": "nt",
                                                          "application/ld+json": "json-ld",
                                                          "application/rdf+xml": "xml"}[expected])
    cli_turtle = run_cli(served_kb.root, "query", CONSTRUCT, "-f", "turtle")
    assert set(graph) == set(rdflib.Graph().parse(data=cli_turtle, format="turtle"))


@pytest.mark.parametrize("accept, fmt", [("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
                                         ("application/rdf+xml", "xml"), ("application/n-triples", "nt")])
def test_a_get_without_a_query_asking_for_rdf_gets_the_service_description(served_kb, accept, fmt):
    """The Service Description spec: a GET of the endpoint without a query SHOULD describe it; it
    was a 400 to every client but a browser."""
    reply = request(served_kb, headers={"Accept": accept})
    assert (reply.status, reply.type) == (200, f"{accept}; charset=utf-8")
    graph = rdflib.Graph().parse(data=reply.body, format=fmt)
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    (service,) = graph.subjects(rdflib.RDF.type, sd.Service)
    assert graph.value(service, sd.endpoint) == rdflib.URIRef(served_kb.url + "/sparql")
    assert set(graph.objects(service, sd.supportedLanguage)) == {sd.SPARQL11Query}  # no update language
    formats = {str(f).removeprefix("http://www.w3.org/ns/formats/") for f in graph.objects(service, sd.resultFormat)}
    assert {"SPARQL_Results_JSON", "SPARQL_Results_CSV", "Turtle", "JSON-LD"} <= formats
    for other in ("*/*", "text/csv", None):  # curl, a results format, nothing: the usage message as before
        reply = request(served_kb, headers={"Accept": other} if other else {})
        assert reply.status == 400 and "No query" in reply.text


def test_an_accept_header_on_two_lines_is_one_list(served_kb):
    address = urlsplit(served_kb.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.putrequest("GET", "/sparql?" + urlencode({"query": "SELECT (1 AS ?x) {}"}))
        connection.putheader("Accept", "text/turtle")
        connection.putheader("Accept", "text/csv")
        connection.endheaders()
        reply = Reply(connection.getresponse())
    finally:
        connection.close()
    assert (reply.status, reply.type, reply.text) == (200, "text/csv; charset=utf-8", "x\r\n1\r\n")


def test_nothing_acceptable_is_406_listing_the_formats(served_kb):
    reply = get(served_kb, MEETINGS, "image/png")
    assert reply.status == 406
    assert "application/sparql-results+json" in reply.text and "text/turtle" in reply.text
    # A SELECT asked for as Turtle: the SELECT formats are listed.
    reply = get(served_kb, MEETINGS, "text/turtle")
    assert reply.status == 406
    assert reply.text.startswith("SELECT answers come as application/sparql-results+json, ")
    assert get(served_kb, CONSTRUCT, "text/csv").status == 406


def test_an_answer_rdfxml_cannot_carry_is_406_and_turtle_still_answers(served_kb):
    """RDF/XML names a property by the end of its IRI, which must be an XML name: an answer with
    <http://example.org/p/> cannot be written so (Oxigraph would write <oxprefix:>, not XML)."""
    query = 'CONSTRUCT { <http://example.org/s> <http://example.org/p/> "x" } WHERE {}'
    reply = get(served_kb, query, "application/rdf+xml")
    assert reply.status == 406
    assert reply.text == ("RDF/XML cannot write the property <http://example.org/p/>: its IRI does not end in an "
                          "XML name. Write Turtle, N-Triples or JSON-LD instead.\n")
    assert get(served_kb, query, "text/turtle").status == 200


@pytest.mark.parametrize(("query", "refuses"), [
    ("CONSTRUCT { <http://a/s> <http://a/p> <<( <http://a/s> <http://a/p> <http://a/o> )>> } WHERE {}",
     ["application/ld+json"]),
    ('CONSTRUCT { <http://a/s> <http://a/p> ?v } WHERE { BIND(STRDT("x", rdf:langString) AS ?v) }',
     ["application/ld+json", "application/rdf+xml"]),
])
def test_a_term_a_format_cannot_write_is_406_in_it_and_answered_in_the_others(served_kb, query, refuses):
    """A triple term (RDF 1.2) has no JSON-LD; a language-string without a language is no RDF, which
    JSON-LD and RDF/XML, read back from N-Triples, cannot take. Both were a 500."""
    for accept in ("text/turtle", "application/n-triples"):
        assert get(served_kb, query, accept).status == 200, accept
    for accept in refuses:
        reply = get(served_kb, query, accept)
        assert reply.status == 406, (accept, reply.text)
        assert "Turtle" in reply.text and "N-Triples" in reply.text, reply.text


def test_a_base_direction_is_answered_in_every_format(served_kb):
    query = 'SELECT ?v WHERE { BIND(STRLANGDIR("x", "ar", "rtl") AS ?v) }'
    assert json.loads(get(served_kb, query).body)["results"]["bindings"][0]["v"]["its:dir"] == "rtl"
    assert 'its:dir="rtl"' in get(served_kb, query, "application/sparql-results+xml").text
    assert get(served_kb, query, "text/tab-separated-values").text == '?v\n"x"@ar--rtl\n'
    graph = get(served_kb, 'CONSTRUCT { <http://a/s> <http://a/p> ?v } WHERE { BIND(STRLANGDIR("x", "ar", "rtl") AS ?v) }',
                "application/ld+json")
    assert json.loads(graph.body)["@graph"][0]["http://a/p"] == {"@value": "x", "@language": "ar", "@direction": "rtl"}


# Fields a CSV reader must take whole: an IRI with a comma (DBpedia's Washington,_D.C.), a literal with a
# quote and a line break, a triple term whose object has a comma, a blank node, an unbound variable.
AWKWARD = """SELECT ?iri ?text ?triple ?blank ?unbound WHERE {
  BIND(<http://dbpedia.org/resource/Washington,_D.C.> AS ?iri) BIND("say \\"hi\\",\\nthen go" AS ?text)
  BIND(<<( <http://a/s> <http://a/p> "o,x" )>> AS ?triple) BIND(BNODE() AS ?blank) }"""


def test_csv_fields_with_commas_quotes_and_line_breaks_are_quoted_on_the_cli_and_the_server(served_kb):
    for text in (run_cli(served_kb.root, "query", AWKWARD, "-f", "csv").decode(), get(served_kb, AWKWARD, "text/csv").text):
        header, row = list(csv.reader(io.StringIO(text, newline="")))
        assert header == ["iri", "text", "triple", "blank", "unbound"]
        assert row[:3] == ["http://dbpedia.org/resource/Washington,_D.C.", 'say "hi",\nthen go', 'http://a/s http://a/p "o,x"']
        assert row[3].startswith("_:") and row[4] == ""
        assert text.endswith("\r\n") and text.count("\r\n") == 2  # RFC 4180's line ends, not the literal's


# --- Errors -------------------------------------------------------------------------------------

def test_malformed_query_is_400_with_the_parsers_message(served_kb):
    reply = get(served_kb, "SELECT ?s WHERE { ?s ?p }")
    assert reply.status == 400
    assert reply.type == "text/plain; charset=utf-8"
    assert reply.text.startswith("SPARQL syntax error: error at 1:")


@pytest.mark.parametrize("query, words", [
    ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE is not allowed"),
    ("LOAD <http://example.org/data.ttl>", "LOAD is not allowed"),
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "Update operations"),
    ("SELECT * WHERE " + "{" * 200 + "}" * 200, "deeper than 128 levels"),
])
def test_the_guard_refuses(served_kb, query, words):
    reply = get(served_kb, query)
    assert reply.status == 400
    assert words in reply.text


def test_updates_are_refused_in_both_protocol_forms(served_kb):
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    as_form = request(served_kb, "POST", body=urlencode({"update": update}).encode(),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    direct = request(served_kb, "POST", body=update.encode(), headers={"Content-Type": "application/sparql-update"})
    for reply in (as_form, direct):
        assert reply.status == 400
        assert reply.text.startswith("This endpoint is read-only: SPARQL updates are refused.")
    assert get(served_kb, "ASK { <urn:a> <urn:b> <urn:c> }").body == b'{"head":{},"boolean":false}'


@pytest.mark.parametrize("params", [{}, {"query": ""}])
@pytest.mark.parametrize("method", ["GET", "HEAD"])  # a link checker's HEAD was a 400
def test_a_browser_without_a_query_gets_the_editor(served_kb, params, method):
    reply = request(served_kb, method, params=params, headers={"Accept": BROWSER})
    assert reply.status == 200
    assert reply.type.startswith("text/html")
    # Anything else without a query is told what is missing.
    assert request(served_kb, params=params, headers={"Accept": "application/sparql-results+json"}).status == 400


@pytest.mark.parametrize("params, body, content_type, words", [
    ({}, None, None, "No query"),
    ({}, b"", "application/x-www-form-urlencoded", "No query"),
    ({"query": ["ASK {}", "ASK {}"]}, None, None, "One query per request"),
    ({"query": "ASK {}", "timeout": "soon"}, None, None, "timeout= is a number of seconds"),
    ({"query": "ASK {}", "timeout": "0"}, None, None, "timeout= is a number of seconds"),
    ({"query": "ASK {}", "timeout": "1e-07"}, None, None, "timeout= is a number of seconds from 0.1, not '1e-07'."),
    ({"query": "ASK {}", "default-graph-uri": "not an iri"}, None, None, "absolute IRIs"),
    ({}, b"ASK {}", "text/plain", "not text/plain"),
    ({}, b"\xff\xfe", "application/sparql-query", "not UTF-8"),
    ({}, b"query=%FF", "application/x-www-form-urlencoded", "The values of the form are not UTF-8 text"),
    ({}, b"query=ASK%7B%7D&timeout=%FF", "application/x-www-form-urlencoded", "The values of the form are not UTF-8"),
    # Latin-1's "café" in the URL: not answered as "caf\ufffd"
    ({"query": 'SELECT ("café" AS ?x) {}'.encode("latin-1")}, None, None, "The values of the URL's query are not UTF-8"),
])
def test_bad_requests_are_400(served_kb, params, body, content_type, words):
    reply = request(served_kb, "POST" if body is not None else "GET", params=params, body=body,
                    headers={"Content-Type": content_type, "Accept": "*/*"} if content_type else {"Accept": "*/*"})
    assert reply.status == 400
    assert words in reply.text


def test_an_accept_header_nothing_fits_is_a_406_that_quotes_it_cut(served_kb):
    reply = get(served_kb, "ASK {}", accept="text/x-" + "y" * 20_000)
    assert reply.status == 406 and "Accept header (text/x-yyy" in reply.text and len(reply.text) < 1000


# --- The time limit -----------------------------------------------------------------------------

def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def worker_pids(server: Served) -> set[int]:
    """The query workers: the children of the fork server, a child of the server."""
    return {worker for child in children(server.process.pid) for worker in children(child)}


def test_a_slow_query_is_stopped_at_its_limit_and_its_worker_replaced(served_kb):
    before = worker_pids(served_kb)
    assert len(before) == 2
    started = time.monotonic()
    reply = get(served_kb, SLOW, timeout="1")
    elapsed = time.monotonic() - started
    assert reply.status == 503
    assert reply.text.startswith("The query ran past its 1 s limit and was stopped.")
    assert elapsed < 5
    after = worker_pids(served_kb)
    assert len(after) == 2 and len(before - after) == 1  # one killed, one new
    assert not any(running(pid) for pid in before - after)
    assert get(served_kb, MEETINGS).status == 200


def test_a_query_past_its_memory_is_stopped_and_its_worker_replaced(shipped_kb):
    """A string doubled 28 times is 2.7 GB: one 900-byte query took gigabytes within its time limit.
    Each worker may take --query-memory MB; past it the engine's allocation fails and ends it."""
    doubled = " ".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(28))
    with serving(shipped_kb, "--query-memory", "256") as server:
        before = worker_pids(server)
        reply = get(server, f'SELECT (STRLEN(?a28) AS ?n) WHERE {{ BIND("0123456789" AS ?a0) {doubled} }}')
        assert reply.status == 503
        assert reply.text.startswith("The query needed more than the 256 MB a query may take here and was stopped.")
        after = worker_pids(server)
        assert len(after) == 2 and len(before - after) == 1
        assert get(server, MEETINGS).status == 200


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_a_worker_that_dies_mid_query_is_a_500_and_is_replaced(served_kb):
    replies: list[Reply] = []
    slow = threading.Thread(target=lambda: replies.append(get(served_kb, SLOW)))
    before = worker_pids(served_kb)
    slow.start()
    time.sleep(0.5)
    ticks = {pid: cpu_ticks(pid) for pid in before}
    time.sleep(0.5)
    # The slow query keeps one worker on a core; the idle one may still tick once for housekeeping.
    used = {pid: cpu_ticks(pid) - ticks[pid] for pid in before}
    busiest = max(used, key=used.__getitem__)
    assert sorted(used.values())[-2] < used[busiest], "one worker runs the slow query"
    os.kill(busiest, signal.SIGKILL)  # as a crash of the engine would end it
    slow.join(30)
    assert replies[0].status == 500
    assert "the query worker died (signal 9) while answering this query" in replies[0].text
    after = worker_pids(served_kb)
    assert len(after) == 2 and busiest not in after
    assert get(served_kb, MEETINGS).status == 200


def test_a_request_cannot_raise_the_limit(limited):
    started = time.monotonic()
    reply = get(limited, SLOW, timeout="60")
    assert reply.status == 503
    assert reply.text.startswith("The query ran past its 2 s limit and was stopped.")
    assert time.monotonic() - started < 6
    # The limit that held is in the headers, as on an answer.
    assert (reply.headers["x-dipkb-timeout"], reply.headers["x-dipkb-timeout-requested"]) == ("2", "60")
    clamped = get(limited, "ASK {}", timeout="60")
    assert (clamped.headers["x-dipkb-timeout"], clamped.headers["x-dipkb-timeout-requested"]) == ("2", "60")
    lowered = get(limited, "ASK {}", timeout="0.5")
    assert lowered.headers["x-dipkb-timeout"] == "0.5" and "x-dipkb-timeout-requested" not in lowered.headers


def test_busy_workers_do_not_block_other_queries_beyond_the_limit(limited):
    """Two slow queries hold both workers: a third waits at most its limit for one, then answers or says why."""
    replies: list[Reply] = []
    slow = [threading.Thread(target=lambda: replies.append(get(limited, SLOW))) for _ in range(2)]
    for thread in slow:
        thread.start()
    time.sleep(0.3)
    third = get(limited, "ASK {}", timeout="0.5")
    for thread in slow:
        thread.join(30)
    assert [r.status for r in replies] == [503, 503]
    assert third.status == 503 and "query workers stayed busy for 0.5 s" in third.text
    assert get(limited, "ASK {}").status == 200


# --- The row cap --------------------------------------------------------------------------------

@pytest.mark.parametrize("accept", ["application/sparql-results+json", "application/sparql-results+xml",
                                    "text/csv", "text/tab-separated-values"])
def test_a_capped_select_says_it_is_truncated(limited, accept):
    reply = get(limited, MEETINGS, accept)
    assert reply.status == 200
    assert reply.headers["x-dipkb-truncated"] == "true"
    if accept.endswith("json"):
        document = json.loads(reply.body)
        assert document["truncated"] is True
        rows = document["results"]["bindings"]
    elif accept.endswith("xml"):
        rows = reply.text.split("<result>")[1:]
    else:
        rows = reply.text.splitlines()[1:]
    assert len(rows) == 2


def test_a_select_within_the_cap_is_not_truncated(limited):
    reply = get(limited, MEETINGS + " LIMIT 2")
    assert reply.headers["x-dipkb-truncated"] == "false"
    assert "truncated" not in json.loads(reply.body)
    assert wrapper(limited, MEETINGS, JSON).query().convert()["truncated"] is True


def test_capped_rows_are_the_first_rows(limited, served_kb):
    whole = json.loads(get(served_kb, MEETINGS).body)["results"]["bindings"]
    assert json.loads(get(limited, MEETINGS).body)["results"]["bindings"] == whole[:2]


def results_store() -> Store:
    """Terms of every kind the results formats write differently."""
    store = Store()
    s, p = NamedNode("http://example.org/s"), NamedNode("http://example.org/p")
    for value in (Literal("plain"), Literal('tab\there "quoted",\nnewline'), Literal("fr", language="fr"),
                  Literal("ملاحظة", language="ar", direction=BaseDirection.RTL),
                  Literal("42", datatype=NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
                  Literal("ünï©ødé 中文"), NamedNode("http://example.org/o?a=1&b=%3C2%3E#f"), BlankNode("b0"),
                  Triple(s, p, Literal("inner"))):
        store.add(Quad(s, p, value))
    store.add(Quad(BlankNode("b1"), p, Literal("from a blank node")))
    return store


RESULTS_QUERIES = ["SELECT ?s ?o ?missing WHERE { ?s ?p ?o OPTIONAL { ?s <urn:none> ?missing } } ORDER BY STR(?o)",
                   "SELECT * WHERE { ?s ?p ?o } ORDER BY ?o", "SELECT ?x WHERE { FILTER(false) }"]


@pytest.mark.parametrize("query", RESULTS_QUERIES)
@pytest.mark.parametrize("fmt", [ResultFormat.SPARQL_JSON, ResultFormat.SPARQL_XML, ResultFormat.CSV, ResultFormat.TSV])
def test_the_row_writer_matches_pyoxigraphs_serialiser(query, fmt):
    store = results_store()
    asked = Query(query, None, fmt, None, max_rows=1000)
    ours = serialise(store.query(query), asked)
    theirs = store.query(query).serialize(format=getattr(QueryResultsFormat, fmt.name.removeprefix("SPARQL_")))
    assert ours.truncated is False
    if fmt is ResultFormat.SPARQL_JSON:
        assert json.loads(ours.body) == json.loads(theirs)
    elif fmt is ResultFormat.CSV:  # pyoxigraph leaves a triple term's quotes unquoted: its fields, as JSON has them
        document = json.loads(store.query(query).serialize(format=QueryResultsFormat.JSON))
        variables = document["head"]["vars"]
        expected = [variables] + [[csv_field(b.get(v)) for v in variables] for b in document["results"]["bindings"]]
        assert list(csv.reader(io.StringIO(ours.body.decode(), newline=""))) == expected
    else:
        assert ours.body == theirs


def csv_field(term: dict | None) -> str:
    if term is None:
        return ""
    if term["type"] == "triple":  # a plain literal object, written as in N-Triples
        parts = term["value"]
        return f'{csv_field(parts["subject"])} {csv_field(parts["predicate"])} "{parts["object"]["value"]}"'
    return ("_:" if term["type"] == "bnode" else "") + term["value"]


def test_the_row_writer_matches_pyoxigraph_on_the_kb(served_kb):
    with KnowledgeBase.open(served_kb.root) as kb:
        for query in [saved_text(served_kb.root, "claims"), "SELECT * WHERE { ?s ?p ?o } LIMIT 3000"]:
            asked = Query(query, None, ResultFormat.SPARQL_JSON, None, max_rows=10_000)
            assert json.loads(serialise(kb.query(query), asked).body) == json.loads(
                kb.query(query).serialize(format=QueryResultsFormat.JSON))


def test_a_capped_result_reads_back_in_every_format():
    store = results_store()
    query = RESULTS_QUERIES[1]
    whole = list(store.query(query))
    for fmt in (ResultFormat.SPARQL_JSON, ResultFormat.SPARQL_XML, ResultFormat.TSV):
        answer = serialise(store.query(query), Query(query, None, fmt, None, max_rows=3))
        assert answer.truncated is True
        read = parse_query_results(answer.body, getattr(QueryResultsFormat, fmt.name.removeprefix("SPARQL_")))
        assert [list(row) for row in read] == [list(row) for row in whole[:3]]


# --- CORS, the address, edits -------------------------------------------------------------------

def test_another_sites_background_requests_are_refused_without_cors_and_its_links_followed(limited, served_kb):
    """An <img src=.../sparql?query=...> on any page a reader opened queued queries on the two
    workers: the answer went unread (no CORS), the time was spent, everyone waited."""
    background = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
    refused = request(served_kb, params={"query": MEETINGS}, headers=background)
    assert refused.status == 403 and "Start dipkb serve with --cors to let other sites query it" in refused.text
    followed = request(served_kb, params={"query": MEETINGS},
                       headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Accept": "text/csv"})
    assert followed.status == 200  # a link to a query, shared elsewhere
    own = request(served_kb, params={"query": MEETINGS}, headers={"Sec-Fetch-Site": "same-origin",
                                                                   "Sec-Fetch-Mode": "cors", "Accept": "text/csv"})
    assert own.status == 200  # the editor's own requests
    assert request(limited, params={"query": MEETINGS}, headers=background).status == 200  # --cors: any site


def test_cors_headers_only_with_cors(limited, served_kb):
    origin = {"Origin": "http://example.org"}
    answers = [request(limited, params={"query": MEETINGS}, headers={**origin, "Accept": accept})
               for accept in ("application/sparql-results+json", "text/csv", "application/sparql-results+xml")]
    answers.append(request(limited, params={"query": CONSTRUCT}, headers={**origin, "Accept": "text/turtle"}))
    answers.append(request(limited, params={"query": "SELECT ?s WHERE {"}, headers=origin))  # a 400
    answers.append(request(limited, params={"query": MEETINGS}, headers={**origin, "Accept": "image/png"}))  # a 406
    assert [a.status for a in answers] == [200, 200, 200, 200, 400, 406]
    for answer in answers:
        assert answer.headers["access-control-allow-origin"] == "*"
    exposed = answers[0].headers["access-control-expose-headers"].lower()
    assert {"x-dipkb-truncated", "x-dipkb-timeout", "x-dipkb-timeout-requested"} <= {h.strip() for h in exposed.split(",")}
    preflight = request(limited, "OPTIONS", headers={**origin, "Access-Control-Request-Method": "POST",
                                                     "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 200 and "POST" in preflight.headers["access-control-allow-methods"]

    plain = request(served_kb, params={"query": MEETINGS}, headers=origin)
    assert plain.status == 200 and "access-control-allow-origin" not in plain.headers
    assert "access-control-allow-origin" not in request(served_kb, params={"query": "SELECT {"}, headers=origin).headers


def test_binds_loopback_by_default(served_kb):
    assert served_kb.url.startswith("http://127.0.0.1:")
    assert not any(line.startswith("Warning") for line in served_kb.stderr)


def test_another_host_is_served_with_a_warning(shipped_kb):
    process = subprocess.Popen([sys.executable, "-m", "dipkb", "--kb", str(shipped_kb), "serve", "--host", "0.0.0.0",
                                "--port", "0"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stderr.readline(), process.stderr.readline()]
    finally:
        process.terminate()
        process.wait(20)
    assert lines[0].startswith("Warning: listening on 0.0.0.0: other machines can read this KB.")
    assert lines[1].startswith("Serving ") and " at http://0.0.0.0:" in lines[1]


NEW_EVENT = """
event:served-test-meeting-2021-07 a dip:Meeting ;
    rdfs:label "A meeting added while the server runs"@en ;
    dip:host actor:russia ;
    dip:visitor actor:taliban ;
    dip:date "2021-07-20"^^xsd:date ;
    dip:modality dip:Occurred ;
    dip:source source:founding-article .
"""


def test_the_server_sees_an_edit_without_a_restart(kb_copy):
    ask = "ASK { event:served-test-meeting-2021-07 a dip:Meeting }"
    with serving(kb_copy) as server:
        assert get(server, ask).body == b'{"head":{},"boolean":false}'
        events = kb_copy / "kb" / "events-2021.ttl"
        with open(events, "a", encoding="utf-8") as handle:
            handle.write(NEW_EVENT)
        assert get(server, ask).body == b'{"head":{},"boolean":true}'
        count = json.loads(get(server, "SELECT (COUNT(*) AS ?n) WHERE { ?e a dip:Meeting }").body)
        assert count["results"]["bindings"][0]["n"]["value"] == "5"  # four in the shipped KB


def test_no_server_is_left_behind(shipped_kb):
    with serving(shipped_kb) as server:
        workers = worker_pids(server)
        assert len(workers) == 2
    assert server.process.returncode is not None
    assert still_running(workers, after=10) == []


@pytest.fixture
def short_tmpdir() -> Iterator[Path]:
    """A $TMPDIR short enough to hold the fork server's socket itself (pytest's own are long)."""
    path = Path(tempfile.mkdtemp(prefix="dipkb-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_ends_the_server_as_asked(shipped_kb, short_tmpdir, stop):
    # systemd and docker stop a service with SIGTERM: it ended by the signal, leaving the query
    # workers' fork-server directory in $TMPDIR, and Ctrl-C ended it with "Aborted!", exit code 1.
    temp = short_tmpdir
    with serving(shipped_kb, env={"TMPDIR": str(temp)}) as server:
        workers = worker_pids(server)
        assert list(temp.iterdir()), "the fork server's directory is where this test looks for it"
        server.process.send_signal(stop)
        assert server.process.wait(20) == 0
    assert not any("Traceback" in line or "Aborted" in line for line in server.stderr), server.stderr
    assert list(temp.iterdir()) == []
    assert still_running(workers, after=10) == []


def test_a_tmpdir_too_long_for_a_socket_path_still_serves(shipped_kb, tmp_path):
    # The fork server's socket, $TMPDIR/pymp-XXXXXXXX/listener-XXXXXXXX, must fit in 107 bytes: under
    # a longer $TMPDIR the server failed at startup, "AF_UNIX path too long", exit code 3.
    temp = tmp_path / ("t" * max(1, 80 - len(str(tmp_path))))
    temp.mkdir()
    assert len(str(temp)) >= 80
    with serving(shipped_kb, env={"TMPDIR": str(temp)}) as server:
        assert get(server, "ASK { ?s ?p ?o }").status == 200
        workers = worker_pids(server)
        assert len(workers) == 2
    assert server.process.returncode == 0 and still_running(workers, after=10) == []


def still_running(pids: set[int], after: float) -> list[int]:
    """Those of ``pids`` still running ``after`` seconds from now, or as soon as none is."""
    deadline = time.monotonic() + after
    while (alive := [pid for pid in pids if running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_saved_query_of_the_api_runs_under_the_endpoints_limits(limited):
    """/api/queries/NAME ran on a page's thread with no time limit or row cap: 45,314 rows and 12.7 s
    for who-met-whom on a KB of a few hundred events."""
    address = urlsplit(limited.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request("GET", "/api/queries/events-by-type-and-month")
        reply = Reply(connection.getresponse())
    finally:
        connection.close()
    assert reply.status == 200
    assert (reply.headers["x-dipkb-truncated"], reply.headers["x-dipkb-timeout"]) == ("true", "2")
    document = json.loads(reply.body)
    assert document["truncated"] is True and len(document["results"]["bindings"]) == 2


@pytest.mark.parametrize(("kind", "size", "most"), [("application/sparql-query", (1 << 20) + 1, "1,048,576"),
                                                   ("application/x-www-form-urlencoded", 4 << 20, "3,149,824")])
def test_a_body_larger_than_any_query_is_a_413(served_kb, kind, size, most):
    """A query's own body over the query limit, or a form's over three times that, was a 400."""
    reply = request(served_kb, "POST", body=b"#" * size, headers={"Content-Type": kind})
    assert reply.status == 413 and reply.text.startswith(f"The request body is over {most} bytes")


def test_the_editor_and_the_service_description_at_one_address_vary_by_accept(served_kb):
    """A shared cache gave the editor's HTML to a tool asking /sparql what it is."""
    editor = request(served_kb, headers={"Accept": BROWSER})
    described = request(served_kb, headers={"Accept": "text/turtle"})
    assert (editor.status, described.status) == (200, 200) and editor.type.startswith("text/html")
    assert editor.headers["vary"] == described.headers["vary"] == "Accept"


def test_a_describe_answer_gives_literals_as_the_files_write_them(kb_copy):
    (kb_copy / "kb" / "hard.ttl").write_text(
        "<https://w3id.org/dipkb/kb/place/hard> <http://www.w3.org/2003/01/geo/wgs84_pos#lat> "
        '"55.7500"^^<http://www.w3.org/2001/XMLSchema#decimal> .\n', encoding="utf-8")
    with serving(kb_copy) as server:
        reply = get(server, "DESCRIBE place:hard", accept="application/n-triples")
    assert b'"55.7500"^^<http://www.w3.org/2001/XMLSchema#decimal>' in reply.body, reply.body
