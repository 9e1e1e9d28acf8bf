"""`dipkb import` end to end: row accounting, atomicity, and the imported events joining the curated ones."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli

pytestmark = pytest.mark.prebuilt_index  # the index is not the point here: built once (conftest)

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
GDELT = FIXTURES / "gdelt2-20191024143000.export.tsv"






def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_gdelt_import_accounts_for_every_row_and_joins_curated_actors(kb_copy, tmp_path):
    report_path = tmp_path / "report.json"
    result = run("--kb", str(kb_copy), "import", str(GDELT), "--report", str(report_path),
                 "--rejected", str(tmp_path / "rejected.tsv"))
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    rows = sum(1 for _ in GDELT.open(encoding="utf-8"))
    assert report["rows"] == rows == 2111
    assert (report["imported"], report["merged"], report["rejected"], report["filtered"]) == (1577, 301, 233, 0)
    assert sum(report["reasons"].values()) == report["rejected"]
    rejected_lines = (tmp_path / "rejected.tsv").read_text().splitlines()
    assert len(rejected_lines) == 1 + report["rejected"]
    assert result.output.splitlines()[0].startswith(
        f"2111 rows: {report['imported']} imported, {report['merged']} merged, {report['rejected']} rejected, "
        f"0 filtered; added {report['events_created']} events to ")
    assert (kb_copy / "kb" / "imports" / "gdelt2-20191024143000-export.ttl").is_file()
    # GDELT's RUS actors are the curated actor:russia, so one timeline covers both.
    timeline = json.loads(run("--kb", str(kb_copy), "timeline", "--actor", "Russia", "-f", "json").output)
    sources = {s["id"] for e in timeline for s in e["sources"]}
    assert "source:founding-article" in sources
    assert any(e["date"].startswith("2019-10") for e in timeline)
    assert run("--kb", str(kb_copy), "validate").exit_code == 0


def test_filters_count_rows_as_filtered(kb_copy, tmp_path):
    report_path = tmp_path / "report.json"
    result = run("--kb", str(kb_copy), "import", str(GDELT), "--country", "RUS", "--code", "04",
                 "--dry-run", "--report", str(report_path))
    assert result.exit_code == 0
    report = json.loads(report_path.read_text())
    assert (report["imported"], report["merged"], report["rejected"], report["filtered"]) == (13, 15, 3, 2080)


@pytest.mark.parametrize("option", ["--actor", "--country", "--from", "--to", "--code"])
def test_an_empty_filter_is_an_error_and_imports_nothing(snapshot, kb_copy, option):
    """`--country "$COUNTRY"` with the variable unset would import every row of the file."""
    before = snapshot(kb_copy)
    result = run("--kb", str(kb_copy), "import", str(GDELT), "--country", "RUS", option, " ")
    assert (result.exit_code, result.output) == (
        2, f"Error: {option} is empty: give a value, or leave the option out to not filter by it.\n")
    assert snapshot(kb_copy) == before


@pytest.mark.parametrize("code", ["ZZZ", "9", "2a"])
def test_a_code_no_scheme_has_is_an_error_not_every_row_filtered(snapshot, kb_copy, code):
    before = snapshot(kb_copy)
    result = run("--kb", str(kb_copy), "import", str(GDELT), "--code", "04", "--code", code)
    assert (result.exit_code, result.stderr) == (2, f"Error: Unknown --code {code.upper()!r}: no CAMEO code starts "
                                                    "with it and no PLOVER type is named so; every row would be "
                                                    "filtered out.\n")
    assert snapshot(kb_copy) == before


def test_a_pipe_is_said_to_be_one_not_a_missing_file(kb_copy, tmp_path):
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)  # what `import <(zcat rows.csv.gz)` names: it was "File not found: /dev/fd/63"
    result = run("--kb", str(kb_copy), "import", str(fifo))
    assert (result.exit_code, result.stderr) == (2, f"Error: {fifo} is not a regular file but a pipe or a device: "
                                                    "import reads files only; save the data to a file first.\n")


def test_dry_run_writes_nothing(snapshot, kb_copy):
    before = snapshot(kb_copy)
    result = run("--kb", str(kb_copy), "import", str(GDELT), "--dry-run")
    assert result.exit_code == 0
    assert "would add" in result.output
    assert snapshot(kb_copy) == before


def test_a_dry_run_checks_with_the_shapes_as_the_import_would(snapshot, kb_copy, tmp_path):
    """It said "would add 1 events", exit 0, and the import then failed on a violation."""
    path = tmp_path / "said.csv"
    path.write_text("label,type,participants,date,sources\n"
                    "China voices concern,Statement,speaker=China,2021-07-05,source:founding-article\n", encoding="utf-8")
    before = snapshot(kb_copy)
    dry = run("--kb", str(kb_copy), "import", str(path), "--dry-run")
    assert dry.exit_code == 1
    assert "Every statement needs what was said" in dry.output and "would add" not in dry.output
    assert snapshot(kb_copy) == before
    assert run("--kb", str(kb_copy), "import", str(path)).output == dry.output


def test_an_import_that_rejects_every_row_exits_1_and_one_that_rejects_some_exits_0(kb_copy, tmp_path):
    """Every row of a file rejected (an ambiguous name, text that is not UTF-8) was exit 0: a script
    could not tell that nothing came in."""
    header = "label,type,participants,date,sources\n"
    good = "Russia hosts the Taliban,Meeting,host=Russia; visitor=Taliban,2021-07-20,source:founding-article\n"
    bad = "Someone meets Russia,Meeting,host=Nobody At All; visitor=Russia,2021-07-20,source:founding-article\n"
    path = tmp_path / "rows.csv"
    path.write_text(header + bad, encoding="utf-8")
    refused = run("--kb", str(kb_copy), "import", str(path))
    assert refused.exit_code == 1 and "1 rows: 0 imported, 0 merged, 1 rejected" in refused.output
    path.write_text(header + bad + good, encoding="utf-8")
    assert run("--kb", str(kb_copy), "import", str(path), "--dry-run").exit_code == 0


def test_rejected_rows_to_dev_stdout_append_to_the_file_it_goes_to(kb_copy, tmp_path):
    """`--rejected /dev/stdout >> log` replaced the log with the rejected rows: /dev/stdout named the
    log, and an output file is replaced atomically."""
    path = tmp_path / "rows.csv"
    path.write_text("label,type,participants,date,sources\n"
                    "Someone meets Russia,Meeting,host=Nobody At All; visitor=Russia,2021-07-20,source:founding-article\n",
                    encoding="utf-8")
    log = tmp_path / "log"
    log.write_text("before\n", encoding="utf-8")
    with log.open("ab") as appended:
        subprocess.run([sys.executable, "-m", "dipkb", "--kb", str(kb_copy), "import", str(path), "--dry-run",
                        "--rejected", "/dev/stdout"], stdout=appended, check=False, timeout=120)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "before" and lines[1].startswith("1 rows: 0 imported")
    assert "line\treason\tdetail\trow" in lines and any(line.startswith("2\tunknown actor") for line in lines)


def test_empty_input_is_exit_2_and_changes_nothing(snapshot, kb_copy, tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_bytes(b"")
    before = snapshot(kb_copy)
    result = run("--kb", str(kb_copy), "import", str(empty), "--format", "gdelt")
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and result.output.endswith("empty.tsv has no rows to import.\n")
    assert snapshot(kb_copy) == before


def test_invalid_utf8_row_is_rejected_with_its_reason(kb_copy, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(GDELT.read_bytes().splitlines(keepends=True)[0] + b"\xff\xfe\x00garbage\n")
    report_path = tmp_path / "report.json"
    result = run("--kb", str(kb_copy), "import", str(bad), "--format", "gdelt", "--report", str(report_path))
    assert result.exit_code == 1  # its other row is rejected too: nothing came in
    report = json.loads(report_path.read_text())
    assert report["rows"] == 2 and report["reasons"]["invalid UTF-8"] == 1


def test_plover_and_icews_samples(kb_copy, tmp_path):
    # (rows, imported, merged, rejected) of each fixture, as its own module's tests count them.
    for name, fmt, counts in (("PLOVER_GSR_CAMEO.txt", "plover", (323, 303, 8, 12)),
                              ("icews-synthetic.tab", "icews", (12, 5, 3, 4))):
        report_path = tmp_path / f"{fmt}.json"
        result = run("--kb", str(kb_copy), "import", str(FIXTURES / name), "--format", fmt, "--report", str(report_path))
        assert result.exit_code == 0, result.output
        report = json.loads(report_path.read_text())
        assert (report["rows"], report["imported"], report["merged"], report["rejected"], report["filtered"]) == (*counts, 0)


def test_a_control_character_in_a_cell_or_an_option_is_refused_with_its_field(kb_copy, tmp_path):
    """NUL, BEL or ESC went into labels and notes, then raw into CSV cells, and made XML refuse the
    whole export; tab and line breaks in a content are text."""
    path = tmp_path / "rows.csv"
    path.write_text("label,type,participants,date,sources,content\n"
                    "Russia hosts\x00 the Taliban,Meeting,host=Russia; visitor=Taliban,2021-07-20,source:founding-article,\n"
                    "Russia hosts India,Meeting,host=Russia; visitor=India,2021-07-20,source:founding-article,\"a\tb\nc\"\n"
                    "\"Two\nlines\",Meeting,host=Russia; visitor=India,2021-07-20,source:founding-article,\n",
                    encoding="utf-8")
    result = run("--kb", str(kb_copy), "import", str(path), "--dry-run", "--rejected", str(tmp_path / "rejected.tsv"))
    assert result.exit_code == 0 and "2 rejected" in result.output
    rejected = (tmp_path / "rejected.tsv").read_text(encoding="utf-8").splitlines()
    assert "label holds the control character U+0000: remove it" in rejected[1]
    # A row over two lines of the CSV is one line of the rejected rows, its line break escaped.
    assert rejected[2].split("\t")[1:] == ["label on several lines", rejected[2].split("\t")[2],
                                          "Two\\nlines,Meeting,host=Russia; visitor=India,2021-07-20,source:founding-article,"]
    assert len(rejected) == 3
    added = run("--kb", str(kb_copy), "add", "Talks\x1b[31m", "--type", "Meeting", "--participant", "host=Russia",
                "--participant", "visitor=India", "--date", "2021-07", "--source", "source:founding-article",
                "--note", "rang\x07", "--dry-run")
    assert added.exit_code == 2
    assert "label holds the control character U+001B: remove it" in added.output
    assert "note holds the control character U+0007: remove it" in added.output


def test_a_loose_kb_imports_into_a_file_beside_its_own(tmp_path):
    """A directory of .ttl files without kb/ reads only its own files: the default kb/imports/... was
    refused as a file the KB does not read, which the user had not chosen."""
    loose = tmp_path / "loose"
    loose.mkdir()
    for path in (REPO / "kb").glob("*.ttl"):
        (loose / path.name).write_bytes(path.read_bytes())
    rows = REPO / "tests" / "fixtures" / "invented-events.csv"
    result = run("--kb", str(loose), "import", str(rows))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("3 rows: 3 imported, 0 merged, 0 rejected, 0 filtered; added 3 events to ")
    assert (loose / "import-csv-invented-events.ttl").is_file()
    assert "(invented test row)" in run("--kb", str(loose), "timeline", "-f", "csv").output
