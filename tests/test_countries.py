"""Every country: ISO 3166 joined with CAMEO codes, every imported actor linked to its state, a country
found by name or any of its codes, and `import --country X` agreeing with `timeline --actor X`."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import NamedNode

from dipkb import KnowledgeBase
from dipkb.authoring.importers.filters import RowFilter
from dipkb.authoring.importing import ImportFormat, ImportOptions, run_import
from dipkb.cli import cli
from dipkb.model.countries import country_table
from dipkb.model.namespaces import KB, curie

REPO = Path(__file__).resolve().parent.parent
GDELT = REPO / "tests" / "fixtures" / "gdelt2-20191024143000.export.tsv"
ICEWS_HEADER = ("Event ID\tEvent Date\tSource Name\tSource Sectors\tSource Country\tEvent Text\tCAMEO Code\tIntensity\t"
                "Target Name\tTarget Sectors\tTarget Country\tStory ID\tSentence Number\tPublisher\tCity\tDistrict\t"
                "Province\tCountry\tLatitude\tLongitude\n")
# Synthetic rows in ICEWS's layout (not ICEWS data): countries the curated KB does not have.
ICEWS_ROWS = [
    ("1", "Foreign Affairs (Bangladesh)", "Government,Ministry", "Bangladesh", "Nepal", "NA", "Nepal"),
    ("2", "Citizen (Nepal)", "NA", "Nepal", "Foreign Affairs (Bangladesh)", "Government,Ministry", "Bangladesh"),
    ("3", "Crimea", "NA", "Russian Federation", "Ukraine", "NA", "Ukraine"),
]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def events_of(root: Path, *options: str, datasets: tuple[str, ...] = ("gdelt", "icews")) -> set[str]:
    """The imported events of a timeline: those with a record of one of ``datasets``."""
    result = run("--kb", str(root), "timeline", *options, "-f", "json")
    assert result.exit_code == 0, result.output
    return {e["id"] for e in json.loads(result.output)
            if any(s["id"].startswith(tuple(f"source:{d}" for d in datasets)) for s in e["sources"])}


def fresh_kb(root: Path) -> Path:
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    return root


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """The GDELT sample and the synthetic ICEWS rows, imported into a copy of the KB."""
    root = fresh_kb(tmp_path_factory.mktemp("countries"))
    icews = root / "countries.tab"
    icews.write_text(ICEWS_HEADER + "".join(
        f"{i}\t2021-07-0{i}\t{s}\t{ss}\t{sc}\tConsult\t040\t1\t{t}\t{ts}\t{tc}\t9{i}\t1\tNA\tNA\tNA\tNA\tNA\tNA\tNA\n"
        for i, s, ss, sc, t, ts, tc in ICEWS_ROWS), encoding="utf-8")
    for path in (GDELT, icews):
        result = run("--kb", str(root), "import", str(path))
        assert result.exit_code == 0, result.output
    return root


def test_a_country_is_found_by_name_or_any_code():
    table = country_table()
    for text in ("United Kingdom", "united kingdom", "Britain", "GB", "GBR",
                 "United Kingdom of Great Britain and Northern Ireland"):
        assert table.find(text).alpha3 == "GBR", text
    assert table.find("ROM").label == table.find("Romania").label == "Romania"  # CAMEO's code, not ISO's ROU
    assert table.find("ROU").cameo == ("ROM", "ROU")
    assert table.find("cote d’ivoire").alpha3 == "CIV"
    assert table.find("Russian Federation").label == "Russia"
    assert table.find("in") is None and table.find("IN").alpha3 == "IND"  # a word is not a code
    assert table.of_value("GBRCOP").alpha3 == "GBR" and table.of_value("Russian Federation").alpha3 == "RUS"
    assert table.of_value("IGOUNO") is None and table.of_value("EUR") is None  # an organisation; a region


def test_the_table_is_what_the_script_builds():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "build_country_table.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["GBR", "United Kingdom", "GB", "Britain"])
def test_timeline_finds_a_country_by_any_of_its_names(imported, name):
    uk = events_of(imported, "--actor", "GBR")
    assert len(uk) > 50  # the sample's 74 rows coded GBR, its police, government, schools...
    assert events_of(imported, "--actor", name) == uk


def test_sub_actors_link_to_their_state_and_countries_get_their_own_name(imported):
    kb = KnowledgeBase.open(imported)
    rows = kb.select("SELECT ?a ?label ?p ?state WHERE { ?a rdfs:label ?label . OPTIONAL { ?a ?p ?state "
                     "VALUES ?p { dip:actsFor dip:ofState } } }", )
    facts = {r["a"].value.rsplit("/", 1)[-1]: (r["label"].value, r["p"].value.rsplit("#")[-1] if "p" in r else None,
                                               r["state"].value.rsplit("/", 1)[-1] if "state" in r else None)
             for r in rows if r["a"].value.startswith(KB + "actor/")}
    # Labels from the country's name, not from the first row's ("London", "British", "Nepalese"...).
    assert facts["cameo-gbr"] == ("United Kingdom", None, None)
    assert facts["cameo-bgd"] == ("Bangladesh", None, None)
    assert facts["cameo-npl"] == ("Nepal", None, None)
    assert facts["cameo-gbrcop"] == ("United Kingdom police (GBRCOP)", "actsFor", "cameo-gbr")
    assert facts["cameo-gbrcvl"] == ("United Kingdom civilians (GBRCVL)", "ofState", "cameo-gbr")
    assert facts["cameo-rusjud"][1:] == ("actsFor", "russia")  # the curated state
    assert facts["icews-foreign-affairs-bangladesh"][1:] == ("actsFor", "cameo-bgd")
    assert facts["icews-citizen-nepal"][1:] == ("ofState", "cameo-npl")
    assert facts["icews-crimea"][1:] == ("ofState", "russia")  # as its coder gave it
    assert kb.select("SELECT ?s WHERE { ?s ?p ?o }", {"s": NamedNode(KB + "actor/icews-bangladesh")}) == []
    assert run("--kb", str(imported), "validate").exit_code == 0


def test_bangladesh_and_its_ministry_are_found_by_name_and_code(imported):
    bangladesh = events_of(imported, "--actor", "Bangladesh")
    assert len(bangladesh) == 3  # one GDELT row, two ICEWS meetings of its foreign ministry
    assert events_of(imported, "--actor", "BGD") == events_of(imported, "--actor", "BD") == bangladesh
    assert events_of(imported, "--actor", "Bangladesh", "--direct") < bangladesh
    shown = run("--kb", str(imported), "show", "NPL")
    assert shown.exit_code == 0 and shown.output.startswith("actor:cameo-npl  (actor)\n  Nepal\n")


def test_import_country_and_timeline_actor_agree(imported, tmp_path):
    """The GDELT sample: what `import --country` keeps is what `timeline --actor` shows, citizens,
    judiciary and the rest of the country included."""
    kb = KnowledgeBase.open(fresh_kb(tmp_path))
    result = run_import(kb, GDELT, ImportFormat.GDELT, ImportOptions(countries=("RUS",)))
    kept = {KB + "event/" + local for local in re.findall(r"^event:(\S+)$", result.turtle, re.MULTILINE)}
    assert len(kept) == result.report.events_created == 61
    shown = events_of(imported, "--actor", "Russia", datasets=("gdelt",))
    assert {curie(iri) for iri in kept} == shown
    assert events_of(imported, "--actor", "Russia", datasets=("icews",))  # Crimea, as its coder gave it
    assert events_of(imported, "--actor", "RU") == events_of(imported, "--actor", "Russia")
    by_name = RowFilter().with_countries(["Russia"])
    assert by_name == RowFilter().with_countries(["rus"]) == RowFilter().with_countries(["RU"])


def test_an_unknown_country_is_a_usage_error(tmp_path):
    root = fresh_kb(tmp_path)
    result = CliRunner().invoke(cli, ["--kb", str(root), "import", str(GDELT), "--country", "Atlantis"])
    assert result.exit_code == 2
    assert "Unknown country 'Atlantis'" in result.output
