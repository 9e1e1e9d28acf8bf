"""GDELT event exports: 2.0 (61 columns), 1.0 daily (58) and 1.0 back-file (57); tab-separated, plain
or compressed. The layout is decided row by row from its column count, because real collections
concatenate daily files with the back-file. GDELT writes no header, but tools that export it do: a
line starting GLOBALEVENTID is skipped and reported. A file in which no row has a GDELT column count
is not GDELT and is refused as a whole."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dipkb.authoring.importers.filters import RowFilter
from dipkb.authoring.importers.reading import (NotThisFormat, decimal, decode, member_name, numbered_lines,
                                               open_input, shown)
from dipkb.model.namespaces import KB
from dipkb.model.records import (ActorSpec, CodedRow, PlaceKind, PlaceSpec, Rejection, RowResult, Scheme, Signals,
                                 SourceRecord, row_result)
from dipkb.model.temporal import XSD_DATE, XSD_DATETIME, DateValue
from dipkb.util.numbers import ascii_digits, whole_number

SOURCE_NS = KB + "source/"


@dataclass(frozen=True)
class Layout:
    """Where the fields are in one GDELT version's rows (0-based)."""

    name: str
    key: str  # prefix of record IRIs: GDELT 1.0 and 2.0 number their events separately
    columns: int
    action_geo: int  # ActionGeo_Type; FullName, CountryCode, ADM1 follow
    has_adm2: bool
    date_added: int
    url: int | None

    @property
    def lat(self) -> int:
        return self.action_geo + (5 if self.has_adm2 else 4)


LAYOUTS = {
    61: Layout("GDELT 2.0 events", "gdelt2", 61, 51, True, 59, 60),
    58: Layout("GDELT 1.0 daily events", "gdelt1", 58, 49, False, 56, 57),
    57: Layout("GDELT 1.0 back-file events", "gdelt1", 57, 49, False, 56, None),
}
HEADER = "GLOBALEVENTID"  # the first column's name, as GDELT's documentation spells it
ACTOR1, ACTOR2, EVENT_CODE = 5, 15, 26
# The coded signals: at the same place in every layout.
IS_ROOT, QUAD_CLASS, GOLDSTEIN, NUM_MENTIONS, NUM_SOURCES, NUM_ARTICLES, AVG_TONE = 25, 29, 30, 31, 32, 33, 34
_GEO_KINDS = {"1": PlaceKind.COUNTRY, "2": PlaceKind.REGION, "3": PlaceKind.CITY, "4": PlaceKind.CITY,
              "5": PlaceKind.REGION}


def read(path: Path, row_filter: RowFilter) -> Iterator[RowResult]:
    source_name = member_name(path)
    fitting = blank = line = 0  # lines with a GDELT column count (header or not), blank lines, all lines
    with open_input(path) as stream:
        for line, raw in numbered_lines(stream):
            width = raw.count(b"\t") + 1
            layout = LAYOUTS.get(width)
            fitting += layout is not None
            try:
                text = decode(raw)
                if layout is None:
                    if not raw:
                        blank += 1
                        raise Rejection("empty row", "the line is blank")
                    raise Rejection("wrong column count", f"{width} tab-separated columns, expected 57, 58 or 61")
            except Rejection as rejection:
                yield RowResult(line, shown(raw), rejection=rejection)
                continue
            fields = text.split("\t")
            if fields[0].strip().upper() == HEADER:
                yield RowResult(line, text, header=True)
                continue
            yield row_result(line, text, _kept(fields, row_filter), lambda: _row(line, fields, layout, source_name))
    if not fitting and line > blank:  # an empty file is reported as one, by the caller
        raise NotThisFormat(path, "a GDELT event export", "no row has the 57, 58 or 61 tab-separated columns of one")


def _kept(fields: list[str], row_filter: RowFilter) -> bool:
    if not row_filter.active:
        return True
    if row_filter.on_attention and not row_filter.keeps_attention(fields[NUM_MENTIONS].strip(), fields[IS_ROOT].strip()):
        return False
    actors = (fields[ACTOR1], fields[ACTOR1 + 2], fields[ACTOR2], fields[ACTOR2 + 2])
    day = fields[1]
    iso = f"{day[:4]}-{day[4:6]}-{day[6:8]}" if len(day) == 8 and ascii_digits(day) else None
    return row_filter.keeps_actors(actors) and row_filter.keeps_date(iso) and row_filter.keeps_code(fields[EVENT_CODE])


def _day(text: str, what: str) -> date:
    if len(text) != 8 or not ascii_digits(text):
        raise Rejection("invalid date", f"{what} '{text}' is not YYYYMMDD")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise Rejection("invalid date", f"{what} '{text}' is no real day") from None


def instant(text: str, what: str) -> DateValue:
    """A GDELT timestamp, YYYYMMDDHHMMSS in UTC, as an xsd:dateTime."""
    if len(text) != 14 or not ascii_digits(text):
        raise Rejection("invalid date", f"{what} '{text}' is not YYYYMMDDHHMMSS")
    day = _day(text[:8], what)
    if int(text[8:10]) > 23 or int(text[10:12]) > 59 or int(text[12:]) > 59:
        raise Rejection("invalid date", f"{what} '{text}' is no real time")
    return DateValue(f"{day.isoformat()}T{text[8:10]}:{text[10:12]}:{text[12:]}Z", XSD_DATETIME)


def _added(text: str) -> DateValue:
    """DATEADDED, when GDELT made the record: a day in GDELT 1.0, an instant in 2.0, kept at that precision."""
    if len(text) == 14:
        return instant(text, "DATEADDED")
    return DateValue(_day(text, "DATEADDED").isoformat(), XSD_DATE)


def _count(text: str, what: str) -> int | None:
    if not text:
        return None
    count = whole_number(text)
    if count is None:
        raise Rejection("malformed signal", f"{what} '{text}' is not a count")
    return count


def _signals(fields: list[str]) -> Signals:
    quad, root = fields[QUAD_CLASS].strip(), fields[IS_ROOT].strip()
    if quad not in ("", "1", "2", "3", "4"):
        raise Rejection("malformed signal", f"QuadClass '{quad}' is not 1, 2, 3 or 4")
    if root not in ("", "0", "1"):
        raise Rejection("malformed signal", f"IsRootEvent '{root}' is not 0 or 1")
    return Signals(goldstein=decimal(fields[GOLDSTEIN].strip(), "GoldsteinScale", 10),
                   quad_class=int(quad) if quad else None,
                   num_mentions=_count(fields[NUM_MENTIONS].strip(), "NumMentions"),
                   num_sources=_count(fields[NUM_SOURCES].strip(), "NumSources"),
                   num_articles=_count(fields[NUM_ARTICLES].strip(), "NumArticles"),
                   avg_tone=decimal(fields[AVG_TONE].strip(), "AvgTone", 100),
                   root_event=(root == "1") if root else None)


def _actor(fields: list[str], start: int) -> tuple[ActorSpec, ...]:
    code = fields[start].strip()
    if not code:
        return ()
    sectors = tuple(t for t in (fields[start + 7], fields[start + 8], fields[start + 9]) if t)
    return (ActorSpec(name=fields[start + 1].strip() or None, code=code,
                      country=fields[start + 2].strip() or None, sectors=sectors),)


def _place(fields: list[str], layout: Layout) -> PlaceSpec | None:
    at = layout.action_geo
    kind = _GEO_KINDS.get(fields[at].strip())
    full_name = fields[at + 1].strip()
    if kind is None or not full_name:
        return None
    country_name = full_name.rsplit(",", 1)[-1].strip()
    return PlaceSpec(kind=kind, name=full_name, country_name=country_name, fips=fields[at + 2].strip() or None,
                     lat=fields[layout.lat].strip() or None, long=fields[layout.lat + 1].strip() or None)


def _row(line: int, fields: list[str], layout: Layout, source_name: str) -> CodedRow:
    event_id = fields[0].strip()
    if whole_number(event_id) is None:
        raise Rejection("malformed record id", f"GLOBALEVENTID '{event_id}' is not a number")
    day = _day(fields[1].strip(), "SQLDATE")
    url = fields[layout.url].strip() if layout.url is not None else ""
    record = SourceRecord(
        iri=f"{SOURCE_NS}{layout.key}-{event_id}",
        label=f"{layout.name.replace(' events', '')} event {event_id}",
        dataset=f"{layout.name} ({source_name})",
        record_id=event_id,
        coder=layout.name.replace(" events", ""),
        url=url or None,
        created=_added(fields[layout.date_added].strip()),
        signals=_signals(fields),
    )
    return CodedRow(
        line=line, record=record, scheme=Scheme.CAMEO, code=fields[EVENT_CODE].strip(),
        date=DateValue(day.isoformat(), XSD_DATE),
        sources=_actor(fields, ACTOR1), targets=_actor(fields, ACTOR2), place=_place(fields, layout),
    )
