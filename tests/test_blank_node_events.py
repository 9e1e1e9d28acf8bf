"""An event written as a blank node (a claim's proposition inline, as Turtle invites) breaks a shape, and
nothing else: every timeline leaves it out, as it can be neither shown by name nor linked, and the
HTML file and the served pages are made as without it."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli

from conftest import TURTLE_PREFIXES, serving

INLINE_PROPOSITION = TURTLE_PREFIXES + """event:inline-claim a dip:Claim ; rdfs:label "The Taliban claim a district"@en ;
    dip:speaker actor:taliban ; dip:content "We hold the district."@en ;
    dip:proposition [ a dip:TerritorialControl ; dip:agent actor:taliban ;
                      dip:date "2021-07"^^xsd:gYearMonth ; dip:modality dip:Claimed ] ;
    dip:date "2021-07"^^xsd:gYearMonth ; dip:modality dip:Occurred ; dip:source source:founding-article .
"""


def run(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--kb", str(root), *args], catch_exceptions=False)


def timeline_ids(root: Path, *args: str) -> list[str]:
    result = run(root, "timeline", *args, "-f", "json")
    assert result.exit_code == 0, result.output
    return [entry["id"] for entry in json.loads(result.stdout)]


@pytest.fixture
def with_blank_event(kb_copy: Path) -> Path:
    (kb_copy / "kb" / "inline.ttl").write_text(INLINE_PROPOSITION, encoding="utf-8")
    return kb_copy


@pytest.mark.parametrize("args", [(), ("--actor", "Taliban"), ("--from", "2021-07", "--to", "2021-07"),
                                  ("--modality", "claimed"), ("--type", "TerritorialControl"),
                                  ("--role", "agent")])
def test_a_timeline_lists_the_named_events_only(with_blank_event: Path, kb_copy: Path, args):
    ids = timeline_ids(with_blank_event, *args)
    assert ids and all(i.startswith("event:") for i in ids)
    if not args or args[0] == "--actor":
        assert "event:inline-claim" in ids


def test_the_shapes_still_report_it(with_blank_event: Path):
    result = run(with_blank_event, "validate", "-f", "json")
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert "EventIdentifierShape" in {f["shape"].rsplit("#")[1] for f in findings}
    assert {f["focus"][:2] for f in findings} == {"_:"}


def test_the_html_file_is_written(with_blank_event: Path, tmp_path: Path):
    target = tmp_path / "timeline.html"
    result = run(with_blank_event, "export", "-f", "html", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert f"Wrote {len(timeline_ids(with_blank_event))} events" in result.output
    assert "The Taliban claim a district" in target.read_text(encoding="utf-8")


def test_the_served_pages_answer(with_blank_event: Path):
    with serving(with_blank_event) as served:
        for path in ("/", "/?actor=Taliban", "/actor/taliban", "/api/timeline?actor=Taliban"):
            try:
                with urllib.request.urlopen(served.url + path, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            assert status == 200, path
