"""The coded signals kept on each dataset record (GDELT Goldstein, QuadClass, NumMentions, NumSources,
NumArticles, AvgTone, IsRootEvent; ICEWS Intensity and Publisher), the filters on them, a record's own
date kept apart from publication, and a clean import that validates clean."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import NamedNode

from dipkb import KnowledgeBase
from dipkb.authoring.importing import ImportFormat, ImportOptions, run_import
from dipkb.cli import cli
from dipkb.model.namespaces import KB

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GDELT = FIXTURES / "gdelt2-20191024143000.export.tsv"
ICEWS = FIXTURES / "icews-synthetic.tab"
ROWS = [line.split("\t") for line in GDELT.read_text(encoding="utf-8").splitlines()]
SIGNALS = """SELECT ?r ?goldstein ?quad ?mentions ?sources ?articles ?tone ?root WHERE {
    ?r a dip:DatasetRecord ; dip:goldsteinScale ?goldstein ; dip:quadClass ?quad ; dip:numMentions ?mentions ;
       dip:numSources ?sources ; dip:numArticles ?articles ; dip:averageTone ?tone ; dip:isRootEvent ?root }"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    """The example KB with both samples imported through the CLI."""
    root = tmp_path_factory.mktemp("signals") / "kb-example"
    assert run("init", "--example", str(root)).exit_code == 0
    for sample in (GDELT, ICEWS):
        result = run("--kb", str(root), "import", str(sample))
        assert result.exit_code == 0, result.output
    return root


def test_a_clean_import_validates_clean(example):
    result = run("--kb", str(example), "validate")
    assert result.exit_code == 0, result.output
    assert "0 violations, 0 warnings" in result.output
    assert "source/gdelt" not in result.output and "source/icews" not in result.output


def test_gdelt_signals_are_kept_on_every_record_as_read(example):
    kb = KnowledgeBase.open(example)
    found = {row["r"].value.rsplit("-", 1)[-1]: row for row in kb.select(SIGNALS)}
    by_id = {r[0]: r for r in ROWS}
    assert len(found) == 2111 - 233
    for event_id, row in found.items():
        raw = by_id[event_id]
        assert (float(row["goldstein"].value), int(row["quad"].value), int(row["mentions"].value),
                int(row["sources"].value), int(row["articles"].value), float(row["tone"].value),
                row["root"].value) == (float(raw[30]), int(raw[29]), int(raw[31]), int(raw[32]), int(raw[33]),
                                       float(raw[34]), "true" if raw[25] == "1" else "false"), event_id


def test_icews_intensity_and_publisher_are_kept(example):
    kb = KnowledgeBase.open(example)
    rows = kb.select("SELECT ?r ?i ?p WHERE { ?r dip:intensity ?i ; dip:storyPublisher ?p }",
                     {"r": NamedNode(KB + "source/icews-90001-20210708")})
    assert [(float(r["i"].value), r["p"].value) for r in rows] == [(1.0, "Synthetic Wire")]


def test_dateadded_is_the_records_date_not_a_publication(kb_copy, tmp_path):
    """A 1982 event of GDELT 1.0's back-file, added to GDELT on 2013-02-03."""
    row = [v for i, v in enumerate(ROWS[3]) if i not in (38, 46, 54, 60)]
    row[1], row[2], row[3], row[56] = "19820105", "198201", "1982", "20130203"
    path = tmp_path / "1982.csv"
    path.write_text("\t".join(row) + "\n", encoding="utf-8")
    assert run("--kb", str(kb_copy), "import", str(path)).exit_code == 0
    kb = KnowledgeBase.open(kb_copy)
    rows = kb.select("""SELECT ?r ?p ?date WHERE { ?e dip:source ?r ; dip:date ?event .
                        ?r ?p ?date FILTER (?p IN (dct:created, dct:issued)) }""",
                     {"r": NamedNode(KB + "source/gdelt1-" + row[0])})
    assert [(r["p"].value, r["date"].value, r["date"].datatype.value) for r in rows] == [
        ("http://purl.org/dc/terms/created", "2013-02-03", "http://www.w3.org/2001/XMLSchema#date")]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.export.CSV"
    path.write_text("\n".join("\t".join(r) for r in ROWS[:400]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("options, left_out", [
    (ImportOptions(min_mentions=10), lambda r: int(r[31]) < 10),
    (ImportOptions(root_only=True), lambda r: r[25] == "0"),
    (ImportOptions(min_mentions=4, root_only=True), lambda r: int(r[31]) < 4 or r[25] == "0"),
])
def test_attention_filters_leave_out_rows(shipped_kb, sample, options, left_out):
    report = run_import(KnowledgeBase.open(shipped_kb), sample, ImportFormat.GDELT, options).report
    assert report.filtered == sum(1 for r in ROWS[:400] if left_out(r)) > 0
    assert report.balanced()


def test_attention_filters_on_the_command_line(shipped_kb, sample):
    result = run("--kb", str(shipped_kb), "import", str(sample), "--min-mentions", "10", "--root-only", "--dry-run")
    assert result.exit_code == 0, result.output
    kept = sum(1 for r in ROWS[:400] if int(r[31]) >= 10 and r[25] == "1")
    assert f"{400 - kept} filtered" in result.output
    assert run("--kb", str(shipped_kb), "import", str(sample), "--min-mentions", "-1").exit_code == 2
    icews = run("--kb", str(shipped_kb), "import", str(ICEWS), "--root-only", "--dry-run")
    assert icews.exit_code == 2 and "icews files have none" in icews.output


def test_an_unreadable_signal_rejects_its_row(shipped_kb, tmp_path):
    bad = [list(ROWS[3]), list(ROWS[3]), list(ROWS[3])]
    bad[0][30], bad[1][29], bad[2][34] = "strong", "7", "-250.5"
    for n, row in enumerate(bad):
        row[0] = str(900000000 + n)
    path = tmp_path / "bad.export.CSV"
    path.write_text("\n".join("\t".join(r) for r in bad) + "\n", encoding="utf-8")
    report = run_import(KnowledgeBase.open(shipped_kb), path, ImportFormat.GDELT).report
    assert [(r.reason, r.detail) for r in report.rejected_rows] == [
        ("malformed signal", "GoldsteinScale 'strong' is not a number from -10 to 10"),
        ("malformed signal", "QuadClass '7' is not 1, 2, 3 or 4"),
        ("malformed signal", "AvgTone '-250.5' is not a number from -100 to 100")]
