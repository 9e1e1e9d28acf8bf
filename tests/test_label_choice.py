"""Which label a thing is shown by (dipkb.model.labels): English or untagged first, else another language,
the first alphabetically; the same in the timeline, `show`, the pages' JSON and the findings. The
timeline showed the last label alphabetically (a French one over the English), `show` the first the
store returned, and an actor's Russian label could stand for it in the timeline."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli

from conftest import TURTLE_PREFIXES

pytestmark = pytest.mark.prebuilt_index  # the index is not the point here: built once (conftest)

HEADER = TURTLE_PREFIXES
MEETING = """event:multi a dip:Meeting ; rdfs:label {labels} ;
    dip:host actor:russia ; dip:visitor actor:pskov ; dip:date "2031-07-09"^^xsd:date ;
    dip:modality dip:Occurred ; dip:source source:founding-article .
actor:russia rdfs:label "Россия"@ru, "Aaa Russland"@de .
actor:pskov a dip:Person ; rdfs:label "Псков"@ru .
"""


def run(root: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--kb", str(root), *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


@pytest.mark.parametrize("labels, shown", [
    ('"C français"@fr, "B english"@en, "A deutsch"@de', "B english"),
    ('"Zed talks"@en, "Alpha talks"@en-GB, "Mid talks"', "Alpha talks"),
    ('"Переговоры"@ru, "Gespräche"@de', "Gespräche"),
])
def test_the_timeline_and_show_name_a_thing_alike(kb_copy: Path, labels: str, shown: str):
    (kb_copy / "kb" / "labels.ttl").write_text(HEADER + MEETING.format(labels=labels), encoding="utf-8")
    [entry] = json.loads(run(kb_copy, "timeline", "--from", "2031", "-f", "json"))
    assert entry["label"] == shown
    assert json.loads(run(kb_copy, "show", "event:multi", "-f", "json"))["label"] == shown
    # Russia's English label is in kb/actors.ttl; Pskov has only a Russian one.
    assert [(p["id"], p["label"]) for p in entry["participants"]] == [("actor:russia", "Russia"),
                                                                        ("actor:pskov", "Псков")]
    assert json.loads(run(kb_copy, "show", "actor:russia", "-f", "json"))["label"] == "Russia"


def test_a_thing_labelled_in_another_language_only_is_no_event(kb_copy: Path):
    (kb_copy / "kb" / "labels.ttl").write_text(HEADER + MEETING.format(labels='"Talks"@en'), encoding="utf-8")
    ids = [e["id"] for e in json.loads(run(kb_copy, "timeline", "-f", "json"))]
    assert "event:multi" in ids and "actor:pskov" not in ids and len(ids) == len(set(ids))


def test_a_finding_names_its_node_alike(kb_copy: Path):
    text = HEADER + MEETING.format(labels='"C français"@fr, "B english"@en').replace(
        'dip:source source:founding-article', 'dip:source source:nowhere')
    (kb_copy / "kb" / "labels.ttl").write_text(text, encoding="utf-8")
    findings = json.loads(run(kb_copy, "validate", "-f", "json"))["findings"]
    assert {f["focus_label"] for f in findings if f["focus"].endswith("/multi")} == {"B english"}


ONE_EACH = HEADER + """actor:russia rdfs:label "Россия"@ru, "Abc Russland"@de .
source:founding-article dct:title "Aaa rapport"@fr .
event:whole a dip:Meeting ; rdfs:label "The whole"@en ; dip:attendee actor:russia, actor:iran, actor:india ;
    dip:date "2031-07-09"^^xsd:date ; dip:modality dip:Occurred ; dip:source source:founding-article .
event:part a dip:Meeting ; rdfs:label "Zzz Teil"@de, "Aaa partie"@fr ; dip:partOf event:whole ;
    dip:attendee actor:russia, actor:iran ;
    dip:date "2031-07-09"^^xsd:date ; dip:modality dip:Occurred ; dip:source source:founding-article .
"""


@pytest.mark.parametrize("limit", [[], ["--limit", "5"]])  # without a limit, every referrer, through a sorter
def test_show_lists_a_thing_once_by_the_name_shown(kb_copy: Path, limit: list[str]):
    """Russia with three labels was three attendees; the part, referring with two labels, two referrers."""
    (kb_copy / "kb" / "labels.ttl").write_text(ONE_EACH, encoding="utf-8")
    shown = json.loads(run(kb_copy, "show", "event:whole", *limit, "-f", "json"))
    assert [(p["label"], p["value"]) for p in shown["properties"] if p["property"] in ("dip:attendee", "dip:source")] \
        == [("attendee", "India"), ("attendee", "Iran"), ("attendee", "Russia"),
            ("source", "Alarmed by India’s lead to revive the northern alliance, Taliban tries to placate Russia")]
    assert [(r["label"], r["value"], r["id"]) for r in shown["referenced_by"]] == [("part of", "Aaa partie", "event:part")]
    assert shown["referenced_by_count"] == 1


def test_stats_names_a_source_alike(kb_copy: Path):
    (kb_copy / "kb" / "labels.ttl").write_text(ONE_EACH, encoding="utf-8")
    sources = json.loads(run(kb_copy, "stats", "-f", "json"))["sources"]
    [founding] = [s for s in sources if s["source"] == "source:founding-article"]
    assert founding["title"] == "Alarmed by India’s lead to revive the northern alliance, Taliban tries to placate Russia"


LABELLED_TWICE = """actor:moskva a dip:Person ; rdfs:label "Сергей Лавров"@ru, "Sergey Lavrov"@en ;
    skos:altLabel "Лавров"@ru, "S. Lavrov"@en ; dip:actsFor actor:russia .
actor:lavrov-namesake a dip:Person ; rdfs:label "S. Lavrov"@en .
event:remarks a dip:Statement ; rdfs:label "Lavrov's remarks"@en ; dip:speaker actor:moskva ;
    dip:content "Remarks"@en ; dip:date "2031-07-09"^^xsd:date ; dip:source source:founding-article .
"""


@pytest.mark.parametrize("name", ["Лавров", "лавров", "Сергей Лавров", "сергей лавров", "Sergey Lavrov", "SERGEY LAVROV"])
def test_a_thing_labelled_in_two_languages_is_found_by_any_of_its_names(kb_copy: Path, name: str):
    """It was "ambiguous" between itself and itself, once per label, for a name matched in any case."""
    (kb_copy / "kb" / "labels.ttl").write_text(HEADER + "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
                                               + LABELLED_TWICE, encoding="utf-8")
    [entry] = json.loads(run(kb_copy, "timeline", "--actor", name, "-f", "json"))
    assert entry["id"] == "event:remarks" and entry["participants"][0]["label"] == "Sergey Lavrov"
    assert json.loads(run(kb_copy, "show", name, "-f", "json"))["id"] == "actor:moskva"
    # Two things of one name still are ambiguous.
    ambiguous = CliRunner().invoke(cli, ["--kb", str(kb_copy), "timeline", "--actor", "s. lavrov"])
    assert ambiguous.exit_code == 2 and "actor:lavrov-namesake (S. Lavrov); actor:moskva (Sergey Lavrov)" in ambiguous.output
