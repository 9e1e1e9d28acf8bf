"""What the query guard decides from a query's tokens, case by case: each update operation refused on
its own keyword, the documented limits, nesting that comments do not reset, BASE resolving the
query's prefixes, the form read before a subquery's, and error places next to rewritten tokens."""
from __future__ import annotations

from pathlib import Path

import pytest
from pyoxigraph import Store

from dipkb import KnowledgeBase
from dipkb.errors import ForbiddenQueryError, QueryError
from dipkb.model.namespaces import PREFIXES
from dipkb.sparql import guard
from dipkb.store.layout import KBLayout

REPO = Path(__file__).resolve().parent.parent
PARTICIPANTS = "SELECT (COUNT(*) AS ?n) WHERE { ?e dip:participant ?a }"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.open(layout=KBLayout.locate(REPO), index=False)


def count(kb: KnowledgeBase, text: str) -> int:
    return int(kb.select(text)[0]["n"].value)


# --- Refusals -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "DROP GRAPH <urn:dipkb:file:kb/actors.ttl>",
    "CLEAR GRAPH <urn:dipkb:file:kb/actors.ttl>",
    "CREATE GRAPH <urn:x>",
    "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "INSERT { ?s ?p ?o } WHERE { ?s ?p ?o }",
])
def test_an_update_with_one_update_keyword_is_refused_as_an_update(text):
    with pytest.raises(ForbiddenQueryError, match="Update operations"):
        guard.prepare(text, {})


# --- The limits the README states ---------------------------------------------------------------

def braces(depth: int) -> str:
    return "SELECT * WHERE " + "{" * depth + "}" * depth


def test_nesting_is_refused_beyond_128_levels_as_the_readme_says():
    guard.prepare(braces(128), {})
    with pytest.raises(QueryError, match="deeper than 128 levels"):
        guard.prepare(braces(129), {})


def test_more_than_500_keywords_and_operators_are_refused_as_the_readme_says():
    chain = lambda n: "SELECT * WHERE { " + "OPTIONAL { ?s ?p ?o } " * n + "}"  # noqa: E731
    guard.prepare(chain(497), {})  # SELECT, * and WHERE, then one OPTIONAL each: 500
    with pytest.raises(QueryError, match="more than 500 keywords and operators"):
        guard.prepare(chain(498), {})


def test_negations_split_by_comments_nest_as_deep_as_negations_in_a_row():
    def negations(between: str) -> str:
        return "SELECT * WHERE { FILTER(" + "(" * 120 + ("!" + between) * 20 + "true" + ")" * 121 + " }"

    for between in ("", " ", "#\n", "# a comment\n"):
        with pytest.raises(QueryError, match="deeper than 128 levels"):
            guard.prepare(negations(between), {})


# --- What the rebuilt query means ---------------------------------------------------------------

@pytest.mark.parametrize("declarations", [
    "BASE <https://w3id.org/dipkb/> PREFIX d: <ontology#>",
    "BASE <https://w3id.org/> BASE <dipkb/> PREFIX d: <ontology#>",
    "BASE <https://w3id.org/dipkb/ontology> PREFIX d: <#>",
])
def test_a_prefix_declared_relative_to_base_names_what_the_absolute_iri_names(kb, declarations):
    assert PREFIXES["dip"] == "https://w3id.org/dipkb/ontology#"
    expected = count(kb, PARTICIPANTS)
    assert expected > 10
    assert count(kb, f"{declarations} SELECT (COUNT(*) AS ?n) WHERE {{ ?e d:participant ?a }}") == expected


@pytest.mark.parametrize("words", ["", 'BIND("from" AS ?x)', "?s ?p ?from", "FILTER(?s != <urn:from>)"])
def test_a_construct_with_a_subquery_leaves_out_derived_triples_whatever_it_says_after(kb, words):
    text = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {{ SELECT ?s ?p ?o WHERE {{ ?s ?p ?o }} }} {words} }}"
    predicates = {t.predicate.value for t in kb.query(text)}
    assert PREFIXES["dip"] + "participant" not in predicates and PREFIXES["dip"] + "earliestDay" not in predicates
    assert PREFIXES["dip"] + "participant" in {t.predicate.value for t in kb.query(text, with_derived=True)}


@pytest.mark.parametrize("text", [
    "SELECT * WHERE { ?s ?p ('a';",
    "SELECT * WHERE { ?s ?p ('a', }",
    "SELECT * WHERE { ?s ?p (dip:x; }",
    # The end of the query just after a rewritten token: a brace left open.
    "SELECT * WHERE { ?s ?p 'a'",
    "SELECT * WHERE { ?s ?p dip:x",
    "SELECT * WHERE { ?s ?p <urn:x>",
    "SELECT * WHERE { ?s ?p 'a' ?x }",
    'SELECT * WHERE { ?s ?p """a\nb""" ?x }',
])
def test_an_error_just_after_a_rewritten_token_is_placed_where_the_engine_places_it(kb, text):
    with pytest.raises(SyntaxError) as engine:
        Store().query(text, prefixes={"dip": PREFIXES["dip"]})
    with pytest.raises(QueryError) as guarded:
        kb.query(text)
    place = engine.value.msg.split()[2]  # "error at 1:28: ..."
    assert str(guarded.value).startswith(f"SPARQL syntax error: error at {place}")
