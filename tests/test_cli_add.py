"""`dipkb add` end to end: what you add is what `show` prints; a rejected add changes nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli

pytestmark = pytest.mark.prebuilt_index  # the index is not the point here: built once (conftest)

REPO = Path(__file__).resolve().parent.parent






def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


MEETING = ["add", "Jaishankar meets Zarif again", "--type", "Meeting", "--participant", "visitor=S Jaishankar",
           "--participant", "host=Zarif", "--date", "2021-07", "--place", "Iran", "--source", "source:founding-article"]


def test_add_round_trips_through_show(kb_copy):
    result = run("--kb", str(kb_copy), *MEETING)
    assert result.exit_code == 0, result.output
    # The KB's meeting of the two is bounded (30 June to July), not dated: no identity key to share.
    assert result.output == f"Added event:jaishankar-meets-zarif-again-2021-07 to {kb_copy / 'kb' / 'events-2021.ttl'}.\n"
    shown = json.loads(run("--kb", str(kb_copy), "show", "event:jaishankar-meets-zarif-again-2021-07", "-f", "json").output)
    facts = {(f["property"], f["id"] or f["value"]) for f in shown["properties"]}
    assert {("rdf:type", "dip:Meeting"), ("dip:visitor", "actor:s-jaishankar"), ("dip:host", "actor:javad-zarif"),
            ("dip:date", "2021-07"), ("dip:place", "place:iran"), ("dip:source", "source:founding-article"),
            ("rdfs:label", "Jaishankar meets Zarif again")} <= facts
    assert run("--kb", str(kb_copy), "validate").exit_code == 0


def test_an_unknown_place_says_how_to_make_one_and_nothing_is_written(kb_copy):
    """It said only "no place named 'Dushanbe'"."""
    before = (kb_copy / "kb" / "events-2021.ttl").read_bytes()
    result = run("--kb", str(kb_copy), "add", "Talks in Dushanbe", "--type", "Meeting", "--participant",
                 "host=Russia; visitor=India", "--date", "2021-07", "--place", "Dushanbe Old Town",
                 "--source", "source:founding-article")
    assert result.exit_code == 2
    assert ("no place named 'Dushanbe Old Town'; add --new-place 'Dushanbe Old Town' (and --in-country "
            "'Dushanbe Old Town=COUNTRY') to create it, or describe it first in a .ttl file of kb/ "
            '(place:dushanbe-old-town a dip:Place ; rdfs:label "Dushanbe Old Town"@en ; dip:inCountry place:COUNTRY .)'
            ) in result.output
    assert (kb_copy / "kb" / "events-2021.ttl").read_bytes() == before


def test_a_new_place_is_made_with_the_event_in_its_country_and_shown_in_the_places_timeline(kb_copy):
    kb = str(kb_copy)
    result = run("--kb", kb, "add", "Talks in Dushanbe", "--type", "Meeting", "--participant", "host=Tajikistan",
                 "--participant", "visitor=Russia", "--date", "2021-07-20", "--place", "dushanbe",
                 "--new-place", "Dushanbe", "--in-country", "dushanbe=Tajikistan", "--source", "source:founding-article")
    assert result.exit_code == 0, result.output
    place = json.loads(run("--kb", kb, "show", "place:dushanbe", "-f", "json").output)
    assert {(f["property"], f["id"] or f["value"]) for f in place["properties"]} == {
        ("rdf:type", "dip:Place"), ("rdfs:label", "Dushanbe"), ("dip:inCountry", "place:tajikistan")}
    rows = json.loads(run("--kb", kb, "timeline", "--place", "Dushanbe", "-f", "json").output)
    assert [(r["label"], r["place"]["id"]) for r in rows] == [("Talks in Dushanbe", "place:dushanbe")]
    assert run("--kb", kb, "validate").exit_code == 0
    # The place is now the KB's: a second event there uses it, and --new-place for it makes no other.
    again = run("--kb", kb, "add", "More talks in Dushanbe", "--type", "Meeting", "--participant", "host=Tajikistan",
                "--participant", "visitor=India", "--date", "2021-07-21", "--place", "Dushanbe", "--new-place", "Dushanbe",
                "--source", "source:founding-article", "--dry-run")
    assert again.exit_code == 0 and "dip:place place:dushanbe ;" in again.stdout and "place:dushanbe-2" not in again.stdout
    # Said, as what --new-place asked of it (its class, its country) is not applied to the KB's place.
    assert again.stderr == ("Note: place:dushanbe is in the knowledge base already, and is used as it is: "
                            "--new-place for it made nothing.\n")


@pytest.mark.parametrize("country", ["TJ", "tjk", "Republic of Tajikistan"])
def test_a_new_places_country_is_found_by_its_iso_code_or_another_of_its_names(kb_copy, country):
    """As `timeline --actor TJK` finds Tajikistan; --in-country took only the label of the KB's place."""
    result = run("--kb", str(kb_copy), "add", "Talks in Dushanbe", "--type", "Meeting", "--participant",
                 "host=Tajikistan; visitor=Russia", "--date", "2021-07-20", "--place", "Dushanbe", "--new-place", "Dushanbe",
                 "--in-country", f"Dushanbe={country}", "--source", "source:founding-article", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dip:inCountry place:tajikistan ." in result.stdout


@pytest.mark.parametrize("host, visitor", [("RUS", "IN"), ("tjk", "Republic of India"),
                                           (unicodedata.normalize("NFD", "Zamir  Kabulov"), "india")])
def test_a_participant_is_found_by_a_countrys_code_or_name_and_in_any_spelling_of_its_characters(
        kb_copy, host, visitor):
    """As `timeline --actor RUS` finds Russia; a decomposed name (pasted from macOS) is the name."""
    result = run("--kb", str(kb_copy), "add", "Talks", "--type", "Meeting", "--participant",
                 f"host={host}; visitor={visitor}", "--date", "2021-07-20", "--source", "source:founding-article",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    expected = {"RUS": "russia", "tjk": "tajikistan"}.get(host, "zamir-kabulov")
    assert f"dip:host actor:{expected} ;" in result.stdout and "dip:visitor actor:india ;" in result.stdout


def test_a_source_the_kb_has_by_its_url_is_cited_as_it_is_with_a_note(kb_copy):
    """The title, date and publisher typed were dropped without a word when the URL was the KB's."""
    first = run("--kb", str(kb_copy), "add", "Jaishankar dials Zarif", "--type", "Meeting", "--participant",
                "participant=S Jaishankar; participant=Zarif", "--date", "2021-08-20", "--source-title", "A call",
                "--source-url", "https://example.org/call", "--source-date", "2021-08-20")
    assert first.exit_code == 0, first.output
    again = run("--kb", str(kb_copy), "add", "Iran comments on the call", "--type", "Statement", "--participant",
                "speaker=Iran", "--content", "Iran comments.", "--date", "2021-08-20", "--source-title",
                "Another title", "--source-url", "https://example.org/call", "--source-date", "2021-08-21", "--dry-run")
    assert again.exit_code == 0, again.output
    assert "dip:source source:a-call-2021-08-20 ." in again.stdout and "Another title" not in again.stdout
    assert again.stderr == ("Note: source:a-call-2021-08-20 is in the knowledge base already, with that URL or title, "
                            "and is cited as it is there: the title, date and publisher given for it made nothing.\n")


@pytest.mark.parametrize("options, said", [
    (["--place", "Moscow", "--new-place", "Doha"], "unused place: new place 'Doha' is not named by --place, --origin, "
                                                   "--destination or --in-country"),
    (["--place", "Doha", "--new-place", "Doha=City"], "unknown place kind: 'City' is not one of Place, Country"),
    (["--place", "Doha", "--new-place", "Doha", "--in-country", "Doha=Qatar"],
     "unknown place: no place named 'Qatar'"),
    (["--place", "Doha", "--new-place", "Doha", "--new-place", "doha"], "duplicate place: 'Doha' is listed twice"),
    (["--place", "place:doha", "--new-place", "place:doha"], "invalid place name: 'place:doha' is not a name"),
    (["--place", "Doha", "--in-country", "Doha=Tajikistan"], "malformed --in-country: 'Doha' is not one of the new places"),
    (["--place", " "], "missing place: an empty name names no place"),
])
def test_a_new_place_that_cannot_be_made_is_an_error_and_nothing_is_written(kb_copy, options, said):
    before = (kb_copy / "kb" / "events-2021.ttl").read_bytes()
    result = run("--kb", str(kb_copy), "add", "Talks", "--type", "Meeting", "--participant", "host=Russia",
                 "--date", "2021-07", *options, "--source", "source:founding-article")
    assert result.exit_code == 2 and said in result.output, result.output
    assert "Traceback" not in result.output
    assert (kb_copy / "kb" / "events-2021.ttl").read_bytes() == before


@pytest.mark.parametrize("place, subject, label", [('Say "Hi"', "place:say-hi", 'Say "Hi"'),
                                                   ("São Tomé", "place:sao-tome", "São Tomé"),
                                                   ("place:nowhere", "place:nowhere", "NAME")])
def test_the_turtle_suggested_for_an_unknown_place_parses(kb_copy, place, subject, label):
    result = run("--kb", str(kb_copy), "add", "Talks", "--type", "Meeting", "--participant", "host=Russia",
                 "--date", "2021-07", "--place", place, "--source", "source:founding-article", "--dry-run")
    suggested = result.output.split("in a .ttl file of kb/ (", 1)[1].split(" .), as", 1)[0]
    from pyoxigraph import RdfFormat, parse
    from dipkb.model.namespaces import PREFIXES
    prefixes = "".join(f"@prefix {name}: <{iri}> .\n" for name, iri in PREFIXES.items())
    triples = list(parse(prefixes + suggested.replace("COUNTRY", "tajikistan") + " .", format=RdfFormat.TURTLE))
    assert {(t.subject.value, t.object.value) for t in triples if t.predicate.value.endswith("#label")} == {
        (PREFIXES["place"] + subject.split(":")[1], label)}


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "written"])
def test_an_event_with_the_identity_key_of_another_is_added_with_a_note(kb_copy, dry_run):
    """The note comes with a dry run too: that is when the user can still decide not to add it."""
    result = run("--kb", str(kb_copy), "add", "Kabulov meets the Taliban again", "--type", "Meeting",
                 "--participant", "attendee=Zamir Kabulov", "--participant", "visitor=actor:taliban-delegation-moscow-2021",
                 "--date", "2021-07", "--place", "Moscow", "--source", "source:founding-article",
                 *(["--dry-run"] if dry_run else []))
    assert result.exit_code == 0, result.output
    assert result.stderr == ("Note: it has the same identity key as event:kabulov-taliban-meeting-2021-07; "
                             "check it is not a duplicate.\n")
    assert ("\nevent:kabulov-meets-the-taliban-again-2021-07\n" in result.stdout if dry_run
            else result.stdout.startswith("Added event:kabulov-meets-the-taliban-again-2021-07 "))


def test_add_with_new_source_and_actor(kb_copy):
    result = run("--kb", str(kb_copy), "add", "Lavrov meets Jaishankar", "--type", "Meeting",
                 "--participant", "host=Lavrov; visitor=Jaishankar", "--new-actor", "Lavrov=Person",
                 "--date", "2021-07-09", "--place", "Moscow", "--source-title", "Jaishankar in Moscow",
                 "--source-url", "https://example.org/a", "--source-date", "2021-07", "--source-publisher", "Example")
    assert result.exit_code == 0, result.output
    source = json.loads(run("--kb", str(kb_copy), "show", "source:jaishankar-in-moscow-2021-07", "-f", "json").output)
    facts = {(f["property"], f["value"]) for f in source["properties"]}
    assert {("dip:url", "https://example.org/a"), ("dct:issued", "2021-07"), ("dct:publisher", "Example")} <= facts
    timeline = json.loads(run("--kb", str(kb_copy), "timeline", "--actor", "Lavrov", "-f", "json").output)
    assert [e["id"] for e in timeline] == ["event:lavrov-meets-jaishankar-2021-07-09"]


def test_dry_run_prints_turtle_and_writes_nothing(snapshot, kb_copy):
    before = snapshot(kb_copy)
    result = run("--kb", str(kb_copy), *MEETING, "--dry-run")
    assert result.exit_code == 0
    assert "event:jaishankar-meets-zarif-again-2021-07\n    a dip:Meeting ;" in result.output
    assert snapshot(kb_copy) == before


def test_rejected_event_changes_no_file(snapshot, kb_copy):
    before = snapshot(kb_copy)
    result = run("--kb", str(kb_copy), "add", "Jaishankar meets himself", "--type", "Meeting",
                 "--participant", "visitor=S Jaishankar", "--date", "2021-07", "--source", "source:founding-article")
    assert result.exit_code == 1
    assert "Violation" in result.output and "participants" in result.output
    assert result.output.endswith("Error: the event was rejected by the shapes; nothing was written.\n")
    assert snapshot(kb_copy) == before


def test_unknown_name_is_an_input_error(snapshot, kb_copy):
    before = snapshot(kb_copy)
    result = run("--kb", str(kb_copy), "add", "Someone meets Russia", "--type", "Meeting",
                 "--participant", "visitor=Nobody Atall", "--participant", "host=Russia", "--date", "2021-07",
                 "--source", "source:founding-article")
    assert result.exit_code == 2
    assert "Nobody Atall" in result.output
    assert snapshot(kb_copy) == before


def test_a_malformed_language_tag_is_an_input_error(snapshot, kb_copy):
    # Before, the tag reached the Turtle parser, whose message spoke of an empty integer.
    before = snapshot(kb_copy)
    for tag in ("en-", "x y", "e n"):
        result = run("--kb", str(kb_copy), *MEETING, "--language", tag, "--source-title", "A new article")
        assert (result.exit_code, result.output) == (2, f"Error: invalid language: {tag!r} is not a language tag "
                                                         "such as en, fr or zh-Hans\n")
    assert snapshot(kb_copy) == before
    assert run("--kb", str(kb_copy), *MEETING, "--language", "fr-CA", "--dry-run").exit_code == 0


def test_two_concurrent_adds_both_land(kb_copy):
    env = {**os.environ, "DIPKB_KB": str(kb_copy)}
    commands = [[sys.executable, "-m", "dipkb", "add", f"Parallel meeting {n}", "--type", "Meeting",
                 "--participant", "visitor=S Jaishankar", "--participant", "host=Zarif", "--date", f"2021-07-0{n}",
                 "--source", "source:founding-article"] for n in (1, 2)]
    processes = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in commands]
    outcomes = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outcomes
    text = (kb_copy / "kb" / "events-2021.ttl").read_text()
    assert "event:parallel-meeting-1-2021-07-01" in text and "event:parallel-meeting-2-2021-07-02" in text
    assert run("--kb", str(kb_copy), "validate").exit_code == 0


def test_concurrent_adds_of_one_new_actor_and_source_make_each_once(kb_copy):
    """Each add resolved its names before the write lock; under it, one that found its new actor's IRI
    taken made actor:zed-person-2, and 'Zed Person' then named two actors: every later command failed."""
    env = {**os.environ, "DIPKB_KB": str(kb_copy)}
    commands = [[sys.executable, "-m", "dipkb", "add", f"Zed receives {n}", "--type", "Meeting", "--participant",
                 "host=Zed Person; visitor=India", "--new-actor", "Zed Person=Person", "--date", f"2021-07-1{n}",
                 "--source-url", "https://example.org/zed", "--source-title", "Zed report"] for n in (1, 2, 3)]
    processes = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in commands]
    outcomes = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outcomes
    timeline = json.loads(run("--kb", str(kb_copy), "timeline", "--actor", "Zed Person", "-f", "json").stdout)
    assert sorted(e["label"] for e in timeline) == ["Zed receives 1", "Zed receives 2", "Zed receives 3"]
    assert len({s["id"] for e in timeline for s in e["sources"]}) == 1  # the new source, made once


def test_concurrent_imports_of_one_file_write_its_events_once(kb_copy, tmp_path):
    """Each import resolved its IRIs before the write lock: three at once each wrote the file's events,
    three blocks of one IRI. Now one writes, and each other one merges or says to run it again."""
    rows = tmp_path / "collide.csv"
    rows.write_text("label,type,participants,date,place,sources\n"
                    "Collide talks,Meeting,host=actor:russia; visitor=actor:india,2021-07-09,Moscow,source:founding-article\n"
                    "Other talks,Meeting,host=actor:russia; visitor=actor:iran,2021-07-10,Moscow,source:founding-article\n",
                    encoding="utf-8")
    env = {**os.environ, "DIPKB_KB": str(kb_copy)}
    command = [sys.executable, "-m", "dipkb", "import", str(rows)]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    assert sorted(code for code, _, _ in outcomes)[0] == 0 and {code for code, _, _ in outcomes} <= {0, 2}, outcomes
    for code, _, err in outcomes:
        assert code == 0 or err.startswith("Error: Another writer added event:"), err
    written = "".join(path.read_text() for path in (kb_copy / "kb").rglob("*.ttl"))
    assert written.count("\nevent:collide-talks-2021-07-09\n") == 1 and written.count("\nevent:other-talks-2021-07-10\n") == 1



def test_an_hour_past_the_day_is_a_one_line_error(snapshot, kb_copy):
    # rdflib logged a traceback, and the shapes rejected the event with exit 1.
    before = snapshot(kb_copy)
    at = MEETING.index("--date") + 1
    result = run("--kb", str(kb_copy), *MEETING[:at], "2021-07-08T25:00:00", *MEETING[at + 1:])
    assert result.exit_code == 2
    assert result.output == "Error: invalid date: '2021-07-08T25:00:00' is not a valid xsd:dateTime\n"
    assert snapshot(kb_copy) == before


def test_an_event_without_a_time_is_told_so_with_every_other_gap_at_once(kb_copy):
    """Without a source, add said only that; given one, the shapes then said "Every event needs a time:
    dip:date, dip:startDate..." in the ontology's words, exit 1: two rounds, the second in RDF."""
    result = run("--kb", str(kb_copy), "add", "X meets Y", "--type", "Meeting", "--participant", "host=Russia",
                 "--participant", "visitor=India", "--dry-run")
    assert result.exit_code == 2
    assert result.output == ("Error: missing time: an event needs a time: a date, a start or an end, or an earliest or "
                             "latest bound (the source's publication month as the latest will do); missing source: an "
                             "event needs at least one source\n")


def test_a_first_event_in_an_empty_kb_can_make_its_country_and_its_state(tmp_path):
    """In a KB made by `dipkb init`, --in-country Moscow=Russia was "no place named 'Russia'", and a new
    Russia=Country or Russia=State "unused": no way to put a first city in a country, or a first
    minister under a state."""
    root = tmp_path / "mykb"
    assert run("init", str(root)).exit_code == 0
    result = run("--kb", str(root), "add", "Lavrov meets Jaishankar in Moscow", "--type", "Meeting", "--date", "2021-07-09",
                 "--participant", "host=Lavrov", "--participant", "visitor=Jaishankar", "--new-actor", "Lavrov=Person",
                 "--new-actor", "Jaishankar=Person", "--new-actor", "Russia=State", "--acts-for", "Lavrov=Russia",
                 "--position", "Lavrov=Foreign Minister", "--place", "Moscow", "--new-place", "Moscow",
                 "--new-place", "Russia=Country", "--in-country", "Moscow=Russia",
                 "--source-title", "Jaishankar in Moscow", "--source-url", "https://example.org/jm", "--source-date", "2021-07-09")
    assert result.exit_code == 0, result.output
    assert run("--kb", str(root), "validate").output == "Conforms: 0 violations, 0 warnings in 1 file.\n"
    russia = json.loads(run("--kb", str(root), "timeline", "--actor", "actor:russia", "-f", "json").output)
    assert [e["id"] for e in russia] == ["event:lavrov-meets-jaishankar-in-moscow-2021-07-09"]
    moscow = json.loads(run("--kb", str(root), "show", "place:moscow", "-f", "json").output)
    assert [f["id"] for f in moscow["properties"] if f["property"] == "dip:inCountry"] == ["place:russia"]
