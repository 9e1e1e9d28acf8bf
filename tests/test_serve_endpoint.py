"""`dipkb --endpoint URL serve`: the web server over a KB pushed to a real SPARQL server gives what it
gives over the local index (the same bytes for the API and SPARQL answers, the same pages), and a
server that fails behind it is a 502 naming it, or a one-line exit 2 at start."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import Served, serving
from dipkb.cli import cli
from servers import Server, free_port, start_oxigraph

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Pair:
    local: Served
    remote: Served
    server: Server


def _get(url: str, accept: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("bundled")
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    server = start_oxigraph(tmp_path_factory.mktemp("oxigraph"))
    try:
        pushed = CliRunner().invoke(cli, ["--kb", str(root), "push", *server.push_options()])
        assert pushed.exit_code == 0, pushed.output
        with serving(root) as local, serving(root, endpoint=server.query) as remote:
            yield Pair(local, remote, server)
    finally:
        server.stop()


def test_the_banner_names_the_endpoint(pair):
    assert any(f"Serving {pair.server.query} at " in line for line in pair.remote.stderr)


PATHS = [
    "/api/timeline?actor=Russia",
    "/api/timeline?type=Meeting&from=2021-07",
    "/timeline.json?actor=Taliban",
    "/api/queries",
    "/api/queries/who-met-whom",
    "/api/queries/actor-timeline?actor=actor:russia&from=2021-07&to=2021-07",
    "/api/show/Kabulov",
    "/api/timeline?actor=Nobody",  # unknown: the same 404 and suggestions
]


@pytest.mark.parametrize("path", PATHS)
def test_the_api_answers_as_over_the_local_index(pair, path):
    local, remote = _get(pair.local.url + path), _get(pair.remote.url + path)
    assert remote == local
    assert local[1] in ("application/json", "application/sparql-results+json")


def test_sparql_answers_as_over_the_local_index(pair):
    query = ("PREFIX dip: <https://w3id.org/dipkb/ontology#> SELECT ?e ?label WHERE { ?e a dip:Meeting ; "
             "<http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?e")
    for accept in ("application/sparql-results+json", "text/csv"):
        path = "/sparql?" + urllib.parse.urlencode({"query": query})
        local, remote = _get(pair.local.url + path, accept), _get(pair.remote.url + path, accept)
        assert local[0] == 200 and remote == local
    assert len(json.loads(_get(pair.remote.url + path, "application/sparql-results+json")[2])
               ["results"]["bindings"]) >= 2
    # The guard is the same: an update, a SERVICE, a syntax error are refused before the server sees them.
    for bad in ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "SELECT * { SERVICE <http://example.org/> { ?s ?p ?o } }",
                "SELECT ?x WHERE {"):
        path = "/sparql?" + urllib.parse.urlencode({"query": bad})
        assert _get(pair.remote.url + path)[0] == _get(pair.local.url + path)[0] == 400


def test_the_pages_are_the_local_ones(pair):
    events = json.loads(_get(pair.local.url + "/api/timeline?actor=Russia")[2])
    page = "/event/" + events[0]["id"].removeprefix("event:")
    for path in ("/", "/?actor=Russia", page, "/actor/russia"):
        local, remote = _get(pair.local.url + path), _get(pair.remote.url + path)
        assert local[0] == 200 and local[1] == "text/html"
        assert remote == local, path


def test_a_server_gone_is_a_502_naming_it(tmp_path):
    shutil.copytree(REPO / "kb", tmp_path / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    (tmp_path / "oxigraph").mkdir()
    server = start_oxigraph(tmp_path / "oxigraph")
    try:
        with serving(tmp_path, endpoint=server.query) as remote:
            server.stop()
            status, kind, body = _get(remote.url + "/api/timeline?actor=Russia")
            assert (status, kind) == (502, "application/json")
            assert json.loads(body)["error"].startswith(f"Cannot reach the SPARQL endpoint {server.query}")
            status, kind, body = _get(remote.url + "/sparql?query=ASK%7B%7D")
            assert (status, kind) == (502, "text/plain")
            assert body.decode().count("\n") == 1
    finally:
        server.stop()


def test_an_unreachable_endpoint_stops_serve_at_start(tmp_path):
    shutil.copytree(REPO / "kb", tmp_path / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    url = f"http://127.0.0.1:{free_port()}/query"
    result = subprocess.run([sys.executable, "-m", "dipkb", "--kb", str(tmp_path), "--endpoint", url, "serve",
                             "--port", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: Cannot reach the SPARQL endpoint {url}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "kb" / ".dipkb").exists()  # no local index was built for it
