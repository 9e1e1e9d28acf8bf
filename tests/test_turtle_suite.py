"""The W3C RDF 1.1 Turtle test suite (tests/w3c/rdf-turtle, see its ORIGIN.md) through dipkb's own
loaders: every test's input becomes a KB file, kb/x.ttl, of a scratch KB.

Positive syntax and eval tests must load; eval tests must give a graph isomorphic to the expected
N-Triples; negative tests must fail with a KBSyntaxError that says file:line:col. Each test goes
through the three ways dipkb reads a file: ``load_file`` into a store (the index and the in-memory
KB), ``read_quads`` (validation's parse, as written) and ``check_syntax`` (the check before a write).
The suite's relative IRIs resolve against its own base, passed as the override those functions take;
a sample also goes through the CLI, where the KB's default base applies.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from dipkb.cli import cli
from dipkb.errors import KBSyntaxError
from dipkb.store.layout import KBLayout
from dipkb.store.loading import check_syntax, load_files, read_quads

SUITE = Path(__file__).resolve().parent / "w3c" / "rdf-turtle"
MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
RDFT = "http://www.w3.org/ns/rdftest#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PLACE = re.compile(r"^kb/x\.ttl:\d+:\d+: \S")


class Kind(Enum):
    EVAL = RDFT + "TestTurtleEval"
    POSITIVE = RDFT + "TestTurtlePositiveSyntax"
    NEGATIVE = RDFT + "TestTurtleNegativeSyntax"
    NEGATIVE_EVAL = RDFT + "TestTurtleNegativeEval"


@dataclass(frozen=True)
class SuiteTest:
    name: str
    kind: Kind
    action: Path
    result: Path | None
    base: str  # the IRI the suite says the input is retrieved from, its base for relative IRIs

    @property
    def accepts(self) -> bool:
        return self.kind in (Kind.EVAL, Kind.POSITIVE)


def _manifest() -> list[SuiteTest]:
    """The manifest's entries, in its order. It is read against the local directory's file IRI, so
    that actions name files here; each input's base is the suite's mf:assumedTestBase + its name."""
    local = SUITE.as_uri() + "/"
    quads = list(ox.parse(path=str(SUITE / "manifest.ttl"), format=ox.RdfFormat.TURTLE,
                          base_iri=local + "manifest.ttl"))
    objects: dict[tuple[str, str], ox.NamedNode | ox.BlankNode | ox.Literal] = {
        (str(q.subject), q.predicate.value): q.object for q in quads}

    def value(node, predicate: str):
        return objects.get((str(node), predicate))

    manifest = ox.NamedNode(local + "manifest.ttl")
    base = value(manifest, MF + "assumedTestBase").value
    entries, node = [], value(manifest, MF + "entries")
    while node != ox.NamedNode(RDF + "nil"):
        entries.append(value(node, RDF + "first"))
        node = value(node, RDF + "rest")

    def local_file(node) -> Path | None:
        return SUITE / node.value.removeprefix(local) if node is not None else None

    tests = []
    for entry in entries:
        action = local_file(value(entry, MF + "action"))
        tests.append(SuiteTest(value(entry, MF + "name").value, Kind(value(entry, RDF + "type").value), action,
                               local_file(value(entry, MF + "result")), base + action.name))
    return tests


TESTS = _manifest()


def _scratch_kb(root: Path, test: SuiteTest) -> KBLayout:
    (root / "kb").mkdir()
    shutil.copyfile(test.action, root / "kb" / "x.ttl")
    return KBLayout.locate(root)


def _canonical(quads) -> set[ox.Quad]:
    dataset = ox.Dataset(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return set(dataset)


def test_the_suite_is_whole():
    """313 tests, as the suite's README and ORIGIN.md count them, each with its files present."""
    counts = {kind: sum(t.kind is kind for t in TESTS) for kind in Kind}
    assert len(TESTS) == 313
    assert counts == {Kind.EVAL: 145, Kind.POSITIVE: 74, Kind.NEGATIVE: 94, Kind.NEGATIVE_EVAL: 0}
    assert all(t.action.is_file() and (t.result is None or t.result.is_file()) for t in TESTS)
    assert all((t.result is not None) == (t.kind is Kind.EVAL) for t in TESTS)


@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.name)
def test_w3c_turtle(test: SuiteTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # so that files are named kb/x.ttl, as a user running dipkb there sees them
    layout = _scratch_kb(tmp_path, test)
    path = layout.kb_files()[0]
    store = ox.Store()
    if not test.accepts:
        for read in (lambda: load_files(store, layout, [path], base_iri=test.base),
                     lambda: read_quads(path, base_iri=test.base),
                     lambda: check_syntax(path, base_iri=test.base)):
            with pytest.raises(KBSyntaxError) as raised:
                read()
            [problem] = raised.value.problems
            assert problem.line is not None and problem.column is not None, str(problem)
            assert PLACE.match(str(problem)), str(problem)
        assert len(store) == 0  # a file that fails leaves nothing of itself
        return
    load_files(store, layout, [path], base_iri=test.base)
    as_written = read_quads(path, base_iri=test.base)
    check_syntax(path, base_iri=test.base)
    if test.kind is Kind.EVAL:
        expected = list(ox.parse(path=str(test.result), format=ox.RdfFormat.N_TRIPLES))
        assert _canonical(as_written) == _canonical(expected)
        # A store writes typed literals in canonical form ("1.0"^^xsd:decimal as "1"): compare like with like.
        reference = ox.Store()
        reference.load(path=str(test.result), format=ox.RdfFormat.N_TRIPLES)
        assert _canonical(store) == _canonical(reference)


# A few of each kind, through the CLI: `index` builds the on-disk index the other commands read,
# `validate` loads the files again in memory. The KB's own base applies there.
SAMPLE = [t for kind in (Kind.EVAL, Kind.POSITIVE, Kind.NEGATIVE)
          for t in [t for t in TESTS if t.kind is kind][::40]]


@pytest.mark.parametrize("test", SAMPLE, ids=lambda t: t.name)
def test_w3c_turtle_through_the_cli(test: SuiteTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    _scratch_kb(tmp_path, test)
    runner = CliRunner()
    for command in ("index", "validate"):
        result = runner.invoke(cli, ["--kb", str(tmp_path), command])
        assert "Traceback" not in result.output and not isinstance(result.exception, MemoryError)
        if test.accepts:
            assert result.exit_code == 0, (command, result.output)
        else:
            assert result.exit_code == 2, (command, result.output)
            first, = result.stderr.splitlines()  # one file, one line
            assert PLACE.match(first.removeprefix("Error: ")), first
