"""The query guard: SERVICE, LOAD and updates are refused however they are written, a listener on
127.0.0.1 receives nothing from any query, and deep or huge queries are refused instead of crashing."""
from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from pyoxigraph import Store

from dipkb import KnowledgeBase
from dipkb.cli import cli
from dipkb.errors import ForbiddenQueryError, QueryError
from dipkb.sparql import guard

pytestmark = pytest.mark.prebuilt_index  # the index is not the point here: built once (conftest)


@dataclass
class Listener:
    url: str
    requests: list[str] = field(default_factory=list)


@contextmanager
def listening() -> Iterator[Listener]:
    """An HTTP server on a free port of 127.0.0.1 that records every request and answers 500."""
    listener = Listener("")

    class Record(BaseHTTPRequestHandler):
        def record(self):
            listener.requests.append(f"{self.command} {self.path}")
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = record

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    listener.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture()
def listener() -> Iterator[Listener]:
    with listening() as running:
        yield running


@dataclass(frozen=True)
class Attack:
    name: str
    text: str
    answers: bool = False  # harmless and answered (FROM, IRI()); the others are refused
    live: bool = False  # the engine without the guard sends the listener a request


def corpus(url: str) -> list[Attack]:
    """Every way we know to make a query reach ``url``, and the harmless forms that mention it."""
    host = url.rstrip("/")
    return [
        Attack("service", f"SELECT * WHERE {{ SERVICE <{url}a> {{ ?s ?p ?o }} }}", live=True),
        Attack("service-silent", f"SELECT * WHERE {{ SERVICE SILENT <{url}b> {{ ?s ?p ?o }} }}", live=True),
        Attack("service-lower-case", f"select * where {{ service <{url}c> {{ }} }}", live=True),
        Attack("service-var", f"SELECT * WHERE {{ VALUES ?svc {{ <{url}d> }} SERVICE ?svc {{ ?s ?p ?o }} }}"),
        Attack("in-optional", f"SELECT * WHERE {{ OPTIONAL {{ SERVICE <{url}e> {{ }} }} }}", live=True),
        Attack("in-union", f"SELECT * WHERE {{ {{ }} UNION {{ SERVICE <{url}f> {{ }} }} }}", live=True),
        Attack("in-minus", f"SELECT * WHERE {{ ?s ?p ?o MINUS {{ SERVICE <{url}g> {{ }} }} }}"),
        Attack("in-subquery", f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}h> {{ }} }} }} }}", live=True),
        Attack("in-exists", f"SELECT * WHERE {{ FILTER EXISTS {{ SERVICE <{url}i> {{ }} }} }}", live=True),
        Attack("in-not-exists", f"ASK {{ FILTER NOT EXISTS {{ SERVICE <{url}j> {{ }} }} }}", live=True),
        Attack("in-graph", f"SELECT * WHERE {{ GRAPH ?g {{ SERVICE <{url}k> {{ }} }} }}"),
        Attack("in-lateral", f"SELECT * WHERE {{ LATERAL {{ SERVICE <{url}l> {{ }} }} }}", live=True),
        Attack("construct", f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}m> {{ ?s ?p ?o }} }}", live=True),
        # The bypass of the issue: `\'` is an escape in a prefixed name, and the comment holds a `'`.
        Attack("issue-bypass", f"SELECT * WHERE {{ OPTIONAL {{ ?s dip:x\\'y ?o }} SERVICE SILENT <{url}x> "
               "{ ?a ?b ?c } } #'", live=True),
        # The engine's parser backtracks: a prefixed name that fails is read again as SERVICE + name.
        Attack("pname-split", f"PREFIX : <{url}> SELECT * WHERE {{ service:n {{ }} }}", live=True),
        Attack("pname-split-declared", f"PREFIX service: <http://example.org/> PREFIX : <{url}> "
               "SELECT * WHERE { service:o { } }", live=True),
        Attack("pname-split-glued", f"PREFIX p: <{url}> SELECT * WHERE {{ servicep:p {{ }} }}", live=True),
        Attack("pname-split-after-true", f"PREFIX : <{url}> SELECT * WHERE {{ ?s ?p trueservice:q {{ }} }}",
               live=True),
        Attack("pname-split-silent", f"PREFIX p: <{url}> SELECT * WHERE {{ serviceSILENTp:r {{ }} }}", live=True),
        Attack("pname-local-fallback", f"PREFIX p: <{host}> PREFIX q: <{url}> "
               "SELECT * WHERE { ?s ?p p:SERVICEq:s { } }", live=True),
        # An IRI to a tokenizer, a comparison, SERVICE and a comment to the engine.
        Attack("iri-comparison", f"PREFIX p: <{url}> SELECT * WHERE {{ FILTER(0 <1)SERVICEp:t#>)\n{{ }} }}",
               live=True),
        Attack("iri-comparison-absolute", f"PREFIX p: <http://example.org/> PREFIX q: <{url}> "
               "SELECT * WHERE { FILTER(0 <p:a)SERVICEq:u#>)\n{ } }", live=True),
        Attack("unicode-escape", f"SELECT * WHERE {{ \\u0053ERVICE <{url}v> {{ }} }}"),
        Attack("load", f"LOAD <{url}w>"),
        Attack("load-into", f"LOAD SILENT <{url}x> INTO GRAPH <urn:x>"),
        Attack("insert-data", "INSERT DATA { <urn:s> <urn:p> <urn:o> }"),
        Attack("delete-where", "DELETE WHERE { ?s ?p ?o }"),
        Attack("with-delete", f"WITH <{url}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}"),
        Attack("clear", "CLEAR ALL"),
        Attack("drop", f"DROP SILENT GRAPH <{url}>"),
        Attack("create", f"CREATE GRAPH <{url}y>"),
        Attack("add-move-copy", "ADD DEFAULT TO <urn:a> ; MOVE <urn:a> TO <urn:b> ; COPY <urn:b> TO DEFAULT"),
        Attack("from", f"SELECT * FROM <{url}z> WHERE {{ ?s ?p ?o }} LIMIT 1", answers=True),
        Attack("from-named", f"SELECT * FROM NAMED <{url}z> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", answers=True),
        Attack("iri-function", f"SELECT ?x WHERE {{ BIND(IRI(\"{url}\") AS ?x) }}", answers=True),
        Attack("functions", f"SELECT * WHERE {{ BIND(ENCODE_FOR_URI(STR(URI(\"{url}\"))) AS ?a) "
               f"BIND(REGEX(\"{url}\", \"^http\") AS ?b) BIND(STRUUID() AS ?c) }}", answers=True),
    ]


def consume(result) -> None:
    """Read every row or triple: the engine evaluates lazily."""
    if hasattr(result, "__iter__"):
        list(result)


def test_the_unguarded_engine_reaches_the_listener_on_every_live_attack(listener):
    """The corpus is real: without the guard, each live attack sends the listener a request."""
    for attack in corpus(listener.url):
        if not attack.live:
            continue
        before = len(listener.requests)
        try:
            consume(Store().query(attack.text, prefixes={"dip": "https://w3id.org/dipkb/ontology#"}))
        except OSError:
            pass  # the listener answers 500
        assert len(listener.requests) > before, attack.name


def test_the_library_sends_no_request(kb_copy, listener):
    kb = KnowledgeBase.open(kb_copy)
    for attack in corpus(listener.url):
        if attack.answers:
            consume(kb.query(attack.text))
        else:
            with pytest.raises(QueryError):
                consume(kb.query(attack.text))
    assert listener.requests == []


def test_the_cli_sends_no_request(kb_copy, listener, tmp_path):
    runner = CliRunner()
    saved = tmp_path / "saved"
    saved.mkdir()
    for attack in corpus(listener.url):
        # Inline, and as a .rq file, whose loading checks the query with a dry run.
        rq = saved / f"{attack.name}.rq"
        rq.write_text(f"# title: {attack.name}\n{attack.text}\n", encoding="utf-8")
        for given in (attack.text, str(rq)):
            result = runner.invoke(cli, ["--kb", str(kb_copy), "query", given], catch_exceptions=False)
            assert "Traceback" not in result.output + result.stderr, attack.name
            if attack.answers and given == attack.text:
                assert result.exit_code == 0, (attack.name, result.stderr)
            elif not attack.answers:
                assert result.exit_code == 2, (attack.name, result.output)
                assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert listener.requests == []


@pytest.mark.parametrize(("text", "message"), [
    ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE is not allowed"),
    ("SELECT * WHERE { ?s ?p ?o } # SERVICE <http://example.org/sparql>\nLOAD <http://example.org/>",
     "LOAD is not allowed"),
    ("DELETE WHERE { ?s ?p ?o }", "Update operations (INSERT, DELETE, ...) are not allowed"),
])
def test_refusals_say_why(text, message):
    with pytest.raises(ForbiddenQueryError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.")):
        guard.prepare(text, {})


@pytest.mark.parametrize("text", [
    "SELECT ?load WHERE { ?load ?p ?o } LIMIT 1",
    "PREFIX service: <http://example.org/service#> SELECT ?s WHERE { ?s service:load ?o } LIMIT 1",
    "SELECT ?service WHERE { ?service dip:load|dip:insert ?o ; rdfs:label 'SERVICE <x> {}' }",
    "SELECT * WHERE { FILTER(1<2&&3>2) }",  # a comparison, not the IRI <2&&3>
    "SELECT * {} LIMIT1",
    "SELECT(COUNT(*)AS?n){?s a dip:Event}",
    'VERSION "1.2" ASK {}',  # short quotes only: a long string here is a syntax error
])
def test_read_only_queries_that_name_the_refused_words_run(kb_copy, text):
    consume(KnowledgeBase.open(kb_copy).query(text))


@pytest.mark.parametrize("text", [
    "SELECT ?s WHERE {\n  ?s dip:p ?o ?x .\n}",
    "SELECT ?s WHERE {\n  ?s dip:label 'x'\n  BIND(1 AS)\n}",
    "SELECT ?s WHERE { ?s dip:label \"\u00e9t\u00e9 # \" FILTER(?s = ) }",
    "SELECT ?s WHERE { ?s <http://a/b> ?o . ?s dip:x ?o ?o }",
])
def test_the_engines_syntax_errors_point_into_the_users_text(kb_copy, text):
    """The engine parses the rebuilt text, whose columns differ; the place shown is the one the
    engine gives for the user's own text."""
    with pytest.raises(SyntaxError) as engine:
        Store().query(text, prefixes={"dip": "https://w3id.org/dipkb/ontology#"})
    with pytest.raises(QueryError) as guarded:
        KnowledgeBase.open(kb_copy).query(text)
    place = engine.value.msg.split()[2]  # "error at 3:2: ..."
    assert str(guarded.value).startswith(f"SPARQL syntax error: error at {place}")


@pytest.mark.parametrize(("text", "message"), [
    # The engine hides its reason among the hundreds of tokens it would take.
    ("SELECT ?x { ?s ?p ?o } GROUP BY ?s", "error at 1:35: The SELECT contains a variable that is unbound"),
    ("SELECT * { ?s ?p ?o } LIMIT 99999999999999999999999", "error at 1:52: The query limit should be a non negative integer"),
    ("SELECT * { ?s foo:bar ?o }", "error at 1:22: Prefix not found"),
    ("SELECT ?s WHERE { ?s dip:p ?o ?x . }", "error at 1:37: expected one of FILTER, VALUES, [_]"),
])
def test_the_engines_reason_is_said_rather_than_the_tokens_it_would_take(kb_copy, text, message):
    with pytest.raises(QueryError) as refused:
        KnowledgeBase.open(kb_copy).query(text)
    assert str(refused.value) == f"SPARQL syntax error: {message}"


@pytest.mark.parametrize(("text", "at"), [("SELECT (<s> AS ?x) {}", "1:9"), ("CONSTRUCT { <s> <p> 1 } WHERE {}", "1:13"),
                                        ("SELECT * { ?s ?p ?o FILTER(?o = <>) }", "1:33")])
def test_a_relative_iri_without_a_base_says_so(kb_copy, text, at):
    """The engine said "expected [_]", or "unexpected 'p': not a keyword, name, IRI, string or number"."""
    with pytest.raises(QueryError) as refused:
        KnowledgeBase.open(kb_copy).query(text)
    assert str(refused.value).startswith(f"SPARQL syntax error: error at {at}: <")
    assert "is a relative IRI, and the query has no BASE to resolve it against" in str(refused.value)
    based = KnowledgeBase.open(kb_copy).select("BASE <https://w3id.org/dipkb/kb/> SELECT (<actor/russia> AS ?x) {}")
    assert based[0]["x"].value == "https://w3id.org/dipkb/kb/actor/russia"


def test_text_that_does_not_tokenize_is_a_syntax_error_with_its_place():
    with pytest.raises(QueryError, match=r"^SPARQL syntax error: error at 2:9: unexpected 'oops'"):
        guard.prepare("SELECT *\nWHERE { oops }", {})
    with pytest.raises(QueryError, match=r"^SPARQL syntax error: error at 1:18: unterminated string"):
        guard.prepare(r"SELECT * WHERE { 'a\' }", {})
    with pytest.raises(QueryError, match=r"the escape \\uD800 is not a character"):
        guard.prepare(r"SELECT * WHERE { BIND('''\uD800''' AS ?x) }", {})


# --- Limits ------------------------------------------------------------------------------------

DEPTH = guard.MAX_NESTING


@pytest.mark.parametrize(("name", "build"), [
    ("braces", lambda n: "SELECT * WHERE " + "{" * n + "}" * n),
    ("parentheses", lambda n: "SELECT * WHERE { FILTER(" + "(" * (n - 2) + "true" + ")" * (n - 2) + ") }"),
    ("brackets", lambda n: "SELECT * WHERE { ?s ?p " + "[ ?p " * (n - 1) + "?o" + " ]" * (n - 1) + " }"),
    ("negations", lambda n: "SELECT * WHERE { FILTER(" + "!" * (n - 2) + "true) }"),
    ("mixed", lambda n: "SELECT * WHERE " + "{ FILTER(EXISTS " * ((n - 1) // 2) + "{}" + ") }" * ((n - 1) // 2)),
])
def test_nesting_up_to_the_limit_runs_and_beyond_is_refused(kb_copy, name, build):
    runner = CliRunner()
    at_limit = runner.invoke(cli, ["--kb", str(kb_copy), "query", build(DEPTH), "-f", "csv"],
                             catch_exceptions=False)
    assert at_limit.exit_code == 0, at_limit.stderr
    beyond = runner.invoke(cli, ["--kb", str(kb_copy), "query", build(DEPTH + 2)], catch_exceptions=False)
    assert beyond.exit_code == 2
    assert f"deeper than {DEPTH} levels" in beyond.stderr and beyond.stderr.count("\n") == 1


def test_size_up_to_the_limit_runs_and_beyond_is_refused(kb_copy):
    kb = KnowledgeBase.open(kb_copy)
    head = "SELECT * WHERE { } #"
    padded = head + "é" * ((guard.MAX_QUERY_BYTES - len(head)) // 2)  # two bytes each in UTF-8
    padded += "x" * (guard.MAX_QUERY_BYTES - len(padded.encode()))
    consume(kb.query(padded))
    with pytest.raises(QueryError, match="up to 1,048,576 bytes"):
        kb.query(padded + "x")


def test_the_issues_deep_query_exits_2_not_on_a_signal(kb_copy):
    deep = "SELECT * WHERE " + "{" * 5000 + "}" * 5000
    done = subprocess.run([sys.executable, "-m", "dipkb", "--kb", str(kb_copy), "query", "-"], input=deep,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: The query nests brackets or '!' deeper than")
    assert done.stderr.count("\n") == 1


def test_a_long_run_of_keywords_is_refused_as_soon_as_it_is_read(kb_copy):
    """200,000 `a`s: each a keyword, and each made the prefixed-name pattern scan the rest of the run
    for a ':' (quadratic: 4.7 s at 20,000, minutes at 200,000). The timeout only says it did not hang."""
    done = subprocess.run([sys.executable, "-m", "dipkb", "--kb", str(kb_copy), "query", "-"], input="a" * 200_000,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("Error: The query has more than 500 keywords and operators")


@pytest.mark.parametrize("stdin, message", [
    (b"#" * (guard.MAX_QUERY_BYTES + 1), "Error: standard input: the query is over 1,048,576 bytes long; dipkb "
                                         "accepts queries up to 1,048,576 bytes (1 MiB)."),
    (b"ASK {} #\xff", "Error: standard input: not valid UTF-8 (invalid start byte)."),
])
def test_standard_input_is_read_no_further_than_a_query_may_be(kb_copy, stdin, message):
    done = subprocess.run([sys.executable, "-m", "dipkb", "--kb", str(kb_copy), "query", "-"], input=stdin,
                          capture_output=True, timeout=60)
    assert (done.returncode, done.stderr.decode()) == (2, message + "\n")


def test_a_query_file_that_is_not_there_or_no_file_is_named(kb_copy, tmp_path):
    (tmp_path / "folder.rq").mkdir()
    for path, message in [(tmp_path / "missing.rq", "no such query file"),
                          (tmp_path / "folder.rq", "not a file to read a query from")]:
        result = CliRunner().invoke(cli, ["--kb", str(kb_copy), "query", str(path)])
        assert (result.exit_code, result.output) == (2, f"Error: {path}: {message}\n")


def test_rebuilt_text_keeps_lines(kb_copy):
    text = "SELECT ?x # a comment with 'quotes\nWHERE { BIND('''two\nlines''' AS ?x) }"
    rebuilt = guard.prepare(text, {}).text
    assert rebuilt.count("\n") == text.count("\n") == 2
    assert "'" not in rebuilt and "#" not in rebuilt
    assert [row["x"].value for row in KnowledgeBase.open(kb_copy).select(text)] == ["two\nlines"]



def test_chains_up_to_the_operator_limit_run_and_longer_are_refused(kb_copy):
    """`SELECT`, `*` and `WHERE` are three; each OPTIONAL is one more. The engine itself dies at
    about 2,600 OPTIONALs in a row."""
    kb = KnowledgeBase.open(kb_copy)
    chain = lambda n: "SELECT * WHERE { " + "OPTIONAL { ?s dip:label ?o } " * n + "}"  # noqa: E731
    consume(kb.query(chain(guard.MAX_OPERATORS - 3)))
    with pytest.raises(QueryError, match=f"more than {guard.MAX_OPERATORS} keywords and operators"):
        kb.query(chain(guard.MAX_OPERATORS - 2))
    long_chain = "SELECT * WHERE { " + " UNION ".join(["{ ?s dip:label ?o }"] * 8000) + " }"
    done = subprocess.run([sys.executable, "-m", "dipkb", "--kb", str(kb_copy), "query", "-"], input=long_chain,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: The query has more than") and done.stderr.count("\n") == 1
