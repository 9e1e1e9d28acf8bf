"""Code-level types: `--type 042` is the code and its narrower codes, a class name the class; the
identity key tells apart two codes of one class (0331, 0341) but still joins a visit and its hosting."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli

REPO = Path(__file__).resolve().parent.parent
HEADER = ("Event ID\tEvent Date\tSource Name\tSource Sectors\tSource Country\tEvent Text\tCAMEO Code\tIntensity\t"
          "Target Name\tTarget Sectors\tTarget Country\tStory ID\tSentence Number\tPublisher\tCity\tDistrict\t"
          "Province\tCountry\tLatitude\tLongitude\n")
# Synthetic rows in ICEWS's layout (not ICEWS data): (id, day, source, code, target).
ROWS = [
    ("1", "01", "Nepal", "0331", "Bhutan"),  # intent to provide economic aid
    ("2", "01", "Nepal", "0341", "Bhutan"),  # intent to change leadership: same actors, day and place, another event
    ("3", "01", "Nepal", "0331", "Bhutan"),  # the first again, from another story: merges
    ("4", "02", "Nepal", "042", "Bhutan"),  # Nepal visits Bhutan...
    ("5", "02", "Bhutan", "043", "Nepal"),  # ...and Bhutan hosts Nepal: one visit
    ("6", "03", "Bhutan", "043", "India"),  # a hosting only
]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("codes")
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    data = root / "codes.tab"
    data.write_text(HEADER + "".join(
        f"{i}\t2021-08-{day}\t{source}\tNA\t{source}\tText\t{code}\t1\t{target}\tNA\t{target}\t7{i}\t1\tNA\t"
        "NA\tNA\tNA\tNA\tNA\tNA\n" for i, day, source, code, target in ROWS), encoding="utf-8")
    result = run("--kb", str(root), "import", str(data), "--report", str(root / "report.json"))
    assert result.exit_code == 0, result.output
    return root


def labels(root: Path, event_type: str) -> list[str]:
    result = run("--kb", str(root), "timeline", "--type", event_type, "--from", "2021-08", "-f", "json")
    assert result.exit_code == 0, result.output
    return [e["label"] for e in json.loads(result.output)]


def test_codes_of_one_class_are_two_events_and_a_visit_with_its_hosting_is_one(root):
    report = json.loads((root / "report.json").read_text())
    assert (report["imported"], report["merged"]) == (4, 2)


def test_a_code_matches_itself_and_its_narrower_codes_only(root):
    assert labels(root, "042") == ["Make a visit: Nepal → Bhutan"]  # not the hosting of 2021-08-03
    assert labels(root, "043") == ["Make a visit: Nepal → Bhutan", "Host a visit: Bhutan → India"]
    assert labels(root, "033") == ["Express intent to provide economic aid: Nepal → Bhutan"]
    assert len(labels(root, "03")) == 2  # 0331 and 0341 are both narrower than 03


def test_a_class_name_still_matches_the_class(root):
    assert len(labels(root, "Visit")) == len(labels(root, "visit")) == 2
    assert len(labels(root, "ExpressionOfIntent")) == 2


def test_show_explains_every_merge(root):
    result = run("--kb", str(root), "show", "--format", "json", event_iri(root, "042"))
    assert result.exit_code == 0, result.output
    facts = json.loads(result.output)["properties"]
    merged = sorted(f["id"] for f in facts if f["property"] == "dip:mergedFrom")
    codes = sorted(f["id"] for f in facts if f["property"] == "dip:eventCode")
    assert merged == ["source:icews-4-20210802", "source:icews-5-20210802"]
    assert codes == ["cameo:042", "cameo:043"]
    content = next(f["value"] for f in facts if f["property"] == "dip:content")
    assert content == "Coded as CAMEO 042 (Make a visit) by ICEWS; CAMEO 043 (Host a visit) by ICEWS."


def event_iri(root: Path, event_type: str) -> str:
    result = run("--kb", str(root), "timeline", "--type", event_type, "--from", "2021-08", "-f", "json")
    return json.loads(result.output)[0]["id"]


def test_the_offline_pages_filters_give_the_cli_answer(root):
    """The static HTML filters on the keys filter_keys gives each event: a coded event answers to its
    own codes (042: the visit only), not to every code its class is mapped to."""
    from dipkb.model.namespaces import curie
    from dipkb.store.kb import KnowledgeBase
    from dipkb.views.timeline import timeline
    from dipkb.web.html import filter_keys

    with KnowledgeBase.open(root) as kb:
        entries = [e for e in timeline(kb) if e.label.startswith(("Make a visit", "Host a visit"))]
        keys = filter_keys(kb, entries)
    matching = sorted(e.label for e in entries if "cameo:042" in keys.of(curie(e.id))["types"])
    assert matching == labels(root, "042")
    assert all("dip:Visit" in keys.of(curie(e.id))["types"] for e in entries)
