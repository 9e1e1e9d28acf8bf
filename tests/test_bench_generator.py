"""bench/generate.py: deterministic, loadable, the size asked for, valid when clean, and every injected
fault caught by the shapes, and nothing else."""
from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, RdfFormat, Store

from dipkb import KBLayout, KnowledgeBase
from dipkb.model.temporal import parse_partial_date
from dipkb.shacl.validation import validate

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "generate.py"
sys.path.insert(0, str(SCRIPT.parent))  # the generator's modules sit beside it, as for `python bench/generate.py`
import generate as generator  # noqa: E402

DIP = "https://w3id.org/dipkb/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"
EVENT_COUNT = "SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE { ?e a ?c . ?c rdfs:subClassOf* dip:Event }"


def run(out: Path, *args: str, hash_seed: str = "0") -> subprocess.CompletedProcess:
    # A different PYTHONHASHSEED per run would show any set or hash order leaking into the output.
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *args],
                          capture_output=True, text=True, env=env)


def generated(out: Path, *args: str, hash_seed: str = "0") -> dict:
    result = run(out, *args, hash_seed=hash_seed)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    summary = json.loads(lines[-1])
    assert lines[:2] == [f"actor: {summary['actor']}", f"from: {summary['from']} to: {summary['to']}"]
    return summary


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def load(root: Path, summary: dict) -> Store:
    """Each file into its own named graph, with the ontology, as dipkb loads a KB."""
    store = Store()
    for path in sorted((REPO / "ontology").glob("*.ttl")):
        store.load(path=str(path), format=RdfFormat.TURTLE)
    formats = {".ttl": RdfFormat.TURTLE, ".nt": RdfFormat.N_TRIPLES}
    for name in summary["files"]:
        path = root / name
        store.load(path=str(path), format=formats[path.suffix], to_graph=NamedNode(f"urn:file:{name}"))
    return store


def count(store: Store, query: str) -> int:
    prefixes = f"PREFIX dip: <{DIP}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    return int(next(iter(store.query(prefixes + query, use_default_graph_as_union=True)))[0].value)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean")
    return out, generated(out, "--events", "1000", "--seed", "7")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("faulty")
    return out, generated(out, "--events", "1000", "--seed", "7", "--faults", str(len(generator.FAULTS)))


def test_same_arguments_give_identical_bytes(clean, tmp_path):
    out, summary = clean
    again = generated(tmp_path, "--events", "1000", "--seed", "7", hash_seed="12345")
    assert again == summary
    assert tree(tmp_path) == tree(out)
    other = generated(tmp_path / "other", "--events", "1000", "--seed", "8")
    assert tree(tmp_path / "other" / "kb") != tree(out / "kb")
    assert other["triples"] != summary["triples"] or other["actor"] != summary["actor"]


def test_output_parses_and_counts_match(clean):
    out, summary = clean
    assert summary["events"] == 1000
    assert summary["files"] == ["kb/actors.ttl", "kb/places.ttl", "kb/events-00001.ttl", "kb/sources-00001.ttl"]
    assert sorted(p.relative_to(out).as_posix() for p in (out / "kb").iterdir()) == sorted(summary["files"])
    data = Store()
    for name in summary["files"]:
        data.load(path=str(out / name), format=RdfFormat.TURTLE)
    assert len(data) == summary["triples"]
    assert count(load(out, summary), EVENT_COUNT) == 1000


def test_ntriples_and_files_of_at_most_a_thousand_events(tmp_path):
    summary = generated(tmp_path, "--events", "2345", "--format", "ntriples")
    assert summary["files"] == ["kb/actors.nt", "kb/places.nt", "kb/events-00001.nt", "kb/sources-00001.nt",
                                "kb/events-00002.nt", "kb/sources-00002.nt", "kb/events-00003.nt",
                                "kb/sources-00003.nt"]
    store = load(tmp_path, summary)
    per_file = {row["g"].value: int(row["n"].value) for row in store.query(
        f"SELECT ?g (COUNT(DISTINCT ?e) AS ?n) WHERE {{ GRAPH ?g {{ ?e a ?c }} ?c <http://www.w3.org/2000/01/"
        f"rdf-schema#subClassOf>* <{DIP}Event> }} GROUP BY ?g")}
    assert per_file == {"urn:file:kb/events-00001.nt": 1000, "urn:file:kb/events-00002.nt": 1000,
                        "urn:file:kb/events-00003.nt": 345}
    # A claim and its proposition, an event and its sources, stay in one events/sources pair.
    split = store.query(f"""SELECT ?e WHERE {{ GRAPH ?g {{ ?e <{DIP}proposition> ?p }}
                            FILTER NOT EXISTS {{ GRAPH ?g {{ ?p a ?c }} }} }}""")
    assert list(split) == []
    apart = store.query(f"SELECT ?e WHERE {{ GRAPH ?g {{ ?e <{DIP}source> ?s }} GRAPH ?h {{ ?s a ?c }} "
                        "FILTER(REPLACE(STR(?g), 'events', '') != REPLACE(STR(?h), 'sources', '')) }")
    assert list(apart) == []


def test_printed_actor_and_range_give_the_printed_timeline(clean):
    out, summary = clean
    open_kwargs = {"index": False} if "index" in inspect.signature(KnowledgeBase.open).parameters else {}
    kb = KnowledgeBase.open(out, **open_kwargs)
    named = kb.select("SELECT ?a ?name WHERE { ?a rdfs:label ?name ; a/rdfs:subClassOf* dip:Actor }",
                      {"name": Literal(summary["actor"], language="en")})
    assert [r["a"].value for r in named] == [summary["actor_iri"]]
    day = NamedNode(XSD + "date")
    start = Literal(parse_partial_date(summary["from"]).first_day.isoformat(), datatype=day)
    end = Literal(parse_partial_date(summary["to"]).last_day.isoformat(), datatype=day)
    # Values written into the text, not bound: pyoxigraph's BOUND() is false for a substituted variable.
    rows = kb.select(f"""SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{
        VALUES (?actor ?from ?to) {{ ({NamedNode(summary['actor_iri'])} {start} {end}) }}
        ?e dip:participant ?actor ; dip:earliestDay ?lo . OPTIONAL {{ ?e dip:latestDay ?hi }}
        FILTER(?lo <= ?to && (!BOUND(?hi) || ?hi >= ?from)) }}""")
    assert int(rows[0]["n"].value) == summary["timeline_events"] > 0


def test_data_is_realistically_mixed(clean):
    out, summary = clean
    store = load(out, summary)

    def tally(query: str) -> Counter:
        prefixes = f"PREFIX dip: <{DIP}> "
        return Counter({r[0].value.rsplit("#", 1)[-1]: int(r[1].value)
                        for r in store.query(prefixes + query, use_default_graph_as_union=True)})

    types = tally("SELECT ?c (COUNT(?e) AS ?n) WHERE { ?e a ?c ; dip:source ?s } GROUP BY ?c")
    assert set(types) == set(generator.KINDS) | {"TerritorialControl"}
    datatypes = tally("SELECT ?t (COUNT(*) AS ?n) WHERE { ?e dip:date|dip:startDate ?v } GROUP BY (DATATYPE(?v) AS ?t)")
    assert {"date", "gYearMonth", "gYear"} <= set(datatypes)
    for prop in ("startDate", "endDate", "earliestDate", "latestDate"):
        assert count(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?e dip:{prop} ?v }}") > 0
    modalities = tally("SELECT ?m (COUNT(?e) AS ?n) WHERE { ?e dip:modality ?m } GROUP BY ?m")
    assert modalities.most_common(1)[0][0] == "Occurred" and modalities["Occurred"] > 0.7 * sum(modalities.values())
    assert {"Planned", "Possible", "Ongoing", "Claimed"} <= set(modalities)
    assert modalities["Claimed"] == count(
        store, "SELECT (COUNT(*) AS ?n) WHERE { ?s dip:proposition ?p . ?p dip:modality dip:Claimed }")
    languages = {r[0].value for r in store.query(f"SELECT DISTINCT (LANG(?q) AS ?l) WHERE {{ ?s <{DIP}quote> ?q }}",
                                                 use_default_graph_as_union=True)}
    assert "en" in languages and len(languages) >= 3
    # Zipf-like: a few states are in most events, directly or through their ministers and forces.
    involved: dict[str, set[str]] = {}
    for row in store.query(f"""SELECT DISTINCT ?e ?s WHERE {{ ?e ?role ?x . ?x <{DIP}actsFor>* ?s . ?s a <{DIP}State> .
                               ?role <http://www.w3.org/2000/01/rdf-schema#subPropertyOf>+ <{DIP}participant> }}""",
                           use_default_graph_as_union=True):
        involved.setdefault(row["s"].value, set()).add(row["e"].value)
    top = sorted(involved, key=lambda s: (-len(involved[s]), s))[:10]
    all_events = set().union(*involved.values())
    assert len(involved) > 150
    assert len(set().union(*(involved[s] for s in top))) > 0.6 * len(all_events)
    assert count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?p a dip:Person ; dip:actsFor ?x ; dip:holdsPosition ?o }") >= 800
    assert count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?p dip:inCountry ?c ; "
                        "<http://www.w3.org/2003/01/geo/wgs84_pos#lat> ?l }") >= 600


def test_clean_kb_has_no_violations(clean):
    out, _ = clean
    report = validate(KBLayout.locate(out))
    assert report.violations == []


def test_every_fault_is_caught_and_nothing_else(faulty):
    out, summary = faulty
    faults = json.loads((out / "faults.json").read_text(encoding="utf-8"))
    assert len(faults) == summary["faults"] == len(generator.FAULTS)
    assert len({f["kind"] for f in faults}) == len(faults) and len({f["focus"] for f in faults}) == len(faults)
    violations = validate(KBLayout.locate(out)).violations
    for fault in faults:
        found = [v for v in violations if v.focus == fault["focus"]]
        assert found, fault
        assert any(v.shape == fault["shape"] and v.path == fault["path"] for v in found), (fault, found)
        assert (out / fault["file"]).read_text(encoding="utf-8").count(
            "event:" + fault["focus"].rsplit("/", 1)[1] + " a dip:") == 1
    assert {v.focus for v in violations} == {f["focus"] for f in faults}


def test_faults_change_only_the_faulty_events(clean, faulty):
    (clean_out, clean_summary), (faulty_out, faulty_summary) = clean, faulty
    def data(store: Store) -> set:  # the files' own quads: the ontology's blank nodes differ per load
        return {q for q in store if isinstance(q.graph_name, NamedNode)}

    a, b = data(load(clean_out, clean_summary)), data(load(faulty_out, faulty_summary))
    changed = {q.subject.value for q in a ^ b}
    assert changed == {f["focus"] for f in json.loads((faulty_out / "faults.json").read_text(encoding="utf-8"))}
    assert json.loads((clean_out / "faults.json").read_text(encoding="utf-8")) == []


def test_fault_choice_follows_the_seed(tmp_path):
    kinds = {}
    for seed in ("1", "2"):
        generated(tmp_path / seed, "--events", "500", "--seed", seed, "--faults", "3")
        kinds[seed] = [f["kind"] for f in json.loads((tmp_path / seed / "faults.json").read_text(encoding="utf-8"))]
    assert all(len(set(k)) == 3 for k in kinds.values())
    assert kinds["1"] != kinds["2"]


def test_refuses_bad_arguments_and_a_used_directory(tmp_path):
    too_many = run(tmp_path / "a", "--events", "100", "--faults", str(len(generator.FAULTS) + 1))
    assert too_many.returncode != 0 and "--faults must be between 0 and" in too_many.stderr
    generated(tmp_path / "b", "--events", "10")
    again = run(tmp_path / "b", "--events", "10")
    assert again.returncode != 0 and "not empty" in again.stderr
    (tmp_path / "b" / "kb" / "notes.ttl").write_text("", encoding="utf-8")
    mixed = run(tmp_path / "b", "--events", "10", "--overwrite")
    assert mixed.returncode != 0 and "notes.ttl" in mixed.stderr
    (tmp_path / "b" / "kb" / "notes.ttl").unlink()
    assert generated(tmp_path / "b", "--events", "20", "--overwrite")["events"] == 20


def test_a_tiny_kb_still_names_a_timeline(tmp_path):
    summary = generated(tmp_path, "--events", "1")
    assert summary["events"] == 1 and summary["timeline_events"] == 1
    assert count(load(tmp_path, summary), EVENT_COUNT) == 1


@pytest.mark.parametrize("seed", range(40))
def test_every_seed_builds_a_world_of_unambiguous_names(seed):
    # A name pool that ran dry once made some seeds loop forever; names must also resolve to one actor.
    world = generator.build_world(str(seed))
    names = [o.lower() for _, props in world.actors_ttl if props[0][1] != "dip:Position"
             for p, o in props if p in ("rdfs:label", "skos:altLabel")]
    assert len(world.kits) == 200 and len(names) == len(set(names))
