"""`dipkb --endpoint URL`: the views answered by a real SPARQL server after `dipkb push`, on Oxigraph
server and on Virtuoso 7, give what they give locally; and every way the server can fail ends in one
line and exit 2."""
from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import Literal, NamedNode

from dipkb.cli import cli
from dipkb.errors import EndpointError, QueryError
from dipkb.sparql.saved import load_catalogue
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.remote import open_remote, remote_text
from dipkb.views import bucket_tallies, paging, selection as selecting
from dipkb.views.paging import timeline_window
from dipkb.views.selection import Selection, TimelineFilter
from servers import Server, free_port, start_oxigraph, start_virtuoso

REPO = Path(__file__).resolve().parent.parent
CATALOGUE = load_catalogue(REPO / "queries")
# Saved queries Virtuoso 7.2.5 answers otherwise than the embedded engine, and how. They are checked
# to still differ, so that the list shrinks when a query or the server changes.
VIRTUOSO_GAPS = {
    "planned-and-possible": "GROUP_CONCAT joins the participants in another order (the standard sets none)",
    "event-sources": "direct is 1 (xsd:integer): it returns a computed boolean as an integer",
}
# Views Virtuoso 7.2.5 answers otherwise, and why; checked to still differ, as VIRTUOSO_GAPS.
VIRTUOSO_VIEW_GAPS = {
    "query DESCRIBE event:kabulov-taliban-meeting-2021-07 -f ntriples":
        "DESCRIBE is the server's choice: Virtuoso adds the triples that point at the resource",
    "query --with-derived DESCRIBE event:kabulov-taliban-meeting-2021-07 -f turtle": "as above",
}
VIEWS = [
    ["timeline", "--actor", "Russia", "-f", "json"],
    ["timeline", "--actor", "Russia", "--direct"],
    ["timeline"],
    ["timeline", "--type", "042", "-f", "csv"],
    ["timeline", "--type", "Meeting", "--place", "Moscow"],
    ["timeline", "--from", "2021-07", "--to", "2021-07", "--modality", "occurred"],
    ["timeline", "--to", "2001", "-f", "csv"],  # an end alone: no buckets, the first days tested first
    ["show", "Kabulov"],
    ["show", "event:kabulov-taliban-meeting-2021-07", "-f", "json"],
    ["show", "Moscow"],
    ["show", "source:founding-article"],
    ["show", "Russia", "--limit", "3", "-f", "json"],  # a page of references: counted by property first
    ["show", "Afghanistan"],  # ambiguous: the same error
    ["show", "Nobody"],  # unknown: the same error and suggestions
    ["stats"],
    ["stats", "-f", "json"],
    ["queries"],
    ["query", "SELECT (COUNT(*) AS ?n) FROM <urn:dipkb:file:kb/actors.ttl> WHERE { ?s ?p ?o }"],
    ["query", "SELECT (COUNT(*) AS ?n) FROM <urn:nonexistent> WHERE { ?s ?p ?o }"],
    ["query", "SELECT ?g (COUNT(*) AS ?n) FROM NAMED <urn:dipkb:file:kb/places.ttl> WHERE { GRAPH ?g { ?s ?p ?o } } "
              "GROUP BY ?g"],
    ["query", "ASK { actor:russia a dip:State }"],
    # Saved queries with a side of their range, or all of it, left open (UNDEF in the VALUES block).
    ["query", "actor-timeline", "-p", "actor=actor:taliban", "-p", "from=2021-06", "-f", "json"],
    ["query", "actor-timeline", "-p", "actor=actor:taliban", "-p", "to=1996", "-f", "json"],
    ["query", "actor-timeline", "-p", "actor=Russia", "-f", "json"],
    ["query", "troop-movements", "-p", "from=2021-07", "-f", "json"],
    ["query", "DESCRIBE event:kabulov-taliban-meeting-2021-07", "-f", "ntriples"],
    ["query", "--with-derived", "DESCRIBE event:kabulov-taliban-meeting-2021-07", "-f", "turtle"],
    ["query", "SELECT ?s ?label WHERE { ?s rdfs:label ?label FILTER(CONTAINS(?label, \"\\\"\") || "
              "?label = \"line\\nbreak\") }"],
]


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


class Pushed:
    """A copy of the bundled KB pushed to a running server."""

    def __init__(self, root: Path, server: Server):
        self.root, self.server = root, server

    def local(self, *args: str):
        return run("--kb", str(self.root), *args)

    def remote(self, *args: str, env: dict[str, str] | None = None):
        return run("--kb", str(self.root), "--endpoint", self.server.query, *args, env=env)


def bundled_copy(root: Path) -> Path:
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    return root


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def pushed(request, tmp_path_factory) -> Iterator[Pushed]:
    root = bundled_copy(tmp_path_factory.mktemp("bundled"))
    if request.param == "oxigraph":
        server = start_oxigraph(tmp_path_factory.mktemp("oxigraph"))
    else:
        server = request.getfixturevalue("virtuoso")
    try:
        result = run("--kb", str(root), "push", *server.push_options())
        assert result.exit_code == 0, result.output
        yield Pushed(root, server)
    finally:
        if request.param == "oxigraph":
            server.stop()


@pytest.fixture(scope="module")
def on_virtuoso(virtuoso, tmp_path_factory) -> Pushed:
    """The bundled KB on Virtuoso, for what only it has: authentication, and errors on standard queries."""
    root = bundled_copy(tmp_path_factory.mktemp("bundled-virtuoso"))
    result = run("--kb", str(root), "push", *virtuoso.push_options())
    assert result.exit_code == 0, result.output
    return Pushed(root, virtuoso)


def test_timeline_of_russia_is_the_local_one(pushed):
    local, remote = pushed.local("timeline", "--actor", "Russia", "-f", "json"), \
        pushed.remote("timeline", "--actor", "Russia", "-f", "json")
    assert local.exit_code == remote.exit_code == 0
    assert len(json.loads(local.stdout)) == 15
    assert remote.stdout == local.stdout


@pytest.mark.parametrize("args", VIEWS, ids=[" ".join(a) for a in VIEWS])
def test_views_answer_as_locally(pushed, args):
    local, remote = pushed.local(*args), pushed.remote(*args)
    if pushed.server.name == "virtuoso" and " ".join(args) in VIRTUOSO_VIEW_GAPS:
        assert remote.stdout != local.stdout, "Virtuoso now answers this as dipkb: remove it from VIRTUOSO_VIEW_GAPS"
        return
    assert (remote.exit_code, remote.stdout, remote.stderr) == (local.exit_code, local.stdout, local.stderr)


@pytest.mark.parametrize("query", CATALOGUE, ids=[q.name for q in CATALOGUE])
def test_saved_queries_answer_as_locally(pushed, query):
    params = [x for name, value in query.example for x in ("-p", f"{name}={value}")]
    local = pushed.local("query", query.name, *params, "-f", "json")
    remote = pushed.remote("query", query.name, *params, "-f", "json")
    assert local.exit_code == 0 and json.loads(local.stdout)["results"]["bindings"] or query.name == "events-without-source"
    if pushed.server.name == "virtuoso" and query.name in VIRTUOSO_GAPS:
        gap = VIRTUOSO_GAPS[query.name]
        assert remote.stdout != local.stdout, f"Virtuoso now answers {query.name}: remove it from VIRTUOSO_GAPS"
        if gap.startswith(("500", "syntax error")):  # the server's error, in one line, exit 2
            _one_line_error(remote, "answered 500" if gap.startswith("500") else "SPARQL syntax error: Virtuoso")
        return
    assert remote.exit_code == 0, remote.output
    assert remote.stdout == local.stdout


def test_a_syntax_error_is_placed_in_the_query_as_locally(pushed):
    # The server placed it in the text it was sent, CURIEs written out: 1:41 where the query has 1:72.
    query = "SELECT ?s WHERE { ?s rdfs:label ?l . ?s dip:host actor:russia FILTER( }"
    local, remote = pushed.local("query", query), pushed.remote("query", query)
    assert local.exit_code == remote.exit_code == 2
    assert "error at 1:72" in local.stderr and remote.stderr == local.stderr


def test_strings_and_iris_reach_the_server_intact(pushed):
    """Bound terms and the query's own strings, written for any server: quotes, backslashes, line
    breaks, non-ASCII, '#' and '>' in a string come back as they went."""
    tricky = 'a "quoted" \\ back\nslash # not a comment > é ✓'
    with KnowledgeBase(KBLayout.locate(pushed.root), open_remote(pushed.server.query)) as kb:
        rows = kb.select("SELECT ?x ?y WHERE { BIND(CONCAT(?v, \"!\\\"#>\") AS ?y) BIND(?v AS ?x) }",
                         {"v": Literal(tricky)})
        assert [(r["x"].value, r["y"].value) for r in rows] == [(tricky, tricky + '!"#>')]
        assert kb.ask("ASK { ?e a ?type }", {"type": NamedNode("https://w3id.org/dipkb/ontology#Meeting")})
        assert not kb.ask("ASK { ?e a ?type }", {"type": NamedNode("https://w3id.org/dipkb/ontology#Nothing")})


def test_the_endpoint_comes_from_the_environment(pushed):
    result = run("--kb", str(pushed.root), "stats", env={"DIPKB_ENDPOINT": pushed.server.query})
    assert result.exit_code == 0 and result.stdout == pushed.local("stats").stdout


def test_add_writes_the_files_and_push_publishes_them(pushed, tmp_path):
    """With --endpoint, add still writes the Turtle files (the source of truth); the server sees the
    event once pushed."""
    args = ["add", "Envoys meet in Dushanbe", "--type", "Meeting", "--participant", "host=Russia",
            "--participant", "visitor=India", "--date", "2021-07-20", "--source", "source:founding-article"]
    added = pushed.remote(*args)
    assert added.exit_code == 0, added.output
    assert "Envoys meet in Dushanbe" in "".join(p.read_text() for p in (pushed.root / "kb").glob("*.ttl"))
    assert "Dushanbe" not in pushed.remote("timeline", "--actor", "India").stdout
    assert run("--kb", str(pushed.root), "push", *pushed.server.push_options()).exit_code == 0
    assert "Envoys meet in Dushanbe" in pushed.remote("timeline", "--actor", "India").stdout
    assert pushed.remote("timeline", "--actor", "India").stdout == pushed.local("timeline", "--actor", "India").stdout


def test_a_generated_kb_answers_as_locally(tmp_path, monkeypatch):
    """4,500 generated events on both servers: the benchmark actor's timeline, stats, one actor's
    description, pages of long timelines worked out from their buckets' counts, and the actor's every
    event read from its (bucket, actor) pairs. A world of 20 states: the actor is in ~1,700 events."""
    root = tmp_path / "kb4k"
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--events", "4500", "--states", "20",
                    "--seed", "1", "--out", str(root)], check=True, capture_output=True)
    summary = json.loads((root / "summary.json").read_text())
    dates = ["--from", summary["from"], "--to", summary["to"]]
    views = [["timeline", "--actor", summary["actor_iri"], *dates, "--direct", "-f", "json"],
             ["timeline", "--actor", summary["actor_iri"], *dates], ["stats"], ["show", "actor:syn-rasol"],
             ["query", "events-by-type-and-month", "-f", "csv"]]
    local = [run("--kb", str(root), *args) for args in views]
    pages = [(TimelineFilter(actors=(summary["actor_iri"],)), start) for start in (0, 1000)] + [
        (TimelineFilter(), 4000), (TimelineFilter(start=date(2000, 1, 1), end=date(2009, 12, 31)), 100)]
    with KnowledgeBase.open(root / "kb", progress=False) as kb:
        local_pages = [timeline_window(kb, filt, start, 200, windowed_from=10**9) for filt, start in pages]
        every_event = Selection.of(kb, pages[0][0]).events(kb, None)
    assert len(json.loads(local[0].stdout)) == summary["timeline_events"]
    assert all(len(entries) == 200 for entries, _ in local_pages), "a page past the timeline's end: generate more"
    for start in (start_oxigraph, start_virtuoso):
        (tmp_path / start.__name__).mkdir()
        server = start(tmp_path / start.__name__)
        try:
            assert run("--kb", str(root), "push", *server.push_options()).exit_code == 0
            for args, expected in zip(views, local):
                assert run("--kb", str(root), "--endpoint", server.query, *args).stdout == expected.stdout, args
            remote = KnowledgeBase(KBLayout.locate(root / "kb"), open_remote(server.query))
            for (filt, start), expected in zip(pages, local_pages):
                assert paging._window(remote, Selection.of(remote, filt), start, 200, windowed_from=0) is not None
                assert timeline_window(remote, filt, start, 200, windowed_from=0) == expected, (filt, start)
            with monkeypatch.context() as patched:
                patched.setattr(selecting, "_FILED_FROM", 0)
                assert bucket_tallies.tallied(remote) is not None  # so that the pairs are read
                assert Selection.of(remote, pages[0][0]).events(remote, None) == every_event
        finally:
            server.stop()


# ---------------------------------------------------------------------------------------- failures

def _one_line_error(result, *parts: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    for part in parts:
        assert part in result.stderr


def test_an_unreachable_endpoint_is_one_line(bundled_root):
    url = f"http://127.0.0.1:{free_port()}/query"
    result = run("--kb", str(bundled_root), "--endpoint", url, "timeline", "--actor", "Russia")
    _one_line_error(result, f"Cannot reach the SPARQL endpoint {url}", "Connection refused")


def test_a_host_that_does_not_exist_is_one_line(bundled_root):
    result = run("--kb", str(bundled_root), "--endpoint", "http://no-such-host.invalid/sparql", "stats")
    _one_line_error(result, "Cannot reach the SPARQL endpoint http://no-such-host.invalid/sparql")


def test_an_endpoint_that_does_not_answer_times_out(bundled_root):
    """A real socket that accepts and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
        with KnowledgeBase(KBLayout.locate(bundled_root), open_remote(url, timeout=0.5)) as kb:
            with pytest.raises(EndpointError, match=r"did not answer within 0\.5 s") as raised:
                kb.select("SELECT * WHERE { ?s ?p ?o } LIMIT 1")
    assert raised.value.status is None


_ONE_ROW = (b'<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>'
            b'<variable name="n"/></head><results><result><binding name="n"><literal '
            b'datatype="http://www.w3.org/2001/XMLSchema#integer">7</literal></binding></result></results></sparql>')


@contextmanager
def failing_endpoint(failures: int, body: bytes, answer: bytes = _ONE_ROW,
                     media_type: str = "application/sparql-results+xml") -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback answering its first ``failures`` queries 500 with ``body`` (what
    Virtuoso sends), then ``answer`` (one row); and the paths it was asked, as they come."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            failed = len(asked) <= failures
            self.send_response(500 if failed else 200, "SPARQL Request Failed" if failed else "OK")
            self.send_header("Content-Type", "text/plain" if failed else media_type)
            self.end_headers()
            self.wfile.write(body if failed else answer)

        def do_POST(self) -> None:  # long queries come as a form
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.do_GET()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sparql", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


_DEADLOCK = b"Virtuoso 40001 Error SR172: Transaction deadlocked\n\nSPARQL query:\nSELECT ..."


@pytest.mark.parametrize("failures", [1, 3])
def test_a_read_the_server_rolled_back_is_sent_again(bundled_root, failures):
    """Virtuoso rolls back a read beside another now and then (SQLSTATE 40001): it is sent again."""
    with failing_endpoint(failures, _DEADLOCK) as (url, asked):
        with KnowledgeBase(KBLayout.locate(bundled_root), open_remote(url)) as kb:
            assert kb.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"].value == "7"
    assert len(asked) == failures + 1 and len(set(asked)) == 1


def test_a_read_rolled_back_every_time_or_another_failure_is_one_error(bundled_root):
    with failing_endpoint(10, _DEADLOCK) as (url, asked):
        result = run("--kb", str(bundled_root), "--endpoint", url, "stats")
    _one_line_error(result, "answered 500 SPARQL Request Failed: Virtuoso 40001 Error SR172: Transaction deadlocked")
    assert len(asked) == 4
    with failing_endpoint(10, b"Virtuoso 37000 Error SP030: SPARQL compiler") as (url, asked):
        result = run("--kb", str(bundled_root), "--endpoint", url, "stats")
    _one_line_error(result, "answered 500 SPARQL Request Failed: Virtuoso 37000 Error SP030")
    assert len(asked) == 1


@pytest.mark.parametrize(("answer", "media_type"), [
    (b'{"head":{"vars":["x"]},"results":{"bindings":[', "application/sparql-results+json"),
    (b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"uri"}}]}}', "application/sparql-results+json"),
    (_ONE_ROW[:-40], "application/sparql-results+xml"),
])
def test_an_answer_that_does_not_parse_is_one_line(bundled_root, answer, media_type):
    """The results parser is lazy: an answer cut short failed in the view reading it, a SyntaxError traceback."""
    with failing_endpoint(0, b"", answer, media_type) as (url, _):
        for command in (["stats"], ["timeline"], ["query", "claims"]):
            _one_line_error(run("--kb", str(bundled_root), "--endpoint", url, *command), "sent an answer that does not parse")


@pytest.mark.parametrize(("answer", "wrong"), [
    (b'{"head":{},"boolean":true}', "sent a yes-or-no answer to a SELECT query"),
    (b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"uri","value":"http://a.example/"}}]}}',
     "sent an answer without the variables asked for: ?"),
])
def test_an_answer_of_the_wrong_form_is_one_line(bundled_root, answer, wrong):
    """A server that answers a SELECT with a boolean, or without the variables asked for: a TypeError or
    KeyError traceback in the view reading it, or `stats` printing '(none)' and exit 0."""
    with failing_endpoint(0, b"", answer, "application/sparql-results+json") as (url, _):
        for command in (["stats"], ["timeline"], ["show", "actor:russia"], ["query", "claims"]):
            result = run("--kb", str(bundled_root), "--endpoint", url, *command)
            _one_line_error(result, "The SPARQL endpoint")
            assert wrong in result.stderr or "sent rows as the answer to an ASK query" in result.stderr, result.stderr


@pytest.fixture(scope="module")
def bundled_root(tmp_path_factory) -> Path:
    return bundled_copy(tmp_path_factory.mktemp("plain"))


def test_credentials_options_environment_and_netrc(on_virtuoso, tmp_path):
    """Virtuoso's /sparql-auth wants Digest authentication: refused without credentials or with a
    wrong password (which no message shows), answered with them from the environment, a ~/.netrc
    or the URL."""
    pushed = on_virtuoso
    auth, user, password = pushed.server.update, pushed.server.user, pushed.server.password
    expected = pushed.local("stats").stdout
    home = {"HOME": str(tmp_path), "DIPKB_ENDPOINT_USER": "", "DIPKB_ENDPOINT_PASSWORD": ""}
    denied = run("--kb", str(pushed.root), "--endpoint", auth, "stats", env=home)
    _one_line_error(denied, f"The SPARQL endpoint {auth} answered 401 Unauthorized", "user and password")
    wrong = run("--kb", str(pushed.root), "--endpoint", auth, "stats",
                env={**home, "DIPKB_ENDPOINT_USER": user, "DIPKB_ENDPOINT_PASSWORD": "s3cret-wrong"})
    _one_line_error(wrong, "401")
    assert "s3cret-wrong" not in wrong.output
    by_env = run("--kb", str(pushed.root), "--endpoint", auth, "stats",
                 env={**home, "DIPKB_ENDPOINT_USER": user, "DIPKB_ENDPOINT_PASSWORD": password})
    assert by_env.exit_code == 0 and by_env.stdout == expected
    netrc = tmp_path / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login {user} password {password}\n")
    netrc.chmod(0o600)
    by_netrc = run("--kb", str(pushed.root), "--endpoint", auth, "stats", env=home)
    assert by_netrc.exit_code == 0 and by_netrc.stdout == expected
    netrc.unlink()
    in_url = auth.replace("http://", f"http://{user}:{password}@")
    assert run("--kb", str(pushed.root), "--endpoint", in_url, "stats", env=home).stdout == expected
    wrong_url = run("--kb", str(pushed.root), "--endpoint", auth.replace("http://", f"http://{user}:nope-pw@"),
                    "stats", env=home)
    _one_line_error(wrong_url, f"The SPARQL endpoint {auth} answered 401")
    assert "nope-pw" not in wrong_url.output


def test_a_server_error_is_one_line(on_virtuoso):
    # Standard SPARQL that Virtuoso 7.2.5 fails to compile: BIND(EXISTS ...) as a group key.
    query = ("SELECT ?s ?d (GROUP_CONCAT(DISTINCT ?c; separator=\" \") AS ?cs) WHERE { ?e dip:source ?x . "
             "BIND(EXISTS { ?e dip:source ?s } AS ?d) OPTIONAL { ?s dip:citedIn ?citing } "
             "BIND(COALESCE(STR(?citing), \"\") AS ?c) } GROUP BY ?s ?d")
    _one_line_error(on_virtuoso.remote("query", query),
                    f"The SPARQL endpoint {on_virtuoso.server.query} answered 500 SPARQL Request Failed: "
                    "Virtuoso 37000 Error SQ156: Internal Optimized compiler error")


# ------------------------------------------------------------------------------------ the text sent

def test_bindings_become_a_values_block_where_the_pattern_starts():
    iri = NamedNode("https://w3id.org/dipkb/kb/actor/russia")
    assert remote_text("ASK { $a ?p ?o }", {"a": iri}) == \
        "ASK { VALUES (?a) { (<https://w3id.org/dipkb/kb/actor/russia>) } ?a ?p ?o }"
    assert remote_text("SELECT ?x WHERE {\n ?x ?p ?y { SELECT ?y WHERE { ?y ?q ?z } } }", {"y": Literal("1")}) == \
        'SELECT ?x WHERE { VALUES (?y) { ("""1""") }\n ?x ?p ?y { SELECT ?y WHERE { ?y ?q ?z } } }'
    assert remote_text("CONSTRUCT { ?s ?p ?o } { ?s ?p ?o }", {"s": iri}) == \
        "CONSTRUCT { ?s ?p ?o } { VALUES (?s) { (<https://w3id.org/dipkb/kb/actor/russia>) } ?s ?p ?o }"


def test_text_a_remote_parser_could_read_otherwise_is_refused():
    # An IRI with a space or '>' (here written with the guard's escapes) would end early on the server.
    with pytest.raises(QueryError, match="cannot be sent"):
        remote_text("SELECT * WHERE { <urn:a\\u003E\\u0020SERVICE\\u0020\\u003Cx\\u003E> ?p ?o }", {})
