"""Malformed input: clear reasons for bad rows, clear errors for unreadable files, never a partial KB."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from conftest import kb_snapshot

from dipkb import KnowledgeBase
from dipkb.authoring.importers import reading
from dipkb.authoring.importing import ImportFormat, ImportOptions, commit_import, rejected_lines, run_import
from dipkb.errors import ImportInputError, ImportValidationError
from dipkb.store.layout import KBLayout

pytestmark = pytest.mark.prebuilt_index  # the index is not the point here: built once (conftest)

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "fixtures" / "gdelt2-20191024143000.export.tsv"
# Rows of the real export that import on their own: two different actors, not a meeting, a city.
GOOD = [row for row in SAMPLE.read_bytes().split(b"\n") if row
        and (f := row.split(b"\t"))[5] and f[15] and f[5] != f[15] and not f[26].startswith(b"04") and f[51] == b"4"][:20]




def snapshot(layout: KBLayout) -> dict[str, bytes]:
    return kb_snapshot(layout.kb_dir)


def with_field(row: bytes, index: int, value: bytes) -> bytes:
    fields = row.split(b"\t")
    fields[index] = value
    return b"\t".join(fields)


def gdelt_file(tmp_path: Path, rows: list[bytes]) -> Path:
    path = tmp_path / "broken.export.CSV"
    path.write_bytes(b"\n".join(rows) + b"\n")
    return path


def test_every_kind_of_bad_row_is_rejected_with_its_reason(layout, tmp_path):
    truncated = GOOD[2][: len(GOOD[2]) // 2]
    truncated_columns = len(truncated.split(b"\t"))
    bad_byte_at = len(b"\t".join(GOOD[9].split(b"\t")[:6])) + 2  # 1-based column of the byte in Actor1Name
    rows = [
        GOOD[1],
        truncated,  # cut off mid-row
        GOOD[3] + b"\textra",  # a column too many
        with_field(GOOD[4], 1, b"20120231"),  # no 31 February
        with_field(GOOD[5], 1, b"2019-10-24"),  # not YYYYMMDD
        with_field(GOOD[6], 26, b"13y"),
        with_field(GOOD[7], 26, b"999"),
        with_field(with_field(GOOD[8], 5, b""), 15, b""),  # no actor at all
        with_field(GOOD[9], 6, b"\xff\xfeNAME"),  # not UTF-8
        b"",  # a blank line
        with_field(GOOD[10], 56, b"123.4"),  # a latitude out of range, on a city row
        with_field(GOOD[11], 0, b"12a"),
    ]
    path = gdelt_file(tmp_path, rows)
    result = run_import(KnowledgeBase.open(layout=layout), path, ImportFormat.GDELT)
    found = [(r.line, r.reason, r.detail) for r in result.report.rejected_rows]
    assert found[:9] == [
        (2, "wrong column count", f"{truncated_columns} tab-separated columns, expected 57, 58 or 61"),
        (3, "wrong column count", "62 tab-separated columns, expected 57, 58 or 61"),
        (4, "invalid date", "SQLDATE '20120231' is no real day"),
        (5, "invalid date", "SQLDATE '2019-10-24' is not YYYYMMDD"),
        (6, "malformed CAMEO code", "'13y' is not a CAMEO code of 2 to 4 digits"),
        (7, "unknown CAMEO code", "'999' is not in the CAMEO codebook"),
        (8, "missing actor", "no source actor (Actor1, Source Name or source), who did it is unknown"),
        (9, "invalid UTF-8", f"byte 0xff at column {bad_byte_at}"),
        (10, "empty row", "the line is blank"),
    ]
    assert (found[10][0], found[10][2]) == (12, "GLOBALEVENTID '12a' is not a number")
    assert found[9] == (11, "invalid coordinates", "latitude '123.4' is outside -90..90")
    report = result.report
    assert (report.rows, report.imported + report.merged, report.rejected) == (12, 1, 11)

    lines = "".join(rejected_lines(result)).splitlines()
    assert len(lines) == 1 + report.rejected
    assert lines[0] == "line\treason\tdetail\trow"
    assert lines[3].startswith("4\tinvalid date\tSQLDATE '20120231' is no real day\t")


@pytest.mark.parametrize("min_mentions", [None, 1])
def test_digits_int_cannot_read_are_a_rejected_row(layout, tmp_path, min_mentions):
    """``str.isdigit()`` is true of ² and of 5,000 digits; int() refuses both: a traceback before."""
    path = gdelt_file(tmp_path, [with_field(GOOD[1], 31, "²".encode()), with_field(GOOD[2], 31, b"9" * 5000),
                                 with_field(GOOD[3], 0, "1²".encode()), with_field(GOOD[4], 1, "2019102²".encode()),
                                 GOOD[5]])
    options = ImportOptions(min_mentions=min_mentions)
    report = run_import(KnowledgeBase.open(layout=layout), path, ImportFormat.GDELT, options).report
    assert [(r.line, r.reason) for r in report.rejected_rows] == [
        (1, "malformed signal"), (2, "malformed signal"), (3, "malformed record id"), (4, "invalid date")]
    assert report.rows == 5 and report.imported + report.merged + report.filtered == 1


def test_the_first_rows_can_be_bad_before_the_version_is_known(layout, tmp_path):
    path = gdelt_file(tmp_path, [b"garbage", b"a\tb\tc", GOOD[0], GOOD[1]])
    report = run_import(KnowledgeBase.open(layout=layout), path, ImportFormat.GDELT).report
    assert [(r.line, r.detail) for r in report.rejected_rows] == [
        (1, "1 tab-separated columns, expected 57, 58 or 61"), (2, "3 tab-separated columns, expected 57, 58 or 61")]
    assert report.rows == 4


@pytest.mark.parametrize("fmt", list(ImportFormat))
def test_an_empty_file_is_an_input_error(layout, tmp_path, fmt):
    path = tmp_path / f"empty.{fmt.value}"
    path.write_bytes(b"")
    with pytest.raises(ImportInputError, match="empty|no rows"):
        run_import(KnowledgeBase.open(layout=layout), path, fmt)


@pytest.mark.parametrize(("text", "message"), [
    ("- label: [unclosed\n", "bad.yaml:2:1: not valid YAML: expected ',' or ']', but got '<stream end>' "
                             "(while parsing a flow sequence)"),
    ("a: b\n  c: d\n", "bad.yaml:2:4: not valid YAML: mapping values are not allowed here"),
    ('- label: "x\x01"\n', "bad.yaml is not valid YAML: unacceptable character #x0001: special characters are not "
                          'allowed in "<unicode string>", position 11'),
])
def test_yaml_that_does_not_parse_is_one_line_with_its_place(layout, tmp_path, text, message):
    """PyYAML's own message spans seven lines, quoting the line under a caret."""
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportInputError) as raised:
        run_import(KnowledgeBase.open(layout=layout), path)
    assert str(raised.value).endswith(message) and "\n" not in str(raised.value)


def test_a_file_of_only_rejected_rows_writes_nothing(layout, tmp_path):
    before = snapshot(layout)
    path = gdelt_file(tmp_path, [with_field(GOOD[1], 26, b"999"), with_field(GOOD[2], 26, b"999")])
    result = run_import(KnowledgeBase.open(layout=layout), path)
    assert (result.report.rejected, result.turtle) == (2, "")
    assert commit_import(layout, result) == []
    assert snapshot(layout) == before


def test_an_import_that_breaks_the_shapes_writes_nothing(layout, tmp_path):
    before = snapshot(layout)
    kb = KnowledgeBase.open(layout=layout)
    result = run_import(kb, gdelt_file(tmp_path, GOOD[:5]))
    # What a bug in an importer could produce: a meeting without a label or participants.
    result.turtle += "\nevent:broken a dip:Meeting ; dip:date \"2021\"^^xsd:gYear ; dip:source source:founding-article .\n"
    with pytest.raises(ImportValidationError) as caught:
        commit_import(layout, result, kb=kb)
    assert {f.shape.rsplit("#")[-1] for f in caught.value.findings if f.focus.endswith("event/broken")} == {
        "EventLabelShape", "MeetingParticipantsShape"}
    assert "nothing was written" in str(caught.value)
    assert snapshot(layout) == before


def test_an_interrupted_write_leaves_the_kb_as_it_was(layout, tmp_path, monkeypatch):
    before = snapshot(layout)
    result = run_import(KnowledgeBase.open(layout=layout), SAMPLE)

    def interrupted(source, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        commit_import(layout, result)
    monkeypatch.undo()
    assert snapshot(layout) == before
    assert not (layout.kb_dir / "imports").exists()
    assert [p.name for p in layout.kb_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_a_target_outside_the_kb_is_refused(layout, tmp_path):
    with pytest.raises(ImportInputError, match="inside"):
        run_import(KnowledgeBase.open(layout=layout), SAMPLE, options=ImportOptions(into=tmp_path / "elsewhere.ttl"))


def test_an_unknown_format_is_an_input_error(layout, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n", encoding="utf-8")
    with pytest.raises(ImportInputError, match="Cannot tell the format"):
        run_import(KnowledgeBase.open(layout=layout), path)


# --- Decompression bombs: refused before they are held ----------------------------------------------


@pytest.mark.parametrize("fmt", [ImportFormat.GDELT, ImportFormat.ICEWS, ImportFormat.ACLED, ImportFormat.PLOVER,
                                 ImportFormat.CSV])
def test_a_line_longer_than_any_row_is_an_input_error_in_every_line_format(layout, tmp_path, fmt):
    # 32 MiB of zeros gzip to 32 kB; 2 GB of them made an import hold 6 to 8 GB before it failed.
    path = tmp_path / "zeros.csv.gz"
    path.write_bytes(gzip.compress(b"\0" * 2 * reading.MAX_LINE, compresslevel=1))
    with pytest.raises(ImportInputError, match=r"zeros.csv.gz:1: a line longer than 16 MiB once decompressed"):
        run_import(KnowledgeBase.open(layout=layout), path, fmt)
    if fmt is ImportFormat.GDELT:  # placed: it did not say which line (the others refuse the rows first)
        path.write_bytes(gzip.compress(b"a\tb\n" * 2 + b"\0" * 2 * reading.MAX_LINE, compresslevel=1))
        with pytest.raises(ImportInputError, match=r"zeros.csv.gz:3: a line longer than 16 MiB"):
            run_import(KnowledgeBase.open(layout=layout), path, fmt)


def test_a_cell_that_runs_over_many_lines_past_the_line_limit_is_an_input_error(layout, tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_LINE", 1 << 16)
    path = tmp_path / "quote.csv.gz"
    path.write_bytes(gzip.compress(b'label,type\n"' + b"\n" * (1 << 17)))
    with pytest.raises(ImportInputError, match=r"quote.csv.gz:2: not a readable CSV record \(field larger than"):
        run_import(KnowledgeBase.open(layout=layout), path, ImportFormat.CSV)


@pytest.mark.parametrize("fmt, opening", [(ImportFormat.YAML, b"- "), (ImportFormat.PLOVER, b"[")])
def test_a_document_read_whole_past_its_limit_is_an_input_error(layout, tmp_path, monkeypatch, fmt, opening):
    monkeypatch.setattr(reading, "MAX_DOCUMENT", 1 << 16)
    path = tmp_path / "large.gz"
    path.write_bytes(gzip.compress(opening + b" " * (1 << 17)))
    with pytest.raises(ImportInputError, match=r"large.gz is larger than 0 MiB once decompressed: too large"):
        run_import(KnowledgeBase.open(layout=layout), path, fmt)
