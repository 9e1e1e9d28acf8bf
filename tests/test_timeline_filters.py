"""`timeline --role`, `--modality`, and `--type` beside the other filters, on the shipped KB: each
filter keeps exactly the events of the unfiltered timeline that qualify, through the CLI, the library
and the web form alike."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb import KnowledgeBase
from dipkb.cli import cli
from dipkb.views.timeline import MODALITIES, timeline, typed_filter, with_roles
from dipkb.web.html import TimelineForm

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("filters")
    shutil.copytree(REPO / "kb", copy / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    return copy


def run(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--kb", str(root), *args], catch_exceptions=False)


def events(root: Path, *args: str) -> list[dict]:
    result = run(root, "timeline", *args, "-f", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def everything(root) -> list[dict]:
    return events(root)


def ids(entries: list[dict]) -> list[str]:
    return [e["id"] for e in entries]


@pytest.mark.parametrize("role", ["host", "visitor", "speaker", "moving force", "agent"])
def test_a_role_keeps_the_events_someone_took_in_that_role(root, everything, role):
    expected = [e for e in everything if any(p["role"] == role for p in e["participants"])]
    assert expected, f"the shipped KB has events with a {role}"
    assert events(root, "--role", role) == expected


def test_with_an_actor_the_role_is_the_actors_own_or_its_agents(root):
    # Russia hosted the Taliban delegation; its foreign minister hosted for it. Kabulov (its envoy) met the
    # delegation, and the article does not say who hosted.
    hosted = events(root, "--actor", "Russia", "--role", "host")
    assert ids(hosted) == ids([e for e in events(root, "--actor", "Russia")
                               if any(p["role"] == "host" for p in e["participants"])])
    hosts = {p["id"] for e in hosted for p in e["participants"] if p["role"] == "host"}
    assert hosts == {"actor:russia", "actor:russian-foreign-minister"}
    assert ids(events(root, "--actor", "Russia", "--role", "attendee")) == ["event:kabulov-taliban-meeting-2021-07"]
    assert ids(events(root, "--actor", "Russia", "--role", "host", "--direct")) == [
        "event:taliban-delegation-visit-moscow-2021-07"]
    # The delegation visited Russia and hosted no one.
    assert events(root, "--actor", "Taliban delegation to Moscow (July 2021)", "--role", "host") == []


def test_roles_are_named_as_the_ontology_names_them_and_repeat_as_any_of(root):
    assert events(root, "--role", "movingForce") == events(root, "--role", "dip:movingForce") == \
        events(root, "--role", "https://w3id.org/dipkb/ontology#movingForce") == events(root, "--role", "Moving Force")
    both = ids(events(root, "--role", "host", "--role", "visitor"))
    assert set(both) == set(ids(events(root, "--role", "host"))) | set(ids(events(root, "--role", "visitor")))


@pytest.mark.parametrize("role", ["hots", 'host" } ?s ?p ?o {', "participant", "host> #", "{host}"])
def test_an_unknown_role_is_an_input_error_listing_the_roles(root, role):
    result = run(root, "timeline", "--role", role)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: Unknown role {role!r}: use one of addressee, agent, ")
    assert "host, movingForce" in result.output


def test_the_modalities_partition_the_timeline(root, everything):
    found = {}
    for modality in MODALITIES:
        found[modality] = events(root, "--modality", modality)
        assert {e["modality"] for e in found[modality]} <= {modality}
    assert sorted(i for entries in found.values() for i in ids(entries)) == sorted(ids(everything))
    assert found["occurred"] and any(found[m] for m in MODALITIES if m != "occurred")
    # With dip:Occurred (read for an event stating none) and without: tested on every event, or the
    # events stating a modality looked up.
    for several in ([m for m in MODALITIES if found[m]][:2], [m for m in MODALITIES[1:] if found[m]][:2]):
        assert len(several) == 2
        assert set(ids(events(root, *[x for m in several for x in ("--modality", m)]))) == \
            {i for m in several for i in ids(found[m])}


def test_a_filter_that_leaves_an_actor_nothing_says_the_other_filters_did(root):
    result = run(root, "timeline", "--actor", "Taliban", "--role", "host")
    assert result.exit_code == 0
    assert result.stderr == "Note: actor:taliban has no events that match the other filters.\n"


def test_the_web_form_reads_roles_as_the_cli_does(root):
    with KnowledgeBase.open(root) as kb:
        form = TimelineForm.read([("actor", "Russia"), ("role", "host"), ("modality", "occurred")])
        filt = form.resolve(kb)
        assert filt == with_roles(kb, typed_filter(kb, actors=["Russia"], modalities=["occurred"]), ["host"])
        shown = [e.as_dict() for e in timeline(kb, filt)]
    assert shown == events(root, "--actor", "Russia", "--role", "host", "--modality", "occurred")


# With an actor or a place, the type is tested on each of their events; alone, its events are read.
@pytest.mark.parametrize("kind", ["042", "Meeting", "CONSULT", "ExpressionOfConcern"])
@pytest.mark.parametrize("other", [("--actor", "Russia"), ("--actor", "Taliban"), ("--place", "Afghanistan"),
                                   ("--place", "Moscow"), ("--from", "2021-07", "--to", "2021-07")])
def test_a_type_with_an_actor_a_place_or_dates_keeps_the_events_of_both(root, kind, other):
    of_type = set(ids(events(root, "--type", kind)))
    assert of_type
    assert events(root, "--type", kind, *other) == [e for e in events(root, *other) if e["id"] in of_type]


def test_a_type_as_typed_wins_over_one_that_matches_only_in_another_case(root, everything):
    """RETREAT is PLOVER's type, which dip:Withdrawal and dip:BaseClosure map to as well; it was read as
    the class dip:Retreat, whose label is "retreat", and plover:RETREAT was no type at all."""
    mapped = {"dip:Retreat", "dip:Withdrawal", "dip:BaseClosure"}
    plover = ids(events(root, "--type", "RETREAT"))
    assert plover == ids(events(root, "--type", "plover:RETREAT"))
    assert plover == [e["id"] for e in everything if e["type"] in mapped]
    assert {e["type"] for e in everything if e["id"] in plover} == mapped
    assert ids(events(root, "--type", "retreat")) == ids(events(root, "--type", "Retreat")) == [
        e["id"] for e in everything if e["type"] == "dip:Retreat"]


def test_russia_hosted_visits(root):
    assert ids(events(root, "--type", "042", "--actor", "Russia")) == ["event:taliban-delegation-visit-moscow-2021-07"]


def test_among_several_actors_those_the_filters_leave_nothing_are_named(root):
    # Over a range and in a role: the Taliban have events in the range, none as host; Tajikistan none.
    result = run(root, "timeline", "--actor", "Russia", "--actor", "Tajikistan", "--actor", "Taliban",
                 "--from", "2021-07-08", "--to", "2021-07-09", "--role", "host", "-f", "csv")
    assert result.exit_code == 0 and result.stdout.count("\n") > 1
    assert result.stderr == ("Note: actor:tajikistan has no events that match the other filters.\n"
                             "Note: actor:taliban has no events that match the other filters.\n")
