"""Three engines, one answer: every saved query, with its example parameters, gives the same rows on
dipkb's embedded engine (`dipkb query NAME -p ... -f json`), on a real Oxigraph server loaded from
`dipkb export --with-derived --with-ontology` and queried over HTTP, and on rdflib's SPARQL engine
over the same export. Both other engines get the file's text plus the VALUES block for the
parameters (SavedQuery.with_values), exactly what dipkb's guard starts from."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner
from rdflib.plugins.sparql import prepareQuery

from pyoxigraph import Literal, NamedNode, Quad, Store

from dipkb.cli import cli
from dipkb.sparql.saved import SavedQuery, load_catalogue
from servers import free_port, oxigraph_binary

REPO = Path(__file__).resolve().parent.parent
CATALOGUE = load_catalogue(REPO / "queries")
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
# The header examples name actors and events of the bundled KB; on the generated KB these name
# its own, so that the comparison there is over rows rather than over empty results.
GENERATED_EXAMPLES = {
    "actor-positions": {"actor": "actor:syn-vara"},
    "actor-timeline": {"actor": "actor:syn-vara", "from": "2009-12", "to": "2010-02"},
    "event-sources": {"event": "event:syn-0000001"},
    "historical-context": {"event": "event:syn-0000001"},  # an IRI the KB lacks is an error, not no rows
    "meetings-between": {"a": "actor:syn-vara", "b": "actor:syn-rasol"},
    "statements-by-actor": {"actor": "actor:syn-vara"},
    "troop-movements": {"from": "2010", "to": "2010"},
}
# Queries whose example finds nothing, on the KB named: still compared, but not a sign of breakage.
EMPTY = {("bundled", "events-without-source"), ("generated-1k", "events-without-source"),
         ("generated-1k", "historical-context")}
_CONCAT = re.compile(r'GROUP_CONCAT\(\s*DISTINCT\s+\?\w+\s*;\s*separator\s*=\s*"([^"]*)"\s*\)\s+AS\s+\?(\w+)', re.I)


@dataclass
class Engines:
    name: str
    root: Path
    server: str  # the Oxigraph server's /query URL
    graph: rdflib.Graph


def _wait_until_up(url: str, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oxigraph serve exited with {process.returncode}: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(url + "?query=ASK%7B%7D", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    raise RuntimeError("oxigraph serve did not answer within 20 s")


def _make_kb(name: str, root: Path) -> None:
    if name == "bundled":
        shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    else:
        subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--events", "1000", "--seed", "1",
                        "--out", str(root)], check=True, capture_output=True)


@pytest.fixture(scope="module", params=["bundled", "generated-1k"])
def engines(request, tmp_path_factory) -> Iterator[Engines]:
    root = tmp_path_factory.mktemp(request.param)
    _make_kb(request.param, root)
    export = root / "export.ttl"
    result = CliRunner().invoke(cli, ["--kb", str(root), "export", "--with-derived", "--with-ontology",
                                      "-o", str(export)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    store = root / "oxigraph"
    subprocess.run([oxigraph_binary(), "load", "--location", str(store), "--file", str(export)],
                   check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([oxigraph_binary(), "serve-read-only", "--location", str(store), "--bind", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/query"
        _wait_until_up(url, server, time.monotonic() + 20)
        graph = rdflib.Graph()
        graph.parse(export, format="turtle")
        yield Engines(request.param, root, url, graph)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _values(engines: Engines, query: SavedQuery) -> dict[str, str]:
    if engines.name == "bundled":
        return query.example_values
    return GENERATED_EXAMPLES.get(query.name, query.example_values)


_SCRATCH, _HERE = Store(), NamedNode("urn:dipkb:test:cell")


def _term(cell: dict | None) -> str | None:
    """A SPARQL JSON results cell in N-Triples, a literal in its canonical form: an Oxigraph store
    keeps `"1000"^^xsd:nonNegativeInteger` as `"1000"^^xsd:integer`, rdflib keeps it as written, and
    both are the same value. A plain literal is an xsd:string."""
    if cell is None:
        return None
    if cell["type"] == "uri":
        return str(NamedNode(cell["value"]))
    if cell["type"] == "bnode":
        return "_:"  # no saved query returns one; their labels are each engine's own
    if "xml:lang" in cell:
        literal = Literal(cell["value"], language=cell["xml:lang"])
    else:
        literal = Literal(cell["value"], datatype=NamedNode(cell.get("datatype", XSD_STRING)))
    _SCRATCH.add(Quad(_HERE, _HERE, literal))
    (stored,) = [quad.object for quad in _SCRATCH.quads_for_pattern(_HERE, _HERE, None)]
    _SCRATCH.clear()
    return str(stored)


def _rows(results: dict, query: SavedQuery) -> list[tuple[str | None, ...]]:
    """The rows in the engine's order. GROUP_CONCAT joins its values in no order the standard sets,
    so those cells are compared as sorted lists of the joined values."""
    concat = {column: separator for separator, column in _CONCAT.findall(query.text)}
    columns = results["head"]["vars"]
    rows = []
    for binding in results["results"]["bindings"]:
        row = []
        for column in columns:
            term = _term(binding.get(column))
            if term is not None and column in concat:
                term = json.dumps(sorted(binding[column]["value"].split(concat[column])))
            row.append(term)
        rows.append(tuple(row))
    return rows


def _embedded(engines: Engines, query: SavedQuery) -> dict:
    params = [x for name, value in _values(engines, query).items() for x in ("-p", f"{name}={value}")]
    result = CliRunner().invoke(cli, ["--kb", str(engines.root), "query", query.name, *params, "-f", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _server(engines: Engines, text: str) -> dict:
    request = urllib.request.Request(engines.server, data=urllib.parse.urlencode({"query": text}).encode(),
                                     headers={"Accept": "application/sparql-results+json",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def _rdflib(engines: Engines, text: str) -> dict:
    answer = json.loads(engines.graph.query(text).serialize(format="json"))
    # rdflib 7.6 answers a GROUP BY that matches nothing with one empty row (RDFLib/rdflib#3382).
    answer["results"]["bindings"] = [binding for binding in answer["results"]["bindings"] if binding]
    return answer


@pytest.mark.parametrize("query", CATALOGUE, ids=[q.name for q in CATALOGUE])
def test_saved_query_is_standard_sparql(query):
    """The file parses on its own as SPARQL 1.1 (rdflib's parser knows no Oxigraph extension such as
    LATERAL), with the VALUES block for its parameters in place."""
    prepareQuery(query.with_values(query.bind(query.example_values)))


@pytest.mark.parametrize("query", CATALOGUE, ids=[q.name for q in CATALOGUE])
def test_three_engines_give_the_same_rows(engines, query):
    text = query.with_values(query.bind(_values(engines, query)))
    embedded = _rows(_embedded(engines, query), query)
    server = _rows(_server(engines, text), query)
    independent = _rows(_rdflib(engines, text), query)
    if (engines.name, query.name) not in EMPTY:
        assert embedded, "the example should find rows, or the comparison shows little"
    # Sorted rows for the sets; ORDER BY in every saved query is total, so the order must agree too.
    assert sorted(server, key=repr) == sorted(embedded, key=repr)
    assert sorted(independent, key=repr) == sorted(embedded, key=repr)
    assert server == embedded
    assert independent == embedded
