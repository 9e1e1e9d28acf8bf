"""`dipkb add` ties a new actor to the actor it acts for and to its position, shows every warning of the
shapes, and says how to fix an unknown name; `show` and `--place` read "Moscow" as the city."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import kb_snapshot

from dipkb import KnowledgeBase
from dipkb.authoring.add import EventDraft, add_event, parse_participants
from dipkb.authoring.drafts import ActorDraft, actor_drafts
from dipkb.errors import EventDraftError

REPO = Path(__file__).resolve().parent.parent
# The README's example, with Lavrov tied to Russia, and a source without a publication date.
LAVROV = ["add", "Jaishankar meets Lavrov in Moscow", "--type", "Meeting", "--participant", "visitor=S Jaishankar",
          "--participant", "host=Lavrov", "--new-actor", "Lavrov=Person", "--acts-for", "Lavrov=Russia",
          "--position", "Lavrov=Foreign Minister", "--date", "2021-07-09", "--place", "Moscow",
          "--source-title", "Jaishankar in Moscow", "--source-url", "https://example.org/jaishankar-moscow"]
NO_ISSUED = ("Warning: source:jaishankar-in-moscow dct:issued: The source has no publication date (dct:issued), so "
             "its events cannot be checked against it; give it at the precision known, e.g. "
             "\"2021-07\"^^xsd:gYearMonth.\n")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """One copy for the module: only test_a_new_actor_acting_for_russia_is_in_its_timeline writes to it."""
    copy = tmp_path_factory.mktemp("authoring")
    shutil.copytree(REPO / "kb", copy / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    return copy


def run(root: Path, *args: str):
    return CliRunner().invoke(cli_group(), ["--kb", str(root), *args], catch_exceptions=False)


def cli_group():
    from dipkb.cli import cli

    return cli


def facts(root: Path, name: str) -> set[tuple[str, str]]:
    shown = json.loads(run(root, "show", name, "-f", "json").stdout)
    return {(f["property"], f["id"] or f["value"]) for f in shown["properties"]}


def test_a_new_actor_acting_for_russia_is_in_its_timeline(root):
    result = run(root, *LAVROV)
    assert result.exit_code == 0, result.output
    # The warning comes first, and says what `validate` would say of the new source.
    assert result.stderr == NO_ISSUED
    assert result.stdout.startswith("Added event:jaishankar-meets-lavrov-in-moscow-2021-07-09 to ")
    russia = json.loads(run(root, "timeline", "--actor", "Russia", "--role", "host", "-f", "json").stdout)
    assert "event:jaishankar-meets-lavrov-in-moscow-2021-07-09" in [e["id"] for e in russia]
    assert {("dip:actsFor", "actor:russia"), ("rdf:type", "dip:Person"),
            ("dip:holdsPosition", "position:lavrov-foreign-minister")} <= facts(root, "actor:lavrov")
    assert {("rdf:type", "dip:Position"), ("dip:positionTitle", "Foreign Minister"),
            ("dip:positionFor", "actor:russia"), ("dip:attestedAt", "2021-07-09"),
            ("rdfs:label", "Lavrov, Foreign Minister")} <= facts(root, "position:lavrov-foreign-minister")
    # What add wrote is what validate finds: the one warning add showed, no violation.
    validated = run(root, "validate", str(root / "kb" / "events-2021.ttl"))
    assert validated.exit_code == 0, validated.output
    assert "source:jaishankar-in-moscow" in validated.output and "Violation" not in validated.output


def test_a_dry_run_shows_the_warnings_too_and_writes_nothing(root):
    before = kb_snapshot(root / "kb")
    sergey = [{"host=Lavrov": "host=Sergey Lavrov", "Lavrov=Person": "Sergey Lavrov=Person",
               "Lavrov=Russia": "Sergey Lavrov=Russia", "Lavrov=Foreign Minister": "Sergey Lavrov=Foreign Minister"
               }.get(a, a) for a in LAVROV]
    sergey = sergey[:-4] + ["--source", "source:founding-article", "--dry-run"]
    result = run(root, *sergey)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # a dated event and source: nothing to warn about
    assert "dip:place place:moscow ;" in result.stdout
    # No event date: the position is attested at no time, and the shapes say so before anything is written.
    undated = run(root, *[a for a in sergey if a not in ("--date", "2021-07-09")], "--earliest", "2021-07")
    assert undated.exit_code == 0, undated.output
    assert undated.stderr == (
        "Warning: position:sergey-lavrov-foreign-minister (\"Sergey Lavrov, Foreign Minister\") dip:attestedAt: The "
        "position has no dip:attestedAt: give a time at which the source shows it held, so the title is not read as "
        "timeless.\n")
    assert kb_snapshot(root / "kb") == before


@pytest.mark.parametrize(("extra", "message"), [
    (["--position", "Lavrov=Foreign Minister"], ("Error: missing field: new actor 'Lavrov' holds a position but acts "
                                                 "for no one: say for whom (--acts-for 'Lavrov=ACTOR')\n")),
    (["--acts-for", "Lavrof=Russia"], ("Error: malformed --acts-for: 'Lavrof' is not one of the new actors: give it "
                                       "with --new-actor 'Lavrof[=CLASS]' too\n")),
    (["--acts-for", "Lavrov"], "Error: malformed --acts-for: 'Lavrov' is not NAME=ACTOR\n"),
    (["--acts-for", "Lavrov=Rusia"], ("Error: unknown actor: no actor named 'Rusia', did you mean 'Russia' "
                                      "(actor:russia) or 'Ebrahim Raisi' (actor:ebrahim-raisi)? (acts for of new actor "
                                      "'Lavrov')\n")),
])
def test_acts_for_and_position_mistakes_are_input_errors(root, extra, message):
    before = kb_snapshot(root / "kb")
    base = ["add", "Lavrov meets Zarif", "--type", "Meeting", "--participant", "host=Lavrov; visitor=Zarif",
            "--new-actor", "Lavrov=Person", "--date", "2021-07", "--source", "source:founding-article"]
    result = run(root, *base, *extra, "--dry-run")
    assert (result.exit_code, result.output) == (2, message)
    assert kb_snapshot(root / "kb") == before


def test_an_unknown_participant_points_at_close_names_and_at_new_actor(root):
    result = run(root, "add", "Talks", "--type", "Meeting", "--participant", "visitor=S Jaishankr; host=Nobody Atall",
                 "--date", "2021-07", "--source", "source:founding-article", "--dry-run")
    assert result.exit_code == 2
    assert result.output == (
        "Error: unknown actor: no actor named 'S Jaishankr', did you mean 'S Jaishankar' (actor:s-jaishankar)? "
        "To create it instead, add --new-actor 'S Jaishankr[=CLASS]'; unknown actor: no actor named 'Nobody Atall'. "
        "To create it, add --new-actor 'Nobody Atall[=CLASS]'\n")


def test_an_unknown_iri_suggests_no_new_actor(root):
    result = run(root, "add", "Talks", "--type", "Meeting", "--participant", "visitor=actor:nobody; host=Russia",
                 "--date", "2021-07", "--source", "source:founding-article", "--dry-run")
    assert (result.exit_code, result.output) == (
        2, "Error: unknown actor: no actor actor:nobody in the knowledge base\n")


def test_the_library_takes_the_position_of_a_new_actor(root):
    kb = KnowledgeBase.open(root)
    draft = EventDraft(label="Envoy talks", event_type="Meeting", start="2021-07", end="2021-08",
                       participants=parse_participants("host=Russia; visitor=Quetta envoy"),
                       new_actors=(ActorDraft("Quetta envoy", "Person", "Taliban", "envoy to Moscow"),),
                       sources=("source:founding-article",))
    result = add_event(kb, draft, dry_run=True)
    assert result.accepted and not result.written and [f.message for f in result.findings] == []
    assert result.turtle.endswith("""actor:quetta-envoy
    a dip:Person ;
    rdfs:label "Quetta envoy"@en ;
    dip:actsFor actor:taliban ;
    dip:holdsPosition <https://w3id.org/dipkb/kb/position/quetta-envoy-envoy-to-moscow> .

<https://w3id.org/dipkb/kb/position/quetta-envoy-envoy-to-moscow>
    a dip:Position ;
    rdfs:label "Quetta envoy, envoy to Moscow"@en ;
    dip:positionTitle "envoy to Moscow"@en ;
    dip:positionFor actor:taliban ;
    dip:attestedAt "2021-07"^^xsd:gYearMonth .
""")


def test_options_name_the_new_actors_in_any_case():
    drafts = actor_drafts(["Lavrov=Person", "Quetta envoys=Delegation"], ["lavrov=Russia", "QUETTA ENVOYS=Taliban"],
                          ["Lavrov=Foreign Minister"])
    assert drafts == (ActorDraft("Lavrov", "Person", "Russia", "Foreign Minister"),
                      ActorDraft("Quetta envoys", "Delegation", "Taliban"))
    with pytest.raises(EventDraftError) as caught:
        actor_drafts(["Lavrov"], ["Lavrov=Russia", "Lavrov=India"], ["=x"])
    assert caught.value.problems == [("malformed --acts-for", "--acts-for is given twice for 'Lavrov'"),
                                     ("malformed --position", "'=x' is not NAME=TITLE")]


def test_show_moscow_is_the_city_and_says_russia_is_also_called_so(root):
    result = run(root, "show", "Moscow")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("place:moscow  (place)\n  Moscow\n  Note: the name also stands for actor:russia "
                                    "(actor), as an alternative label; show it by its IRI.\n\n")
    shown = json.loads(run(root, "show", "moscow", "-f", "json").stdout)
    assert (shown["id"], shown["also_named"]) == ("place:moscow", [{"id": "actor:russia", "kind": "actor"}])
    assert json.loads(run(root, "show", "actor:russia", "-f", "json").stdout)["also_named"] == []
    # A name that is the label of two things is still ambiguous.
    ambiguous = run(root, "show", "Afghanistan")
    assert ambiguous.exit_code == 2 and "'Afghanistan' is ambiguous" in ambiguous.output


def test_moscow_as_a_place_filter_is_the_city(root):
    shown = json.loads(run(root, "timeline", "--place", "Moscow", "-f", "json").stdout)
    assert shown and {e["place"]["id"] for e in shown} == {"place:moscow"}
