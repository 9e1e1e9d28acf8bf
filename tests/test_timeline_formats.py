"""`dipkb timeline -f timelinejs` and `-f geojson`, checked against the formats' own documents and
against what the Turtle files say, read here with pyoxigraph directly rather than through dipkb.

TimelineJS3: https://timeline.knightlab.com/docs/json-format.html (the tables of the JSON object, slide,
date and text objects), and what its TimelineConfig does with a slide (unique ids are slugified;
display_date and group are stripped of markup; headline and text are sanitised HTML).
GeoJSON: RFC 7946 (sections 3.1.2 Point, 3.2 Feature, 3.3 FeatureCollection, 4 [longitude, latitude]).
"""
from __future__ import annotations

import calendar
import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TURTLE_PREFIXES
from pyoxigraph import NamedNode, RdfFormat, parse

from dipkb.cli import cli
from dipkb.model.temporal import EventTime, parse_partial_date
from dipkb.views.timelinejs import slide_dates

DIP = "https://w3id.org/dipkb/ontology#"
GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"
XSD = "http://www.w3.org/2001/XMLSchema#"

# From the documentation's tables: the names each object may have, and which are required.
TIMELINE_KEYS = {"events", "title", "eras", "scale"}
SLIDE_KEYS = {"start_date", "end_date", "text", "media", "group", "display_date", "background", "autolink",
              "unique_id"}
DATE_KEYS = {"year", "month", "day", "hour", "minute", "second", "millisecond", "display_date"}
TEXT_KEYS = {"headline", "text"}


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def timelinejs(*args: str) -> dict:
    return json.loads(run("timeline", *args, "-f", "timelinejs").stdout)


def turtle(root: Path, name: str) -> list:
    return list(parse(path=str(root / "kb" / name), format=RdfFormat.TURTLE))


def check_date_object(date: dict) -> None:
    assert set(date) <= DATE_KEYS and "year" in date
    for part in set(date) - {"display_date"}:
        assert type(date[part]) is int, f"{part} is 'a number' in the documentation: {date}"
    if "month" in date:
        assert 1 <= date["month"] <= 12
    if "day" in date:
        assert "month" in date and 1 <= date["day"] <= calendar.monthrange(date["year"], date["month"])[1]
    if "hour" in date:
        assert 0 <= date["hour"] <= 23 and 0 <= date["minute"] <= 59 and 0 <= date["second"] <= 59


def check_timelinejs(document: dict) -> None:
    """The documented shape: every required field there, every field known, every value its type."""
    assert set(document) <= TIMELINE_KEYS and isinstance(document["events"], list)
    title = document["title"]
    assert "start_date" not in title and set(title["text"]) <= TEXT_KEYS
    ids = []
    for slide in document["events"]:
        assert set(slide) <= SLIDE_KEYS
        check_date_object(slide["start_date"])
        if "end_date" in slide:
            check_date_object(slide["end_date"])
            assert slide["end_date"] != slide["start_date"]  # TimelineJS would drop it as redundant
        assert set(slide["text"]) <= TEXT_KEYS and all(isinstance(v, str) for v in slide["text"].values())
        for plain in ("display_date", "group"):  # TimelineJS strips markup from these
            if plain in slide:
                assert isinstance(slide[plain], str) and slide[plain].strip() and "<" not in slide[plain]
        # TimelineJS slugifies ids (lower case, a-z 0-9 and '-', no leading digit): ours survive it.
        assert re.fullmatch(r"[a-z][a-z0-9-]*", slide["unique_id"])
        ids.append(slide["unique_id"])
    assert len(ids) == len(set(ids))


def test_the_whole_timeline_has_the_documented_shape_one_slide_per_dated_event():
    document = timelinejs()
    check_timelinejs(document)
    entries = json.loads(run("timeline", "-f", "json").stdout)
    assert len(document["events"]) == len(entries)  # every bundled event has a date
    assert [s["text"]["headline"] for s in document["events"]] == [e["label"] for e in entries]
    assert {s["group"] for s in document["events"]} >= {"Meeting", "Visit", "Statement", "Claim"}


def test_a_slide_has_only_the_date_parts_its_events_date_has(shipped_kb):
    """Against the Turtle: an event's dip:date as xsd:gYear gives a year, gYearMonth a year and month,
    xsd:date a day too; never a part the source does not give."""
    parts = {XSD + "gYear": {"year"}, XSD + "gYearMonth": {"year", "month"}, XSD + "date": {"year", "month", "day"}}
    dated = {t.subject.value.rsplit("/", 1)[-1]: t.object for name in ("events-2021.ttl", "history.ttl")
             for t in turtle(shipped_kb, name) if t.predicate == NamedNode(DIP + "date")}
    slides = {s["unique_id"].removeprefix("event-"): s for s in timelinejs()["events"]}
    assert len(dated) > 10
    for local, value in dated.items():
        slide = slides[local]
        assert set(slide["start_date"]) == parts[value.datatype.value], local
        assert [int(p) for p in value.value.split("-")] == [slide["start_date"][k] for k in ("year", "month", "day")
                                                             if k in slide["start_date"]]
        assert "end_date" not in slide and "display_date" not in slide


@pytest.mark.parametrize(("event", "start", "end", "display"), [
    # A month: July 2021, no day, TimelineJS words it itself.
    ("kabulov-taliban-meeting-2021-07", {"year": 2021, "month": 7}, None, None),
    # dip:latestDate 2021-07 only, "[..2021-07]": filed in July 2021, and said to be no later.
    ("russia-concern-central-asia-2021", {"year": 2021, "month": 7}, None, "no later than July 2021"),
    ("taliban-take-kabul-1996", {"year": 1996}, None, "no later than 1996"),
    # dip:earliestDate 2021-07 only, "[2021-07..]".
    ("russia-base-activation-tajikistan-2021-07", {"year": 2021, "month": 7}, None, "no earlier than July 2021"),
    # Both bounds, years: "[1996..1999]".
    ("india-supports-anti-taliban-forces", {"year": 1996}, None, "between 1996 and 1999"),
    # An interval of months, 2021-05/2021-07.
    ("taliban-seize-districts-2021", {"year": 2021, "month": 5}, {"year": 2021, "month": 7}, None),
    # Both bounds, of different precisions: "[2021-07..2021-09-11]", a deadline.
    ("us-drawdown-completion-deadline-2021-09-11", {"year": 2021, "month": 7}, None,
     "between July 2021 and 11 September 2021"),
])
def test_precision_intervals_and_bounds(event, start, end, display):
    slide = next(s for s in timelinejs()["events"] if s["unique_id"] == f"event-{event}")
    assert slide["start_date"] == start
    assert slide.get("end_date") == end
    assert slide.get("display_date") == display


@pytest.mark.parametrize(("fields", "start", "end", "display"), [
    ({"earliest": "2020", "latest": "2021-07"}, "2020", None, "between 2020 and July 2021"),
    ({"start": "2021-05-03"}, "2021-05-03", None, "from 3 May 2021, end unknown"),
    ({"end": "2021-07"}, "2021-07", None, "until July 2021, start unknown"),
    ({"start": "2021-05", "end": "2021-07-09"}, "2021-05", "2021-07-09", None),
    ({"earliest": "2019", "end": "2021"}, "2019", "2021", "from no earlier than 2019 to 2021"),
    ({"latest": "2021-07", "end": "2021-09-11"}, "2021-07", "2021-09-11", "from no later than July 2021 to 11 September 2021"),
    ({}, None, None, None),
])
def test_the_dates_of_the_time_shapes_the_bundled_kb_lacks(fields, start, end, display):
    dates = slide_dates(EventTime(**{name: parse_partial_date(text) for name, text in fields.items()}))
    if start is None:
        assert dates is None  # undated: no slide
        return
    assert (dates.start.text, dates.end.text if dates.end else None, dates.display) == (start, end, display)


def test_text_holds_participants_quotes_and_sources_and_the_filter_applies():
    document = timelinejs("--actor", "Shaheen")
    check_timelinejs(document)
    slide = next(s for s in document["events"] if s["unique_id"] == "event-shaheen-good-relations-2021-07")
    text = slide["text"]["text"]
    assert text.startswith("<p><strong>occurred</strong> · Statement</p>")
    assert "Mohammad Sohail Shaheen (speaker)" in text
    assert "<blockquote>“We have very good relations with Russia”</blockquote>" in text
    assert "Sources: Alarmed by India’s lead" in text and "Tass report quoting Taliban spokesman" in text
    assert slide["group"] == "Statement"
    assert document["title"]["text"]["text"] == f"<p>{len(document['events'])} events, from dipkb.</p>"
    assert len(document["events"]) < len(timelinejs()["events"])


def test_a_movement_shows_whence_and_whither_it_went_in_every_format():
    """A troop movement has no dip:place: its origin and destination are where it happened."""
    flight, drawdown = "event:afghan-troops-flee-to-tajikistan-2021-07", "event:us-drawdown-afghanistan-2021"
    entries = {e["id"]: e for e in json.loads(run("timeline", "-f", "json").stdout)}
    assert entries[flight]["place"] is None
    assert entries[flight]["origin"] == {"id": "place:afghanistan", "label": "Afghanistan"}
    assert entries[flight]["destination"] == {"id": "place:tajikistan", "label": "Tajikistan"}
    assert entries[drawdown]["destination"] is None
    rows = {row["label"]: row for row in csv.DictReader(io.StringIO(run("timeline", "-f", "csv").stdout))}
    assert rows[entries[flight]["label"]]["place"] == "from Afghanistan to Tajikistan"
    assert rows[entries[drawdown]["label"]]["place"] == "from Afghanistan"
    slide = next(s for s in timelinejs()["events"] if s["unique_id"] == "event-afghan-troops-flee-to-tajikistan-2021-07")
    assert "· from Afghanistan to Tajikistan</p>" in slide["text"]["text"]


@pytest.mark.parametrize("place, origin, destination, where", [
    ("Moscow", None, None, "Moscow"), (None, "Kabul", "Dushanbe", "from Kabul to Dushanbe"), (None, None, "Dushanbe", "to Dushanbe"),
    # A place and a movement's ends: none hidden (the origin made --place find an event that never named it).
    ("Moscow", "Kabul", "Dushanbe", "Moscow (from Kabul to Dushanbe)"), (None, None, None, "")])
def test_where_an_event_happened_names_every_place_it_has(place, origin, destination, where):
    from dipkb.views.timeline import Ref, TimelineEntry

    def ref(label):
        return Ref(f"place:{label.lower()}", label) if label else None
    entry = TimelineEntry("event:e", "dip:Event", "E", "2021", "occurred", (), ref(place), (),
                          origin=ref(origin), destination=ref(destination))
    assert entry.where == where


HOSTILE = """
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix event: <https://w3id.org/dipkb/kb/event/> .
@prefix actor: <https://w3id.org/dipkb/kb/actor/> .
@prefix source: <https://w3id.org/dipkb/kb/source/> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

event:hostile-statement-2021-07-09 a dip:Statement ;
    rdfs:label "Lavrov says <script>alert(1)</script> & more"@en ;
    dip:speaker actor:russia ;
    dip:quote "<img src=x onerror=alert(1)>"@en ;
    dip:date "2021-07-09T10:30:00Z"^^xsd:dateTime ;
    dip:modality dip:Claimed ;
    dip:source source:web-report, source:sneaky-report .

event:undated-rumour a dip:Statement ;
    rdfs:label "An undated rumour"@en ;
    dip:speaker actor:russia ;
    dip:content "Nobody knows when."@en ;
    dip:source source:web-report .

source:web-report a dip:NewsArticle ; dct:title "A report on the web"@en ;
    dip:url "https://example.org/report?a=1&b=2"^^xsd:anyURI .
source:sneaky-report a dip:NewsArticle ; dct:title "A sneaky report"@en ;
    dip:url "javascript:alert(1)"^^xsd:anyURI .
"""


def test_timelinejs_places_instants_of_several_zones_in_the_order_they_happened(kb_copy):
    """The zone was dropped: 08:00+05:00 (03:00Z), 05:00Z and 01:00-08:00 (09:00Z) came in reverse order,
    and an interval from 01:00+05:00 on the 1st to 23:00Z on the 31st ended before it began."""
    times = {"a": 'dip:date "2021-07-16T08:00:00+05:00"^^xsd:dateTime',
             "b": 'dip:date "2021-07-16T05:00:00.5Z"^^xsd:dateTime',
             "c": 'dip:date "2021-07-16T01:00:00-08:00"^^xsd:dateTime',
             "d": 'dip:startDate "2021-06-01T01:00:00+05:00"^^xsd:dateTime ; '
                  'dip:endDate "2021-05-31T23:00:00Z"^^xsd:dateTime'}
    (kb_copy / "kb" / "zones.ttl").write_text(
        TURTLE_PREFIXES + "".join(
            f'event:zone-{name} a dip:Meeting ; rdfs:label "Zone {name}"@en ; dip:host actor:russia ; '
            f"dip:visitor actor:india ; {time} ; dip:modality dip:Occurred ; dip:source source:founding-article .\n"
            for name, time in times.items()), encoding="utf-8")
    document = json.loads(run("--kb", str(kb_copy), "timeline", "--actor", "actor:india", "--from", "2021-05",
                              "--to", "2021-07", "-f", "timelinejs").stdout)
    check_timelinejs(document)
    slides = {s["unique_id"].removeprefix("event-zone-"): s for s in document["events"] if "zone" in s["unique_id"]}
    instant = [tuple(slides[n]["start_date"].get(k, 0) for k in ("day", "hour", "minute", "second", "millisecond"))
               for n in "abc"]
    assert instant == [(16, 3, 0, 0, 0), (16, 5, 0, 0, 500), (16, 9, 0, 0, 0)]  # in UTC
    assert slides["a"]["display_date"] == "2021-07-16T08:00:00+05:00"
    interval = slides["d"]
    assert (interval["start_date"]["day"], interval["start_date"]["hour"]) == (31, 20)
    assert (interval["end_date"]["day"], interval["end_date"]["hour"]) == (31, 23)


def test_html_is_escaped_links_are_web_links_an_instant_has_its_time_undated_events_are_counted(kb_copy):
    (kb_copy / "kb" / "hostile.ttl").write_text(
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n" + HOSTILE, encoding="utf-8")
    result = run("--kb", str(kb_copy), "timeline", "--actor", "actor:russia", "--from", "2021-07-09",
                 "--to", "2021-07-09", "-f", "timelinejs")
    document = json.loads(result.stdout)
    check_timelinejs(document)
    slide = next(s for s in document["events"] if s["unique_id"] == "event-hostile-statement-2021-07-09")
    assert slide["start_date"] == {"year": 2021, "month": 7, "day": 9, "hour": 10, "minute": 30, "second": 0}
    assert slide["text"]["headline"] == "Lavrov says &lt;script&gt;alert(1)&lt;/script&gt; &amp; more"
    text = slide["text"]["text"]
    assert text.startswith("<p><strong>claimed</strong> · Statement</p>")
    assert "<blockquote>“&lt;img src=x onerror=alert(1)&gt;”</blockquote>" in text
    assert '<a href="https://example.org/report?a=1&amp;b=2">A report on the web</a>' in text
    assert "javascript:" not in text and "A sneaky report" in text
    assert "<script" not in json.dumps(document) and "<img" not in json.dumps(document)

    everything = run("--kb", str(kb_copy), "timeline", "--actor", "actor:russia", "-f", "timelinejs")
    assert "Note: 1 undated event left out: a TimelineJS slide needs a start date." in everything.stderr
    assert "event-undated-rumour" not in {s["unique_id"] for s in json.loads(everything.stdout)["events"]}
    assert "undated" not in result.stderr


def coordinates_in_turtle(root: Path) -> dict[str, tuple[float, float]]:
    """(latitude, longitude) of each place, as kb/places.ttl writes them."""
    found: dict[str, dict[str, float]] = {}
    for triple in turtle(root, "places.ttl"):
        if triple.predicate.value in (GEO + "lat", GEO + "long"):
            found.setdefault(triple.subject.value, {})[triple.predicate.value[len(GEO):]] = float(triple.object.value)
    return {place: (values["lat"], values["long"]) for place, values in found.items()}


def test_geojson_is_a_feature_collection_of_the_events_at_places_with_coordinates(shipped_kb):
    result = run("timeline", "-f", "geojson")
    collection = json.loads(result.stdout)
    entries = json.loads(run("timeline", "-f", "json").stdout)
    points = coordinates_in_turtle(shipped_kb)
    prefix = "https://w3id.org/dipkb/kb/place/"
    placed = [e for e in entries if e["place"] and prefix + e["place"]["id"].removeprefix("place:") in points]
    assert set(collection) == {"type", "features"} and collection["type"] == "FeatureCollection"
    assert [f["id"] for f in collection["features"]] == [e["id"] for e in placed] and placed
    by_id = {e["id"]: e for e in entries}
    for feature in collection["features"]:
        assert set(feature) == {"type", "id", "geometry", "properties"} and feature["type"] == "Feature"
        geometry = feature["geometry"]
        assert geometry["type"] == "Point" and len(geometry["coordinates"]) == 2
        longitude, latitude = geometry["coordinates"]
        place = prefix + feature["properties"]["place"]["id"].removeprefix("place:")
        assert (latitude, longitude) == points[place]  # RFC 7946: longitude first
        assert -180 <= longitude <= 180 and -90 <= latitude <= 90
        entry = by_id[feature["id"]]
        assert feature["properties"] == {k: entry[k] for k in ("id", "label", "date", "type", "modality", "place",
                                                               "sources")}
    left_out = len(entries) - len(placed)
    assert f"Note: {left_out} of {len(entries)} events left out: they have no place with coordinates" in result.stderr


def test_moscow_is_at_longitude_37_latitude_55(tmp_path):
    run("timeline", "--place", "Moscow", "-o", str(tmp_path / "moscow.geojson"))  # the extension picks GeoJSON
    collection = json.loads((tmp_path / "moscow.geojson").read_text(encoding="utf-8"))
    assert collection["features"]
    for feature in collection["features"]:
        assert feature["geometry"]["coordinates"] == [37.6173, 55.7558]
        assert feature["properties"]["place"] == {"id": "place:moscow", "label": "Moscow"}
    meeting = next(f for f in collection["features"] if f["id"] == "event:kabulov-taliban-meeting-2021-07")
    assert meeting["properties"]["sources"][0]["id"] == "source:founding-article"
    assert meeting["properties"]["date"] == "2021-07" and meeting["properties"]["modality"] == "occurred"


UNMAPPABLE = """
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix geo: <http://www.w3.org/2003/01/geo/wgs84_pos#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix place: <https://w3id.org/dipkb/kb/place/> .
@prefix event: <https://w3id.org/dipkb/kb/event/> .
place:not-a-number a dip:Place ; rdfs:label "Not a number"@en ; geo:lat "NaN" ; geo:long "1e400" .
place:off-the-map a dip:Place ; rdfs:label "Off the map"@en ; geo:lat 91.5 ; geo:long 200.5 .
place:on-the-edge a dip:Place ; rdfs:label "On the edge"@en ; geo:lat -90.0 ; geo:long 180.0 .
""" + "".join(f"""event:at-{place} a dip:Meeting ; rdfs:label "At {place}"@en ; dip:date "2021-07-10"^^xsd:date ;
    dip:host <https://w3id.org/dipkb/kb/actor/russia> ; dip:place place:{place} .
""" for place in ("not-a-number", "off-the-map", "on-the-edge"))


def test_a_place_a_map_cannot_use_is_left_out_of_geojson_and_said_once_by_validate(kb_copy):
    """Infinity, NaN and points off the globe are no GeoJSON position (RFC 7946 section 3.1.1, and
    RFC 8259 has no NaN): such an event is left out with the unplaced ones. Each value breaks three
    constraints of one shape, and validate says so once."""
    (kb_copy / "kb" / "unmappable.ttl").write_text(UNMAPPABLE, encoding="utf-8")
    result = run("--kb", str(kb_copy), "timeline", "--from", "2021-07-10", "--to", "2021-07-10", "-f", "geojson")
    collection = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in GeoJSON"))
    ids = [f["id"] for f in collection["features"]]
    assert "event:at-on-the-edge" in ids and not {"event:at-not-a-number", "event:at-off-the-map"} & set(ids)
    edge = next(f for f in collection["features"] if f["id"] == "event:at-on-the-edge")
    assert edge["geometry"]["coordinates"] == [180.0, -90.0]
    everything = len(json.loads(run("--kb", str(kb_copy), "timeline", "--from", "2021-07-10", "--to", "2021-07-10",
                                    "-f", "json").stdout))
    assert f"Note: {everything - len(ids)} of {everything} events left out" in result.stderr

    checked = CliRunner().invoke(cli, ["--kb", str(kb_copy), "validate"])
    report = json.loads(CliRunner().invoke(cli, ["--kb", str(kb_copy), "validate", "-f", "json"]).stdout)
    about = [line for line in checked.stdout.splitlines() if "geo:" in line]
    assert [line.split(": ", 1)[1].split(": A ")[0] for line in about] == [
        'Violation: place:not-a-number ("Not a number") geo:lat "NaN"',
        'Violation: place:not-a-number ("Not a number") geo:long "1e400"',
        'Violation: place:off-the-map ("Off the map") geo:lat "91.5"^^xsd:decimal',
        'Violation: place:off-the-map ("Off the map") geo:long "200.5"^^xsd:decimal']
    results = [f for f in report["findings"] if f["path"] and f["path"].startswith(GEO)]
    assert len(results) == 8  # the JSON keeps every SHACL result: datatype, minimum and maximum for each string
    violations = sum(1 for line in checked.stdout.splitlines() if ": Violation: " in line)
    assert checked.stdout.splitlines()[-1].startswith(f"{violations} violations, ") and violations < report["violations"]


def test_a_literal_or_blank_node_where_an_actor_or_place_goes_still_makes_the_html_file(kb_copy, tmp_path):
    """`dip:host "Zamir Kabulov"`, a slip validate reports, ended the file's filter keys in a traceback."""
    (kb_copy / "kb" / "slip.ttl").write_text(
        "<https://w3id.org/dipkb/kb/event/kabulov-taliban-meeting-2021-07> <https://w3id.org/dipkb/ontology#host> "
        '"Zamir Kabulov" ; <https://w3id.org/dipkb/ontology#place> [] .\n', encoding="utf-8")
    run("--kb", str(kb_copy), "timeline", "--actor", "Kabulov", "-o", str(tmp_path / "kabulov.html"))
    page = (tmp_path / "kabulov.html").read_text(encoding="utf-8")
    assert "event:kabulov-taliban-meeting-2021-07" in page and "Zamir Kabulov meets the Taliban delegation" in page


def test_a_table_cuts_a_cell_wider_than_any_sentence_and_csv_keeps_it_whole(kb_copy):
    # A label of 50,000 characters padded every line of the table to its length.
    label = "Talks " * 10_000
    (kb_copy / "kb" / "long.ttl").write_text(f"""
@prefix dip: <https://w3id.org/dipkb/ontology#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix actor: <https://w3id.org/dipkb/kb/actor/> .
@prefix source: <https://w3id.org/dipkb/kb/source/> .
<https://w3id.org/dipkb/kb/event/long-talks> a dip:Meeting ; rdfs:label "{label.strip()}"@en ;
    dip:host actor:russia ; dip:date "2021-07-09"^^xsd:date ; dip:source source:founding-article .
""", encoding="utf-8")
    table = run("--kb", str(kb_copy), "timeline", "--actor", "Russia").stdout.splitlines()
    assert max(len(line) for line in table) < 1000
    cut = next(line for line in table if "Talks Talks" in line)
    assert f"{'Talks ' * 33}T…  Russia (host)" in cut  # 199 columns and the marker, then the next column
    assert len([line for line in table if line.startswith("2021-07")]) > 5  # the other events too
    csv_text = run("--kb", str(kb_copy), "timeline", "--actor", "Russia", "-f", "csv").stdout
    assert label.strip() in csv_text


def test_tsv_escapes_tabs_and_line_breaks_so_each_event_is_one_line_of_seven_fields(tmp_path):
    """`timeline -f tsv` quoted a cell as Excel does, with the raw tab and line breaks inside it: the
    row split for `cut` and every reader of text/tab-separated-values. `query -f tsv` escaped already."""
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "odd.ttl").write_text(TURTLE_PREFIXES + """
event:odd a dip:Meeting ; rdfs:label "TAB\\there\\nNEW LINE\\r\\nCRLF \\\\ and a backslash"@en ;
    dip:host actor:a ; dip:visitor actor:b ; dip:date "2021-07-29"^^xsd:date .
actor:a a dip:State ; rdfs:label "A\\tland"@en .
actor:b a dip:State ; rdfs:label "B"@en .
""", encoding="utf-8")
    lines = run("--kb", str(tmp_path), "timeline", "-f", "tsv").stdout.split("\n")
    assert lines[0].split("\t") == ["date", "type", "modality", "label", "participants", "place", "sources"]
    assert lines[1].split("\t") == ["2021-07-29", "Meeting", "occurred",
                                    "TAB\\there\\nNEW LINE\\r\\nCRLF \\\\ and a backslash", "A\\tland (host); B (visitor)",
                                    "", ""]
    assert lines[2:] == [""]
