"""`dipkb push` against real servers: the KB arrives whole, a second push sends only what changed and
drops what was removed, readers never see a graph half-written, and a server killed mid-push ends up
equal to the KB after a restart and a second push."""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import RdfFormat, parse

from dipkb.cli import cli
from dipkb.publish.push import UNCONFIRMED, PushRecord, open_for_push, planned_graphs, push
from dipkb.publish.sending import Destination, UpdateWriter, destination
from dipkb.store.layout import KBLayout
from dipkb.store.remote import Connection
from servers import Server, start_oxigraph, start_virtuoso

REPO = Path(__file__).resolve().parent.parent
NEW_EVENT = """
event:envoys-meet-in-dushanbe a dip:Meeting ;
    rdfs:label "Envoys meet in Dushanbe"@en ;
    dip:host actor:russia ;
    dip:visitor actor:india ;
    dip:date "2021-07-20"^^xsd:date ;
    dip:source source:founding-article .
"""


STRAY = '\n<https://w3id.org/dipkb/kb/event/stray> <http://www.w3.org/2000/01/rdf-schema#label> "stray"@en .\n'


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def bundled(root: Path) -> Path:
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    return root


def generated(root: Path, events: int) -> Path:
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--events", str(events), "--seed", "2", "--states", "20",
                    "--out", str(root)], check=True, capture_output=True)
    return root


def local_graphs(root: Path) -> dict[str, set[str]]:
    """Every graph push should put on a server, with its triples as a store keeps them (the index's
    canonical forms, which Oxigraph server uses too)."""
    kb, manifest = open_for_push(KBLayout.locate(root), False)
    with kb:
        texts = {g.name: kb.graph_ntriples(g.name) for g in planned_graphs(kb, manifest)}
    return {name: {str(q.triple) for q in parse(text, RdfFormat.N_TRIPLES)} for name, text in texts.items() if text}


def server_graphs(server: Server) -> dict[str, set[str]]:
    graphs = {}
    for graph in server.dipkb_graphs():
        query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        request = urllib.request.Request(server.query, data=urllib.parse.urlencode({"query": query}).encode(),
                                         headers={"Accept": "application/n-triples"})
        with urllib.request.urlopen(request, timeout=60) as response:
            graphs[graph] = {str(q.triple) for q in parse(response.read(), RdfFormat.N_TRIPLES)}
    return graphs


def assert_equal_to_the_kb(server: Server, root: Path) -> None:
    """The server holds exactly the KB's graphs: triple for triple on Oxigraph; on Virtuoso, which
    writes some literals in its own forms ("true" as "1"), with the same sizes."""
    expected = local_graphs(root)
    if server.name == "oxigraph":
        assert server_graphs(server) == expected
    else:
        assert server.dipkb_graphs() == {g: len(triples) for g, triples in expected.items()}


@pytest.fixture()
def kb(tmp_path: Path) -> Path:
    return bundled(tmp_path / "kb-copy")


def test_push_puts_the_kb_on_the_server_and_then_only_what_changed(oxigraph, kb):
    first = run("--kb", str(kb), "push", "--update", oxigraph.update)
    assert first.exit_code == 0, first.output
    assert_equal_to_the_kb(oxigraph, kb)
    assert re.fullmatch(rf"Pushed 22 graphs \(\d,\d{{3}} triples, \d\.\d MB\) to {re.escape(oxigraph.update)}: "
                        r"0 unchanged, 0 removed\.\n", first.stdout), first.stdout

    again = run("--kb", str(kb), "push", "--update", oxigraph.update)
    assert again.exit_code == 0 and again.stdout.startswith("Pushed 0 graphs (0 triples, 0.0 MB)")
    assert again.stdout.endswith(": 22 unchanged, 0 removed.\n")

    events = kb / "kb" / "events-2021.ttl"
    events.write_text(events.read_text() + NEW_EVENT)
    changed = run("--kb", str(kb), "push", "--update", oxigraph.update)
    assert changed.exit_code == 0 and changed.stdout.startswith("Pushed 2 graphs")  # the file's and its derived
    assert changed.stdout.endswith(": 20 unchanged, 0 removed.\n")
    assert_equal_to_the_kb(oxigraph, kb)
    shown = run("--kb", str(kb), "--endpoint", oxigraph.query, "timeline", "--actor", "India", "--from", "2021-07-20")
    assert "Envoys meet in Dushanbe" in shown.stdout

    (kb / "kb" / "history.ttl").unlink()
    removed = run("--kb", str(kb), "push", "--update", oxigraph.update)
    assert removed.exit_code == 0 and removed.stdout.endswith(": 20 unchanged, 2 removed.\n"), removed.output
    assert "urn:dipkb:file:kb/history.ttl" not in oxigraph.dipkb_graphs()
    assert_equal_to_the_kb(oxigraph, kb)


def test_the_graph_store_protocol(oxigraph, kb):
    """PUT alone works and says it is not atomic; with --update too, a graph new to the server is one
    POST and a changed one is replaced through Update; a graph the record forgot but the server has
    is replaced, not added to."""
    plain = run("--kb", str(kb), "push", "--store", oxigraph.store)
    assert plain.exit_code == 0, plain.output
    assert "Note: without --update, each graph is replaced by a Graph Store PUT" in plain.stderr
    assert_equal_to_the_kb(oxigraph, kb)
    events = kb / "kb" / "events-2021.ttl"
    events.write_text(events.read_text() + NEW_EVENT)
    atomic = run("--kb", str(kb), "push", "--store", oxigraph.store, "--update", oxigraph.update)
    assert atomic.exit_code == 0 and "Note" not in atomic.stderr, atomic.output
    assert atomic.stdout.startswith("Pushed 2 graphs")  # the same target: the store's URL
    assert_equal_to_the_kb(oxigraph, kb)
    events.write_text(events.read_text().replace(NEW_EVENT, ""))
    for record in (kb / "kb" / ".dipkb").glob("pushed-*.json"):
        record.unlink()  # forgotten: every graph is asked for, and the server has them all
    again = run("--kb", str(kb), "push", "--store", oxigraph.store, "--update", oxigraph.update)
    assert again.exit_code == 0 and again.stdout.startswith("Pushed 22 graphs"), again.output
    assert_equal_to_the_kb(oxigraph, kb)  # the new event is gone: replaced, not added to
    assert not [g for g in oxigraph.dipkb_graphs() if g.startswith("urn:dipkb:pushing:")]


def test_a_new_server_is_filled_by_graph_store_posts(oxigraph, kb):
    result = run("--kb", str(kb), "push", "--store", oxigraph.store, "--update", oxigraph.update)
    assert result.exit_code == 0 and result.stdout.startswith("Pushed 22 graphs"), result.output
    assert_equal_to_the_kb(oxigraph, kb)


def test_a_push_needs_a_target(kb):
    result = run("--kb", str(kb), "push")
    assert result.exit_code == 2
    assert result.stderr == "Error: Say where to push: --update URL (SPARQL 1.1 Update) or --store URL (Graph Store Protocol).\n"


@pytest.mark.parametrize("option, which, refused", [
    ("--update", "home", "answered 404 Not Found: POST / is not supported by this server"),
    ("--update", "query", "answered 415 Unsupported Media Type"),
    ("--store", "home", "answered 404 Not Found: PUT / is not supported by this server"),
])
def test_an_address_no_graph_can_go_to_stops_the_push_at_the_first_answer(oxigraph, kb, option, which, refused):
    """The server's home page, or its query service given for the update one: every one of the 22
    graphs was tried and reported failed in turn; at a million events, 4,000 lines."""
    url = {"home": oxigraph.query.rsplit("/", 1)[0] + "/", "query": oxigraph.query}[which]
    result = run("--kb", str(kb), "push", option, url)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[-1].startswith(f"Error: The SPARQL endpoint {url} {refused}")
    assert "Failed:" not in result.output and server_graphs(oxigraph) == {}
    assert run("--kb", str(kb), "push", "--update", oxigraph.update).stdout.startswith("Pushed 22 graphs")


def test_a_query_address_that_answers_with_a_page_says_what_to_give(oxigraph, kb):
    home = oxigraph.query.rsplit("/", 1)[0] + "/"
    result = run("--kb", str(kb), "--endpoint", home, "stats")
    assert (result.exit_code, result.stderr) == (2, f"Error: The SPARQL endpoint {home} answered with a web page, "
                                                    "not SPARQL results: give the address of its query service "
                                                    "(Oxigraph server's ends in /query, Fuseki's in /DATASET/sparql, "
                                                    "Virtuoso's in /sparql).\n")


def test_progress_shows_on_a_terminal(oxigraph, kb, capsys):
    report = push(KBLayout.locate(kb), destination(oxigraph.update, None), progress=True)
    assert report.ok and len(report.sent) == 22
    err = capsys.readouterr().err
    assert "\r\x1b[KPushing 1/22 graphs, 0.0 MB sent: " in err and "Pushing 22/22 graphs" in err


def test_readers_never_see_a_graph_half_written(oxigraph, tmp_path):
    """While a file's graph is replaced again and again, through one request per graph and through
    a temporary graph and MOVE (requests of 50 kB), a reader counting its triples only ever sees
    the old count or the new one."""
    root = generated(tmp_path / "kb", 500)
    events = root / "kb" / "events-00001.ttl"
    original = events.read_text()
    shorter = original[:original.rindex("\nevent:syn-0000490")] + "\n"  # ten events fewer
    graph = "urn:dipkb:file:kb/events-00001.ttl"
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    seen, stop = [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(int(oxigraph.select(count)[0]["n"]))

    chunked = Destination(UpdateWriter(oxigraph.update, limit=50_000), Connection(), oxigraph.update + "#chunked")
    for to in (destination(oxigraph.update, None), chunked):
        counts = set()
        for text in (shorter, original):
            events.write_text(text)
            assert push(KBLayout.locate(root), to).ok
            counts.add(int(oxigraph.select(count)[0]["n"]))
        assert len(counts) == 2 and 0 not in counts
        reader = threading.Thread(target=read)
        reader.start()
        try:
            for text in (shorter, original):
                events.write_text(text)
                report = push(KBLayout.locate(root), to)
                assert report.ok and len(report.sent) == 2
        finally:
            stop.set()
            reader.join()
        stop.clear()
        assert len(seen) > 10 and set(seen) <= counts, (to.name, sorted(set(seen)))
        seen.clear()
    assert not [g for g in oxigraph.dipkb_graphs() if g.startswith("urn:dipkb:pushing:")]


def test_a_push_killed_after_changing_a_graph_then_files_put_back_still_ends_equal(oxigraph, tmp_path):
    """The record kept a graph's old key until it was saved (every 2 s): a push killed after the server
    took a changed graph, with the file then put back as it was, found it "unchanged" for good."""
    root = generated(tmp_path / "kb", 3000)
    command = [sys.executable, "-m", "dipkb", "--kb", str(root), "push", "--update", oxigraph.update]
    subprocess.run(command, check=True, capture_output=True)
    files = sorted((root / "kb").glob("events-*"))
    originals = {path: path.read_bytes() for path in files}
    for path in files:
        path.write_bytes(originals[path] + STRAY.encode())
    subprocess.run([sys.executable, "-m", "dipkb", "--kb", str(root), "index"], check=True, capture_output=True)
    pushing = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not oxigraph.select('SELECT ?g WHERE { GRAPH ?g { <https://w3id.org/dipkb/kb/event/stray> ?p ?o } } LIMIT 1') \
            and pushing.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    pushing.kill()
    pushing.wait(timeout=30)
    for path in files:
        path.write_bytes(originals[path])
    subprocess.run(command, check=True, capture_output=True)
    assert_equal_to_the_kb(oxigraph, root)


@pytest.mark.parametrize("start", [start_oxigraph, start_virtuoso], ids=["oxigraph", "virtuoso"])
def test_a_server_killed_mid_push_ends_equal_to_the_kb(start, tmp_path):
    """Kill -9 the server while `dipkb push` runs: the push fails (exit 1) saying what was not sent;
    restart the server, push again: it sends the rest, and the server holds the KB."""
    root = generated(tmp_path / "kb", 3000)
    (tmp_path / "server").mkdir()
    server = start(tmp_path / "server")
    try:
        command = [sys.executable, "-m", "dipkb", "--kb", str(root), "push", *server.push_options(), "--timeout", "10"]
        subprocess.run([sys.executable, "-m", "dipkb", "--kb", str(root), "index"], check=True, capture_output=True)
        pushing = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(server.dipkb_graphs()) < 4 and pushing.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()
        out, err = pushing.communicate(timeout=120)
        assert pushing.returncode == 1, out + err
        assert "failed" in out and "not tried" in out and "Failed: urn:dipkb:" in err, out + err
        recorded = json.loads(PushRecord(root / "kb" / ".dipkb", server.update).path.read_text())["graphs"]
        sent_before = sum(key != UNCONFIRMED for key in recorded.values())
        server.start()
        again = subprocess.run(command, capture_output=True, text=True)
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"{sent_before} unchanged" in again.stdout
        assert_equal_to_the_kb(server, root)
    finally:
        server.stop()


def test_virtuoso_push_with_digest_authentication(tmp_path, kb):
    """Virtuoso's /sparql-auth: refused without credentials (exit 2, one line), then the whole KB, a
    second push sending nothing, a change arriving, a removed file gone."""
    (tmp_path / "virtuoso").mkdir()
    server = start_virtuoso(tmp_path / "virtuoso")
    try:
        denied = CliRunner().invoke(cli, ["--kb", str(kb), "push", "--update", server.update],
                                    env={"HOME": str(tmp_path), "DIPKB_ENDPOINT_USER": "", "DIPKB_ENDPOINT_PASSWORD": ""})
        assert denied.exit_code == 2 and denied.stderr.count("\n") == 1, denied.output
        assert f"Error: The SPARQL endpoint {server.update} answered 401 Unauthorized" in denied.stderr
        first = run("--kb", str(kb), "push", *server.push_options())
        assert first.exit_code == 0 and first.stdout.startswith("Pushed 22 graphs"), first.output
        assert_equal_to_the_kb(server, kb)
        assert run("--kb", str(kb), "push", *server.push_options()).stdout.startswith("Pushed 0 graphs")
        events = kb / "kb" / "events-2021.ttl"
        events.write_text(events.read_text() + NEW_EVENT)
        (kb / "kb" / "history.ttl").unlink()
        changed = run("--kb", str(kb), "push", *server.push_options())
        assert changed.exit_code == 0 and changed.stdout.startswith("Pushed 2 graphs"), changed.output
        assert changed.stdout.endswith(", 2 removed.\n")
        assert_equal_to_the_kb(server, kb)
        timeline = ["timeline", "--actor", "India", "-f", "json"]
        assert run("--kb", str(kb), "--endpoint", server.query, *timeline).stdout == run("--kb", str(kb), *timeline).stdout
    finally:
        server.stop()


@pytest.mark.parametrize("through", ["update", "store"])
def test_files_whose_names_an_iri_cannot_hold_are_pushed_each_to_its_graph(oxigraph, kb, through):
    for name in ("events 2022.ttl", "%20.ttl", "h#x.ttl"):  # "%20.ttl" is not " .ttl"'s graph
        (kb / "kb" / name).write_text('<http://example.org/odd> <http://example.org/file> "x" .\n', encoding="utf-8")
    result = run("--kb", str(kb), "push", f"--{through}", getattr(oxigraph, through))
    assert result.exit_code == 0 and result.stdout.startswith("Pushed 28 graphs"), result.output
    assert {"urn:dipkb:file:kb/events%202022.ttl", "urn:dipkb:file:kb/%2520.ttl",
            "urn:dipkb:file:kb/h%23x.ttl"} <= set(oxigraph.dipkb_graphs())
    assert_equal_to_the_kb(oxigraph, kb)


def test_a_file_removed_after_a_failed_push_has_its_graphs_dropped(tmp_path, kb):
    """A graph about to be sent left the record; when its push failed and the file was then removed,
    no later push, --all included, dropped its graphs: the server kept the file's events for good."""
    (tmp_path / "server").mkdir()
    server = start_oxigraph(tmp_path / "server")
    try:
        command = ["--kb", str(kb), "push", *server.push_options(), "--timeout", "5"]
        assert run(*command).exit_code == 0
        history = kb / "kb" / "history.ttl"
        history.write_text(history.read_text() + STRAY, encoding="utf-8")
        server.kill()
        assert run(*command).exit_code == 2  # the server down: "Cannot reach", as --endpoint says
        server.start()
        history.unlink()
        again = run(*command)
        assert again.exit_code == 0, again.output
        assert "2 removed" in again.output
        assert_equal_to_the_kb(server, kb)
    finally:
        server.stop()


VOCABULARY = """@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/mediator> rdfs:subPropertyOf dip:participant .
"""
MEDIATED = STRAY.replace("<http://www.w3.org/2000/01/rdf-schema#label> \"stray\"@en",
                         "<https://example.org/mediator> <https://w3id.org/dipkb/kb/actor/china>")


def test_a_role_declared_in_one_file_is_pushed_into_what_is_derived_from_the_others(oxigraph, kb):
    """The derived graphs' keys left out the roles and classes the KB's files declare: a file making
    ex:mediator a participant role was pushed, and the other files' derived graphs were not."""
    events = kb / "kb" / "events-2021.ttl"
    events.write_text(events.read_text() + MEDIATED, encoding="utf-8")
    assert run("--kb", str(kb), "push", "--update", oxigraph.update).exit_code == 0
    (kb / "kb" / "vocabulary.ttl").write_text(VOCABULARY, encoding="utf-8")
    assert run("--kb", str(kb), "push", "--update", oxigraph.update).exit_code == 0
    assert_equal_to_the_kb(oxigraph, kb)
    (kb / "kb" / "vocabulary.ttl").unlink()
    assert run("--kb", str(kb), "push", "--update", oxigraph.update).exit_code == 0
    assert_equal_to_the_kb(oxigraph, kb)


@pytest.mark.parametrize("start", [start_oxigraph, start_virtuoso], ids=["oxigraph", "virtuoso"])
def test_push_all_after_the_record_was_lost_drops_the_graphs_of_removed_files(start, tmp_path, kb):
    """kb/.dipkb is a cache a user may delete; with it went the record of the pushes, and no push
    could then drop the graphs of a file removed meanwhile, --all included."""
    (tmp_path / "server").mkdir()
    server = start(tmp_path / "server")
    try:
        command = ["--kb", str(kb), "push", *server.push_options()]
        assert run(*command).exit_code == 0
        shutil.rmtree(kb / "kb" / ".dipkb")
        (kb / "kb" / "history.ttl").unlink()
        assert run(*command, "--all").exit_code == 0
        assert_equal_to_the_kb(server, kb)
    finally:
        server.stop()


def test_a_server_down_is_one_line_and_exit_2_as_for_endpoint(kb_copy):
    """A push to a port nothing listens on tried every graph: 'Pushed 0 graphs ... 1 failed, 21 not
    tried' and exit 1, where --endpoint says 'Cannot reach' in one line, exit 2."""
    with socket.socket() as probe:  # a port free now, so refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), "push", "--update", f"http://127.0.0.1:{port}/update"])
    assert (result.exit_code, result.output) == (
        2, f"Error: Cannot reach the SPARQL endpoint http://127.0.0.1:{port}/update: Connection refused.\n")
