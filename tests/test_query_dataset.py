"""Query datasets as SPARQL 1.1 §13.2 says: FROM and FROM NAMED name exactly the graphs a query
sees, and CONSTRUCT/DESCRIBE return no derived triple unless asked (--with-derived)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner
from pyoxigraph import NamedNode, QueryTriples, RdfFormat, parse

from dipkb import KnowledgeBase
from dipkb.cli import cli
from dipkb.errors import QueryError
from dipkb.model.namespaces import DIP, KB_BASE, PREFIXES
from dipkb.sparql import guard
from dipkb.store.derivation import is_derived_graph
from dipkb.store.layout import KBLayout

REPO = Path(__file__).resolve().parent.parent
EVENT = "event:kabulov-taliban-meeting-2021-07"
ACTORS_GRAPH = "urn:dipkb:file:kb/actors.ttl"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) {} WHERE {{ ?s ?p ?o }}"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    """The shipped KB in memory: the same graphs, file and derived, as the on-disk index."""
    return KnowledgeBase.open(layout=KBLayout.locate(REPO), index=False)


@pytest.fixture(scope="module")
def derived_predicates(kb: KnowledgeBase) -> frozenset[str]:
    """Every predicate the index derives, read from the derived graphs, none of them written in a file."""
    by_graph = {g: {q.predicate.value for q in kb.store.quads_for_pattern(None, None, None, g)}
                for g in kb.store.named_graphs()}
    derived = set().union(*(ps for g, ps in by_graph.items() if is_derived_graph(g)))
    written = set().union(*(ps for g, ps in by_graph.items() if not is_derived_graph(g)))
    assert not derived & written
    assert {DIP + "participant", DIP + "earliestDay", DIP + "timeBucket", DIP + "tallyTriples"} <= derived
    return frozenset(derived)


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory) -> Path:
    """A copy of the shipped KB for the CLI, which builds its on-disk index there once."""
    root = tmp_path_factory.mktemp("dataset")
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    return root


def run(kb_dir: Path, *args: str):
    return CliRunner().invoke(cli, ["--kb", str(kb_dir), "query", *args], catch_exceptions=False)


def count(kb: KnowledgeBase, dataset: str = "") -> int:
    return int(kb.select(COUNT_ALL.format(dataset))[0]["n"].value)


def file_triples(*paths: Path) -> rdflib.Graph:
    """The files parsed by an independent parser, as the KB loads them (relative IRIs against KB_BASE)."""
    graph = rdflib.Graph()
    for path in paths:
        graph.parse(path, format="turtle", publicID=KB_BASE)
    return graph


def triples(result: QueryTriples) -> list[tuple[str, str, str]]:
    return [(str(t.subject), t.predicate.value, str(t.object)) for t in result]


def test_from_a_graph_that_does_not_exist_is_an_empty_default_graph(kb):
    assert count(kb) > 5000  # without FROM, the union of every graph
    assert count(kb, "FROM <urn:nonexistent>") == 0
    assert kb.query("ASK { ?s ?p ?o }") and not kb.query("ASK FROM <urn:nonexistent> { ?s ?p ?o }")
    assert triples(kb.query("CONSTRUCT { ?s ?p ?o } FROM <urn:nonexistent> WHERE { ?s ?p ?o }")) == []


def test_from_a_file_graph_reads_exactly_that_file(kb):
    actors = file_triples(REPO / "kb" / "actors.ttl")
    assert count(kb, f"FROM <{ACTORS_GRAPH}>") == len(actors) > 100
    # The default graph is the merge of every FROM graph.
    places = file_triples(REPO / "kb" / "places.ttl")
    both = f"FROM <{ACTORS_GRAPH}> FROM <urn:dipkb:file:kb/places.ttl>"
    assert count(kb, both) == len(actors) + len(places)
    # A prefixed name is an IRI like any other in a FROM clause.
    prefixed = "PREFIX file: <urn:dipkb:file:kb/> SELECT (COUNT(*) AS ?n) FROM file:actors.ttl WHERE { ?s ?p ?o }"
    assert int(kb.select(prefixed)[0]["n"].value) == len(actors)


def test_from_without_from_named_leaves_no_named_graph(kb):
    assert kb.select(f"SELECT ?g FROM <{ACTORS_GRAPH}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}") == []


def test_from_named_restricts_graph_and_empties_the_default_graph(kb):
    listed = kb.select(f"SELECT DISTINCT ?g FROM NAMED <{ACTORS_GRAPH}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}")
    assert [row["g"] for row in listed] == [NamedNode(ACTORS_GRAPH)]
    # With FROM NAMED and no FROM, the default graph is empty (§13.2).
    assert count(kb, f"FROM NAMED <{ACTORS_GRAPH}>") == 0
    both = (f"SELECT (COUNT(*) AS ?n) FROM <{ACTORS_GRAPH}> FROM NAMED <{ACTORS_GRAPH}> "
            "WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert int(kb.select(both)[0]["n"].value) == len(file_triples(REPO / "kb" / "actors.ttl"))


def test_graph_names_are_listed_one_per_file_and_derived_graph(kb):
    names = {row["g"].value for row in kb.select("SELECT DISTINCT ?g WHERE { GRAPH ?g {} }")}
    files = {kb.layout.graph_name(p) for p in kb.layout.ontology_files() + kb.layout.kb_files()}
    assert ACTORS_GRAPH in files
    assert {n for n in names if not is_derived_graph(NamedNode(n))} == files
    assert {n for n in names if is_derived_graph(NamedNode(n))} == {f"urn:dipkb:derived:{f}" for f in files}


def test_select_without_from_still_reads_derived_triples(kb):
    # The saved queries read dip:participant, which only the index has.
    rows = kb.select(f"SELECT ?a WHERE {{ {EVENT} dip:participant ?a }}")
    assert {row["a"].value for row in rows} == {PREFIXES["actor"] + "zamir-kabulov",
                                                PREFIXES["actor"] + "taliban-delegation-moscow-2021"}


def test_describe_leaves_out_derived_triples_unless_asked(kb, derived_predicates):
    plain = triples(kb.query(f"DESCRIBE {EVENT}"))
    assert plain and not {p for _, p, _ in plain} & derived_predicates
    full = triples(kb.query(f"DESCRIBE {EVENT}", with_derived=True))
    assert {DIP + "participant", DIP + "earliestDay", DIP + "timeBucket"} <= {p for _, p, _ in full}
    assert set(plain) < set(full)
    # A tally is nothing but derived triples.
    tally = f"DESCRIBE <urn:dipkb:derived:{ACTORS_GRAPH}#file>"
    assert triples(kb.query(tally)) == []
    assert DIP + "tallyTriples" in {p for _, p, _ in triples(kb.query(tally, with_derived=True))}


def test_construct_everything_is_exactly_the_kb_and_ontology_files(kb, derived_predicates):
    files = file_triples(*kb.layout.ontology_files(), *kb.layout.kb_files())
    everything = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    plain = triples(kb.query(everything))
    assert len(plain) == len(files)
    assert not {p for _, p, _ in plain} & derived_predicates
    # Named graphs follow the same rule: GRAPH ?g reaches no derived graph.
    in_graphs = kb.query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert len(triples(in_graphs)) == len(files)
    with_derived = triples(kb.query(everything, with_derived=True))
    assert len(with_derived) == count(kb) > len(files)


def test_with_derived_and_from_together_is_an_error(kb):
    with pytest.raises(QueryError, match="--with-derived applies to queries without FROM"):
        kb.query(f"CONSTRUCT {{ ?s ?p ?o }} FROM <{ACTORS_GRAPH}> WHERE {{ ?s ?p ?o }}", with_derived=True)


def test_outline_reads_form_and_dataset_from_tokens():
    def outline(text: str) -> guard.Outline:
        return guard.outline(guard.prepare(text, PREFIXES))

    assert outline("describe event:x") == guard.Outline(guard.QueryForm.DESCRIBE)
    found = outline("BASE <http://example.org/a/> PREFIX g: <urn:g:> CONSTRUCT { ?s ?p ?o } FROM <b> "
                    "FROM NAMED g:c from kb:d WHERE { ?s ?p ?o }")
    assert found == guard.Outline(guard.QueryForm.CONSTRUCT, ("http://example.org/a/b", KB_BASE + "d"),
                                   ("urn:g:c",))
    # `from` as a variable, a prefix, a string or a comment opens no dataset clause.
    tricky = "PREFIX from: <urn:f:> SELECT ?from WHERE { ?from from:x 'FROM <urn:y>' } # FROM <urn:z>"
    assert outline(tricky) == guard.Outline(guard.QueryForm.SELECT)


def test_cli_honours_from_and_with_derived(kb_dir, derived_predicates):
    result = run(kb_dir, COUNT_ALL.format("FROM <urn:nonexistent>"), "-f", "csv")
    assert (result.exit_code, result.output) == (0, "n\n0\n")
    actors = len(file_triples(kb_dir / "kb" / "actors.ttl"))
    result = run(kb_dir, COUNT_ALL.format(f"FROM <{ACTORS_GRAPH}>"), "-f", "csv")
    assert (result.exit_code, result.output) == (0, f"n\n{actors}\n")

    def described(*options: str) -> set[str]:
        result = run(kb_dir, f"DESCRIBE {EVENT}", "-f", "ntriples", *options)
        assert result.exit_code == 0, result.output
        return {str(t.predicate.value) for t in parse(result.output.encode(), format=RdfFormat.N_TRIPLES)}

    assert described() and not described() & derived_predicates
    assert {DIP + "participant", DIP + "earliestDay", DIP + "timeBucket"} <= described("--with-derived")

    result = run(kb_dir, f"DESCRIBE {EVENT} FROM <{ACTORS_GRAPH}>", "--with-derived")
    assert result.exit_code == 2
    assert result.output.startswith("Error: --with-derived applies to queries without FROM")
    assert result.output.count("\n") == 1
