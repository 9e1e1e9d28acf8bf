"""Importing ACLED's CSV export, on an invented file in its layout (ACLED's terms forbid committing its
rows; see fixtures/ORIGIN.md): time precision, types, actors, places, records, and an older layout."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import Literal, NamedNode

from dipkb import KnowledgeBase
from dipkb.authoring.codes import CodeBook
from dipkb.authoring.importers.acled import _day as acled_day, _time as acled_time, type_table
from dipkb.authoring.importers.reading import decimal
from dipkb.authoring.importing import ImportFormat, ImportOptions, commit_import, guess_format, run_import
from dipkb.cli import cli
from dipkb.errors import ImportInputError
from dipkb.model.namespaces import DIP, KB
from dipkb.model.records import Rejection, Scheme
from dipkb.store.layout import KBLayout

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "acled-invented.csv"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    root = tmp_path_factory.mktemp("acled")
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    layout = KBLayout.locate(root)
    result = run_import(KnowledgeBase.open(layout=layout), FIXTURE)
    commit_import(layout, result, full_validation=True)
    return result, KnowledgeBase.open(layout=layout), root


def event_of(kb: KnowledgeBase, record: str) -> NamedNode:
    rows = kb.select("SELECT ?e ?r WHERE { ?e dip:source ?r }", {"r": NamedNode(KB + "source/" + record)})
    assert len(rows) == 1
    return rows[0]["e"]


def values(kb: KnowledgeBase, subject: NamedNode, prop: str) -> set:
    rows = kb.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", {"s": subject, "p": NamedNode(prop)})
    return {r["o"] for r in rows}


def test_the_format_is_recognised_by_its_header():
    assert guess_format(FIXTURE) is ImportFormat.ACLED


def test_every_row_is_accounted_for(committed):
    result, _, _ = committed
    report = result.report.as_json()
    assert {k: report[k] for k in ("rows", "imported", "merged", "rejected", "filtered", "reasons")} == {
        "rows": 13, "imported": 7, "merged": 1, "rejected": 5, "filtered": 0,
        "reasons": {"invalid date": 1, "invalid fatalities": 1, "invalid time precision": 1,
                    "unmapped ACLED type": 1, "wrong column count": 1}}
    # Lines are where each record starts: the first record's notes span lines 2 and 3.
    assert [(r.line, r.reason, r.detail) for r in result.report.rejected_rows] == [
        (10, "unmapped ACLED type", "'Strategic developments: Other' has no CAMEO counterpart (see acled-types.tsv)"),
        (11, "invalid date", "event_date '2021-02-30' is no real day"),
        (12, "invalid time precision", "time_precision '4' is not 1 (day), 2 (week) or 3 (month)"),
        (15, "invalid fatalities", "fatalities 'several' is not a whole number"),
        (16, "wrong column count", "6 cells, the header has 31")]


def test_time_precision_gives_a_day_a_week_or_a_month_and_nothing_finer(committed):
    _, kb, _ = committed

    def time(record: str) -> dict[str, tuple[str, str]]:
        event = event_of(kb, record)
        return {name: (value.value, value.datatype.value.rsplit("#", 1)[-1])
                for name in ("date", "earliestDate", "latestDate")
                for value in values(kb, event, DIP + name)}

    assert time("acled-afg90001") == {"date": ("2021-07-08", "date")}
    assert time("acled-afg90002") == {"earliestDate": ("2021-07-06", "date"), "latestDate": ("2021-07-12", "date")}
    assert time("acled-afg90010") == {"earliestDate": ("2021-06-27", "date"), "latestDate": ("2021-07-03", "date")}
    assert time("acled-afg90003") == {"date": ("2021-07", "gYearMonth")}


def test_notes_keep_their_line_breaks_and_become_the_events_content(committed):
    _, kb, _ = committed
    contents = {v.value for v in values(kb, event_of(kb, "acled-afg90001"), DIP + "content")}
    assert ("On 8 July 2021, Afghan forces clashed with the Taliban on the outskirts of Kunduz city.\n"
            "Both sides claimed gains; \"12 killed\" is the sources' toll. [Invented test row: not ACLED data.]"
            in contents)
    assert "Coded as CAMEO 190 (Use conventional military force) by dipkb from ACLED's 'Battles: Armed clash'." \
           in contents


def test_a_record_names_its_sources_its_fatalities_and_its_last_change(committed):
    _, kb, _ = committed
    record = NamedNode(KB + "source/acled-afg90001")
    assert {v.value for v in values(kb, record, DIP + "sourceName")} == {"Kabul Example Times", "Example Wire"}
    assert values(kb, record, DIP + "reportedFatalities") == {Literal(12)}
    assert values(kb, record, "http://purl.org/dc/terms/modified") == {
        Literal("2021-07-13T00:00:00Z", datatype=NamedNode(XSD + "dateTime"))}
    # The repeated row is the same record: one record, one event.
    assert len(kb.select("SELECT ?r ?id WHERE { ?r dip:recordId ?id }", {"id": Literal("AFG90001")})) == 1


def test_types_give_classes_codes_and_roles(committed):
    _, kb, _ = committed
    actor = KB + "actor/"

    def described(record: str) -> tuple[set[str], set[str], set[tuple[str, str]]]:
        event = event_of(kb, record)
        roles = kb.select("SELECT ?e ?role ?who WHERE { ?e ?role ?who . ?role rdfs:subPropertyOf dip:participant }",
                          {"e": event})
        return ({c.value.rsplit("#", 1)[-1] for c in values(kb, event, RDF_TYPE)},
                {c.value.rsplit("/", 1)[-1] for c in values(kb, event, DIP + "eventCode")},
                {(r["role"].value.rsplit("#", 1)[-1], r["who"].value.removeprefix(actor)) for r in roles})

    # A clash has no direction in ACLED: both sides are agents. Taliban is the KB's own actor.
    assert described("acled-afg90001") == ({"ArmedConflict"}, {"190", "ASSAULT"}, {
        ("agent", "acled-military-forces-of-afghanistan-2004-2021"), ("agent", "taliban")})
    assert described("acled-afg90004") == ({"Assault"}, {"180", "ASSAULT"}, {
        ("agent", "taliban"), ("target", "acled-civilians-afghanistan")})
    # Associated actors take their actor's role.
    assert described("acled-afg90002")[2] == {("agent", "acled-protesters-afghanistan"),
                                              ("agent", "acled-women-afghanistan"),
                                              ("agent", "acled-labour-group-afghanistan")}


def test_state_forces_act_for_their_state_and_others_are_of_it(committed):
    _, kb, _ = committed
    links = kb.select("SELECT ?a ?p ?s WHERE { ?a ?p ?s VALUES ?p { dip:actsFor dip:ofState } }")
    found = {(r["a"].value.rsplit("/", 1)[-1], r["p"].value.rsplit("#", 1)[-1], r["s"].value.rsplit("/", 1)[-1])
             for r in links}
    assert {("acled-military-forces-of-afghanistan-2004-2021", "actsFor", "afghanistan"),
            ("acled-military-forces-of-russia-2000", "actsFor", "russia"),
            ("acled-civilians-afghanistan", "ofState", "afghanistan")} <= found


def test_the_place_is_as_precise_as_geo_precision_says(committed):
    _, kb, _ = committed

    def place(record: str) -> tuple[str, set[str]]:
        where = next(iter(values(kb, event_of(kb, record), DIP + "place")))
        label = next(iter(values(kb, where, "http://www.w3.org/2000/01/rdf-schema#label"))).value
        return label, {v.value for v in values(kb, where, "http://www.w3.org/2003/01/geo/wgs84_pos#lat")}

    assert place("acled-afg90001") == ("Kunduz, Kunduz, Afghanistan", {"36.7286"})
    assert place("acled-afg90004") == ("Faizabad district, Badakhshan, Afghanistan", set())  # near a town
    # Only the province is known: its region, not the KB's city of Kabul.
    assert place("acled-afg90003") == ("Kabul region, Afghanistan", set())


def test_the_type_table_says_what_the_ontology_gives(committed):
    _, kb, _ = committed
    codebook = CodeBook(kb)
    crosswalk = {r["c"].value: r["p"].value for r in kb.select(
        "SELECT ?c ?p WHERE { ?c skos:closeMatch ?p . ?p skos:inScheme <https://w3id.org/dipkb/plover/scheme> }")}
    mapped = [m for m in type_table().values() if m.cameo]
    assert len(mapped) == 21 and len(type_table()) == 25
    for m in mapped:
        match = codebook.match(Scheme.CAMEO, m.cameo)
        plover = crosswalk[match.concept.iri].rsplit("/", 1)[-1]
        assert (match.event_class, plover) == (DIP + m.dipkb_class, m.plover), m


def older_layout(path: Path) -> Path:
    """The fixture as exports before 2023 wrote it: capitals, data_id, event_id_no_cnty and iso3, no
    disorder_type, civilian_targeting or tags, and dates as 08 July 2021."""
    with FIXTURE.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    header, gone = rows[0], {"disorder_type", "civilian_targeting", "tags"}
    keep = [i for i, name in enumerate(header) if name not in gone]
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"]
    out = [["DATA_ID", "ISO3", "EVENT_ID_NO_CNTY"] + [header[i].upper() for i in keep]]
    for number, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            out.append(row)
            continue
        cells = [row[i] for i in keep]
        year, month, day = cells[1].split("-")
        cells[1] = f"{day} {months[int(month) - 1]} {year}"
        out.append([str(number), "AFG", row[0][3:]] + cells)
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(out)
    return path


def test_an_older_layout_gives_the_same_events(shipped_kb, tmp_path):
    kb = KnowledgeBase.open(shipped_kb)
    current = run_import(kb, FIXTURE)
    older = run_import(kb, older_layout(tmp_path / "acled-2019.csv"), ImportFormat.ACLED)
    events = re.compile(r"^event:\S+$", re.MULTILINE)
    assert set(events.findall(older.turtle)) == set(events.findall(current.turtle))
    assert older.report.as_json() == current.report.as_json()


def test_importing_again_adds_nothing(committed):
    _, kb, _ = committed
    again = run_import(kb, FIXTURE)
    assert (again.report.imported, again.report.merged, again.turtle) == (0, 8, "")


def test_a_date_filter_keeps_a_week_or_month_that_overlaps_it(shipped_kb):
    # 4 to 6 July: the week of 6 to 12 July and the two July events overlap; the week ending 3 July
    # and the days 8 to 11 July do not. Malformed rows are still rejected.
    options = ImportOptions(date_from="2021-07-04", date_to="2021-07-06")
    report = run_import(KnowledgeBase.open(shipped_kb), FIXTURE, options=options).report
    assert (report.imported, report.filtered, report.rejected) == (3, 7, 3)


def test_a_file_of_another_format_is_exit_2_naming_it(shipped_kb):
    gdelt = REPO / "tests" / "fixtures" / "gdelt2-20191024143000.export.tsv"
    result = CliRunner().invoke(cli, ["--kb", str(shipped_kb), "import", str(gdelt), "--format", "acled", "--dry-run"])
    assert result.exit_code == 2
    assert "is not an ACLED export (its header lacks event_id_cnty" in result.output
    assert "import it with --format gdelt" in result.output


def test_a_file_without_the_acled_columns_is_refused(shipped_kb, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("event_id_cnty,event_date,actor1\nAFG1,2021-07-08,Taliban\n", encoding="utf-8")
    with pytest.raises(ImportInputError, match="lacks time_precision, event_type, sub_event_type"):
        run_import(KnowledgeBase.open(shipped_kb), path, ImportFormat.ACLED)


def test_the_import_validates_and_the_timeline_shows_honest_dates(committed):
    _, _, root = committed
    runner = CliRunner()
    assert runner.invoke(cli, ["--kb", str(root), "validate"], catch_exceptions=False).exit_code == 0
    result = runner.invoke(cli, ["--kb", str(root), "timeline", "--from", "2021-06-27", "--to", "2021-07-31",
                                 "-f", "json"], catch_exceptions=False)
    dates = {e["label"]: e["date"] for e in json.loads(result.output)}
    assert dates["Demonstrate or rally: Protesters (Afghanistan), Women (Afghanistan), Labour Group (Afghanistan)"] \
        == "[2021-07-06..2021-07-12]"
    assert dates["Sign formal agreement: Taliban, Government of Afghanistan (2004-2021)"] == "2021-07"
    assert dates["Use unconventional violence: Taliban → Civilians (Afghanistan)"] == "2021-07-10"
    russia = runner.invoke(cli, ["--kb", str(root), "timeline", "--actor", "Russia", "-f", "json"],
                           catch_exceptions=False)
    assert "Mobilize or increase armed forces: Military Forces of Russia (2000-)" in {
        e["label"] for e in json.loads(russia.output)}


@pytest.mark.parametrize("cell", ["２０１９-10-24", "24 October ２０１９", "٢٤ October 2019"])
def test_a_day_written_in_digits_of_another_script_is_rejected(cell):
    # Python's \d and int() took them: "２０１９" became 2019 with nothing said.
    with pytest.raises(Rejection, match="is not YYYY-MM-DD or DD Month YYYY"):
        acled_day(cell)


@pytest.mark.parametrize("cell", ["３４.５", "34.５"])
def test_a_coordinate_in_digits_of_another_script_is_rejected(cell):
    with pytest.raises(Rejection, match="is not a number"):
        decimal(cell, "latitude", 90)


@pytest.mark.parametrize(("day", "year"), [("9999-12-30", "9999"), ("0001-01-01", "1")])
def test_a_week_past_the_calendar_is_a_rejected_row(day, year):
    # day ± 3 days raised OverflowError: a traceback, and the file not imported.
    row = {"event_date": day, "year": year, "time_precision": "2"}
    with pytest.raises(Rejection, match="its week runs past the years 1 to 9999"):
        acled_time(row)


def test_a_rejected_row_is_written_as_csv_that_reads_back_to_its_cells(shipped_kb, tmp_path):
    # Its cells joined with commas: notes holding a comma or a quote could not be read back.
    with open(FIXTURE, newline="", encoding="utf-8") as handle:
        header, row = list(csv.reader(handle))[:2]
    row[header.index("latitude")] = "95"
    row[header.index("notes")] = 'On 8 July, "talks" resumed,\nthen stopped.'
    path = tmp_path / "one.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, row, []])  # and a blank line, which is no row
    report = run_import(KnowledgeBase.open(shipped_kb), path, ImportFormat.ACLED).report
    assert (report.rows, report.rejected) == (1, 1)
    (rejected,) = report.rejected_rows
    assert rejected.reason == "invalid coordinates"
    assert next(csv.reader(io.StringIO(rejected.text))) == row


def test_coordinates_are_checked_when_the_place_is_known_already(shipped_kb, tmp_path):
    # The second row named the first row's place: its latitude of 95 was merged without a word.
    with open(FIXTURE, newline="", encoding="utf-8") as handle:
        header, row = list(csv.reader(handle))[:2]
    again = list(row)
    again[header.index("event_id_cnty")] = row[header.index("event_id_cnty")] + "9"
    again[header.index("latitude")] = "95"
    path = tmp_path / "two.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, row, again])
    report = run_import(KnowledgeBase.open(shipped_kb), path, ImportFormat.ACLED).report
    assert report.rows == 2 and [r.reason for r in report.rejected_rows] == ["invalid coordinates"]


def test_a_record_acled_revised_since_the_import_is_said_not_merged(kb_copy, tmp_path):
    # The revision (another day, a higher toll, a later timestamp) was counted "merged", and the KB
    # kept the old values without a word.
    with open(FIXTURE, newline="", encoding="utf-8") as handle:
        header, row = list(csv.reader(handle))[:2]
    revised = list(row)
    revised[header.index("event_date")], revised[header.index("fatalities")] = "2021-07-09", "15"
    revised[header.index("timestamp")] = str(int(row[header.index("timestamp")]) + 86_400)
    first, second = tmp_path / "v1.csv", tmp_path / "v2.csv"
    for path, data in ((first, row), (second, revised)):
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, data])
    layout = KBLayout.locate(kb_copy)
    commit_import(layout, run_import(KnowledgeBase.open(layout=layout), first, ImportFormat.ACLED))
    again = run_import(KnowledgeBase.open(layout=layout), first, ImportFormat.ACLED).report
    assert (again.merged, again.rejected) == (1, 0)
    report = run_import(KnowledgeBase.open(layout=layout), second, ImportFormat.ACLED).report
    assert (report.merged, report.rejected) == (0, 1)
    (rejected,) = report.rejected_rows
    assert rejected.reason == "revised record"
    assert rejected.detail.startswith(f"ACLED changed {row[0]} on 2021-07-")
