"""The saved-query catalogue: header parsing, parameter typing and binding, and injection safety."""
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode

from dipkb import KnowledgeBase
from dipkb.errors import KBNotFoundError, ParameterError, QueryError, UnknownNameError
from dipkb.sparql.saved import (
    ParamType,
    Parameter,
    SavedQuery,
    find_query,
    is_query_name,
    load_catalogue,
    load_query_file,
    parse_assignments,
    parse_header,
)
from dipkb.views.names import resolve_actor

ROOT = Path(__file__).resolve().parent.parent
XSD = "http://www.w3.org/2001/XMLSchema#"
ACTOR = "https://w3id.org/dipkb/kb/actor/"
EVENT = "https://w3id.org/dipkb/kb/event/"

GOOD_HEADER = """\
# title: Timeline of an actor
# description: Events an actor took part in,
#   between two dates, oldest first.
# param: actor (actor, required) The actor: IRI, CURIE (actor:russia) or name.
# param: from (date) Start of the range.
# param: to (date-end) End of the range.
# param: limit (integer, default=100) At most this many rows.
# example: actor=actor:russia from=2021-07 to="2021-07"
#
# A free comment: title: not a header line any more.
SELECT ?event ?actor ?from ?to ?limit WHERE { ?event dip:participant ?actor }
"""


@pytest.fixture(scope="module")
def kb():
    return KnowledgeBase.open(ROOT, index=False)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def saved(parameters, name="q"):
    return SavedQuery(name, "T", "", tuple(parameters), "SELECT ?x WHERE {}", Path(f"{name}.rq"))


# --- Header parsing ---------------------------------------------------------------------------


def test_parse_header_reads_every_field():
    header = parse_header(GOOD_HEADER, "q.rq")
    assert header.title == "Timeline of an actor"
    assert header.description == "Events an actor took part in, between two dates, oldest first."
    assert header.parameters == (
        Parameter("actor", ParamType.ACTOR, "The actor: IRI, CURIE (actor:russia) or name.", True, None),
        Parameter("from", ParamType.DATE, "Start of the range.", False, None),
        Parameter("to", ParamType.DATE_END, "End of the range.", False, None),
        Parameter("limit", ParamType.INTEGER, "At most this many rows.", False, "100"),
    )
    assert header.example == (("actor", "actor:russia"), ("from", "2021-07"), ("to", "2021-07"))
    assert [p.signature() for p in header.parameters] == [
        "actor (actor, required)", "from (date)", "to (date-end)", "limit (integer, default=100)"]


def test_header_ends_at_first_non_comment_line():
    header = parse_header("# title: T\nSELECT ?x WHERE {}\n# param: x (iri) never read\n", "q.rq")
    assert (header.title, header.description, header.parameters) == ("T", "", ())


MALFORMED = [
    ("# description: no title\nSELECT ?x WHERE {}\n", 1, "no '# title: ...' header line"),
    ("# title: T\n# titel: typo\n", 2, "unknown header key 'titel'"),
    ("# title: T\n# This query finds things\n", 2, "expected '# key: value'"),
    ("#   continued before anything\n# title: T\n", 1, "continuation line must follow"),
    ("# title: T\n# title: again\n", 2, "'title' is given twice"),
    ("# title:\n", 1, "the title is empty"),
    ("# title: T\n# description: d\n# param: when (datetime) When.\n", 3, "unknown parameter type 'datetime'"),
    ("# title: T\n# param: actor actor, required\n", 2, "expected '# param: name (type"),
    ("# title: T\n# param: my-actor (actor) Bad name.\n", 2, "not a SPARQL variable name"),
    ("# title: T\n# param: a (iri, mandatory) A.\n", 2, "unknown parameter option 'mandatory'"),
    ("# title: T\n# param: a (integer, required, default=3) A.\n", 2, "cannot be both required and have a default"),
    ("# title: T\n# param: n (integer, default=ten) N.\n", 2, "Parameter 'n' must be a whole number"),
    ("# title: T\n# param: a (iri) A.\n# param: a (iri) Again.\n", 3, "parameter 'a' is declared twice"),
    ("# title: T\n# param: a (iri) A.\n# example: b=1\n", 3, "unknown parameter 'b'"),
    ("# title: T\n# param: a (iri) A.\n# example: a\n", 3, "not in name=value form"),
    ("# title: T\n# param: a (iri) A.\n# example: a=actor:x a=actor:y\n", 3, "gives 'a' twice"),
    ("# title: T\n# param: d (date) D.\n# example: d=2021-13\n", 3, "Parameter 'd' must be a date"),
    ("# title: T\n# param: a (iri, required) A.\n# param: d (date) D.\n# example: d=2021\n", 4,
     "lacks required parameter 'a'"),
    ("# title: T\n# param: a (iri) A.\n# example: a='unclosed\n", 3, "cannot read the example"),
]


@pytest.mark.parametrize(("text", "line", "message"), MALFORMED)
def test_malformed_header_names_file_and_line(text, line, message):
    with pytest.raises(QueryError) as caught:
        parse_header(text, "queries/bad.rq")
    assert str(caught.value).startswith(f"queries/bad.rq:{line}: ")
    assert message in str(caught.value)


BODY_PROBLEMS = [
    ("# title: T\n# param: actor (actor) A.\nSELECT ?event WHERE { ?event dip:participant ?who }\n",
     ":2: parameter 'actor' is declared but the query never uses ?actor"),
    # The VALUES block goes at the start of the WHERE group: a query with parameters needs one.
    ("# title: T\n# param: actor (actor) A.\nSELECT ?event { ?event dip:participant ?actor }\n",
     ":2: a query with parameters needs the WHERE keyword before its pattern"),
    ("# title: T\n# param: actor (actor) A.\nCONSTRUCT WHERE { ?event dip:participant ?actor }\n",
     ":3: the VALUES block for the parameters cannot open this WHERE group (SPARQL syntax error"),
    # The place is the parser's own (where it gave up), in lines of the whole file.
    ("# title: T\nSELECT ?e WHERE {\n  ?e nope:x ?o\n}\n", ":3:12: SPARQL syntax error: Prefix not found"),
    ("# title: T\nSELECT ?e WHERE { SERVICE <http://example.org/sparql> { ?e ?p ?o } }\n",
     ":1: SERVICE is not allowed"),
    # Text that does not tokenize is placed as the engine's errors are (it was at :1:, the file's start).
    ("# title: T\nSELECT * WHERE {\n`oops }\n", ":3:1: SPARQL syntax error: unexpected '`'"),
    # The VALUES block binds the outer pattern: a subquery sees only what it selects. It matched everything.
    ("# title: T\n# param: actor (actor) A.\nSELECT ?e WHERE { { SELECT ?e WHERE { ?e dip:host ?actor } } }\n",
     ":2: parameter 'actor' is used only inside a subquery, which a value given outside it does not reach"),
    ("# title: T\n# param: actor (actor) A.\nSELECT ?e WHERE { { SELECT ?e WHERE { { SELECT ?e ?actor WHERE "
     "{ ?e dip:host ?actor } } } } }\n", ":2: parameter 'actor' is used only inside a subquery"),
]


@pytest.mark.parametrize("pattern", ["{ SELECT ?e ?actor WHERE { ?e dip:host ?actor } }",
                                     "?e dip:host ?h FILTER NOT EXISTS { ?e dip:visitor ?actor }",
                                     "{ SELECT ?e WHERE { ?e dip:host ?h } } ?e dip:visitor ?actor"])
def test_a_parameter_the_outer_pattern_sees_loads(tmp_path, pattern):
    path = write(tmp_path, "ok.rq", f"# title: T\n# param: actor (actor) A.\nSELECT ?e WHERE {{ {pattern} }}\n")
    assert [p.name for p in load_query_file(path).parameters] == ["actor"]


def test_a_file_whose_name_query_cannot_find_is_refused_in_the_catalogue(tmp_path):
    write(tmp_path, "запрос.rq", "# title: T\nSELECT * WHERE { ?s ?p ?o }\n")
    assert [q.name for q in load_catalogue(tmp_path)] == ["запрос"] and is_query_name("запрос")
    write(tmp_path, "my query.rq", "# title: T\nSELECT * WHERE { ?s ?p ?o }\n")
    with pytest.raises(QueryError, match=r"my query.rq: a saved query's name is letters \(of any script\), digits"):
        load_catalogue(tmp_path)


@pytest.mark.parametrize(("text", "message"), BODY_PROBLEMS)
def test_query_body_is_checked_on_load(tmp_path, text, message):
    path = write(tmp_path, "bad.rq", text)
    with pytest.raises(QueryError) as caught:
        load_query_file(path)
    assert f"bad.rq{message}" in str(caught.value)


def test_optional_parameter_is_tested_with_bound_and_need_not_be_projected(kb, tmp_path):
    path = write(tmp_path, "ok.rq", "# title: T\n# param: from (date) F.\n# param: to (date-end) T.\n"
                 "SELECT ?e WHERE {\n  ?e dip:earliestDay ?lo\n  FILTER(!BOUND(?from) || ?lo >= ?from)\n"
                 "  FILTER(!BOUND(?to) || ?lo <= ?to)\n} ORDER BY ?e\n")
    query = load_query_file(path)
    every = kb.select(query.with_values(query.bind({})))
    old = kb.select(query.with_values(query.bind({"to": "1996"})))
    new = kb.select(query.with_values(query.bind({"from": "2021-07"})))
    assert {"e"} == {name for row in every for name in row}
    assert old and new and len(old) + len(new) < len(every)
    assert {r["e"] for r in old} | {r["e"] for r in new} < {r["e"] for r in every}
    both = kb.select(query.with_values(query.bind({"from": "1996", "to": "1996"})))
    assert both and {r["e"] for r in both} <= {r["e"] for r in old}


SUB_SELECT = """\
# title: T
# param: actor (actor) A.
#
# A WHERE in a comment, and one in a string, are not the query's.
PREFIX dip: <https://w3id.org/dipkb/ontology#>
SELECT ?event ?n WHERE {  # WHERE {
  { SELECT ?event (COUNT(?p) AS ?n) WHERE { ?event dip:participant ?p } GROUP BY ?event }
  ?event dip:participant ?actor . FILTER(?n > 0 && "WHERE {" != "")
} ORDER BY ?event
"""


def test_values_block_opens_the_outer_where_group_on_its_own_line(kb, tmp_path):
    query = load_query_file(write(tmp_path, "sub.rq", SUB_SELECT))
    text = query.with_values(query.bind({"actor": "actor:russia"}))
    expected = "SELECT ?event ?n WHERE { VALUES (?actor) { (<https://w3id.org/dipkb/kb/actor/russia>) }  # WHERE {\n"
    assert text.splitlines()[5] == expected.rstrip("\n")
    assert text.count("\n") == SUB_SELECT.count("\n")  # the file's lines stay where they were
    assert len(kb.select(text)) == 11
    unbound = query.with_values(query.bind({}))
    assert "VALUES (?actor) { (UNDEF) }" in unbound
    assert len(kb.select(unbound)) > 6


def test_values_clause_escapes_strings_and_refuses_unknown_names():
    from dipkb.sparql.saved import values_clause

    params = [Parameter("name", ParamType.STRING, "N."), Parameter("n", ParamType.INTEGER, "N.")]
    clause = values_clause(params, {"name": Literal('a "b" \\ c\nd }')})
    assert clause == 'VALUES (?name ?n) { ("a \\"b\\" \\\\ c\\nd }" UNDEF) }'
    with pytest.raises(ParameterError, match="Not a parameter of the query: x"):
        values_clause(params, {"x": Literal(1)})


# --- Catalogue ------------------------------------------------------------------------------


def test_catalogue_is_sorted_by_name_and_skips_other_files(tmp_path):
    write(tmp_path, "zeta.rq", "# title: Z\nSELECT ?x WHERE { ?x ?p ?o } ORDER BY ?x\n")
    write(tmp_path, "alpha.rq", GOOD_HEADER)
    write(tmp_path, "README.md", "# not a query\n")
    catalogue = load_catalogue(tmp_path)
    assert [q.name for q in catalogue] == ["alpha", "zeta"]
    assert catalogue[0].path == tmp_path / "alpha.rq"
    assert catalogue[0].text == GOOD_HEADER
    assert catalogue[0].example_values == {"actor": "actor:russia", "from": "2021-07", "to": "2021-07"}


def test_catalogue_reports_every_bad_file_once(tmp_path):
    write(tmp_path, "good.rq", "# title: G\nSELECT ?x WHERE { ?x ?p ?o }\n")
    write(tmp_path, "bad1.rq", "# titel: typo\n")
    write(tmp_path, "bad2.rq", "# title: T\n# param: x (float) X.\n")
    with pytest.raises(QueryError) as caught:
        load_catalogue(tmp_path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("bad1.rq:1: unknown header key 'titel'; use one of: title, description, param, example.")
    assert "bad2.rq:2: unknown parameter type 'float'" in lines[1]
    assert lines[2] == "2 saved queries failed to load."


def test_catalogue_of_a_missing_directory(tmp_path):
    with pytest.raises(KBNotFoundError, match="Saved-query directory not found"):
        load_catalogue(tmp_path / "nowhere")


def test_find_query_by_name_with_or_without_suffix(tmp_path):
    write(tmp_path, "alpha.rq", GOOD_HEADER)
    write(tmp_path, "broken.rq", "# titel: x\n")  # does not stop another query from being found
    assert find_query(tmp_path, "alpha").title == "Timeline of an actor"
    assert find_query(tmp_path, "alpha.rq").name == "alpha"


@pytest.mark.parametrize("name", ["alpah", "../alpha", "README"])
def test_find_query_unknown_name_lists_the_available_ones(tmp_path, name):
    write(tmp_path, "alpha.rq", GOOD_HEADER)
    write(tmp_path, "beta.rq", "# title: B\nSELECT ?x WHERE { ?x ?p ?o }\n")
    write(tmp_path, "README.md", "docs\n")
    with pytest.raises(QueryError) as caught:
        find_query(tmp_path, name)
    assert str(caught.value) == f"No saved query named '{name}'. Available: alpha, beta."


@pytest.mark.parametrize(("text", "expected"), [
    ("actor-timeline", True), ("claims.rq", True), ("who_met_whom", True),
    ("SELECT ?s WHERE { ?s ?p ?o }", False), ("ASK{}", False), ("", False), ("-", False),
])
def test_is_query_name(text, expected):
    assert is_query_name(text) is expected


# --- Parameter typing -----------------------------------------------------------------------


def bind_one(kind: ParamType, value: str, resolve_actor=None):
    return saved([Parameter("x", kind, "X.")]).bind({"x": value}, resolve_actor)["x"]


@pytest.mark.parametrize("value", [
    "https://w3id.org/dipkb/kb/actor/russia", "<https://w3id.org/dipkb/kb/actor/russia>", "actor:russia", " actor:russia ",
])
def test_iri_accepts_iri_bracketed_iri_and_curie(value):
    assert bind_one(ParamType.IRI, value) == NamedNode(ACTOR + "russia")


@pytest.mark.parametrize("value", [
    "russia", "nope:russia", "actor:", "", "https://x.org/a b", "<https://x.org/a>b>", "actor:russia>", 'actor:"x"',
])
def test_iri_rejects_what_is_not_an_iri(value):
    with pytest.raises(ParameterError, match=r"Parameter 'x' must be an IRI, <IRI> or CURIE"):
        bind_one(ParamType.IRI, value)


def test_actor_uses_the_resolver():
    seen = []

    def resolve(text):
        seen.append(text)
        return ACTOR + "russia"

    assert bind_one(ParamType.ACTOR, "the Kremlin", resolve) == NamedNode(ACTOR + "russia")
    assert seen == ["the Kremlin"]


def test_actor_resolver_errors_propagate():
    def resolve(text):
        raise UnknownNameError(f"No actor named '{text}'.")

    with pytest.raises(UnknownNameError, match="No actor named 'Atlantis'"):
        bind_one(ParamType.ACTOR, "Atlantis", resolve)


def test_actor_resolver_returning_a_bad_iri_is_refused():
    with pytest.raises(ParameterError, match="must be an actor's IRI"):
        bind_one(ParamType.ACTOR, "x", lambda text: "not an iri")


def test_actor_without_resolver_is_an_iri():
    assert bind_one(ParamType.ACTOR, "actor:taliban") == NamedNode(ACTOR + "taliban")
    with pytest.raises(ParameterError, match="must be an actor's IRI, CURIE"):
        bind_one(ParamType.ACTOR, "Taliban")


@pytest.mark.parametrize("value", ["Taliban", "", 'a "quoted" \\ value\nwith a newline', "ünïcödé"])
def test_string_is_a_plain_xsd_string(value):
    term = bind_one(ParamType.STRING, value)
    assert term == Literal(value)
    assert term.datatype == NamedNode(XSD + "string")
    assert term.language is None


@pytest.mark.parametrize(("value", "expected"), [("100", 100), ("+5", 5), ("-3", -3), ("007", 7), ("-0", 0),
                                                 ("00", 0), ("9" * 5000, "9" * 5000)])
def test_integer(value, expected):
    term = bind_one(ParamType.INTEGER, value)
    assert term == Literal(str(expected), datatype=NamedNode(XSD + "integer"))


@pytest.mark.parametrize("value", ["1.5", "1e3", "ten", "", " 5", "1_000", "٣", "5\n", "²"])
def test_integer_rejects_non_integers(value):
    with pytest.raises(ParameterError, match="Parameter 'x' must be a whole number"):
        bind_one(ParamType.INTEGER, value)


@pytest.mark.parametrize(("value", "first", "last"), [
    ("2021", "2021-01-01", "2021-12-31"),
    ("2021-07", "2021-07-01", "2021-07-31"),
    ("2021-02", "2021-02-01", "2021-02-28"),
    ("2020-02", "2020-02-01", "2020-02-29"),
    ("2021-07-08", "2021-07-08", "2021-07-08"),
])
def test_date_is_first_day_and_date_end_last_day(value, first, last):
    day = NamedNode(XSD + "date")
    assert bind_one(ParamType.DATE, value) == Literal(first, datatype=day)
    assert bind_one(ParamType.DATE_END, value) == Literal(last, datatype=day)


@pytest.mark.parametrize("value", ["2021-13", "2021-02-30", "July 2021", "21-07", "2021-07-08T10:00:00", ""])
@pytest.mark.parametrize("kind", [ParamType.DATE, ParamType.DATE_END])
def test_dates_reject_bad_values(kind, value):
    with pytest.raises(ParameterError, match=r"Parameter 'x' must be a date: YYYY, YYYY-MM or YYYY-MM-DD"):
        bind_one(kind, value)


# --- Binding a query's parameters -------------------------------------------------------------


TIMELINE = saved([
    Parameter("actor", ParamType.ACTOR, "The actor.", True),
    Parameter("from", ParamType.DATE, "Start."),
    Parameter("to", ParamType.DATE_END, "End."),
    Parameter("limit", ParamType.INTEGER, "Rows.", default="100"),
], name="actor-timeline")


def test_bind_types_values_applies_defaults_and_leaves_optional_ones_unbound():
    bindings = TIMELINE.bind({"actor": "actor:russia", "to": "2021"})
    assert bindings == {
        "actor": NamedNode(ACTOR + "russia"),
        "to": Literal("2021-12-31", datatype=NamedNode(XSD + "date")),
        "limit": Literal(100),
    }


def test_bind_unknown_parameter_lists_the_declared_ones():
    with pytest.raises(ParameterError) as caught:
        TIMELINE.bind({"actor": "actor:russia", "form": "2021", "until": "2022"})
    assert str(caught.value) == (
        "Unknown parameter 'form', 'until' for query 'actor-timeline'; it takes: actor (actor, required), "
        "from (date), to (date-end), limit (integer, default=100).")


def test_a_parameter_given_twice_is_an_error_not_its_last_value():
    assert parse_assignments(["actor=Russia", "from=2021=x"]) == {"actor": "Russia", "from": "2021=x"}
    with pytest.raises(ParameterError, match=r"^-p actor is given twice \('Russia', 'India'\); a parameter takes one value\.$"):
        parse_assignments(["actor=Russia", "actor=India"])


def test_bind_on_a_query_without_parameters():
    with pytest.raises(ParameterError, match="it takes no parameters"):
        saved([]).bind({"actor": "actor:russia"})
    assert saved([]).bind({}) == {}


def test_bind_missing_required_parameter():
    with pytest.raises(ParameterError) as caught:
        TIMELINE.bind({"from": "2021"})
    assert str(caught.value) == "Query 'actor-timeline' needs actor=... (The actor.)."


def test_parameter_lookup():
    assert TIMELINE.parameter("to").type is ParamType.DATE_END
    with pytest.raises(ParameterError, match="has no parameter 'until'"):
        TIMELINE.parameter("until")


# --- Injection: values are terms, never query text --------------------------------------------

INJECTIONS = ['") || true || ("', "> } ?s ?p ?o {", "actor:russia> . ?x ?y ?z . <x",
              "' || true || '", '"} UNION { ?event ?p ?o } #']
LABEL_QUERY = """\
# title: Events by label
# param: name (string, required) The exact label.
# example: name="Taliban delegation visits Moscow"
SELECT ?event ?name WHERE { ?event rdfs:label ?label . FILTER(STR(?label) = ?name) } ORDER BY ?event
"""
ACTOR_QUERY = """\
# title: Events of an actor
# param: actor (actor, required) The actor.
# example: actor=actor:russia
SELECT ?event ?actor WHERE { ?event dip:participant ?actor } ORDER BY ?event
"""


def test_string_injection_returns_nothing(kb, tmp_path):
    query = load_query_file(write(tmp_path, "by-label.rq", LABEL_QUERY))
    honest = kb.select(query.with_values(query.bind(query.example_values)))
    assert [r["event"].value for r in honest] == [EVENT + "taliban-delegation-visit-moscow-2021-07"]
    for attack in INJECTIONS:
        assert kb.select(query.with_values(query.bind({"name": attack}))) == []


@pytest.mark.parametrize("attack", INJECTIONS)
def test_iri_injection_is_refused(kb, attack):
    query = find_query(ROOT / "queries", "event-sources")
    honest = kb.select(query.with_values(query.bind(query.example_values)))
    assert len(honest) == 2
    with pytest.raises(ParameterError):
        query.bind({"event": attack})


@pytest.mark.parametrize("attack", INJECTIONS)
def test_actor_injection_is_refused_by_the_real_resolver(kb, tmp_path, attack):
    query = load_query_file(write(tmp_path, "by-actor.rq", ACTOR_QUERY))
    resolve = lambda name: resolve_actor(kb, name)  # what the CLI passes to bind()
    honest = kb.select(query.with_values(query.bind({"actor": "Russia"}, resolve)))
    assert len(honest) == 11  # the events Russia itself has a role in
    assert kb.select(query.with_values(query.bind({"actor": "actor:russia"}))) == honest
    with pytest.raises(ParameterError):
        query.bind({"actor": attack})
    with pytest.raises(UnknownNameError, match="No actor named|is not a valid IRI"):
        query.bind({"actor": attack}, resolve)


# A text that starts with a prefix is read as a CURIE, and refused as an invalid IRI even where it is
# also a label (the test above): the others are names.
NAME_INJECTIONS = [attack for attack in INJECTIONS if not attack.startswith("actor:")]


@pytest.mark.parametrize("attack", NAME_INJECTIONS)
def test_an_actor_named_like_an_injection_is_found_by_its_name_alone(tmp_path, attack):
    """The name is looked up as a bound literal: it finds the one actor with that label and its one
    event, where a name spliced into the query text would break it or match every event."""
    (tmp_path / "kb").mkdir()
    label = attack.replace("\\", "\\\\").replace('"', '\\"')
    (tmp_path / "kb" / "odd.ttl").write_text(f"""
@prefix dip: <https://w3id.org/dipkb/ontology#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix actor: <{ACTOR}> . @prefix event: <{EVENT}> .
actor:odd a dip:Actor ; rdfs:label "{label}"@en .
actor:plain a dip:Actor ; rdfs:label "Plain"@en .
event:one a dip:Meeting ; dip:host actor:odd .
event:two a dip:Meeting ; dip:host actor:plain .
""", encoding="utf-8")
    small = KnowledgeBase.open(tmp_path, index=False)
    query = load_query_file(write(tmp_path, "by-actor.rq", ACTOR_QUERY))
    bindings = query.bind({"actor": attack}, lambda name: resolve_actor(small, name))
    assert bindings["actor"] == NamedNode(ACTOR + "odd")
    assert [r["event"].value for r in small.select(query.with_values(bindings))] == [EVENT + "one"]


def test_date_injection_is_refused():
    with pytest.raises(ParameterError):
        TIMELINE.bind({"actor": "actor:russia", "from": '2021") || true || ("'})
