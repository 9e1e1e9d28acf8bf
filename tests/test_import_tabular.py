"""Importing the simple CSV and YAML layouts of examples/: rows people write, names resolved, duplicates merged."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode

from dipkb import KnowledgeBase
from dipkb.authoring.importing import ImportFormat, commit_import, guess_format, run_import
from dipkb.errors import ImportInputError
from dipkb.model.namespaces import KB
from dipkb.model.records import ImportReport
from dipkb.store.layout import KBLayout

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
HEADER = "label,type,participants,date,place,sources,quote\n"

pytestmark = pytest.mark.prebuilt_index  # the index is not the point here: built once (conftest)


def sources(kb: KnowledgeBase, event: str) -> list[str]:
    rows = kb.select("SELECT ?e ?s WHERE { ?e dip:source ?s }", {"e": NamedNode(KB + "event/" + event)})
    return sorted(r["s"].value.rsplit("/", 1)[-1] for r in rows)


def test_the_csv_example_merges_every_row_into_the_event_the_kb_has(layout):
    """The example's rows are events of the founding article, which the bundled KB holds: each merges,
    the assessment quoted verbatim into the assessment quoting the same sentence, and nothing is added."""
    assert guess_format(EXAMPLES / "events.csv") is ImportFormat.CSV
    result = run_import(KnowledgeBase.open(layout=layout), EXAMPLES / "events.csv")
    assert result.report.as_json() == {"rows": 3, "imported": 0, "merged": 3, "rejected": 0, "filtered": 0,
                                       "reasons": {}, "events_created": 0, "events_extended": 3,
                                       "header_lines": []}
    assert result.target == layout.kb_dir / "imports" / "csv-events.ttl"
    before = {path: path.read_bytes() for path in layout.kb_dir.rglob("*.ttl")}
    commit_import(layout, result, full_validation=True)
    assert {path: path.read_bytes() for path in layout.kb_dir.rglob("*.ttl")} == before
    quote = "Foreign intervention by the countries like Russia or India could jeopardize the Taliban’s military " \
            "takeover plans for Afghanistan."
    assert quote in (EXAMPLES / "events.csv").read_text(encoding="utf-8")
    assert quote in (REPO / "kb" / "texts" / "founding-article.txt").read_text(encoding="utf-8")  # verbatim
    kb = KnowledgeBase.open(layout=layout)
    assert [r["e"].value for r in kb.select("SELECT ?e ?q WHERE { ?e dip:quote ?q }", {"q": Literal(quote, language="en")})] \
        == [KB + "event/article-assessment-intervention-jeopardises-takeover-2021-07"]
    # The merged rows name sources those events already cite: nothing is repeated.
    assert sources(kb, "taliban-delegation-visit-moscow-2021-07") == ["founding-article"]
    assert sources(kb, "kabulov-taliban-meeting-2021-07") == ["founding-article",
                                                              "russian-foreign-ministry-statement-2021-07"]


def test_the_yaml_example_merges_every_row_too(layout):
    result = run_import(KnowledgeBase.open(layout=layout), EXAMPLES / "events.yaml")
    assert (result.report.imported, result.report.merged, result.report.rejected) == (0, 2, 0)


def test_the_invented_rows_import_as_new_events(layout):
    result = run_import(KnowledgeBase.open(layout=layout), REPO / "tests" / "fixtures" / "invented-events.csv")
    assert (result.report.imported, result.report.merged, result.report.rejected) == (3, 0, 0)
    commit_import(layout, result, full_validation=True)
    kb = KnowledgeBase.open(layout=layout)
    rows = kb.select("SELECT ?e WHERE { ?e rdfs:label ?l FILTER(CONTAINS(?l, \"(invented test row)\")) }")
    assert len(rows) == 3


def test_a_row_merging_into_an_event_adds_its_new_source(layout, tmp_path):
    path = tmp_path / "more.csv"
    path.write_text(HEADER + "Visit,Visit,host=Russia; visitor=actor:taliban-delegation-moscow-2021,2021-07,Moscow,"
                    "source:tass-shaheen-2021-07,\n", encoding="utf-8")
    result = run_import(KnowledgeBase.open(layout=layout), path)
    assert (result.report.merged, result.report.events_extended) == (1, 1)
    commit_import(layout, result)
    assert sources(KnowledgeBase.open(layout=layout), "taliban-delegation-visit-moscow-2021-07") == [
        "founding-article", "tass-shaheen-2021-07"]


def merged_twice(layout: KBLayout, path: Path, text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(imported, merged) of importing ``text``, then of importing it again once committed."""
    path.write_text(text, encoding="utf-8")
    first = run_import(KnowledgeBase.open(layout=layout), path)
    commit_import(layout, first)
    second = run_import(KnowledgeBase.open(layout=layout), path).report
    return (first.report.imported, first.report.merged), (second.imported, second.merged)


def test_a_denial_is_not_merged_into_the_claim_it_denies(layout, tmp_path):
    """A claimed troop movement and its denial are two assertions: merged, the denial was lost and the
    ministry's statement became a source of the claim."""
    text = ("label,type,participants,date,destination,modality,sources\n"
            "Russian troops move to Tajikistan,TroopMovement,movingForce=Russia,2021-07,Tajikistan,claimed,"
            "source:founding-article\n"
            "Russia denies moving troops,TroopMovement,movingForce=Russia,2021-07,Tajikistan,denied,"
            "source:russian-foreign-ministry-statement-2021-07\n")
    assert merged_twice(layout, tmp_path / "claims.csv", text) == ((2, 0), (0, 2))
    kb = KnowledgeBase.open(layout=layout)
    rows = kb.select("SELECT ?m ?s WHERE { ?e a dip:TroopMovement ; dip:modality ?m ; dip:source ?s ; "
                     "dip:destination place:tajikistan }")
    assert sorted((r["m"].value.rsplit("#")[1], r["s"].value.rsplit("/")[-1]) for r in rows) == [
        ("Claimed", "founding-article"), ("Denied", "russian-foreign-ministry-statement-2021-07")]


def test_two_statements_of_one_speaker_on_one_day_are_told_apart_by_their_content(layout, tmp_path):
    text = ("label,type,participants,date,content,sources\n"
            "Pakistan says A,Statement,speaker=Pakistan,2021-07-21,Pakistan says A.,source:founding-article\n"
            "Pakistan says B,Statement,speaker=Pakistan,2021-07-21,Pakistan  says B.,source:founding-article\n")
    assert merged_twice(layout, tmp_path / "said.csv", text) == ((2, 0), (0, 2))


def test_a_meeting_of_plain_participants_is_found_again(layout, tmp_path):
    text = ("label,type,participants,date,sources\n"
            "India and China talk,Meeting,participant=India; participant=China,2021-07,source:founding-article\n")
    assert merged_twice(layout, tmp_path / "talks.csv", text) == ((1, 0), (0, 1))


def test_bad_rows_are_rejected_with_every_reason(layout, tmp_path):
    path = tmp_path / "bad.csv"
    rows = [
        "A,Meeting,host=actor:russia; visitor=Nobody Known,2021-07,,source:founding-article,",
        "B,Meeting,host=actor:russia; visitor=actor:india,2012-02-31,,source:founding-article,",
        "C,Meating,host=actor:russia; visitor=actor:india,2021-07,,source:founding-article,",
        "D,Meeting,host=actor:russia; visitor=actor:india,2021-07,,,",
        "E,Meeting,guest=actor:russia; visitor=actor:india,2021-07,,source:founding-article,",
        "F,Meeting,host actor:russia,2021-07,,source:founding-article,",
        "G,Meeting,host=actor:russia,2021-07,,source:founding-article",
        ",,,,,,",
    ]
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    report = run_import(KnowledgeBase.open(layout=layout), path).report
    assert report.rows == 8 and report.rejected == 8
    found = {r.text.split(",")[0]: (r.line, r.reason, r.detail) for r in report.rejected_rows}
    assert found["A"] == (2, "unknown actor", "no actor named 'Nobody Known'")
    assert found["B"][1:] == ("invalid date", "'2012-02-31' is not YYYY, YYYY-MM or YYYY-MM-DD with a real day")
    assert found["C"][1] == "unknown event type"
    assert found["D"][1:] == ("missing source", "an event needs at least one source")
    assert found["E"][1] == "unknown role" and "visitor" in found["E"][2]
    assert found["F"][1:] == ("malformed participants", "'host actor:russia' is not role=actor")
    assert found["G"][1:] == ("wrong column count", "6 cells, the header has 7")
    assert found[""][1] == "empty row"


def test_a_label_on_several_lines_is_rejected(layout, tmp_path):
    """A spreadsheet cell with a line break made a label that broke every timeline table it was in."""
    report = imported(layout, tmp_path / "lines.csv", "label,type,participants,date,sources\n"
                      '"Russia hosts\nthe Taliban",Meeting,host=Russia; visitor=Taliban,2021-07-20,source:founding-article\n'
                      'Russia hosts the Taliban,Meeting,host=Russia; visitor=Taliban,2021-07-21,source:founding-article\n')
    assert report.imported == 1
    assert [(r.line, r.reason) for r in report.rejected_rows] == [(2, "label on several lines")]


def test_a_row_with_a_malformed_language_tag_is_rejected_alone(layout, tmp_path):
    path = tmp_path / "languages.csv"
    path.write_text("label,type,participants,date,sources,language\n"
                    "Russia hosts the Taliban,Meeting,host=Russia; visitor=Taliban,2021-07-20,source:founding-article,en-\n"
                    "Russia hosts the Taliban,Meeting,host=Russia; visitor=Taliban,2021-07-21,source:founding-article,ru\n",
                    encoding="utf-8")
    result = run_import(KnowledgeBase.open(layout=layout), path)
    assert (result.report.imported, result.report.rejected) == (1, 1)
    assert [(r.line, r.reason) for r in result.report.rejected_rows] == [(2, "invalid language")]
    assert '"Russia hosts the Taliban"@ru' in result.turtle


def test_a_row_with_bytes_that_are_not_utf8_is_rejected_alone(layout, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(HEADER.encode() + b"Caf\xe9 talks,Meeting,host=actor:russia; visitor=actor:india,2021-07,,"
                     b"source:founding-article,\n"
                     + "Talks,Meeting,host=actor:russia; visitor=actor:india,2021-07,,source:founding-article,\n".encode())
    report = run_import(KnowledgeBase.open(layout=layout), path).report
    assert (report.rows, report.imported, report.rejected) == (2, 1, 1)
    assert report.rejected_rows[0].reason == "invalid UTF-8"


def test_an_unknown_column_is_an_input_error(layout, tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("label,type,particpants\nA,Meeting,host=actor:russia\n", encoding="utf-8")
    with pytest.raises(ImportInputError, match="unknown column.*particpants") as refused:
        run_import(KnowledgeBase.open(layout=layout), path, ImportFormat.CSV)
    # The columns offered are those a row can use: new_actors, new_places and new_sources were listed,
    # and refused as "must be a list of drafts".
    offered = str(refused.value).rsplit("may have: ", 1)[1]
    assert "participants" in offered and "new_" not in offered


def test_a_csv_saved_with_semicolons_is_read_as_a_spreadsheet_wrote_it(layout, tmp_path):
    """Excel in French or German saves CSV with ";": the format was not told, and with --format csv
    the whole header was one unknown column."""
    path = tmp_path / "excel-fr.csv"
    path.write_bytes("\ufefflabel;type;participants;date;sources;content\r\n"
                     'China voices concern;Statement;speaker=China;2021-07-05;source:founding-article;'
                     '"China is concerned; it says so, twice."\r\n'.encode("utf-8"))
    assert guess_format(path) is ImportFormat.CSV
    result = run_import(KnowledgeBase.open(layout=layout), path)
    assert result.report.imported == 1, result.report.rejected_rows
    assert 'dip:content "China is concerned; it says so, twice."@en' in result.turtle


def test_yaml_keeps_a_timestamp_as_written_and_rejects_half_a_character(layout, tmp_path):
    """An unquoted ``2021-07-13T10:00:00`` was read as a datetime and written back with a space,
    then refused as a date; ``"\\ud800"`` and a 5,000-digit integer ended in tracebacks."""
    event = ("- label: {label}\n  type: Meeting\n  participants: host=actor:russia; visitor=actor:india\n"
             "  date: {date}\n  sources: source:founding-article\n  note: {note}\n")
    path = tmp_path / "events.yaml"
    path.write_text(event.format(label="Talks at ten", date="2021-07-13T10:00:00", note="9" * 5000)
                    + event.format(label='"Talks \\ud800"', date="2021-07-14", note="n"), encoding="utf-8")
    result = run_import(KnowledgeBase.open(layout=layout), path)
    assert [(r.line, r.reason) for r in result.report.rejected_rows] == [(7, "invalid text")]
    assert 'dip:date "2021-07-13T10:00:00"^^xsd:dateTime' in result.turtle
    assert "9" * 5000 in result.turtle


def test_yaml_keeps_codes_and_words_as_written(layout, tmp_path):
    """YAML 1.1 reads ``020`` as the octal 16 (CAMEO 16 is another type), ``on`` as True, ``no`` as
    False and ``1.50`` as 1.5: every field is text, kept as the file writes it."""
    path = tmp_path / "coded.yaml"
    path.write_text("- label: Russia appeals to the Taliban\n  type: 020\n  participants: agent=Russia; target=Taliban\n"
                    "  date: 2021-07\n  sources: source:founding-article\n  quote: on\n  language: no\n"
                    "  note: 1.50\n", encoding="utf-8")
    result = run_import(KnowledgeBase.open(layout=layout), path)
    assert result.report.imported == 1, result.report.rejected_rows
    assert "dip:eventCode cameo:020" in result.turtle
    assert 'dip:quote "on"@no' in result.turtle and 'dip:note "1.50"@no' in result.turtle


def test_a_csv_as_excel_saves_it_is_found_with_its_bom_and_utf16_is_named(layout, tmp_path):
    """Excel's "CSV UTF-8" starts with a byte order mark, which the format's guess did not see past;
    its "Unicode Text" is UTF-16, which was "empty" as CSV and of no format otherwise."""
    text = (EXAMPLES / "events.csv").read_text(encoding="utf-8")
    with_bom, utf16 = tmp_path / "excel.csv", tmp_path / "unicode.csv"
    with_bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    utf16.write_bytes(text.encode("utf-16"))
    kb = KnowledgeBase.open(layout=layout)
    assert guess_format(with_bom) is ImportFormat.CSV
    assert run_import(kb, with_bom).report.rows == run_import(kb, EXAMPLES / "events.csv").report.rows
    for fmt in (None, ImportFormat.CSV, ImportFormat.GDELT):
        with pytest.raises(ImportInputError, match=r"unicode.csv is UTF-16 text .*save it as UTF-8 \(in Excel, CSV UTF-8\)"):
            run_import(kb, utf16, fmt)


@pytest.mark.parametrize("header, problem", [("label,type,label", "the column(s) label twice (which cell would count?)"),
                                             ("label,date", "no column 'type'"),
                                             ("label,type,colour", "unknown column(s) colour")])
def test_a_csv_header_says_what_is_wrong_with_it(layout, tmp_path, header, problem):
    path = tmp_path / "events.csv"
    path.write_text(header + "\nA,Meeting,B\n", encoding="utf-8")
    with pytest.raises(ImportInputError, match=re.escape(f"events.csv: {problem}; a CSV of events needs")):
        run_import(KnowledgeBase.open(layout=layout), path, ImportFormat.CSV)


def test_a_yaml_field_or_role_given_twice_rejects_its_event(layout, tmp_path):
    """PyYAML keeps the last of two equal keys, silently: the first label, or the first host, was lost."""
    event = ("- label: {first}\n{more}  type: Meeting\n  participants:\n    host: actor:russia\n"
             "    {role}: actor:india\n  date: 2021-07\n  sources: source:founding-article\n")
    path = tmp_path / "events.yaml"
    path.write_text(event.format(first="A", more="  label: B\n", role="visitor")
                    + event.format(first="C", more="", role="host")
                    + event.format(first="D", more="", role="visitor"), encoding="utf-8")
    report = run_import(KnowledgeBase.open(layout=layout), path).report
    assert [(r.line, r.reason, r.detail) for r in report.rejected_rows] == [
        (1, "field given twice", "label given twice: which one counts?"),
        (9, "field given twice", "host given twice: which one counts?")]
    assert "__" not in report.rejected_rows[0].text and report.imported == 1


def test_yaml_that_is_not_a_list_is_an_input_error(layout, tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text("label: A\n", encoding="utf-8")
    with pytest.raises(ImportInputError, match="list of events"):
        run_import(KnowledgeBase.open(layout=layout), path)


def test_yaml_aliases_shared_between_events_are_read_as_written_out(layout, tmp_path):
    path = tmp_path / "shared.yaml"
    path.write_text("""
- label: Kabulov meets the Taliban again
  type: Meeting
  participants: &pair {host: actor:zamir-kabulov, visitor: Taliban}
  date: 2021-05
  sources: &cited [source:founding-article]
- label: Kabulov meets the Taliban once more
  type: Meeting
  participants: *pair
  date: 2021-06
  sources: *cited
""", encoding="utf-8")
    result = run_import(KnowledgeBase.open(layout=layout), path)
    assert (result.report.imported, result.report.rejected) == (2, 0), result.report.as_json()


BILLION_LAUGHS = "".join(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
                         for previous, name in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("text, says", [
    ("- " + "[" * 5000 + "]" * 5000 + "\n", "nests lists or mappings too deeply to read"),
    ("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + BILLION_LAUGHS +
     "events:\n  - {label: x, type: Meeting, note: *i}\n", "once its aliases (*name) are written out"),
    ("- &event {label: x, type: Meeting, note: [*event]}\n", "an alias inside what it names"),
], ids=["deep", "billion-laughs", "alias-to-itself"])
def test_yaml_that_would_not_end_if_written_out_is_an_input_error(layout, tmp_path, text, says):
    # Before: a traceback (RecursionError) for the deep one, 44 s and 5.5 GB for the 387,420,489 laughs.
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportInputError, match=re.escape(says)):
        run_import(KnowledgeBase.open(layout=layout), path)


def test_column_names_in_another_case_are_the_columns(layout, tmp_path):
    # "Label,Type,..." was refused: "unknown column(s) Label, Type, ...".
    header, rows = (EXAMPLES / "events.csv").read_text(encoding="utf-8").split("\n", 1)
    path = tmp_path / "titled.csv"
    path.write_text(header.title() + "\n" + rows, encoding="utf-8")
    expected = run_import(KnowledgeBase.open(layout=layout), EXAMPLES / "events.csv").report.as_json()
    assert run_import(KnowledgeBase.open(layout=layout), path).report.as_json() == expected


def imported(layout: KBLayout, path: Path, text: str) -> ImportReport:
    """The report of importing ``text``, written to ``path``."""
    path.write_text(text, encoding="utf-8")
    return run_import(KnowledgeBase.open(layout=layout), path).report


MEETING_ROW = "Meeting,host=actor:russia; visitor=actor:india"


def test_a_row_whose_times_contradict_each_other_is_rejected(layout, tmp_path):
    # One event of each form is validated: the second row, its end before its start, was written.
    report = imported(layout, tmp_path / "times.csv", "label,type,participants,start,end,sources,modality\n"
                      f"One,{MEETING_ROW},2021-07-01,2021-07-05,source:founding-article,planned\n"
                      f"Two,{MEETING_ROW},2021-07-09,2021-07-02,source:founding-article,planned\n")
    assert (report.imported, report.rejected) == (1, 1)
    assert [(r.reason, r.detail) for r in report.rejected_rows] == [
        ("contradictory times", "dip:endDate 2021-07-02 is before dip:startDate 2021-07-09")]


def test_a_row_dated_after_its_source_is_rejected(layout, tmp_path):
    # One event of each form is validated: the second row, an occurred meeting two months after the
    # founding article (July 2021), was written, and `validate` then failed.
    report = imported(layout, tmp_path / "late.csv", "label,type,participants,date,sources,modality\n"
                      f"One,{MEETING_ROW},2021-07-03,source:founding-article,occurred\n"
                      f"Two,{MEETING_ROW},2021-09-20,source:founding-article,ongoing\n"
                      f"Three,{MEETING_ROW},2021-09-21,source:founding-article,planned\n")
    assert (report.imported, report.rejected) == (2, 1)
    assert [(r.line, r.reason) for r in report.rejected_rows] == [(3, "dated after its source")]
    assert report.rejected_rows[0].detail.startswith(
        "dip:date 2021-09-20 is after source:founding-article was published (2021-07")


def test_an_ongoing_row_over_before_its_source_is_rejected(layout, tmp_path):
    # The founding article (July 2021) cannot report under way an event ended in June; the ongoing row
    # ending within July is no contradiction, and neither is the occurred one ended in June.
    header, path = "label,type,participants,start,end,sources,modality\n", tmp_path / "over.csv"
    report = imported(layout, path, header + f"One,{MEETING_ROW},2021-05-03,2021-07,source:founding-article,ongoing\n"
                      f"Two,{MEETING_ROW},2021-05-04,2021-06-20,source:founding-article,ongoing\n"
                      f"Three,{MEETING_ROW},2021-05-05,2021-06-21,source:founding-article,occurred\n")
    assert [(r.line, r.reason) for r in report.rejected_rows] == [(3, "over before its source")]
    assert report.imported == 2
    assert report.rejected_rows[0].detail.startswith(
        "dip:endDate 2021-06-20 is before source:founding-article was published (2021-07")
    # With an earlier source too, the rejection names it: the event may have been under way then.
    (layout.kb_dir / "early.ttl").write_text(
        "@prefix dip: <https://w3id.org/dipkb/ontology#> .\n@prefix dct: <http://purl.org/dc/terms/> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        '<https://w3id.org/dipkb/kb/source/early> a dip:NewsArticle ; dct:title "An early report"@en ;\n'
        '    dct:issued "2021-06-05"^^xsd:date .\n', encoding="utf-8")
    [rejected] = imported(layout, path, header + f"Two,{MEETING_ROW},2021-05-04,2021-06-01,"
                          "source:founding-article; source:early,ongoing\n").rejected_rows
    assert rejected.detail.startswith("dip:endDate 2021-06-01 is before source:early was published (2021-06-05)")
