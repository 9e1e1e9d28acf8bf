"""What a hand-writer of Turtle gets wrong is shown as written and named plainly: a modality that is no
dipkb modality is not shown or counted as the one it resembles, and a finding says what is wrong."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli

from conftest import TURTLE_PREFIXES

REPO = Path(__file__).resolve().parent.parent
PREFIXES = TURTLE_PREFIXES + "@prefix place:  <https://w3id.org/dipkb/kb/place/> .\n"
MEETING = PREFIXES + """
event:talks a dip:Meeting ;
    rdfs:label "Talks in Moscow"@en ;
    dip:host actor:russia ; dip:visitor actor:taliban ;
    dip:date "2021-07-20"^^xsd:date ; dip:modality {modality} ;
    dip:source source:founding-article .
"""


@pytest.fixture
def kb(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("DIPKB_KB", raising=False)
    for name in ("kb", "ontology"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns(".*"))
    return tmp_path


def dipkb(kb: Path, *args: str):
    return CliRunner().invoke(cli, ["--kb", str(kb), *args], catch_exceptions=False)


def talks_row(kb: Path, *options: str) -> list[dict]:
    rows = json.loads(dipkb(kb, "timeline", "--from", "2021-07-20", "--to", "2021-07-20", *options, "-f", "json").output)
    return [row for row in rows if row["id"] == "event:talks"]


def modalities(kb: Path) -> dict[str, int]:
    return {c["modality"]: c["count"] for c in json.loads(dipkb(kb, "stats", "-f", "json").output)["by_modality"]}


@pytest.mark.parametrize(("written", "shown"), [('"Planned"', '"Planned"'), ('"planned"@en', '"planned"@en'),
                                                ("dip:Planed", "dip:Planed"), ("<urn:x:Planned>", "urn:x:Planned"),
                                                ('[ rdfs:label "planned-ish" ]', "[]")])
def test_a_modality_that_is_none_is_shown_as_written_and_counted_apart(kb, written, shown):
    planned_before = modalities(kb)["dip:Planned"]
    (kb / "kb" / "talks.ttl").write_text(MEETING.format(modality=written), encoding="utf-8")
    [row] = talks_row(kb)
    assert row["modality"] == shown  # not "occurred" (as if none were stated), nor "planned"
    assert talks_row(kb, "--modality", "planned") == talks_row(kb, "--modality", "occurred") == []
    counted = modalities(kb)
    assert counted["dip:Planned"] == planned_before and counted[shown] == 1
    assert dipkb(kb, "validate").exit_code == 1


def test_a_modality_stated_is_shown_by_its_name(kb):
    (kb / "kb" / "talks.ttl").write_text(MEETING.format(modality="dip:Planned"), encoding="utf-8")
    assert [row["modality"] for row in talks_row(kb)] == ["planned"]
    assert [row["modality"] for row in talks_row(kb, "--modality", "planned")] == ["planned"]


def test_a_date_on_a_place_is_said_to_belong_to_events(kb):
    (kb / "kb" / "dated.ttl").write_text(PREFIXES + 'place:moscow dip:date "2021-07-20"^^xsd:date .\n',
                                         encoding="utf-8")
    result = dipkb(kb, "validate", "-f", "json")
    [finding] = json.loads(result.output)["findings"]
    assert finding["focus"] == "https://w3id.org/dipkb/kb/place/moscow"
    assert finding["message"].startswith("Only events have a date, a modality or a source (dip:date,")


def test_a_proposition_that_names_no_event_is_said_to_need_one(kb):
    (kb / "kb" / "claim.ttl").write_text(PREFIXES + """
event:says a dip:Claim ;
    rdfs:label "Somebody says something"@en ;
    dip:speaker actor:russia ; dip:proposition event:nothing ;
    dip:date "2021-07-20"^^xsd:date ; dip:source source:founding-article .
""", encoding="utf-8")
    messages = [f["message"] for f in json.loads(dipkb(kb, "validate", "-f", "json").output)["findings"]]
    assert any(m.startswith("A proposition (dip:proposition) must be an event described in the knowledge base")
               for m in messages), messages
