"""ICEWS coded event files: tab-separated with a header row; missing values are written NA.

Known quirks, and what is done about them: an Event ID is not unique on its own (the same ID appears
with different dates), so a record's IRI is made of ID and date; a reciprocal meeting is two rows
(A->B and B->A), which de-duplication merges into one event; invalid CAMEO codes are rejected; yearly
files concatenated repeat the header, which is skipped and reported. The Intensity (-10..10) and the
Publisher of the story are kept on the record."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from dipkb.authoring.importers.filters import RowFilter
from dipkb.authoring.importers.reading import (NotThisFormat, decimal, decode, member_name, numbered_lines,
                                               open_input, shown)
from dipkb.authoring.reconcile import slug
from dipkb.errors import ImportInputError
from dipkb.model.namespaces import KB
from dipkb.model.records import (ActorSpec, CodedRow, PlaceKind, PlaceSpec, Rejection, RowResult, Scheme, Signals,
                                 SourceRecord, row_result)
from dipkb.model.temporal import XSD_DATE, DateValue
from dipkb.util.numbers import ascii_digits, whole_number
from dipkb.util.paths import display_path

SOURCE_NS = KB + "source/"
REQUIRED = ("Event ID", "Event Date", "Source Name", "CAMEO Code", "Target Name")
# Every column read, by its name in any case: a header lowercased by a spreadsheet or a script was
# refused as lacking 'Event ID' while it had 'event id'.
_COLUMNS = {name.casefold(): name for name in (
    *REQUIRED, "City", "Country", "Intensity", "Latitude", "Longitude", "Province", "Publisher", "Sentence Number",
    "Story ID", *(f"{side} {part}" for side in ("Source", "Target") for part in ("Country", "Sectors")))}
DATASET = "ICEWS coded event data"


def _value(row: dict[str, str], column: str) -> str | None:
    value = row.get(column, "").strip()
    return None if value in ("", "NA") else value


def read(path: Path, row_filter: RowFilter) -> Iterator[RowResult]:
    source_name = member_name(path)
    with open_input(path) as stream:
        lines = numbered_lines(stream)
        header = _header(path, next(lines, None))
        for line, raw in lines:
            try:
                text = decode(raw)
                values = text.split("\t")
                if values[0].strip().casefold() == header[0].casefold() and _named(values) == header:
                    yield RowResult(line, text, header=True)
                    continue
                if values == [""]:
                    raise Rejection("empty row", "the line is blank")
                if len(values) != len(header):
                    raise Rejection("wrong column count",
                                    f"{len(values)} tab-separated columns, the header has {len(header)}")
            except Rejection as rejection:
                yield RowResult(line, shown(raw), rejection=rejection)
                continue
            row = dict(zip(header, values))
            yield row_result(line, text, _kept(row, row_filter), lambda: _row(line, row, source_name))


def _named(cells: list[str]) -> list[str]:
    return [_COLUMNS.get(cell.strip().casefold(), cell.strip()) for cell in cells]


def _header(path: Path, first: tuple[int, bytes] | None) -> list[str]:
    if first is None:
        raise ImportInputError(f"{display_path(path)} is empty: an ICEWS file starts with a header row.")
    try:
        header = _named(first[1].decode("utf-8-sig").split("\t"))
    except UnicodeDecodeError:
        raise ImportInputError(f"{display_path(path)}: the header row is not valid UTF-8.") from None
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise NotThisFormat(path, "an ICEWS event file", "its header lacks " + ", ".join(f"'{m}'" for m in missing))
    return header


def _kept(row: dict[str, str], row_filter: RowFilter) -> bool:
    if not row_filter.active:
        return True
    actors = [row.get(c) for c in ("Source Name", "Source Country", "Target Name", "Target Country")]
    return (row_filter.keeps_actors(actors) and row_filter.keeps_date(row.get("Event Date", "").strip())
            and row_filter.keeps_code(row.get("CAMEO Code")))


def _date(text: str | None) -> date:
    if text is None:
        raise Rejection("invalid date", "no Event Date")
    parts = text.split("-")
    if len(parts) != 3 or [len(p) for p in parts] != [4, 2, 2] or not all(ascii_digits(p) for p in parts):
        raise Rejection("invalid date", f"Event Date '{text}' is not YYYY-MM-DD")
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise Rejection("invalid date", f"Event Date '{text}' is no real day") from None


def _actor(row: dict[str, str], side: str) -> tuple[ActorSpec, ...]:
    name = _value(row, f"{side} Name")
    if name is None:
        return ()
    sectors = tuple(s.strip() for s in (_value(row, f"{side} Sectors") or "").split(",") if s.strip())
    return (ActorSpec(name=name, country=_value(row, f"{side} Country"), sectors=sectors),)


def _place(row: dict[str, str]) -> PlaceSpec | None:
    city, province, country = _value(row, "City"), _value(row, "Province"), _value(row, "Country")
    if city:
        name = ", ".join(p for p in (city, province, country) if p)
        return PlaceSpec(PlaceKind.CITY, name, country_name=country,
                         lat=_value(row, "Latitude"), long=_value(row, "Longitude"))
    if province:
        return PlaceSpec(PlaceKind.REGION, ", ".join(p for p in (province, country) if p), country_name=country)
    if country:
        return PlaceSpec(PlaceKind.COUNTRY, country, country_name=country)
    return None


def _row(line: int, row: dict[str, str], source_name: str) -> CodedRow:
    event_id = _value(row, "Event ID")
    if event_id is None:
        raise Rejection("missing field", "no Event ID")
    day = _date(_value(row, "Event Date"))
    sentence_text = _value(row, "Sentence Number")
    if sentence_text is not None and whole_number(sentence_text) is None:
        raise Rejection("malformed record", f"Sentence Number '{sentence_text}' is not a number")
    code = _value(row, "CAMEO Code")
    if code is None:
        raise Rejection("malformed CAMEO code", "no CAMEO Code")
    record = SourceRecord(
        iri=f"{SOURCE_NS}icews-{slug(event_id)}-{day.strftime('%Y%m%d')}",
        label=f"ICEWS event {event_id} of {day.isoformat()}",
        dataset=f"{DATASET} ({source_name})",
        record_id=event_id,
        coder="ICEWS",
        story_id=_value(row, "Story ID"),
        sentence=whole_number(sentence_text) if sentence_text is not None else None,
        signals=Signals(intensity=decimal(_value(row, "Intensity") or "", "Intensity", 10),
                        publisher=_value(row, "Publisher")),
    )
    return CodedRow(line=line, record=record, scheme=Scheme.CAMEO, code=code,
                    date=DateValue(day.isoformat(), XSD_DATE),
                    sources=_actor(row, "Source"), targets=_actor(row, "Target"), place=_place(row))
