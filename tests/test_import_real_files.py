"""Files as they come: GDELT rows of mixed widths, header lines, compressed files, the wrong file for
the format asked, the format left to guess, and PLOVER as converters write it. Every file is built
here from the samples in tests/fixtures."""
from __future__ import annotations

import bz2
import gzip
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb import KnowledgeBase
from dipkb.authoring.importing import ImportFormat, guess_format, run_import
from dipkb.cli import cli
from dipkb.errors import ImportInputError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GDELT = FIXTURES / "gdelt2-20191024143000.export.tsv"
ICEWS = FIXTURES / "icews-synthetic.tab"
PLOVER = FIXTURES / "PLOVER_GSR_CAMEO.txt"
LINES = GDELT.read_text(encoding="utf-8").splitlines()[:300]
HEADER_61 = "\t".join(["GLOBALEVENTID", "SQLDATE"] + [f"Column{i}" for i in range(2, 61)])
# The GDELT 1.0 layouts are the 2.0 one without the three ADM2 columns (58), and without SOURCEURL (57).
DROPPED = {58: (38, 46, 54), 57: (38, 46, 54, 60)}


def narrowed(line: str, width: int) -> str:
    return "\t".join(v for i, v in enumerate(line.split("\t")) if i not in DROPPED.get(width, ()))


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kb(shipped_kb: Path) -> KnowledgeBase:
    return KnowledgeBase.open(shipped_kb)


@pytest.fixture(scope="module")
def baseline(kb, tmp_path_factory) -> dict:
    path = write(tmp_path_factory.mktemp("baseline") / "sample.export.CSV", LINES)
    return run_import(kb, path, ImportFormat.GDELT).report.as_json()


def test_rows_of_the_three_gdelt_layouts_mix_in_one_file(kb, tmp_path, baseline):
    widths = [(61, 58, 57)[n % 3] for n in range(len(LINES))]
    path = write(tmp_path / "collection.tsv", [narrowed(line, w) for line, w in zip(LINES, widths)])
    result = run_import(kb, path, ImportFormat.GDELT)
    assert "wrong column count" not in result.report.reasons
    assert result.report.as_json() == baseline
    for name in ("GDELT 2.0 events", "GDELT 1.0 daily events", "GDELT 1.0 back-file events"):
        assert f'dip:dataset "{name} (collection.tsv)"' in result.turtle


def test_a_header_line_is_skipped_and_reported_not_counted(kb, tmp_path, baseline):
    # A header at the top, and again where a second file was appended.
    lines = [HEADER_61] + LINES[:150] + [HEADER_61.lower()] + LINES[150:]
    result = run_import(kb, write(tmp_path / "headed.tsv", lines))
    report = result.report
    assert report.header_lines == [1, 152]
    assert report.as_json() == {**baseline, "header_lines": [1, 152]}
    assert report.rows == len(LINES)
    assert "malformed record id" not in report.reasons
    assert "  skipped 2 header rows at lines 1, 152" in report.summary("x.ttl", dry_run=True).splitlines()


def test_icews_files_concatenated_with_their_headers(kb, tmp_path):
    header, *rows = ICEWS.read_text(encoding="utf-8").splitlines()
    alone = run_import(kb, ICEWS, ImportFormat.ICEWS).report.as_json()
    report = run_import(kb, write(tmp_path / "2021.tab", [header, *rows[:6], header, *rows[6:]])).report
    assert report.as_json() == {**alone, "header_lines": [8]}


@pytest.mark.parametrize("suffix, compress", [(".gz", gzip.compress), (".bz2", bz2.compress)])
def test_gzip_and_bzip2_files_are_read_through(kb, tmp_path, baseline, suffix, compress):
    path = tmp_path / f"20191024143000.export.CSV{suffix}"
    path.write_bytes(compress(("\n".join(LINES) + "\n").encode("utf-8")))
    assert guess_format(path) is ImportFormat.GDELT
    result = run_import(kb, path)
    assert result.report.as_json() == baseline
    assert result.target.name == "gdelt-20191024143000-export.ttl"
    assert "GDELT 2.0 events (20191024143000.export.CSV)" in result.turtle


def test_a_corrupt_gzip_file_is_a_one_line_input_error(kb, tmp_path):
    path = tmp_path / "broken.export.CSV.gz"
    path.write_bytes(gzip.compress(("\n".join(LINES) + "\n").encode("utf-8"))[:2000])
    with pytest.raises(ImportInputError, match=r"broken.export.CSV.gz is not a readable gz file"):
        run_import(kb, path, ImportFormat.GDELT)


def mentions_lines() -> list[str]:
    return [f"{line.split(chr(9))[0]}\t20191024143000\t20191024143000\t1\texample.org\thttps://example.org/{n}"
            "\t1\t-1\t-1\t10\t1\t50\t2000\t-1.5\t\t" for n, line in enumerate(LINES[:5])]


def test_the_wrong_file_names_what_it_looks_like(kb, tmp_path):
    mentions = write(tmp_path / "20191024143000.mentions.CSV", mentions_lines())
    cases = [
        (ICEWS, ImportFormat.GDELT, "is not a GDELT event export (no row has the 57, 58 or 61 tab-separated columns "
                                    "of one); it looks like an ICEWS event file; import it with --format icews."),
        (mentions, ImportFormat.GDELT, "it looks like a GDELT 2.0 mentions file; give it with --mentions next to "
                                       "its events file."),
        (GDELT, ImportFormat.ICEWS, "is not an ICEWS event file (its header lacks 'Event ID', 'Event Date', "
                                    "'Source Name', 'CAMEO Code', 'Target Name'); it looks like a GDELT event export; "
                                    "import it with --format gdelt."),
        (GDELT, ImportFormat.PLOVER, "it looks like a GDELT event export; import it with --format gdelt."),
    ]
    for path, fmt, message in cases:
        with pytest.raises(ImportInputError) as caught:
            run_import(kb, path, fmt)
        assert str(caught.value).endswith(message), (path.name, fmt)
    with pytest.raises(ImportInputError, match="looks like a GDELT 2.0 mentions file: import its events file with "
                                               "--mentions"):
        guess_format(mentions)


def test_the_wrong_file_exits_2_with_one_line(shipped_kb):
    result = CliRunner().invoke(cli, ["--kb", str(shipped_kb), "import", str(ICEWS), "--format", "gdelt", "--dry-run"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "looks like an ICEWS event file" in result.output


def test_the_format_is_guessed_from_the_content(tmp_path):
    headed = write(tmp_path / "events.txt", [HEADER_61] + LINES[:3])
    back_file = write(tmp_path / "1979.csv", [narrowed(line, 57) for line in LINES[:3]])
    icews = tmp_path / "icews.gz"
    icews.write_bytes(gzip.compress(ICEWS.read_bytes()))
    plover = tmp_path / "records.txt"
    plover.write_text("\n".join(json.dumps(r) for r in json.loads(PLOVER.read_text(encoding="utf-8"))[:3]))
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("export.CSV", "\n".join(LINES[:3]))
    assert [guess_format(p) for p in (headed, back_file, icews, plover, archive)] == [
        ImportFormat.GDELT, ImportFormat.GDELT, ImportFormat.ICEWS, ImportFormat.PLOVER, ImportFormat.GDELT]


@pytest.fixture(scope="module")
def plover_array(kb) -> dict:
    return run_import(kb, PLOVER, ImportFormat.PLOVER).report.as_json()


def test_plover_as_concatenated_pretty_printed_objects(kb, tmp_path, plover_array):
    records = json.loads(PLOVER.read_text(encoding="utf-8"))
    path = tmp_path / "plover.json"
    path.write_text("\n".join(json.dumps(r, indent=4, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    assert guess_format(path) is ImportFormat.PLOVER
    assert run_import(kb, path).report.as_json() == plover_array


def test_a_broken_object_among_concatenated_ones_rejects_that_object_only(kb, tmp_path):
    records = json.loads(PLOVER.read_text(encoding="utf-8"))[1:4]
    texts = [json.dumps(r, indent=2) for r in records]
    broken = texts[1].replace('"event":', '"event"', 1)
    path = tmp_path / "plover.json"
    path.write_text("\n".join([texts[0], broken, texts[2]]) + "\n", encoding="utf-8")
    report = run_import(kb, path, ImportFormat.PLOVER).report
    starts = [1, 1 + texts[0].count("\n") + 1]
    assert [(r.line, r.reason) for r in report.rejected_rows] == [(starts[1], "malformed record")]
    assert report.rows == 3
