"""The CLI end to end, in-process with CliRunner: exact output and exit codes."""
from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import shlex
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import dipkb.cli
from dipkb import __version__
from dipkb.cli import cli
from dipkb.model.namespaces import expand

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def run():
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke




def test_version(run):
    result = run("--version")
    assert result.exit_code == 0
    assert result.output == f"dipkb, version {__version__}\n"


def test_every_command_has_help_with_an_example_and_is_in_the_readme(run):
    readme = (REPO / "README.md").read_text()
    for name in cli.commands:
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert "Example" in result.output, f"{name} --help has no example"
        assert f"dipkb {name}" in readme, f"README does not show 'dipkb {name}'"


def test_every_command_of_the_cli_modules_is_in_the_group():
    """The group imports its commands lazily, by name: a command left out of its table would never run."""
    modules = [importlib.import_module(f"dipkb.cli.{m.name}") for m in pkgutil.iter_modules(dipkb.cli.__path__)]
    defined = {id(c) for m in modules for c in vars(m).values() if isinstance(c, click.Command) and c is not cli}
    assert defined == {id(command) for command in cli.commands.values()}


def test_help_lists_every_command_with_its_summary(run):
    listed = run("--help").output.split("Commands:\n", 1)[1]
    for name in cli.commands:
        assert re.search(rf"^  {name} +{re.escape(cli.commands[name].get_short_help_str()[:20])}", listed, re.M), name


def test_timeline_of_russia_in_july_2021(run):
    result = run("timeline", "--actor", "Russia", "--from", "2021-07", "--to", "2021-07", "-f", "json")
    assert result.exit_code == 0
    entries = json.loads(result.output)
    by_id = {e["id"]: e for e in entries}
    # Kabulov and the Foreign Ministry act for Russia, so their events are Russia's too.
    assert "event:kabulov-taliban-meeting-2021-07" in by_id
    assert "event:russian-foreign-ministry-statement-2021-07" in by_id
    assert by_id["event:russia-base-activation-tajikistan-2021-07"]["modality"] == "possible"
    assert "event:taliban-take-kabul-1996" not in by_id
    meeting = by_id["event:kabulov-taliban-meeting-2021-07"]
    assert meeting == {
        "id": "event:kabulov-taliban-meeting-2021-07",
        "type": "dip:Meeting",
        "label": "Zamir Kabulov meets the Taliban delegation in Moscow",
        "date": "2021-07",
        "modality": "occurred",
        "participants": [
            {"id": "actor:zamir-kabulov", "label": "Zamir Kabulov", "role": "attendee"},
            {"id": "actor:taliban-delegation-moscow-2021", "label": "Taliban delegation to Moscow (July 2021)",
             "role": "visitor"},
        ],
        "place": {"id": "place:moscow", "label": "Moscow"}, "origin": None, "destination": None,
        "sources": [
            {"id": "source:founding-article",
             "title": "Alarmed by India’s lead to revive the northern alliance, Taliban tries to placate Russia",
             "url": None},
            {"id": "source:russian-foreign-ministry-statement-2021-07",
             "title": "Russian Foreign Ministry statement on Zamir Kabulov's meeting with the Taliban delegation",
             "url": None},
        ],
        "context": False,
    }


def test_timeline_date_range_excludes_events_outside_it(run):
    entries = json.loads(run("timeline", "--from", "1996", "--to", "1996", "-f", "json").output)
    assert {e["id"] for e in entries} == {
        "event:taliban-take-kabul-1996", "event:northern-alliance-formed-1996", "event:northern-alliance-defensive-war",
        "event:india-supports-anti-taliban-forces",  # not Pakistan's backing, begun no later than 1999
    }
    assert all(e["context"] for e in entries)
    july = {e["id"] for e in json.loads(run("timeline", "--from", "2021-07-15", "--to", "2021-08", "-f", "json").output)}
    assert "event:taliban-seize-districts-2021" in july  # May to July overlaps mid-July
    assert "event:us-drawdown-afghanistan-2021" in july  # under way in July
    assert "event:us-drawdown-completion-deadline-2021-09-11" in july  # due by September 11
    assert "event:taliban-take-kabul-1996" not in july


def test_timeline_direct_excludes_agents(run):
    result = run("timeline", "--actor", "Russia", "--direct", "-f", "json")
    ids = {e["id"] for e in json.loads(result.output)}
    assert "event:kabulov-taliban-meeting-2021-07" not in ids
    assert "event:russia-base-activation-tajikistan-2021-07" in ids


def test_timeline_is_chronological_with_honest_dates(run):
    entries = json.loads(run("timeline", "-f", "json").output)
    dates = {e["id"]: e["date"] for e in entries}
    assert dates["event:taliban-take-kabul-1996"] == "[..1996]"  # before the alliance formed in late 1996
    assert dates["event:taliban-seize-districts-2021"] == "2021-05/2021-07"
    assert dates["event:russia-concern-central-asia-2021"] == "[..2021-07]"
    order = [e["id"] for e in entries]
    assert order.index("event:taliban-take-kabul-1996") < order.index("event:taliban-seize-districts-2021")
    assert order.index("event:taliban-seize-districts-2021") < order.index("event:afghan-troops-flee-to-tajikistan-2021-07")
    assert order[-1] == "event:us-drawdown-completion-deadline-2021-09-11"
    assert dates["event:us-drawdown-afghanistan-2021"] == "[..2021-07]"  # open: September 11 is a deadline
    assert dates["event:us-drawdown-completion-deadline-2021-09-11"] == "[2021-07..2021-09-11]"


def test_timeline_type_accepts_class_cameo_and_plover(run):
    def ids(*args):
        return {e["id"] for e in json.loads(run("timeline", *args, "-f", "json").output)}

    meetings = ids("--type", "Meeting")
    assert meetings == ids("--type", "04") == ids("--type", "CONSULT")
    assert "event:taliban-delegation-visit-moscow-2021-07" in meetings
    assert ids("--type", "042") == {"event:taliban-delegation-visit-moscow-2021-07",
                                    "event:jaishankar-technical-halt-iran-2021-07"}
    assert ids("--type", "Retreat") == {"event:afghan-personnel-forced-into-tajikistan-2021",
                                        "event:afghan-troops-flee-to-tajikistan-2021-07"}


def test_timeline_place_includes_places_inside(run):
    ids = {e["id"] for e in json.loads(run("timeline", "--place", "Afghanistan", "-f", "json").output)}
    assert "event:taliban-take-kabul-1996" in ids  # Kabul is in Afghanistan
    assert "event:kabulov-taliban-meeting-2021-07" not in ids


def test_timeline_csv_to_file_guesses_format_from_extension(run, tmp_path):
    target = tmp_path / "russia.csv"
    result = run("timeline", "--actor", "actor:russia", "--type", "BaseActivation", "-o", str(target))
    assert result.exit_code == 0 and result.output == ""
    assert target.read_text().splitlines() == [
        "date,type,modality,label,participants,place,sources",
        "[2021-07..],BaseActivation,possible,Russia is prepared to activate a military base in Tajikistan,"
        "Russia (agent); Taliban (target),Military base in Tajikistan,"
        "\"Alarmed by India’s lead to revive the northern alliance, Taliban tries to placate Russia\"",
    ]


def test_unknown_actor_suggests_and_exits_2(run):
    result = run("timeline", "--actor", "Jaish")
    assert result.exit_code == 2
    assert result.output == "Error: No actor named 'Jaish'. Did you mean: 'S Jaishankar'?\n"


@pytest.mark.parametrize(("option", "noun", "first"), [("--actor", "actor", "afghan-government"),
                                                       ("--place", "place", "afghanistan")])
def test_unknown_name_without_suggestion_shows_an_iri_of_its_kind(run, option, noun, first):
    result = run("timeline", option, "Qqqqxz")
    assert result.exit_code == 2
    assert result.output == (f"Error: No {noun} named 'Qqqqxz'. Give a label, an alternative label or an "
                             f"IRI such as {noun}:{first}.\n")  # the KB's first, by IRI


@pytest.mark.parametrize(("args", "meant"), [
    (("timeline", "--actor", "Rusia"), "No actor named 'Rusia'. Did you mean: 'Russia'?"),
    (("timeline", "--actor", "Kabulow"), "No actor named 'Kabulow'. Did you mean: 'Zamir Kabulov'?"),  # alt. label
    (("timeline", "--place", "Moskow"), "No place named 'Moskow'. Did you mean: 'Moscow'?"),
    (("show", "Rusia"), "Nothing named 'Rusia' in the knowledge base. Did you mean: 'Russia'?"),
    (("query", "actor-timeline", "-p", "actor=Rusia"), "No actor named 'Rusia'. Did you mean: 'Russia'?"),
])
def test_a_misspelt_name_is_answered_with_the_names_spelt_like_it(run, args, meant):
    result = run(*args)
    assert (result.exit_code, result.output) == (2, f"Error: {meant}\n")


def test_an_unknown_name_in_a_kb_without_actors_says_there_are_none(tmp_path):
    root = tmp_path / "empty"
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    result = CliRunner().invoke(cli, ["--kb", str(root), "timeline", "--actor", "Russia"])
    assert (result.exit_code, result.output) == (2, "Error: No actor named 'Russia'. The knowledge base has no actor yet.\n")


@pytest.mark.parametrize("option", ["--actor", "--place", "--type", "--from", "--to", "--role"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_timeline_filter_is_an_error_not_the_whole_kb(run, option, value):
    """`--actor "$ACTOR"` with the variable unset: the whole KB's timeline would pass for the actor's."""
    result = run("timeline", "--actor", "Russia", option, value)
    assert result.exit_code == 2
    assert result.output == f"Error: {option} is empty: give a value, or leave the option out to not filter by it.\n"


def test_ambiguous_name_lists_candidates(run):
    # "Afghanistan" is both a state (actor) and a country (place).
    result = run("show", "Afghanistan")
    assert result.exit_code == 2
    assert result.output == ("Error: 'Afghanistan' is ambiguous, it matches: actor:afghanistan (actor); "
                             "place:afghanistan (place). Pass one of these IRIs instead.\n")


@pytest.mark.parametrize("name", ["dip:Meeting", "https://w3id.org/dipkb/ontology#Meeting", "cameo:040"])
def test_show_of_something_the_kb_holds_but_not_as_a_kind_it_shows_says_how_to_read_it(run, name):
    result = run("show", name)
    assert result.exit_code == 2
    iri = "https://w3id.org/dipkb/" + ("ontology#Meeting" if "Meeting" in name else "cameo/040")
    assert result.output == (f"Error: {name!r} is in the knowledge base, but not as an event, actor, place, source "
                             f"or position: its statements are in `dipkb query 'DESCRIBE <{iri}>'`.\n")
    assert run("query", f"DESCRIBE <{iri}>", "-f", "ntriples").output.count(f"<{iri}> ") > 2


@pytest.mark.parametrize("name", ["", "  "])
def test_show_of_no_name_asks_for_one(run, name):
    result = run("show", name)
    assert (result.exit_code, result.output) == (
        2, "Error: No name given: give an IRI, a CURIE (event:..., actor:...) or a label.\n")


def test_show_of_an_iri_the_kb_does_not_hold_says_nothing_is_named_so(run):
    result = run("show", "event:no-such-event")
    assert result.exit_code == 2
    assert result.output.startswith("Error: Nothing named 'event:no-such-event' in the knowledge base")


def test_show_of_part_of_a_name_suggests_the_names_that_hold_it_as_timeline_does(run):
    result = run("show", "zamir")
    assert result.exit_code == 2
    assert result.output.startswith("Error: Nothing named 'zamir' in the knowledge base. Did you mean: ")
    assert "'Zamir Kabulov'" in result.output and "'Zamir Kabulov meets the Taliban delegation in Moscow'" in result.output
    assert run("timeline", "--actor", "zamir").output == "Error: No actor named 'zamir'. Did you mean: 'Zamir Kabulov'?\n"


def test_a_saved_query_given_an_iri_the_kb_lacks_says_so_rather_than_answer_nothing(run):
    result = run("query", "event-sources", "-p", "event=event:kabulov-taliban-meeting-2021-7")
    assert result.exit_code == 2
    assert result.output == ("Error: Nothing is event:kabulov-taliban-meeting-2021-7 in the knowledge base (parameter "
                             "'event' of query 'event-sources').\n")
    assert run("query", "event-sources", "-p", "event=event:kabulov-taliban-meeting-2021-07", "-f", "csv").exit_code == 0


def test_show_finds_a_name_in_any_case_when_none_matches_as_typed(run):
    # The place's label starts in lower case: no usual casing of what was typed ("Northern
    # Afghanistan", "northern afghanistan", "Northern afghanistan"...) is it.
    result = run("show", "Northern Afghanistan")
    assert result.exit_code == 0
    assert result.output.startswith("place:northern-afghanistan  (place)\n  northern Afghanistan\n")


def test_timeline_finds_an_actor_in_any_case(run):
    typed = run("timeline", "--actor", "taliban delegation to moscow (july 2021)", "-f", "json")
    by_iri = run("timeline", "--actor", "actor:taliban-delegation-moscow-2021", "-f", "json")
    assert typed.exit_code == 0
    assert json.loads(typed.output) == json.loads(by_iri.output) != []


def test_a_name_with_decomposed_characters_is_the_name(kb_copy, run):
    """A name pasted from macOS comes decomposed (NFD: "g" and a combining breve for "ğ"), and
    matched no label."""
    (kb_copy / "kb" / "turkey.ttl").write_text(
        "<https://w3id.org/dipkb/kb/actor/erdogan> a <https://w3id.org/dipkb/ontology#Person> ;\n"
        '    <http://www.w3.org/2000/01/rdf-schema#label> "Recep Tayyip Erdoğan"@en .\n', encoding="utf-8")
    decomposed = unicodedata.normalize("NFD", "Recep Tayyip Erdoğan")
    assert decomposed != "Recep Tayyip Erdoğan"
    shown = run("--kb", str(kb_copy), "show", decomposed, "-f", "json")
    assert shown.exit_code == 0 and json.loads(shown.output)["id"] == "actor:erdogan"
    assert run("--kb", str(kb_copy), "timeline", "--actor", decomposed).exit_code == 0


_PORT = """@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/dipkb/kb/place/vara-port> a dip:Place ; rdfs:label "%s"@en .
<https://w3id.org/dipkb/kb/actor/vara-port-authority> a dip:Organisation ; rdfs:label "VARA port"@en .
"""


def test_show_prefers_a_name_as_typed_to_another_kind_in_another_case(run, kb_copy):
    (kb_copy / "kb" / "port.ttl").write_text(_PORT % "Vara Port")
    result = run("--kb", str(kb_copy), "show", "Vara Port")
    assert result.exit_code == 0
    assert result.output.startswith("place:vara-port  (place)\n")


def test_show_lists_every_kind_a_name_matches_in_another_case(run, kb_copy):
    (kb_copy / "kb" / "port.ttl").write_text(_PORT % "Vara PORT")
    result = run("--kb", str(kb_copy), "show", "vara port")
    assert result.exit_code == 2
    assert result.output == ("Error: 'vara port' is ambiguous, it matches: actor:vara-port-authority (actor); "
                             "place:vara-port (place). Pass one of these IRIs instead.\n")


@pytest.mark.parametrize("hostile", ['") || true || ("', "Russia' } ?s ?p ?o {", "actor:russia> . ?x ?y ?z . <x"])
def test_injection_through_actor_is_an_error_not_extra_rows(run, hostile):
    result = run("timeline", "--actor", hostile, "-f", "json")
    assert result.exit_code == 2
    assert result.output.startswith("Error: ")


def test_bad_date_is_a_usage_error(run):
    result = run("timeline", "--from", "2021-02-31")
    assert result.exit_code == 2
    assert result.output == "Error: '2021-02-31' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD with a real day.\n"


def test_show_event_lists_roles_time_quotes_and_sources(run):
    result = run("show", "event:russian-foreign-ministry-statement-2021-07")
    assert result.exit_code == 0
    text = result.output
    assert text.startswith("event:russian-foreign-ministry-statement-2021-07  (event)\n"
                           "  Russian Foreign Ministry says it received Taliban assurances\n")
    assert re.search(r"^  speaker +Russian Foreign Ministry \(actor:russian-foreign-ministry\)$", text, re.M)
    assert "“We received assurances from the Taliban that they wouldn’t violate" in text
    assert "source:russian-foreign-ministry-statement-2021-07" in text


_MODULES_AFTER = """import sys
from dipkb.cli import cli
cli.main(sys.argv[1:], prog_name="dipkb", standalone_mode=False)
print(sorted({m.split(".")[0] for m in sys.modules} & {"rdflib", "pyshacl"}), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [("timeline", "--actor", "Russia"), ("show", "actor:russia"),
                                  ("query", "who-met-whom"), ("query", "DESCRIBE actor:russia", "-f", "turtle")])
def test_a_look_up_imports_neither_rdflib_nor_pyshacl(shipped_kb, args):
    """rdflib alone costs a command 80 ms: a CONSTRUCT's literals as written took it in with the shapes' code."""
    result = subprocess.run([sys.executable, "-c", _MODULES_AFTER, "--kb", str(shipped_kb), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout, result.stderr
    assert result.stderr.splitlines()[-1] == "[]"


def test_show_calls_standard_properties_by_their_usual_names(run):
    """It said rdf:type, rdfs:label, skos:altLabel and dct:issued to readers who know none of them;
    the JSON keeps each property's CURIE beside its name."""
    text = run("show", "source:founding-article", "--limit", "1").output + run("show", "actor:taliban", "--limit", "1").output
    for name in ("type", "name", "published", "title", "also known as"):
        assert re.search(rf"^  {name} +\S", text, re.M), name
    assert not re.search(r"^  (rdf|rdfs|skos|dct):", text, re.M)
    place = json.loads(run("show", "place:moscow", "-f", "json").output)["properties"]
    assert {(p["property"], p["label"]) for p in place} >= {("geo:lat", "latitude"), ("geo:long", "longitude"),
                                                            ("rdf:type", "type")}


def test_show_timeline_says_each_events_modality(run):
    """A planned summit listed by date, type and label alone read as one that took place."""
    text = run("show", "actor:russia").output
    listed = text.split("  Timeline:\n", 1)[1].splitlines()
    expected = {e["label"]: e["modality"] for e in json.loads(run("timeline", "--actor", "actor:russia", "-f", "json").output)}
    assert len(listed) == len(expected) and {"possible", "occurred"} <= set(expected.values())
    for line in listed:
        label = next(label for label in expected if line.endswith(label))
        assert f" {expected[label]} " in line, line


def test_show_actor_has_positions_and_timeline_in_json(run):
    data = json.loads(run("show", "Raisi", "-f", "json").output)
    assert data["id"] == "actor:ebrahim-raisi" and data["kind"] == "actor"
    position = data["details"]["position:raisi-president-elect"]
    assert {"property": "dip:positionTitle", "label": "position title", "value": "president-elect",
            "id": None, "language": "en"} in position
    assert [e["id"] for e in data["timeline"]] == ["event:jaishankar-raisi-meeting-2021-07"]


@pytest.mark.parametrize("name", ["actor:russia", "place:afghanistan", "actor:taliban", "source:founding-article"])
def test_show_limit_lists_the_first_references_and_events_and_counts_them_all(run, name):
    everything = json.loads(run("show", name, "-f", "json").output)
    limited = json.loads(run("show", name, "--limit", "3", "-f", "json").output)

    def pairs(description: dict) -> list[tuple[str, str]]:
        return sorted({(expand(r["property"]), expand(r["id"])) for r in description["referenced_by"]})

    assert len(pairs(everything)) == everything["referenced_by_count"] == limited["referenced_by_count"] > 3
    assert pairs(limited) == pairs(everything)[:3]
    assert [e["id"] for e in limited["timeline"]] == [e["id"] for e in everything["timeline"]][:3]
    assert limited["timeline_count"] == everything["timeline_count"] == len(everything["timeline"])
    assert {k: v for k, v in limited.items() if k not in ("referenced_by", "timeline")} \
        == {k: v for k, v in everything.items() if k not in ("referenced_by", "timeline")}
    text = run("show", name, "--limit", "3").output
    assert f"  Referenced by (3 of {everything['referenced_by_count']}):\n" in text
    if everything["timeline_count"] > 3:
        assert f"  Timeline (3 of {everything['timeline_count']}):\n" in text


def test_show_limit_is_a_number_from_one(run):
    result = CliRunner().invoke(cli, ["show", "actor:russia", "--limit", "0"])
    assert result.exit_code == 2 and "0 is not in the range x>=1" in result.output


def test_kb_option_and_environment_variable_point_elsewhere(run, kb_copy, monkeypatch):
    events = kb_copy / "kb" / "events-2021.ttl"
    events.write_text(events.read_text().replace("Taliban delegation visits Moscow", "Delegation arrives"))
    result = run("--kb", str(kb_copy), "show", "event:taliban-delegation-visit-moscow-2021-07", "-f", "json")
    assert json.loads(result.output)["label"] == "Delegation arrives"
    monkeypatch.setenv("DIPKB_KB", str(kb_copy))
    assert json.loads(run("show", "event:taliban-delegation-visit-moscow-2021-07", "-f", "json").output)["label"] \
        == "Delegation arrives"


def test_malformed_turtle_reports_every_bad_file_with_line_and_column(run, kb_copy):
    (kb_copy / "kb" / "places.ttl").write_text("@prefix p: <http://x/> .\np:a p:b p:c \np:d .\n")
    (kb_copy / "kb" / "broken.ttl").write_text('<http://x/a> <http://x/b> "unterminated .\n')
    result = run("--kb", str(kb_copy), "timeline")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert re.fullmatch(r"Error: .*kb/broken\.ttl:1:\d+: .+", lines[0])
    assert re.fullmatch(r".*kb/places\.ttl:3:1: .+", lines[1])
    assert lines[2] == "2 files failed to load."
    assert "Traceback" not in result.output


def test_missing_kb_directory_is_exit_2(run, tmp_path):
    result = run("--kb", str(tmp_path / "nope"), "timeline")
    assert result.exit_code == 2
    assert result.output == f"Error: Knowledge base directory not found: {tmp_path / 'nope'}\n"


def test_a_missing_kb_named_in_bytes_that_are_not_utf8_is_shown_escaped(tmp_path):
    env = {**os.environ, "DIPKB_KB": os.fsdecode(bytes(tmp_path) + b"/n\xff")}
    done = subprocess.run([sys.executable, "-m", "dipkb", "stats"], env=env, capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (2, b"Error: Knowledge base directory not found: " + bytes(tmp_path)
                                              + b"/n\\xff\n")


def test_show_names_a_blank_node_value_as_one(kb_copy):
    (kb_copy / "kb" / "blank.ttl").write_text(
        "<https://w3id.org/dipkb/kb/event/kabulov-taliban-meeting-2021-07> <https://w3id.org/dipkb/ontology#note> "
        '[ <http://www.w3.org/2000/01/rdf-schema#comment> "x" ] .\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), "show", "event:kabulov-taliban-meeting-2021-07", "-f", "json"])
    [note] = [p for p in json.loads(result.stdout)["properties"] if p["property"] == "dip:note"]
    assert note["id"].startswith("_:") and note["value"] == note["id"] and len(note["id"]) > 2


def built_index(kb: Path) -> None:
    """The index of ``kb``, built before a test times a query: on a loaded machine, a build of a few
    seconds left the test's interrupt to the build, not to the query it is about."""
    assert CliRunner().invoke(cli, ["--kb", str(kb), "index"]).exit_code == 0


def test_ctrl_c_ends_a_runaway_query(kb_copy):
    """The engine evaluates in Rust, where Python never sees the interrupt: the query ran on for good."""
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    built_index(kb_copy)
    # Started as a terminal starts a command: a suite run as a shell's background job (`pytest &`)
    # ignores SIGINT, and so would the query (as the next test wants), which then ran on for good.
    process = subprocess.Popen([sys.executable, "-m", "dipkb", "--kb", str(kb_copy), "query", runaway],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        time.sleep(3)  # the query under way
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == -signal.SIGINT
    finally:
        process.kill()
        process.wait()


def test_a_query_started_ignoring_ctrl_c_goes_on_ignoring_it(kb_copy):
    """A script's background job starts with SIGINT ignored: the query turned that back into the default."""
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    built_index(kb_copy)
    process = subprocess.Popen([sys.executable, "-m", "dipkb", "--kb", str(kb_copy), "query", runaway],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        time.sleep(3)
        process.send_signal(signal.SIGINT)
        time.sleep(1)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_ctrl_c_in_python_exits_130_not_the_code_of_findings(kb_copy, tmp_path):
    """click's "Aborted!" exited 1, the code of findings: a script took an interrupted import or
    validate for one that found something."""
    gdelt = tmp_path / "gdelt.export.tsv"  # twenty times the fixture: an import of a minute
    gdelt.write_bytes((Path(__file__).parent / "fixtures" / "gdelt2-20191024143000.export.tsv").read_bytes() * 20)
    built_index(kb_copy)
    process = subprocess.Popen([sys.executable, "-m", "dipkb", "--kb", str(kb_copy), "import", str(gdelt), "--dry-run"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        time.sleep(4)  # past start-up (an interrupt while modules load is Python's), in the minute of import
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert (process.returncode, stderr.splitlines()[-1:]) == (130, ["Interrupted."]), stderr
    finally:
        process.kill()
        process.wait()


def test_a_format_in_capitals_is_the_format_and_words_that_are_no_sparql_suggest_a_saved_query(run):
    """`-f CSV` was "'CSV' is not one of 'table', 'csv'..."; `query "who met whom"` a syntax error at 1:1."""
    assert run("timeline", "--actor", "Kabulov", "-f", "CSV").output == run("timeline", "--actor", "Kabulov", "-f", "csv").output
    result = run("query", "who met whom")
    assert (result.exit_code, result.output) == (2, "Error: 'who met whom' is neither SPARQL (it has no SELECT, ASK, "
                                                    "CONSTRUCT or DESCRIBE) nor the name of a saved query: did you mean "
                                                    "who-met-whom? `dipkb queries` lists them.\n")
    assert run("query", "DESCRIBE actor:russia").exit_code == 0  # no braces, and SPARQL


@pytest.mark.parametrize("command", ["timeline", "show", "query", "queries", "stats", "validate"])
def test_the_examples_in_the_help_of_each_reading_command_run_on_the_bundled_kb(shipped_kb, command):
    """`dipkb show --help` gave `dipkb show Russia --limit 5`, which is ambiguous (the state and the
    country): an example a reader copies must run."""
    text = CliRunner().invoke(cli, [command, "--help"]).output
    examples = [shlex.split(line.strip())[1:] for line in text.split("Example")[1].splitlines()
                if line.strip().startswith("dipkb ") and " -o " not in line]
    assert examples, text
    for example in examples:
        result = CliRunner().invoke(cli, ["--kb", str(shipped_kb), *example])
        assert result.exit_code == 0, (example, result.output)
