"""The founding article re-read against the KB (issue 13, "Why" item 10): each test quotes the article's
own sentence, checks it is in the article, and checks that the KB says that much and no more."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import Literal, NamedNode, RdfFormat, Store

from dipkb import KnowledgeBase
from dipkb.cli import cli
from dipkb.model.namespaces import DIP, KB

REPO = Path(__file__).resolve().parent.parent
# The byte-for-byte copy of the seed (test_kb_content checks its SHA-256 against the seed's).
ARTICLE = (REPO / "kb" / "texts" / "founding-article.txt").read_text(encoding="utf-8")
AUTHOR = KB + "actor/founding-article-author"


@pytest.fixture(scope="module")
def kb(shipped_kb: Path) -> KnowledgeBase:
    return KnowledgeBase.open(shipped_kb)


@pytest.fixture(scope="module")
def run(shipped_kb: Path):
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, ["--kb", str(shipped_kb), *args], catch_exceptions=False)


def said(sentence: str) -> str:
    assert sentence in ARTICLE, sentence
    return sentence


def event(name: str) -> NamedNode:
    return NamedNode(KB + "event/" + name)


def objects(kb: KnowledgeBase, subject: NamedNode, prop: str) -> set[str]:
    rows = kb.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", {"s": subject, "p": NamedNode(DIP + prop)})
    return {r["o"].value for r in rows}


def assessment(kb: KnowledgeBase, quote: str) -> dict[str, set[str]]:
    """The author's assessment quoting ``quote``: its properties by local name."""
    rows = kb.select("SELECT ?q ?a ?p ?o WHERE { ?a a dip:Assessment ; dip:quote ?q ; ?p ?o }",
                     {"q": Literal(quote, language="en")})
    assert len({r["a"] for r in rows}) == 1, quote
    found: dict[str, set[str]] = {}
    for r in rows:
        found.setdefault(r["p"].value.rsplit("#", 1)[-1], set()).add(r["o"].value)
    assert found["speaker"] == {AUTHOR}
    assert found["source"] == found["quotedIn"] == {KB + "source/founding-article"}
    return found


def test_first_shaheen_quote_is_the_articles_not_tass(kb):
    sentence = said("Taliban spokesman Mohammad Sohail Shaheen said their delegation came to Moscow to “assure that we "
                    "won’t allow anyone to use the Afghan territory to attack Russia or neighbouring countries.”")
    purpose = event("shaheen-delegation-purpose-2021-07")
    (quote,) = objects(kb, purpose, "quote")
    assert quote in sentence and quote.startswith("assure that")
    assert objects(kb, purpose, "reportedBy") == set()
    assert objects(kb, purpose, "source") == objects(kb, purpose, "quotedIn") == {KB + "source/founding-article"}


def test_only_good_relations_is_quoted_by_tass(kb):
    said("“We have very good relations with Russia,” he was quoted by Tass as saying, adding that the insurgents remain "
         "committed to a peaceful political settlement in Afghanistan.")
    by_tass = kb.select("SELECT ?e ?q WHERE { ?e dip:reportedBy actor:tass . OPTIONAL { ?e dip:quote ?q } }")
    assert [(r["e"].value, r["q"].value) for r in by_tass] == [
        (KB + "event/shaheen-good-relations-2021-07", "We have very good relations with Russia")]
    citing = kb.select("SELECT DISTINCT ?e WHERE { ?e dip:source|dip:quotedIn source:tass-shaheen-2021-07 }")
    assert [r["e"].value for r in citing] == [KB + "event/shaheen-good-relations-2021-07"]


def test_the_ministry_quote_is_the_ministrys(kb):
    sentence = said("“We received assurances from the Taliban that they wouldn’t violate the borders of Central Asian "
                    "countries and also their guarantees of security for foreign diplomatic and consular missions in "
                    "Afghanistan,” the ministry said.")
    rows = kb.select("SELECT ?e ?q WHERE { ?e dip:speaker actor:russian-foreign-ministry ; dip:quote ?q ; "
                     "dip:source source:russian-foreign-ministry-statement-2021-07 }")
    assert len(rows) == 1 and rows[0]["q"].value in sentence


def test_the_drawdown_deadline_is_planned_not_an_end(kb, run):
    said("As the US-led coalition nears the September 11 deadline for a military drawdown from Afghanistan")
    drawdown = event("us-drawdown-afghanistan-2021")
    assert objects(kb, drawdown, "endDate") == set()
    assert objects(kb, drawdown, "modality") == {DIP + "Ongoing"}
    completion = event("us-drawdown-completion-deadline-2021-09-11")
    assert objects(kb, completion, "partOf") == {drawdown.value}
    assert objects(kb, completion, "modality") == {DIP + "Planned"}
    assert objects(kb, completion, "latestDate") == {"2021-09-11"}  # the deadline: no later than
    assert objects(kb, completion, "date") == objects(kb, completion, "endDate") == set()
    entries = json.loads(run("timeline", "--actor", "United States", "-f", "json").stdout)
    assert {e["id"]: (e["date"], e["modality"]) for e in entries}["event:us-drawdown-completion-deadline-2021-09-11"] \
        == ("[2021-07..2021-09-11]", "planned")


def test_kabul_is_taken_before_late_1996_not_in_1996(kb):
    said("The Afghan Northern Alliance was a united military front that was formed in late 1996 after the Islamic "
         "Taliban took over Kabul.")
    kabul = event("taliban-take-kabul-1996")
    for precise in ("date", "startDate", "endDate", "earliestDate"):
        assert objects(kb, kabul, precise) == set(), precise
    assert objects(kb, kabul, "latestDate") == {"1996"}
    assert objects(kb, kabul, "before") == {KB + "event/northern-alliance-formed-1996"}


def test_technical_halt_is_the_stops_nature_not_its_time(kb):
    said("India’s Foreign Minister, Dr S Jaishankar stopped in for a “technical halt” in Iran.")
    assert kb.select("SELECT ?e WHERE { ?e dip:timeExpression ?t FILTER(CONTAINS(STR(?t), \"halt\")) }") == []
    halt = event("jaishankar-technical-halt-iran-2021-07")
    assert any("“technical halt”" in text for text in objects(kb, halt, "content"))
    # It holds the Wednesday's meetings (30 June at the earliest): it began in July at the latest.
    assert (objects(kb, halt, "date"), objects(kb, halt, "latestDate")) == (set(), {"2021-07"})


def test_russia_is_prepared_to_activate_a_base_which_is_possible_not_planned(kb):
    said("Russia is prepared to activate a military base in ex-Soviet Tajikistan against advancing Taliban forces on "
         "its southern border.")
    base = event("russia-base-activation-tajikistan-2021-07")
    assert objects(kb, base, "modality") == {DIP + "Possible"}
    assert objects(kb, base, "date") == set()  # when it would happen is not said: no earlier than the article
    assert objects(kb, base, "earliestDate") == {"2021-07"}
    assert kb.select("SELECT ?e WHERE { ?e a dip:BaseActivation ; dip:modality dip:Planned }") == []


def test_northern_alliance_formation_is_in_its_timeline_and_show(run):
    said("The United Front was assembled by key leaders of the toppled Islamic State of Afghanistan, particularly "
         "president Burhanuddin Rabbani and former Defense Minister Ahmad Shah Massoud.")
    timeline = run("timeline", "--actor", "Northern Alliance", "-f", "json")
    assert timeline.exit_code == 0
    assert "event:northern-alliance-formed-1996" in {e["id"] for e in json.loads(timeline.stdout)}
    shown = run("show", "Northern Alliance")
    assert shown.exit_code == 0
    assert "Rabbani and Massoud form the Northern Alliance" in shown.output.split("Timeline:")[1]


def test_russia_wont_let_the_taliban_pursue_its_takeover_is_an_assessment(kb):
    quote = said("Russia won’t let the Taliban pursue its military takeover plans to keep away the instability that it "
                 "would emit into the region.")
    found = assessment(kb, quote)
    (proposition,) = found["proposition"]
    p = NamedNode(proposition)
    assert objects(kb, p, "modality") == {DIP + "Possible"}
    assert (objects(kb, p, "agent"), objects(kb, p, "target")) == ({KB + "actor/russia"}, {KB + "actor/taliban"})


def test_fear_of_a_revived_alliance_prompting_the_taliban_is_the_authors_causal_thesis(kb):
    quote = said("The fear of the Northern Alliance being resuscitated is what is prompting the Taliban to persuade "
                 "Moscow of its plans in Afghanistan.")
    said("Alarmed by India’s lead to revive the northern alliance, Taliban tries to placate Russia")
    (proposition,) = assessment(kb, quote)["proposition"]
    p = NamedNode(proposition)
    assert objects(kb, p, "inResponseTo") == {KB + "event/india-russia-consider-northern-alliance-response-2021"}
    assert objects(kb, p, "modality") == {DIP + "Claimed"}  # asserted by the author, not by the KB
    assert (objects(kb, p, "agent"), objects(kb, p, "addressee")) == ({KB + "actor/taliban"}, {KB + "actor/russia"})
    # No causal link is asserted: every event with one is only an assessment's or a claim's proposition.
    asserted = kb.select("""SELECT ?e WHERE { ?e dip:inResponseTo ?cause .
        FILTER NOT EXISTS { ?e dip:modality ?m FILTER(?m IN (dip:Possible, dip:Claimed)) } }""")
    assert asserted == []


def test_concern_in_new_delhi_and_moscow(kb):
    quote = said("Taliban’s rapid advancements in the country have caused concerns in the region, particularly in New "
                 "Delhi and Moscow, whose interest lies within a stable Afghanistan.")
    (proposition,) = assessment(kb, quote)["proposition"]
    p = NamedNode(proposition)
    assert objects(kb, p, "speaker") == {KB + "actor/india", KB + "actor/russia"}
    assert objects(kb, p, "modality") == {DIP + "Claimed"}
    assert objects(kb, p, "inResponseTo") == {KB + "event/taliban-offensive-2021"}


def test_the_taliban_not_wanting_to_antagonise_russia(kb):
    quote = said("Taliban doesn’t want to antagonise Russia at this critical juncture of power transition and is making "
                 "sure to keep Russia in good humour to prevent any untimely predicament for itself.")
    found = assessment(kb, quote)
    assert found["about"] == {KB + "actor/taliban", KB + "actor/russia"}
    assert found["modality"] == {DIP + "Occurred"}  # the assessment was made; what it says is not asserted


def test_putin_is_named_only_for_his_wrath_and_takes_part_in_no_event(kb, run):
    quote = said("Thus, the Taliban is now going all out to placate Russia to keep Putin’s wrath at bay.")
    assert ARTICLE.count("Putin") == 1
    (proposition,) = assessment(kb, quote)["proposition"]
    assert objects(kb, NamedNode(proposition), "purpose") == {"to keep Putin’s wrath at bay"}
    result = run("timeline", "--actor", "Vladimir Putin", "-f", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert "actor:vladimir-putin has no events" in result.stderr


def test_assessment_and_in_response_to_are_defined_aligned_and_shaped():
    ontology = Store()
    for path in sorted((REPO / "ontology").glob("*.ttl")):
        ontology.load(path=str(path), format=RdfFormat.TURTLE)
    ask = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
             PREFIX sh: <http://www.w3.org/ns/shacl#>
             ASK { ?t rdfs:label ?label ; skos:definition ?definition ; skos:closeMatch ?aligned .
                   ?shape sh:path|rdfs:seeAlso ?t ; sh:message ?message }"""
    for term in ("Assessment", "inResponseTo"):
        assert ontology.query(ask.replace("?t ", f"<{DIP}{term}> ")), term


def test_this_week_and_on_wednesday_are_counted_back_from_a_publication_day_in_july(kb):
    """The article's day is not known, only its month: "this week" may have begun on 28 June, and
    "on Wednesday" may have been 30 June. Dated July 2021, they were more precise than the article."""
    said("More than 1,000 Afghan government troops were reported to have fled north into Tajikistan this week")
    said("On Wednesday, the Indian Foreign Minister met his counterpart, Javad Zarif")
    for name, earliest in (("afghan-troops-flee-to-tajikistan-2021-07", "2021-06-28"),
                           ("jaishankar-zarif-meeting-2021-07", "2021-06-30"), ("jaishankar-raisi-meeting-2021-07", "2021-06-30")):
        assert objects(kb, event(name), "date") == set(), name
        assert (objects(kb, event(name), "earliestDate"), objects(kb, event(name), "latestDate")) == \
            ({earliest}, {"2021-07"}), name


def test_kabulov_is_not_said_to_have_hosted_the_taliban(kb):
    said("the Kremlin envoy for Afghanistan, Zamir Kabulov, met with the Taliban representatives")
    meeting = event("kabulov-taliban-meeting-2021-07")
    assert objects(kb, meeting, "host") == set()
    assert objects(kb, meeting, "attendee") == {"https://w3id.org/dipkb/kb/actor/zamir-kabulov"}


def test_the_links_the_article_draws_are_kept_where_its_reading_makes_them(kb):
    # "Resultantly, India and Russia are mulling...": the author's reading, carried by the propositions.
    said("Resultantly, India and Russia are mulling to create a domestic solution to the Taliban problem")
    deliberation = event("india-russia-consider-northern-alliance-response-2021")
    assert objects(kb, deliberation, "inResponseTo") == {KB + "event/india-russia-concern-taliban-advance-2021-assessed"}
    assert objects(kb, deliberation, "modality") == {DIP + "Claimed"}
    # "...fled north into Tajikistan this week as the Taliban seized dozens of districts": how, it does not say.
    said("fled north into Tajikistan this week as the Taliban seized dozens of districts in the past two months")
    assert KB + "event/taliban-seize-districts-2021" in objects(kb, event("afghan-troops-flee-to-tajikistan-2021-07"),
                                                                "relatedTo")


@pytest.mark.parametrize(("quote", "propositions"), [
    ("Alarmed by India’s lead to revive the northern alliance, Taliban tries to placate Russia",
     {"india-leads-northern-alliance-revival-2021-claimed": "Claimed", "taliban-placate-russia-2021-assessed": "Claimed"}),
    ("That Russia’s interference in the region could jeopardise its advancements in the country, a worrisome Taliban "
     "has dispatched its delegation to Moscow to reassure Russia of stability in the region.",
     {"russia-intervenes-against-taliban-2021-possible": "Possible"}),
    ("Foreign intervention by the countries like Russia or India could jeopardize the Taliban’s military takeover "
     "plans for Afghanistan.", {"foreign-intervention-jeopardises-taliban-takeover-2021-possible": "Possible"}),
    ("Russia’s intervention is the last thing that the Taliban would want as of today.",
     {"russia-intervenes-against-taliban-2021-possible": "Possible"}),
    ("Taliban doesn’t want to antagonise Russia at this critical juncture of power transition and is making sure to "
     "keep Russia in good humour to prevent any untimely predicament for itself.",
     {"taliban-placate-russia-2021-assessed": "Claimed"}),
])
def test_what_the_author_asserts_is_claimed_and_what_it_speculates_is_possible(kb, quote, propositions):
    found = assessment(kb, said(quote))
    assert {p.rsplit("/", 1)[-1]: objects(kb, NamedNode(p), "modality").pop().rsplit("#", 1)[-1]
            for p in found["proposition"]} == propositions


def test_the_takeover_plans_the_assessments_presuppose_are_planned_not_begun(kb):
    said("the Taliban’s military takeover plans for Afghanistan")
    plan = event("taliban-military-takeover-plan-2021")
    assert objects(kb, plan, "modality") == {DIP + "Planned"}
    assert (objects(kb, plan, "earliestDate"), objects(kb, plan, "date")) == ({"2021-07"}, set())


def test_troops_reported_to_have_fled_are_a_report_the_kb_does_not_assert(kb):
    said("More than 1,000 Afghan government troops were reported to have fled north into Tajikistan")
    assert objects(kb, event("afghan-troops-flee-to-tajikistan-2021-07"), "modality") == {DIP + "Claimed"}


def test_the_late_1990s_bound_the_war_and_the_backing_and_no_start_is_invented(kb):
    said("much like the Northern Alliance of the late 1990s")
    said("The Northern Alliance fought a defensive war against the Pakistan-backed Taliban government.")
    bounds = lambda name: (objects(kb, event(name), "earliestDate"), objects(kb, event(name), "latestDate"))
    assert bounds("northern-alliance-defensive-war") == ({"1996"}, {"1999"})
    assert bounds("india-supports-anti-taliban-forces") == ({"1996"}, {"1999"})
    assert bounds("pakistan-backs-taliban-government") == (set(), {"1999"})  # backing from before the war, perhaps
