"""A modality is taken as people write it: `planned`, `Planned`, `dip:Planned` or its IRI, in the CLI's
options, the web timeline's fields and saved queries' parameters alike."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli
from dipkb.model.modality import modality_name
from dipkb.store.kb import KnowledgeBase
from dipkb.views.timeline import typed_filter
from dipkb.web.html import TimelineForm

pytestmark = pytest.mark.prebuilt_index  # the index is not the point here: built once (conftest)

WRITTEN = ["planned", "Planned", "PLANNED", " dip:Planned ", "DIP:PLANNED", "https://w3id.org/dipkb/ontology#Planned",
           "<https://w3id.org/dipkb/ontology#Planned>"]


def run(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--kb", str(root), *args], catch_exceptions=False)


@pytest.mark.parametrize("text", WRITTEN)
def test_every_writing_of_a_modality_names_it(text):
    assert modality_name(text) == "planned"


@pytest.mark.parametrize("text", ["plan", "dip:Plannedx", "", "ex:Planned", "https://example.org/Planned"])
def test_anything_else_names_none(text):
    assert modality_name(text) is None


def test_the_timelines_option_takes_every_writing(kb_copy: Path):
    expected = run(kb_copy, "timeline", "--modality", "planned", "-f", "json")
    assert expected.exit_code == 0 and json.loads(expected.stdout)
    for text in WRITTEN:
        assert run(kb_copy, "timeline", "--modality", text, "-f", "json").stdout == expected.stdout


def test_adds_option_takes_every_writing(kb_copy: Path):
    for text in WRITTEN:
        result = run(kb_copy, "add", "Planned talks", "--type", "Meeting", "--date", "2031-07",
                     "--participant", "host=Russia", "--participant", "visitor=Iran",
                     "--source", "source:founding-article", "--modality", text, "--dry-run")
        assert result.exit_code == 0 and "dip:modality dip:Planned" in result.stdout, (text, result.output)


def test_the_web_forms_modality_is_its_name(kb_copy: Path):
    """The form's box for it is ticked, and the page's title names it once."""
    form = TimelineForm.read([("modality", "Planned"), ("modality", "dip:Planned"), ("modality", "claimed")])
    assert form.modalities == ("planned", "claimed")


@pytest.mark.parametrize("text", WRITTEN)
def test_the_web_timelines_field_takes_every_writing(kb_copy: Path, text):
    with KnowledgeBase.open(kb_copy) as kb:
        assert typed_filter(kb, modalities=[text]).modalities == frozenset({"planned"})


@pytest.mark.parametrize("text", WRITTEN)
def test_a_saved_querys_modality_parameter_takes_every_writing(kb_copy: Path, text):
    result = run(kb_copy, "query", "planned-and-possible", "-p", f"modality={text}", "-f", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["results"]["bindings"]
    assert rows and {row["modality"]["value"] for row in rows} == {"https://w3id.org/dipkb/ontology#Planned"}


def test_a_saved_querys_modality_parameter_refuses_another_word(kb_copy: Path):
    result = run(kb_copy, "query", "planned-and-possible", "-p", "modality=plan")
    assert result.exit_code == 2
    assert result.output == ("Error: Parameter 'modality' must be a modality: occurred, ongoing, planned, possible, "
                             "claimed, denied (or dip:Planned...); got 'plan'.\n")
