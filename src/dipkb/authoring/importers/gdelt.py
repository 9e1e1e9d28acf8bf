"""GDELT event exports: 2.0 (61 columns), 1.0 daily (58) and 1.0 back-file (57); tab-separated, no
header, plain or zipped. The version is read from the first row with one of those column counts;
every later row must have the same count."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dipkb.authoring.importers.filters import RowFilter
from dipkb.authoring.importers.reading import decode, member_name, numbered_lines, open_input, shown
from dipkb.model.namespaces import KB
from dipkb.model.records import (ActorSpec, CodedRow, PlaceKind, PlaceSpec, Rejection, RowResult, Scheme,
                                     SourceRecord, row_result)
from dipkb.model.temporal import XSD_DATE, XSD_DATETIME, DateValue

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
ACTOR1, ACTOR2, EVENT_CODE = 5, 15, 26
_GEO_KINDS = {"1": PlaceKind.COUNTRY, "2": PlaceKind.REGION, "3": PlaceKind.CITY, "4": PlaceKind.CITY,
              "5": PlaceKind.REGION}


def read(path: Path, row_filter: RowFilter) -> Iterator[RowResult]:
    source_name = member_name(path)
    layout: Layout | None = None
    with open_input(path) as stream:
        for line, raw in numbered_lines(stream):
            try:
                text = decode(raw)
                fields = text.split("\t")
                if layout is None and len(fields) in LAYOUTS:
                    layout = LAYOUTS[len(fields)]
                _check_columns(fields, layout)
            except Rejection as rejection:
                yield RowResult(line, shown(raw), rejection=rejection)
                continue
            yield row_result(line, text, _kept(fields, layout, row_filter),
                             lambda: _row(line, fields, layout, source_name))


def _check_columns(fields: list[str], layout: Layout | None) -> None:
    if fields == [""]:
        raise Rejection("empty row", "the line is blank")
    expected = layout.columns if layout else "57, 58 or 61"
    if layout is None or len(fields) != layout.columns:
        raise Rejection("wrong column count", f"{len(fields)} tab-separated columns, expected {expected}"
                        + (f" ({layout.name})" if layout else ""))


def _kept(fields: list[str], layout: Layout, row_filter: RowFilter) -> bool:
    if not row_filter.active:
        return True
    actors = (fields[ACTOR1], fields[ACTOR1 + 2], fields[ACTOR2], fields[ACTOR2 + 2])
    day = fields[1]
    iso = f"{day[:4]}-{day[4:6]}-{day[6:8]}" if len(day) == 8 and day.isdigit() else None
    return row_filter.keeps_actors(actors) and row_filter.keeps_date(iso) and row_filter.keeps_code(fields[EVENT_CODE])


def _day(text: str, what: str) -> date:
    if len(text) != 8 or not text.isdigit():
        raise Rejection("invalid date", f"{what} '{text}' is not YYYYMMDD")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise Rejection("invalid date", f"{what} '{text}' is no real day") from None


def _added(text: str) -> DateValue:
    """DATEADDED: a day in GDELT 1.0, an instant (UTC, to the second) in 2.0; kept at that precision."""
    if len(text) == 14 and text.isdigit():
        day = _day(text[:8], "DATEADDED")
        hour, minute, second = int(text[8:10]), int(text[10:12]), int(text[12:])
        if hour > 23 or minute > 59 or second > 59:
            raise Rejection("invalid date", f"DATEADDED '{text}' is no real time")
        return DateValue(f"{day.isoformat()}T{text[8:10]}:{text[10:12]}:{text[12:]}Z", XSD_DATETIME)
    return DateValue(_day(text, "DATEADDED").isoformat(), XSD_DATE)


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
    if not event_id.isdigit():
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
        issued=_added(fields[layout.date_added].strip()),
    )
    return CodedRow(
        line=line, record=record, scheme=Scheme.CAMEO, code=fields[EVENT_CODE].strip(),
        date=DateValue(day.isoformat(), XSD_DATE),
        sources=_actor(fields, ACTOR1), targets=_actor(fields, ACTOR2), place=_place(fields, layout),
    )
