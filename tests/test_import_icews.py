"""Importing ICEWS, on a synthetic fixture that has the dataset's known quirks (see fixtures/ORIGIN.md)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode

from dipkb import KnowledgeBase
from dipkb.authoring.importing import ImportFormat, commit_import, guess_format, run_import
from dipkb.errors import ImportInputError
from dipkb.model.namespaces import KB
from dipkb.store.layout import KBLayout

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "icews-synthetic.tab"


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    root = tmp_path_factory.mktemp("icews")
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    layout = KBLayout.locate(root)
    result = run_import(KnowledgeBase.open(layout=layout), FIXTURE)
    commit_import(layout, result, full_validation=True)
    return result, KnowledgeBase.open(layout=layout)


def records_of(kb: KnowledgeBase, event: str) -> set[str]:
    rows = kb.select("SELECT ?e ?r WHERE { ?e dip:source ?r . ?r a dip:DatasetRecord }", {"e": NamedNode(event)})
    return {r["r"].value.rsplit("/", 1)[-1] for r in rows}


def event_of(kb: KnowledgeBase, record: str) -> str:
    rows = kb.select("SELECT ?e ?r WHERE { ?e dip:source ?r }", {"r": NamedNode(KB + "source/" + record)})
    assert len(rows) == 1
    return rows[0]["e"].value


def test_format_is_recognised_by_its_header():
    assert guess_format(FIXTURE) is ImportFormat.ICEWS


def test_every_row_is_accounted_for(committed):
    result, _ = committed
    assert result.report.as_json() == {
        "rows": 12, "imported": 5, "merged": 3, "rejected": 4, "filtered": 0,
        "reasons": {"invalid date": 1, "malformed CAMEO code": 1, "missing actor": 1, "unknown CAMEO code": 1},
        "events_created": 5, "events_extended": 0, "header_lines": []}
    assert [(r.line, r.reason) for r in result.report.rejected_rows] == [
        (7, "malformed CAMEO code"), (8, "unknown CAMEO code"), (9, "missing actor"), (10, "invalid date")]
    assert result.report.rejected_rows[0].detail == "'13y' is not a CAMEO code of 2 to 4 digits"
    assert result.report.rejected_rows[3].detail == "Event Date '2021-02-31' is no real day"


def test_a_reciprocal_meeting_is_one_event_with_both_records(committed):
    _, kb = committed
    event = event_of(kb, "icews-90001-20210708")
    assert records_of(kb, event) == {"icews-90001-20210708", "icews-90002-20210708"}
    rows = kb.select("SELECT ?e ?class ?a ?place WHERE { ?e a ?class ; dip:attendee ?a ; dip:place ?place }",
                     {"e": NamedNode(event)})
    assert {(r["class"].value.rsplit("#")[-1], r["a"].value, r["place"].value) for r in rows} == {
        ("Meeting", KB + "actor/zamir-kabulov", KB + "place/moscow"),
        ("Meeting", KB + "actor/taliban", KB + "place/moscow")}
    merged = kb.select("SELECT ?e ?r WHERE { ?e dip:mergedFrom ?r }", {"e": NamedNode(event)})
    assert len(merged) == 2


def test_one_event_id_with_two_dates_is_two_records_and_two_events(committed):
    _, kb = committed
    first, second = event_of(kb, "icews-90003-20210709"), event_of(kb, "icews-90003-20210710")
    assert first != second
    ids = kb.select("SELECT ?r ?id WHERE { ?r dip:recordId ?id }", {"id": Literal("90003")})
    assert len(ids) == 2  # the exact repeat of the second row added no third record


def test_a_visit_and_its_hosting_are_one_visit(committed):
    _, kb = committed
    event = event_of(kb, "icews-90009-20210714")
    assert event == event_of(kb, "icews-90010-20210714")
    rows = kb.select("SELECT ?e ?v ?h WHERE { ?e a dip:Visit ; dip:visitor ?v ; dip:host ?h }", {"e": NamedNode(event)})
    assert [(r["v"].value, r["h"].value) for r in rows] == [(KB + "actor/s-jaishankar", KB + "actor/iran")]


def test_named_actors_reconcile_or_are_created_acting_for_their_state(committed):
    _, kb = committed
    rows = kb.select("SELECT ?a ?label ?for ?sector WHERE { ?a rdfs:label ?label ; dip:actsFor ?for ; dip:sector ?sector }",
                     {"a": NamedNode(KB + "actor/icews-government-afghanistan")})
    assert [(r["label"].value, r["for"].value, r["sector"].value) for r in rows] == [
        ("Government (Afghanistan)", KB + "actor/afghanistan", "Government")]
    # NA as a target is no target: the appeal has its agent only
    event = event_of(kb, "icews-90008-20210713")
    roles = kb.select("SELECT ?e ?role ?a WHERE { ?e ?role ?a . ?role rdfs:subPropertyOf dip:participant }",
                      {"e": NamedNode(event)})
    assert [(r["role"].value.rsplit("#")[-1], r["a"].value) for r in roles] == [
        ("agent", KB + "actor/icews-government-afghanistan")]


def test_statements_carry_an_attributed_content_and_pass_the_shapes(committed):
    result, kb = committed
    event = event_of(kb, "icews-90003-20210709")
    rows = kb.select("SELECT ?e ?speaker ?content WHERE { ?e dip:speaker ?speaker ; dip:content ?content }",
                     {"e": NamedNode(event)})
    assert [(r["speaker"].value, r["content"].value) for r in rows] == [
        (KB + "actor/russia", "Coded as CAMEO 012 (Make pessimistic comment) by ICEWS.")]


def test_a_file_without_the_icews_header_is_refused(shipped_kb, tmp_path):
    path = tmp_path / "events.tab"
    path.write_text("Event ID\tEvent Date\n1\t2021-01-01\n", encoding="utf-8")
    with pytest.raises(ImportInputError, match="lacks 'Source Name', 'CAMEO Code', 'Target Name'"):
        run_import(KnowledgeBase.open(shipped_kb), path, ImportFormat.ICEWS)


def test_a_row_with_a_missing_column_is_rejected(shipped_kb, tmp_path):
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "short.tab"
    path.write_text("\n".join([lines[0], lines[1], lines[2].rsplit("\t", 1)[0]]) + "\n", encoding="utf-8")
    report = run_import(KnowledgeBase.open(shipped_kb), path).report
    assert (report.rows, report.imported, report.rejected) == (2, 1, 1)
    assert report.rejected_rows[0].detail == "19 tab-separated columns, the header has 20"



@pytest.mark.parametrize("rename", [str.lower, str.upper], ids=["lower", "upper"])
def test_a_header_in_another_case_reads_the_same(committed, tmp_path, rename):
    # 'event id' was refused: "its header lacks 'Event ID'".
    result, kb = committed
    header, rest = FIXTURE.read_text(encoding="utf-8").split("\n", 1)
    renamed = tmp_path / "renamed.tab"
    renamed.write_text(rename(header) + "\n" + rest, encoding="utf-8")
    assert guess_format(renamed) is ImportFormat.ICEWS
    again = run_import(kb, renamed, ImportFormat.ICEWS)
    assert again.report.merged == result.report.imported + result.report.merged
    assert again.report.rejected_rows == result.report.rejected_rows
