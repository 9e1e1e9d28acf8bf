"""Importing PLOVER: the 323 real gold-standard records, as a JSON array and as JSON lines."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, Store

from dipkb import KnowledgeBase
from dipkb.authoring.codes import CodeBook
from dipkb.authoring.importing import ImportFormat, ImportOptions, guess_format, run_import, validate_import
from dipkb.errors import ImportInputError
from dipkb.model.namespaces import DIP, KB
from dipkb.model.records import Scheme

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "fixtures" / "PLOVER_GSR_CAMEO.txt"
RECORDS = json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def kb(shipped_kb: Path) -> KnowledgeBase:
    return KnowledgeBase.open(shipped_kb)  # the session's copy: its index is not written into the checkout


@pytest.fixture(scope="module")
def result(kb):
    return run_import(kb, SAMPLE, ImportFormat.PLOVER)


def actors(value) -> list[str]:
    return [a.get("code", "") + (a.get("sector", "") if a.get("sector") != "***" else "") or a["actorText"]
            for a in value] if isinstance(value, list) else []


def expected_rejections() -> Counter:
    """By simple checks on the records themselves."""
    reasons = Counter()
    for r in RECORDS:
        if r["event"] == "DOCUMENT":
            reasons["not an event record"] += 1
        elif isinstance(r.get("target"), str) and r["target"]:
            reasons["malformed record"] += 1
        elif not r.get("source"):
            reasons["missing actor"] += 1
        elif r["event"] == "RETREAT" and "eventLoc" not in r:  # a dip:Retreat needs where it happened
            reasons["missing place"] += 1
        elif r["event"] == "CONSULT" and len(set(actors(r.get("source")) + actors(r.get("target")))) < 2:
            reasons["too few participants"] += 1
    return reasons


def test_every_record_is_accounted_for(result):
    report = result.report
    assert report.rows == len(RECORDS) == 323
    assert report.reasons == expected_rejections()
    assert report.rejected == 12
    # 311 accepted records: 303 distinct identity keys, the other 8 records merge into one of them.
    assert (report.imported, report.merged, report.filtered) == (303, 8, 0)


def test_merges_are_records_with_the_same_identity(kb, result):
    """Recomputed from the records: PLOVER's gold standard dates every record 2000-01-01, so records
    with the same type and actors and no place are one event by the identity key."""
    codebook = CodeBook(kb)
    rejected = {row.line for row in result.report.rejected_rows}
    keys = set()
    for position, r in enumerate(RECORDS, start=1):
        if position in rejected:
            continue
        cls = codebook.match(Scheme.PLOVER, r["event"], r.get("mode")).event_class
        sources, targets = actors(r.get("source")), actors(r.get("target"))
        people = frozenset(sources + targets) if r["event"] == "CONSULT" else (frozenset(sources), frozenset(targets))
        keys.add((cls, people, (r.get("eventLoc") or {}).get("name"), r["date"]))
    assert result.report.imported == len(keys)
    assert result.report.merged == 323 - 12 - len(keys)


def test_json_lines_give_the_same_report(kb, tmp_path, result):
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    assert guess_format(path) is ImportFormat.PLOVER
    assert run_import(kb, path).report.as_json() == result.report.as_json()


def test_types_map_through_the_scheme(result):
    store = Store()
    store.load(result.turtle, format=RdfFormat.TURTLE)

    def classes(record: str) -> set[str]:
        query = f"SELECT ?c WHERE {{ ?e <{DIP}source> <{KB}source/{record}> ; a ?c }}"
        return {row["c"].value.rsplit("#")[-1] for row in store.query(query)}

    assert classes("plover-plover-gsr01-consult-0003") == {"Visit"}  # CONSULT with mode "visit"
    assert classes("plover-plover-gsr01-consult-0002") == {"Meeting"}  # CONSULT by phone
    assert classes("plover-plover-gsr01-demand-0001") == {"Demand"}  # PLOVER 0.5 DEMAND, replaced by REQUEST
    assert classes("plover-plover-gsr01-agree-0001") == {"ExpressionOfIntent"}  # AGREE: the CAMEO-root class


def test_the_import_conforms(kb, result):
    assert [f for f in validate_import(kb, result, full=True) if f.severity.value == "Violation"] == []


def test_filter_by_type(kb):
    report = run_import(kb, SAMPLE, options=ImportOptions(event_codes=("consult",))).report
    assert report.filtered == 323 - sum(1 for r in RECORDS if r["event"] == "CONSULT")


def test_not_json_is_an_input_error(kb, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"id": "x", ', encoding="utf-8")
    with pytest.raises(ImportInputError, match="not valid JSON"):
        run_import(kb, path, ImportFormat.PLOVER)


def test_a_bad_json_line_rejects_that_line_only(kb, tmp_path):
    path = tmp_path / "records.jsonl"
    good = [json.dumps(r) for r in RECORDS[1:4]]
    path.write_bytes(("\n".join([good[0], '{"id": "broken",', good[1]]) + "\n").encode()
                     + b'{"id": "x", "event": "AGREE", "date": "2000", "text": "caf\xe9"}\n' + good[2].encode() + b"\n")
    report = run_import(kb, path).report
    assert report.rows == 5
    assert [(r.line, r.reason) for r in report.rejected_rows] == [(2, "malformed record"), (4, "invalid UTF-8")]


@pytest.mark.parametrize("layout", ["array", "lines"])
def test_half_a_character_or_a_5000_digit_number_rejects_that_record_only(kb, tmp_path, layout):
    """JSON's "\\ud800" escape decodes to half a character, which no RDF literal holds; json.loads
    refuses an integer past 4,300 digits. Each was a traceback."""
    records = [RECORDS[1], {**RECORDS[2], "text": "caf\ud800"}, {**RECORDS[3], "count": 0}]
    texts = [json.dumps(r).replace('"count": 0', '"count": ' + "9" * 5000) for r in records]  # \ud800 as its escape
    path = tmp_path / f"records.{'json' if layout == 'array' else 'jsonl'}"
    path.write_text("[" + ",\n".join(texts) + "]" if layout == "array" else "\n".join(texts) + "\n", encoding="utf-8")
    result = run_import(kb, path, ImportFormat.PLOVER)
    assert [(r.line, r.reason, r.detail) for r in result.report.rejected_rows] == [
        (2, "invalid text", "the record holds \\ud800, an escape of half a character (a lone surrogate)")]
    assert "caf\\ud800" in result.report.rejected_rows[0].text
    assert result.report.rows == 3 and result.report.imported + result.report.merged == 2


DEEP = "[" * 100_000 + "]" * 100_000  # far deeper than Python's JSON parser goes


def test_a_json_array_nested_too_deeply_is_an_input_error(kb, tmp_path):
    # json.loads raised RecursionError: a traceback.
    path = tmp_path / "deep.json"
    path.write_text(f'[{{"id": "x", "a": {DEEP}}}]', encoding="utf-8")
    with pytest.raises(ImportInputError, match="nests arrays or objects too deeply to read"):
        run_import(kb, path, ImportFormat.PLOVER)


@pytest.mark.parametrize("layout", ["a record a line", "records over several lines"])
def test_a_record_nested_too_deeply_is_rejected_and_the_next_one_read(kb, tmp_path, layout):
    path = tmp_path / "deep.jsonl"
    deep = f'{{"id": "deep",\n"a": {DEEP}}}' if layout == "records over several lines" else f'{{"id": "deep", "a": {DEEP}}}'
    path.write_text(deep + '\n{"id": "next", "event": "CONSULT"}\n', encoding="utf-8")
    report = run_import(kb, path, ImportFormat.PLOVER).report
    assert report.rows == 2 and report.rejected == 2, report.as_json()
    assert report.as_json()["reasons"]["malformed record"] == 1  # the next one is read, rejected for its own reason
