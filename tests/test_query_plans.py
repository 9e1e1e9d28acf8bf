"""The saved queries' plans, as Oxigraph makes them: how a query is worded decides whether it reads
the rows it needs or the whole KB, and a rewording that gives the same rows can take a million-event
KB from seconds to minutes (bench/NOTES.md, the 08:00 round of 2026-12-06). Oxigraph plans from the
query alone, without statistics, so the plan of an empty store is the plan of any store; the
engine's own command line (the pip package's `oxigraph query --explain-file`) writes it."""
from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyoxigraph import Store

from dipkb.sparql.saved import ParamType, SavedQuery, load_catalogue
from servers import oxigraph_binary

REPO = Path(__file__).resolve().parent.parent
CATALOGUE = load_catalogue(REPO / "queries")
RANGED = [q for q in CATALOGUE if {"from", "to"} <= {p.name for p in q.parameters}]
# How the plan writes a test of an event's days against the range: (?earliestDay <= ?to).
RANGE_TEST = re.compile(r"\?\w+ [<>]=? \?(from|to)\b")


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory) -> Path:
    location = tmp_path_factory.mktemp("empty-store")
    Store(str(location)).flush()
    return location


def plan(store: Path, query: SavedQuery, tmp_path: Path) -> dict:
    (tmp_path / "query.rq").write_text(query.with_values(query.bind(query.example_values)), encoding="utf-8")
    subprocess.run([oxigraph_binary(), "query", "--location", str(store), "--union-default-graph",
                    "--query-file", str(tmp_path / "query.rq"), "--results-format", "csv",
                    "--results-file", str(tmp_path / "rows.csv"), "--explain-file", str(tmp_path / "plan.json")],
                   check=True, capture_output=True, timeout=60)
    return json.loads((tmp_path / "plan.json").read_text())["plan"]


def nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("children", ()):
        yield from nodes(child)


@pytest.mark.parametrize("query", CATALOGUE, ids=[q.name for q in CATALOGUE])
def test_every_optional_is_looked_up_row_by_row(empty_store, tmp_path, query):
    """An OPTIONAL planned as a hash join reads every match in the KB first: actor-timeline's role
    joined all 1.75M role triples of the 1M KB (1.5 GB for any actor), its label beside it 11.6 GB."""
    joined = [n["name"] for n in nodes(plan(empty_store, query, tmp_path))
              if n["name"].startswith("LeftJoin(HashBuildRightProbeLeft")]
    assert joined == [], f"{query.name}: an OPTIONAL is joined over the whole KB, not looked up (queries/README.md)"


@pytest.mark.parametrize("query", RANGED, ids=[q.name for q in RANGED])
def test_the_date_range_is_tested_before_anything_but_the_days_is_read(empty_store, tmp_path, query):
    """A FILTER on what an OPTIONAL binds is applied after every OPTIONAL of the group: actor-timeline
    read the labels, types and sources of all 250,466 events of the busiest actor to keep 7,583."""
    filters = [n for n in nodes(plan(empty_store, query, tmp_path)) if n["name"].startswith("Filter(")]
    early = [f for f in filters
             if any(RANGE_TEST.search(n["name"]) for n in nodes(f))
             and not any("rdf-schema#label>" in n["name"] for n in nodes(f))]
    assert early, f"{query.name}: the date range is tested only after the labels are read (queries/README.md)"


# The queries about given actors, and the variables the actors are bound to.
ACTOR_QUERIES = [(q, tuple(f"?{p.name}" for p in q.parameters if p.type is ParamType.ACTOR and p.required))
                 for q in CATALOGUE]
ACTOR_QUERIES = [(q, variables) for q, variables in ACTOR_QUERIES if variables]


def leaves(node: dict) -> Iterator[dict]:
    """The plan's patterns in the order they are read: a Lateral or join reads its left side first."""
    children = node.get("children", ())
    if not children:
        yield node
    for child in children:
        yield from leaves(child)


@pytest.mark.parametrize(("query", "variables"), ACTOR_QUERIES, ids=[q.name for q, _ in ACTOR_QUERIES])
def test_a_query_about_an_actor_starts_from_the_actor(empty_store, tmp_path, query, variables):
    """The first pattern read, and the first of each branch of a UNION, names an actor: started
    from every speaker of the KB instead, statements-by-actor read 328,164 of them at 1M (2.8 s for
    an actor of 1,588 statements; 0.3 s from the actor)."""
    tree = plan(empty_store, query, tmp_path)
    starts = [tree] + [branch for node in nodes(tree) if node["name"] == "Union" for branch in node["children"]]
    for start in starts:
        first = next(leaf for leaf in leaves(start) if not leaf["name"].startswith("StaticBindings"))
        assert any(re.search(re.escape(variable) + r"\b", first["name"]) for variable in variables), \
            f"{query.name} starts from {first['name']}, not from the actor"
