"""Every saved query in queries/ runs on the shipped KB, and the main ones return what the founding
article says."""
import re
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode

from dipkb import KnowledgeBase
from dipkb.sparql import guard
from dipkb.sparql.saved import find_query, load_catalogue, load_query_file
from dipkb.views.long_selection import select_all
from dipkb.views.timeline import TimelineFilter, timeline_entries

ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = ROOT / "queries"
QUERY_FILES = sorted(QUERIES_DIR.glob("*.rq"))
DIP = "https://w3id.org/dipkb/ontology#"
ACTOR = "https://w3id.org/dipkb/kb/actor/"
EVENT = "https://w3id.org/dipkb/kb/event/"
SOURCE = "https://w3id.org/dipkb/kb/source/"


@pytest.fixture(scope="module")
def kb():
    # In memory: the tests must not write an index into the shipped kb/ directory.
    return KnowledgeBase.open(ROOT, index=False)


def run(kb, name, **values):
    query = find_query(QUERIES_DIR, name)
    return kb.select(query.with_values(query.bind(values)))


def plain(row):
    """A row as plain values: IRIs and literals by their lexical form."""
    return {name: term.value for name, term in row.items()}


def by(rows, column):
    return {row[column].value: plain(row) for row in rows}


def test_there_are_saved_queries():
    assert len(QUERY_FILES) >= 12


@pytest.mark.parametrize("path", QUERY_FILES, ids=[p.stem for p in QUERY_FILES])
def test_saved_query_loads_and_runs_with_its_example(kb, path):
    query = load_query_file(path)
    code = guard.code_only(query.text)
    assert not re.search(r"\bSELECT\s+(DISTINCT\s+|REDUCED\s+)?\*", code, re.I), "list the projected variables"
    assert re.search(r"\bORDER\s+BY\b", code, re.I), "ORDER BY keeps the output deterministic"
    assert query.description, "describe the query in its header"
    if query.parameters:
        assert query.example, "a query with parameters gives an '# example:' line"
    rows = kb.select(query.with_values(query.bind(query.example_values)))
    columns, expected = EXAMPLE_ROWS[query.name]
    assert {key(row, columns) for row in rows} == expected
    assert len(rows) == len(expected)  # one row per key: no duplicates


def key(row, columns):
    """A row by the local names of its key columns: ``zamir-kabulov|Meeting``."""
    return "|".join(row[c].value.rsplit("/", 1)[-1].rsplit("#", 1)[-1] for c in columns)


# What each query's `# example:` must return on the shipped KB, read off the founding article: its key
# columns and every key, so a query that loses, gains or repeats a row fails.
EXAMPLE_ROWS: dict[str, tuple[tuple[str, ...], set[str]]] = {
    # Russia's envoy Kabulov and its Foreign Minister, both attested in July 2021.
    "actor-positions": (("holder",), {"russian-foreign-minister", "zamir-kabulov"}),
    # July 2021 events in which Russia or those acting for it have a role (see test_russia_timeline_july_2021).
    "actor-timeline": (("event",), {
        "india-russia-concern-taliban-advance-2021-assessed", "india-russia-consider-northern-alliance-response-2021",
        "jaishankar-russian-counterpart-meeting-2021", "russia-blocks-taliban-takeover-assessed",
        "taliban-placate-russia-2021-assessed",
        "kabulov-concern-northern-afghanistan-2021-07", "kabulov-taliban-meeting-2021-07",
        "russia-base-activation-tajikistan-2021-07", "russia-concern-central-asia-2021",
        "russian-foreign-ministry-statement-2021-07", "shaheen-delegation-purpose-2021-07",
        "taliban-assurances-to-russia-2021-07", "taliban-delegation-visit-moscow-2021-07",
        # The intervention the Taliban fear, and one by Russia or India: the author's speculations.
        "foreign-intervention-jeopardises-taliban-takeover-2021-possible", "russia-intervenes-against-taliban-2021-possible"}),
    # The Taliban's 85% claim and the author's assessments, each with its proposition: the headline's two,
    # the Northern Alliance may revive, concern in New Delhi and Moscow, the Taliban placating Russia
    # (three sentences), Russia not letting the Taliban pursue its takeover, the intervention the Taliban
    # fear (two sentences) and what intervention by Russia or India could do.
    "claims": (("claim", "proposition"), {
        "article-assessment-headline-2021-07|india-leads-northern-alliance-revival-2021-claimed",
        "article-assessment-headline-2021-07|taliban-placate-russia-2021-assessed",
        "article-assessment-concern-new-delhi-moscow-2021-07|india-russia-concern-taliban-advance-2021-assessed",
        "article-assessment-fear-of-northern-alliance-2021-07|taliban-placate-russia-2021-assessed",
        "article-assessment-taliban-not-antagonise-russia-2021-07|taliban-placate-russia-2021-assessed",
        "article-assessment-taliban-placate-russia-2021-07|taliban-placate-russia-2021-assessed",
        "article-assessment-northern-alliance-revival-2021-07|india-russia-consider-northern-alliance-response-2021",
        "article-assessment-russia-blocks-taliban-takeover-2021-07|russia-blocks-taliban-takeover-assessed",
        "article-assessment-taliban-fear-russian-interference-2021-07|russia-intervenes-against-taliban-2021-possible",
        "article-assessment-taliban-dread-russian-intervention-2021-07|russia-intervenes-against-taliban-2021-possible",
        "article-assessment-intervention-jeopardises-takeover-2021-07|"
        "foreign-intervention-jeopardises-taliban-takeover-2021-possible",
        "taliban-85-percent-claim-2021|taliban-control-85-percent-2021-claimed"}),
    # The Kabulov meeting is known from the article and from the Foreign Ministry statement it cites.
    "event-sources": (("source",), {"founding-article", "russian-foreign-ministry-statement-2021-07"}),
    "events-by-type-and-month": (("month", "type", "events"), {
        "1996|AllianceFormation|1", "1996|ArmedConflict|1", "1996|MaterialSupport|1", "1996|TerritorialCapture|1",
        "1999|MaterialSupport|1",
        "2021-05|TerritorialCapture|1", "2021-07|Appeal|2", "2021-07|ArmedConflict|1", "2021-07|Assessment|10",
        "2021-07|Assurance|2", "2021-07|BaseActivation|1", "2021-07|BaseClosure|1", "2021-07|Claim|1",
        "2021-07|Event|3", "2021-07|ExpressionOfConcern|3", "2021-07|Meeting|2", "2021-07|PolicyDeliberation|2",
        "2021-07|Retreat|1", "2021-06|Meeting|2", "2021-06|Retreat|1", "2021-07|Statement|2", "2021-07|TerritorialCapture|1", "2021-07|TerritorialControl|1",
        "2021-07|Visit|2",
        "2021-07|Withdrawal|2"}),
    "events-without-source": (("event",), set()),  # every event of the article cites it
    # The 1996 background the article gives to India and Russia weighing a response.
    "historical-context": (("context",), {
        "india-supports-anti-taliban-forces", "northern-alliance-defensive-war", "northern-alliance-formed-1996",
        "pakistan-backs-taliban-government", "taliban-take-kabul-1996"}),
    "meetings-between": (("meeting",), {"jaishankar-zarif-meeting-2021-07"}),
    "planned-and-possible": (("event",), {"us-drawdown-completion-deadline-2021-09-11", "taliban-military-takeover-plan-2021"}),
    "sources-by-citations": (("source",), {"founding-article", "russian-foreign-ministry-statement-2021-07",
                                           "tass-shaheen-2021-07"}),
    "statements-by-actor": (("statement",), {
        "shaheen-delegation-purpose-2021-07", "shaheen-good-relations-2021-07", "taliban-85-percent-claim-2021",
        "taliban-assurances-to-russia-2021-07"}),
    "troop-movements": (("movement",), {
        "afghan-personnel-forced-into-tajikistan-2021", "afghan-troops-flee-to-tajikistan-2021-07",
        "us-drawdown-afghanistan-2021", "us-drawdown-completion-deadline-2021-09-11"}),
    # Jaishankar's meetings in Tehran and Moscow; Kabulov and Russia with the Taliban delegation.
    "who-met-whom": (("actor1", "actor2", "meeting"), {
        "ebrahim-raisi|s-jaishankar|jaishankar-raisi-meeting-2021-07",
        "iran|s-jaishankar|jaishankar-technical-halt-iran-2021-07",
        "javad-zarif|s-jaishankar|jaishankar-zarif-meeting-2021-07",
        "russian-foreign-minister|s-jaishankar|jaishankar-russian-counterpart-meeting-2021",
        "russia|taliban-delegation-moscow-2021|taliban-delegation-visit-moscow-2021-07",
        "taliban-delegation-moscow-2021|zamir-kabulov|kabulov-taliban-meeting-2021-07"}),
}


def test_every_saved_query_has_its_expected_example_rows():
    assert sorted(EXAMPLE_ROWS) == [p.stem for p in QUERY_FILES]


def test_catalogue_holds_every_file_in_name_order():
    assert [q.name for q in load_catalogue(QUERIES_DIR)] == [p.stem for p in QUERY_FILES]


def test_readme_lists_every_saved_query():
    readme = (QUERIES_DIR / "README.md").read_text(encoding="utf-8")
    assert [p.stem for p in QUERY_FILES if f"`{p.stem}`" not in readme] == []


# --- What the founding article says -----------------------------------------------------------


def test_russia_timeline_july_2021(kb):
    rows = run(kb, "actor-timeline", actor="actor:russia", **{"from": "2021-07", "to": "2021-07"})
    events = by(rows, "event")
    assert events[EVENT + "kabulov-taliban-meeting-2021-07"] == {
        "event": EVENT + "kabulov-taliban-meeting-2021-07", "date": "2021-07",
        "earliestDay": "2021-07-01", "latestDay": "2021-07-31", "type": DIP + "Meeting",
        "label": "Zamir Kabulov meets the Taliban delegation in Moscow", "role": "attendee (Zamir Kabulov)",
        "modality": DIP + "Occurred",
        "source": events[EVENT + "kabulov-taliban-meeting-2021-07"]["source"],
    }
    assert set(events[EVENT + "kabulov-taliban-meeting-2021-07"]["source"].split(" ")) == {
        "source:founding-article", "source:russian-foreign-ministry-statement-2021-07"}
    statement = events[EVENT + "russian-foreign-ministry-statement-2021-07"]
    assert (statement["type"], statement["role"], statement["modality"]) == (
        DIP + "Statement", "speaker (Russian Foreign Ministry)", DIP + "Occurred")
    base = events[EVENT + "russia-base-activation-tajikistan-2021-07"]
    assert base == {
        "event": EVENT + "russia-base-activation-tajikistan-2021-07", "date": "[2021-07..]",
        "earliestDay": "2021-07-01", "latestDay": "2021-07-31", "type": DIP + "BaseActivation",
        "label": "Russia is prepared to activate a military base in Tajikistan", "role": "agent",
        "modality": DIP + "Possible", "source": "source:founding-article",
    }
    # An event only *about* Russia is not one it took part in; a bound is shown as authored.
    assert EVENT + "shaheen-good-relations-2021-07" not in events
    assert events[EVENT + "russia-concern-central-asia-2021"]["date"] == "[..2021-07]"
    assert len(rows) == len(events)  # one row per event


def test_timeline_date_range_filters(kb):
    """Given dates must filter: a regression guard for testing parameters with BOUND()."""
    old = by(run(kb, "actor-timeline", actor="actor:taliban", **{"from": "1996", "to": "1999"}), "event")
    assert set(old) == {EVENT + "taliban-take-kabul-1996", EVENT + "northern-alliance-defensive-war",
                        EVENT + "pakistan-backs-taliban-government", EVENT + "india-supports-anti-taliban-forces"}
    # Pakistan's backing began no later than 1999, and no earlier bound is known: it is filed under 1999.
    in_1996 = by(run(kb, "actor-timeline", actor="actor:taliban", **{"from": "1996", "to": "1996"}), "event")
    assert set(in_1996) == set(old) - {EVENT + "pakistan-backs-taliban-government"}
    new = by(run(kb, "actor-timeline", actor="actor:taliban", **{"from": "2021-06"}), "event")
    assert EVENT + "taliban-take-kabul-1996" not in new
    assert EVENT + "kabulov-taliban-meeting-2021-07" in new
    everything = by(run(kb, "actor-timeline", actor="actor:taliban"), "event")
    assert set(everything) == set(old) | set(new)
    assert run(kb, "actor-timeline", actor="actor:russia", **{"from": "1990", "to": "2000"}) == []


def test_every_role_is_within_two_steps_of_participant(kb):
    """actor-timeline finds an actor's role one or two rdfs:subPropertyOf steps below dip:participant
    (a path there is lost on Virtuoso 7): a deeper role in the ontology would show as 'participant'."""
    deeper = kb.select("SELECT ?role WHERE { ?role rdfs:subPropertyOf/rdfs:subPropertyOf/rdfs:subPropertyOf+ "
                       "<https://w3id.org/dipkb/ontology#participant> }")
    assert [row["role"].value for row in deeper] == []
    assert kb.select("SELECT ?role WHERE { ?role rdfs:subPropertyOf <https://w3id.org/dipkb/ontology#participant> }")


def test_meetings_between_jaishankar_and_zarif(kb):
    rows = run(kb, "meetings-between", a="actor:s-jaishankar", b="actor:javad-zarif")
    assert [plain(r) for r in rows] == [{
        "meeting": EVENT + "jaishankar-zarif-meeting-2021-07", "date": "[2021-06-30..2021-07]", "earliestDay": "2021-06-30",
            "type": DIP + "Meeting",
        "label": "Jaishankar meets Iran's Foreign Minister Javad Zarif", "forA": "S Jaishankar",
        "forB": "Javad Zarif", "place": "Iran", "modality": DIP + "Occurred",
    }]
    swapped = run(kb, "meetings-between", a="actor:javad-zarif", b="actor:s-jaishankar")
    assert [r["meeting"] for r in swapped] == [r["meeting"] for r in rows]


def test_meetings_between_follow_acts_for(kb):
    rows = run(kb, "meetings-between", a="actor:russia", b="actor:taliban")
    assert {r["meeting"].value: (r["forA"].value, r["forB"].value) for r in rows} == {
        EVENT + "taliban-delegation-visit-moscow-2021-07": ("Russia", "Taliban delegation to Moscow (July 2021)"),
        EVENT + "kabulov-taliban-meeting-2021-07": ("Zamir Kabulov", "Taliban delegation to Moscow (July 2021)"),
    }


def test_who_met_whom_says_where_and_when_each_pair_met(kb):
    rows = run(kb, "who-met-whom")
    meetings = {(r["actor1"].value, r["actor2"].value, r["meeting"].value) for r in rows}
    assert len(meetings) == len(rows)  # each unordered pair once per meeting
    assert all(r["actor1"].value < r["actor2"].value for r in rows)
    kabulov = next(plain(r) for r in rows if r["actor2"].value == ACTOR + "zamir-kabulov")
    assert kabulov == {"actor1": ACTOR + "taliban-delegation-moscow-2021", "label1": "Taliban delegation to Moscow (July 2021)",
                       "actor2": ACTOR + "zamir-kabulov", "label2": "Zamir Kabulov",
                       "meeting": EVENT + "kabulov-taliban-meeting-2021-07", "date": "2021-07", "place": "Moscow"}
    # The article dates Jaishankar's Moscow meeting only as before its own July report: the date says so.
    counterpart = next(plain(r) for r in rows if r["actor1"].value == ACTOR + "russian-foreign-minister")
    assert (counterpart["date"], counterpart["place"]) == ("[..2021-07]", "Moscow")


def test_statements_by_the_taliban(kb):
    rows = run(kb, "statements-by-actor", actor="actor:taliban")
    statements = by(rows, "statement")
    assert set(statements) == {
        EVENT + "shaheen-delegation-purpose-2021-07", EVENT + "shaheen-good-relations-2021-07",
        EVENT + "taliban-assurances-to-russia-2021-07", EVENT + "taliban-85-percent-claim-2021",
    }
    shaheen = {key: (s["speaker"], s["quote"], s["reporter"], s["quotedIn"]) for key, s in statements.items()
               if s["speaker"] == "Mohammad Sohail Shaheen"}
    assert shaheen == {
        EVENT + "shaheen-delegation-purpose-2021-07": (
            "Mohammad Sohail Shaheen",
            "assure that we won’t allow anyone to use the Afghan territory to attack Russia or neighbouring countries.",
            "", "source:founding-article"),  # the article names no source for it: only the next quote is Tass's
        EVENT + "shaheen-good-relations-2021-07": (
            "Mohammad Sohail Shaheen", "We have very good relations with Russia", "Tass",
            "source:founding-article source:tass-shaheen-2021-07"),  # quoted in the article, from Tass
    }
    quote = next(r["quote"] for r in rows if r["statement"].value == EVENT + "shaheen-good-relations-2021-07")
    assert quote.language == "en"
    assert statements[EVENT + "taliban-assurances-to-russia-2021-07"]["reporter"] == "Russian Foreign Ministry"


def test_claims_include_the_85_percent_claim(kb):
    claims = by(run(kb, "claims"), "claim")
    assert claims[EVENT + "taliban-85-percent-claim-2021"] == {
        "claim": EVENT + "taliban-85-percent-claim-2021", "date": "[..2021-07]", "earliestDay": "2021-07-01",
        "type": DIP + "Claim",
        "claimant": "Taliban", "content": "The Taliban control over 85% of the territory in Afghanistan.",
        "proposition": EVENT + "taliban-control-85-percent-2021-claimed",
        "propositionLabel": "Taliban control over 85% of Afghanistan's territory (claimed by the Taliban)",
        "propositionModality": DIP + "Claimed",
    }
    assessment = claims[EVENT + "article-assessment-northern-alliance-revival-2021-07"]
    assert (assessment["claimant"], assessment["propositionModality"]) == ("Author of the founding article", DIP + "Claimed")
    assert len(claims) == 11


def test_troop_movements_include_the_flight_into_tajikistan(kb):
    rows = run(kb, "troop-movements")
    movements = by(rows, "movement")
    flight = movements[EVENT + "afghan-troops-flee-to-tajikistan-2021-07"]
    assert flight == {
        "movement": EVENT + "afghan-troops-flee-to-tajikistan-2021-07", "date": "[2021-06-28..2021-07]",
        "earliestDay": "2021-06-28", "latestDay": "2021-07-31", "type": DIP + "Retreat",
        "label": "More than 1,000 Afghan government troops flee into Tajikistan", "force": "Afghan security forces",
        "origin": "Afghanistan", "destination": "Tajikistan", "count": "1000", "countKind": "at least",
        "quantity": "More than 1,000 Afghan government troops", "modality": DIP + "Claimed",  # "were reported to have fled"
    }
    count = next(r["count"] for r in rows if r["movement"].value == EVENT + "afghan-troops-flee-to-tajikistan-2021-07")
    assert int(count.value) == 1000
    assert set(movements) == {EVENT + "afghan-troops-flee-to-tajikistan-2021-07",
                              EVENT + "afghan-personnel-forced-into-tajikistan-2021", EVENT + "us-drawdown-afghanistan-2021",
                              EVENT + "us-drawdown-completion-deadline-2021-09-11"}
    assert run(kb, "troop-movements", **{"from": "1996", "to": "1996"}) == []


def test_events_without_source_is_empty(kb):
    assert run(kb, "events-without-source") == []


def test_an_event_dated_in_a_year_the_timeline_cannot_place_is_in_no_range(tmp_path):
    """-0044 leaves an event without days; in range unless a comparison said otherwise, it was in every
    range, where `dipkb timeline` has it in none."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "ides.ttl").write_text(
        "@prefix dip: <https://w3id.org/dipkb/ontology#> .\n"
        "<https://w3id.org/dipkb/kb/event/ides> a dip:Meeting ; dip:host <https://w3id.org/dipkb/kb/actor/rome> ;\n"
        "    dip:date \"-0044\"^^<http://www.w3.org/2001/XMLSchema#gYear> .\n", encoding="utf-8")
    small = KnowledgeBase.open(tmp_path, index=False)
    actor = "https://w3id.org/dipkb/kb/actor/rome"
    assert run(small, "actor-timeline", actor=actor, **{"from": "2021-07", "to": "2021-07"}) == []
    assert run(small, "actor-timeline", actor=actor, **{"to": "0100"}) == []
    assert [r["event"].value for r in run(small, "actor-timeline", actor=actor)] == [EVENT + "ides"]


def test_a_dated_event_with_an_end_shows_its_interval_as_the_timeline_does(tmp_path):
    """The saved queries showed dip:date alone: the timeline, JSON and pages say 2021-03-01/2021-03-10."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "talks.ttl").write_text(
        "@prefix dip: <https://w3id.org/dipkb/ontology#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        "<https://w3id.org/dipkb/kb/event/talks> a dip:Meeting ; dip:host <https://w3id.org/dipkb/kb/actor/rome> ;\n"
        "    dip:visitor <https://w3id.org/dipkb/kb/actor/carthage> ;\n"
        '    dip:date "2021-03-01"^^xsd:date ; dip:endDate "2021-03-10"^^xsd:date .\n', encoding="utf-8")
    small = KnowledgeBase.open(tmp_path, index=False)
    rome, carthage = ACTOR + "rome", ACTOR + "carthage"
    for name, values in (("actor-timeline", {"actor": rome, "from": "2021-03-05", "to": "2021-03-05"}),
                         ("meetings-between", {"a": rome, "b": carthage}), ("who-met-whom", {})):
        rows = run(small, name, **values)
        assert [r["date"].value for r in rows] == ["2021-03-01/2021-03-10"], name


TIME_SHAPES = {  # an event's time properties, as the files write them
    "year": 'dip:date "2021"^^xsd:gYear', "month": 'dip:date "2021-07"^^xsd:gYearMonth',
    "interval": 'dip:startDate "2021-05"^^xsd:gYearMonth ; dip:endDate "2021-07-09"^^xsd:date',
    "open start": 'dip:endDate "2021-07"^^xsd:gYearMonth', "open end": 'dip:startDate "2021-07"^^xsd:gYearMonth',
    "latest": 'dip:latestDate "2021-07"^^xsd:gYearMonth', "earliest": 'dip:earliestDate "2021-07"^^xsd:gYearMonth',
    "earliest and end": 'dip:earliestDate "2021-06"^^xsd:gYearMonth ; dip:endDate "2021-07-15"^^xsd:date',
    "date and bound": 'dip:date "2021"^^xsd:gYear ; dip:latestDate "2021-07"^^xsd:gYearMonth',
    "zones": 'dip:startDate "2021-07-01T01:00:00+05:00"^^xsd:dateTime ; dip:endDate "2021-06-30T23:00:00Z"^^xsd:dateTime',
}


def test_the_saved_queries_show_every_events_time_as_the_timeline_does(tmp_path):
    """Their date column dropped an earliest bound before an end ("../2021-07-15") and a bound beside
    a date; troop-movements listed an event no range holds in every one."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "times.ttl").write_text(
        "@prefix dip: <https://w3id.org/dipkb/ontology#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        + "".join(f"<https://w3id.org/dipkb/kb/event/t{n}> a dip:Deployment ; dip:movingForce "
                  f"<https://w3id.org/dipkb/kb/actor/rome> ; {shape} .\n" for n, shape in enumerate(TIME_SHAPES.values()))
        + "<https://w3id.org/dipkb/kb/event/ides> a dip:Deployment ; dip:movingForce <https://w3id.org/dipkb/kb/actor/rome> ;"
          ' dip:date "-0044"^^xsd:gYear .\n', encoding="utf-8")
    small = KnowledgeBase.open(tmp_path, index=False)
    shown = {e.id.rsplit("/", 1)[1]: e.date
             for e in timeline_entries(small, select_all(small, TimelineFilter(actors=(ACTOR + "rome",))))}
    for name, values in (("actor-timeline", {"actor": ACTOR + "rome"}), ("troop-movements", {})):
        rows = run(small, name, **values)
        dates = {r["event" if name == "actor-timeline" else "movement"].value.rsplit("/", 1)[1]: r["date"].value
                 for r in rows}
        assert {k: v for k, v in dates.items() if k != "ides"} == {k: v for k, v in shown.items() if k != "ides"}, name
    assert shown["t8"] == "2021 [..2021-07]" and shown["t7"] == "[2021-06..]/2021-07-15"
    for values in ({"from": "1990", "to": "1999"}, {"from": "2021-07", "to": "2021-07"}):
        assert "ides" not in {r["movement"].value.rsplit("/", 1)[1] for r in run(small, "troop-movements", **values)}
    july = {r["movement"].value.rsplit("/", 1)[1] for r in run(small, "troop-movements", **{"from": "2021-06-30",
                                                                                             "to": "2021-06-30"})}
    assert "t9" in july  # 20:00Z on the 30th to 23:00Z: in June's last day, as in July's first


def test_events_without_source_finds_one(tmp_path):
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "orphan.ttl").write_text(
        "@prefix dip: <https://w3id.org/dipkb/ontology#> .\n"
        "<https://w3id.org/dipkb/kb/event/orphan> a dip:Meeting ; dip:date \"2021\"^^<http://www.w3.org/2001/XMLSchema#gYear> .\n",
        encoding="utf-8")
    small = KnowledgeBase.open(tmp_path, index=False)
    assert [plain(r) for r in run(small, "events-without-source")] == [
        {"event": EVENT + "orphan", "type": DIP + "Meeting"}]


def test_event_sources_of_the_kabulov_meeting(kb):
    rows = run(kb, "event-sources", event="event:kabulov-taliban-meeting-2021-07")
    assert [plain(r) for r in rows] == [
        {"source": SOURCE + "founding-article",
         "label": "Alarmed by India’s lead to revive the northern alliance, Taliban tries to placate Russia",
         "kind": DIP + "NewsArticle", "issuedBy": "", "issued": "2021-07", "direct": "true", "citedIn": ""},
        {"source": SOURCE + "russian-foreign-ministry-statement-2021-07",
         "label": "Russian Foreign Ministry statement on Zamir Kabulov's meeting with the Taliban delegation",
         "kind": DIP + "OfficialStatement", "issuedBy": "Russian Foreign Ministry", "issued": "2021-07",
         "direct": "true", "citedIn": "source:founding-article"},
    ]


def test_event_sources_follow_cited_in(kb, tmp_path):
    rows = run(kb, "event-sources", event="event:shaheen-good-relations-2021-07")
    assert {r["source"].value: (r["direct"].value, r.get("citedIn", Literal("")).value) for r in rows} == {
        SOURCE + "founding-article": ("true", ""),
        SOURCE + "tass-shaheen-2021-07": ("true", "source:founding-article"),
    }
    # An event known only from an agency report lists, as indirect, the article that cites the report.
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "cited.ttl").write_text(
        "@prefix dip: <https://w3id.org/dipkb/ontology#> .\n"
        "@prefix source: <https://w3id.org/dipkb/kb/source/> .\n"
        "<https://w3id.org/dipkb/kb/event/e> a dip:Statement ; dip:source source:report .\n"
        "source:report a dip:AgencyReport ; dip:citedIn source:article .\n"
        "source:article a dip:NewsArticle ; dip:citedIn source:digest .\n"
        "source:digest a dip:NewsArticle .\n",
        encoding="utf-8")
    rows = run(KnowledgeBase.open(tmp_path, index=False), "event-sources", event="event:e")
    assert [(r["source"].value, r["direct"].value, r["kind"].value) for r in rows] == [
        (SOURCE + "report", "true", DIP + "AgencyReport"),
        (SOURCE + "article", "false", DIP + "NewsArticle"),
        (SOURCE + "digest", "false", DIP + "NewsArticle"),
    ]


def test_events_by_type_and_month(kb):
    rows = run(kb, "events-by-type-and-month")
    counts = {(r["month"].value, r["type"].value): int(r["events"].value) for r in rows}
    assert counts[("2021-07", DIP + "Meeting")] == 2
    # Counted under the month of their first possible day: "on Wednesday" may have been 30 June.
    assert counts[("2021-06", DIP + "Meeting")] == 2
    assert counts[("2021-07", DIP + "Visit")] == 2
    assert counts[("2021-05", DIP + "TerritorialCapture")] == 1
    assert counts[("1996", DIP + "TerritorialCapture")] == 1  # known to the year only: not padded to January
    assert not any(month == "1996-01" for month, _ in counts)
    events = kb.select("SELECT DISTINCT ?e WHERE { ?t rdfs:subClassOf* dip:Event . ?e a ?t }")
    assert sum(counts.values()) == len(events)
    months = [r["month"].value for r in rows]
    assert months == sorted(months)


def test_actor_positions(kb):
    rows = run(kb, "actor-positions", actor="actor:russia")
    assert {(r["holder"].value, r["title"].value, r["attestedAt"].value) for r in rows} == {
        (ACTOR + "zamir-kabulov", "Kremlin envoy for Afghanistan", "2021-07"),
        (ACTOR + "russian-foreign-minister", "Foreign Minister", "2021-07"),
    }
    assert [r["position"].value for r in run(kb, "actor-positions", actor="actor:zamir-kabulov")] == [
        "https://w3id.org/dipkb/kb/position/kabulov-kremlin-envoy"]
    assert len(run(kb, "actor-positions")) == 8


def test_historical_context(kb):
    rows = run(kb, "historical-context", event="event:india-russia-consider-northern-alliance-response-2021")
    assert {r["context"].value: r["date"].value for r in rows} == {
        EVENT + "taliban-take-kabul-1996": "[..1996]",  # only before the alliance formed in late 1996
        EVENT + "northern-alliance-formed-1996": "1996",
        EVENT + "northern-alliance-defensive-war": "[1996..1999]",  # begun in the late 1990s, after the alliance formed
        EVENT + "pakistan-backs-taliban-government": "[..1999]",  # during that war; its start is not known
        EVENT + "india-supports-anti-taliban-forces": "[1996..1999]",
    }
    assert run(kb, "historical-context", event="event:kabulov-taliban-meeting-2021-07") == []


def test_planned_and_possible(kb):
    planned = run(kb, "planned-and-possible", modality="dip:Planned")
    assert [(r["event"].value, r["modality"]) for r in planned] == [
        (EVENT + "taliban-military-takeover-plan-2021", NamedNode(DIP + "Planned")),
        (EVENT + "us-drawdown-completion-deadline-2021-09-11", NamedNode(DIP + "Planned"))]
    every = run(kb, "planned-and-possible")
    assert {r["modality"].value for r in every} == {DIP + "Planned", DIP + "Possible", DIP + "Claimed", DIP + "Ongoing"}
    assert DIP + "Occurred" not in {r["modality"].value for r in every}
