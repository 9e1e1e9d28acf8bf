"""ACLED's CSV export (Armed Conflict Location & Event Data): one event per row, comma-separated, quoted.

Columns are found by their header name, in any order and case: exports before 2023 wrote them in
capitals and had data_id, event_id_no_cnty and iso3; later ones have disorder_type, civilian_targeting
and tags instead. Only REQUIRED must be there; a file without one of them is not read at all (exit 2).
Other columns are read when present and otherwise left out; columns this module does not know are
ignored. What a row becomes:

- **Time**, by time_precision, never finer than ACLED knows it: 1 is the day of event_date; 2 means
  the sources give only a week (ACLED records its middle day), so the event gets the seven days around
  event_date as dip:earliestDate and dip:latestDate and no dip:date; 3 is the month of event_date.
  event_date is read as ``2021-07-09`` or ``09 July 2021``; a year column that disagrees rejects the row.
- **Type**: event_type and sub_event_type map to a CAMEO code by the table ``acled-types.tsv`` next to
  this module, and the code gives the dipkb class, as it does for GDELT and ICEWS rows (so the same
  clash coded by GDELT and ACLED can merge). The table also names the class and PLOVER type the code
  gives; the PLOVER type becomes a second dip:eventCode. Types with no CAMEO counterpart ("Change to
  group/activity", "Other"...) are rejected as "unmapped ACLED type", not guessed.
- **Actors**: actor1 and the ``;``-separated assoc_actor_1 take the class's first role (dip:agent for
  most); actor2 and assoc_actor_2 take the second (dip:target), except where the table says ACLED's
  two actors have no direction (an armed clash, an agreement): then both sides are agents. inter1 and
  inter2 become the actor's dip:sector ("State forces", "Rebel group"...). An actor's country is read
  from its name, ACLED-style: "Military Forces of Russia (2000-)", "Protesters (Afghanistan)". A
  state's own forces and government act for it (dip:actsFor), others are of it (dip:ofState). Names
  are reconciled with the KB's actors (Taliban is actor:taliban).
- **Place**, by geo_precision: 1 (or none given), the location itself with its latitude and
  longitude (WGS84); 2 ("near" the location), the admin2 district; 3 (only the region known), the
  admin1 region; in ``country``. A region gets no coordinates: its point would be ACLED's stand-in town.
- **Record**: one dip:DatasetRecord per event_id_cnty, ``source:acled-<id>``, that names the
  ``;``-separated publishers of ``source`` (dip:sourceName), the fatalities ACLED counts
  (dip:reportedFatalities: a record's estimate, not the event's fact) and, from timestamp, when ACLED
  last changed it (dct:modified). notes, embedded line breaks and all, become a dip:content of the event.

Not read: disorder_type, interaction, civilian_targeting, tags, region, iso (the country is matched by
its name: the country table has no numeric ISO codes), admin3, source_scale.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dipkb.authoring.coded import CodedImport
from dipkb.authoring.codes import PLOVER_NS
from dipkb.authoring.importers.filters import RowFilter
from dipkb.authoring.importers.reading import CsvRecord, NotThisFormat, csv_records, member_name
from dipkb.authoring.reconcile import slug
from dipkb.model import terms
from dipkb.model.namespaces import KB
from dipkb.model.records import (ActorSpec, CodedRow, PlaceKind, PlaceSpec, Rejection, RowResult, Scheme,
                                 SourceRecord, row_result)
from dipkb.model.temporal import XSD_DATE, XSD_DATETIME, XSD_GYEARMONTH, DateValue, Period, Precision, period_of
from dipkb.util.numbers import whole_number

TYPES = Path(__file__).with_name("acled-types.tsv")
SOURCE_NS = KB + "source/"
REQUIRED = ("event_id_cnty", "event_date", "time_precision", "event_type", "sub_event_type", "actor1")
DESCRIBED = "an ACLED export"
_INTER = {"1": "State forces", "2": "Rebel group", "3": "Political militia", "4": "Identity militia",
          "5": "Rioters", "6": "Protesters", "7": "Civilians", "8": "External/Other forces"}
_MONTHS = {name: number for number, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), start=1)}
_WORDY_DATE = re.compile(r"^(\d{1,2})[ -]([A-Za-z]+)[ -](\d{4})$", re.ASCII)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
_YEARS = re.compile(r"\s*\(\d{4}-(?:\d{4})?\)\s*$")  # "Military Forces of Afghanistan (2004-2021)"
# ACLED names a state's own forces "Military Forces of X", "Police Forces of X", "Government of X", also
# where they act abroad (inter 8); those act for their state.
_STATE_BODY = re.compile(r"^(Military|Police|Government|Air Force|Navy|Naval Forces)\b[^()]*\bof\b")
_HALF_WEEK = timedelta(days=3)


@dataclass(frozen=True)
class TypeMapping:
    """One line of acled-types.tsv. ``cameo`` is None for a type with no counterpart."""

    event_type: str
    sub_event_type: str
    cameo: str | None
    dipkb_class: str | None  # the local name the code gives, for the reader of the table
    plover: str | None
    actor2_acts: bool  # ACLED's second actor acts too (no direction), rather than being the target


_MODIFIED = "SELECT ?r ?m WHERE { ?r a dip:DatasetRecord ; dct:modified ?m }"


@functools.cache
def type_table() -> dict[tuple[str, str], TypeMapping]:
    """acled-types.tsv by (event type, sub-event type), case-folded."""
    table = {}
    for line in TYPES.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        event_type, sub_type, cameo, cls, plover, actor2 = line.split("\t")
        table[(event_type.casefold(), sub_type.casefold())] = TypeMapping(
            event_type, sub_type, cameo or None, cls or None, plover or None, actor2 == "agent")
    return table


@dataclass(frozen=True)
class AcledRecord(SourceRecord):
    """An ACLED row's record, with what the shared record model has no field for."""

    notes: str | None = None
    fatalities: int | None = None
    publishers: tuple[str, ...] = ()
    modified: DateValue | None = None
    plover: str | None = None  # the PLOVER concept of the row's type


class AcledImport(CodedImport):
    """The coded import, plus what ACLED records carry: notes, fatalities, publishers, PLOVER types."""

    def check_not_revised(self, record: SourceRecord) -> None:
        # ACLED's timestamp says when a record last changed: a newer one was counted "merged", and the
        # KB kept the old date and toll without a word.
        if not isinstance(record, AcledRecord) or record.modified is None:
            return
        known = self._modified_in_kb.get(record.iri)
        if known is None or record.modified.lexical > known:
            raise Rejection("revised record", f"ACLED changed {record.record_id} on {record.modified.lexical[:10]}, "
                            f"after the KB's copy ({known[:10] if known else 'no timestamp'}); the import changes no "
                            "event of the KB: remove the event citing it, then import the row again")

    @functools.cached_property
    def _modified_in_kb(self) -> dict[str, str]:
        return {record.value: modified.value for record, modified in self.existing.kb.query(_MODIFIED)}

    def turtle(self, heading: str) -> str:
        text = super().turtle(heading)
        if not text:
            return text
        parts = [text, ("# What the ACLED records add: their notes and PLOVER types, the sources they name, "
                        "fatalities.\n\n")]
        for event in self.events.values():
            records = [r for r in event.records if isinstance(r, AcledRecord)]
            pairs = [("dip:eventCode", terms.term(r.plover)) for r in records if r.plover]
            pairs += [("dip:content", terms.lang(r.notes)) for r in records if r.notes]
            if pairs:
                parts.append(terms.block(event.iri, pairs) + "\n")
            for record in records:
                extra = [("dip:sourceName", terms.string(name)) for name in record.publishers]
                if record.fatalities is not None:
                    extra.append(("dip:reportedFatalities", str(record.fatalities)))
                if record.modified:
                    extra.append(("dct:modified", terms.date(record.modified)))
                if extra:
                    parts.append(terms.block(record.iri, extra) + "\n")
        return "".join(parts)


def read(path: Path, row_filter: RowFilter) -> Iterator[RowResult]:
    source_name = member_name(path)
    records = csv_records(path)
    header = _header(path, next(records, None))
    for line, cells, text in records:
        if isinstance(cells, Rejection):
            yield RowResult(line, text, rejection=cells)
            continue
        if len(cells) != len(header):
            detail = f"{len(cells)} cells, the header has {len(header)}"
            yield RowResult(line, text, rejection=Rejection("wrong column count", detail))
            continue
        row = {name: cell.strip() for name, cell in zip(header, cells) if name}
        yield row_result(line, text, _kept(row, row_filter), lambda: _row(line, row, source_name))


def _header(path: Path, first: CsvRecord | None) -> list[str]:
    if first is None or isinstance(first[1], Rejection):
        raise NotThisFormat(path, DESCRIBED, "it has no header row")
    header = [name.strip().lower() for name in first[1]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise NotThisFormat(path, DESCRIBED, "its header lacks " + ", ".join(missing))
    return header


def _kept(row: dict[str, str], row_filter: RowFilter) -> bool:
    if not row_filter.active:
        return True
    mapping = type_table().get((row.get("event_type", "").casefold(), row.get("sub_event_type", "").casefold()))
    if mapping and not (row_filter.keeps_code(mapping.cameo) or row_filter.keeps_type(mapping.plover)):
        return False
    # The actors' names and the countries in them, which the reconciler links actors to states by:
    # --country keeps what `timeline --actor` then shows.
    names = [name.strip() for column in ("actor1", "assoc_actor_1", "actor2", "assoc_actor_2")
             for name in row.get(column, "").split(";") if name.strip()]
    if not row_filter.keeps_actors(names + [_country_of(name) for name in names]):
        return False
    try:
        first, last = _days(row)
    except Rejection:
        return True  # rejected for it when checked
    return Period("", Precision.DAY, first, last).overlaps(row_filter.first_day, row_filter.last_day)


def _day(text: str) -> date:
    """``2021-07-09`` or ``09 July 2021``."""
    iso, wordy = _ISO_DATE.match(text), _WORDY_DATE.match(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if wordy and wordy[2].casefold() in _MONTHS:
            return date(int(wordy[3]), _MONTHS[wordy[2].casefold()], int(wordy[1]))
    except ValueError:
        raise Rejection("invalid date", f"event_date '{text}' is no real day") from None
    raise Rejection("invalid date", f"event_date '{text}' is not YYYY-MM-DD or DD Month YYYY")


def _time(row: dict[str, str]) -> tuple[DateValue, tuple[DateValue, DateValue] | None]:
    """The event's date, and its window when ACLED knows only the week."""
    day = _day(row["event_date"])
    year = row.get("year", "")
    if year and year != str(day.year):
        raise Rejection("inconsistent year", f"year {year} but event_date {row['event_date']}")
    precision = row["time_precision"]
    if precision == "1":
        return DateValue(day.isoformat(), XSD_DATE), None
    if precision == "2":
        try:
            first, last = day - _HALF_WEEK, day + _HALF_WEEK
        except OverflowError:  # a placeholder such as 9999-12-30: one row, not the whole file
            raise Rejection("invalid date", f"event_date '{row['event_date']}': its week runs past the years "
                                            "1 to 9999") from None
        return DateValue(day.isoformat(), XSD_DATE), (DateValue(first.isoformat(), XSD_DATE),
                                                      DateValue(last.isoformat(), XSD_DATE))
    if precision == "3":
        return DateValue(day.isoformat()[:7], XSD_GYEARMONTH), None
    raise Rejection("invalid time precision", f"time_precision '{precision}' is not 1 (day), 2 (week) or 3 (month)")


def _days(row: dict[str, str]) -> tuple[date, date]:
    """The first and last day the row's event can fall on, for the date filter."""
    when, window = _time(row)
    if window:
        return date.fromisoformat(window[0].lexical), date.fromisoformat(window[1].lexical)
    period = period_of(when.lexical, when.datatype)
    return period.first_day, period.last_day


def _country_of(name: str) -> str | None:
    """The country in an ACLED actor name: "Police Forces of Afghanistan (2004-2021)", "Civilians (India)"."""
    bare = _YEARS.sub("", name)
    inside = re.search(r"\(([^()]+)\)\s*$", bare)
    if inside:
        return inside[1].strip()
    of = re.search(r"\bof (?:the )?([A-Z][^()]*?)\s*$", bare)
    return of[1].strip() if of else None


def _actors(row: dict[str, str], side: str) -> tuple[ActorSpec, ...]:
    main = row.get(f"actor{side}", "")
    if not main:
        return ()
    inter = row.get(f"inter{side}", "")
    sector = _INTER.get(inter, inter)
    sectors = (sector,) if sector else ()
    body = _STATE_BODY.match(main)
    if body:  # a state sector, so that the reconciler lets it act for its state
        sectors += (body[1].title(),)
    specs = [ActorSpec(name=main, country=_country_of(main), sectors=sectors)]
    for name in row.get(f"assoc_actor_{side}", "").split(";"):
        if name.strip():
            specs.append(ActorSpec(name=name.strip(), country=_country_of(name.strip())))
    return tuple(specs)


def _place(row: dict[str, str]) -> PlaceSpec | None:
    country = row.get("country") or None
    precision = row.get("geo_precision", "")
    location, admin1, admin2 = row.get("location", ""), row.get("admin1", ""), row.get("admin2", "")
    if location and precision in ("", "1"):
        name = ", ".join(p for p in (location, admin1, country) if p)
        return PlaceSpec(PlaceKind.CITY, name, country_name=country, lat=row.get("latitude") or None,
                         long=row.get("longitude") or None)
    # Named as a region, so that "Kabul" the province is not taken for place:kabul the city.
    region = [f"{admin2} district", admin1] if precision == "2" and admin2 else [f"{admin1} region"] if admin1 else []
    if region:
        return PlaceSpec(PlaceKind.REGION, ", ".join(p for p in (*region, country) if p), country_name=country)
    if country:
        return PlaceSpec(PlaceKind.COUNTRY, country, country_name=country)
    return None


def _count(text: str) -> int | None:
    if not text:
        return None
    count = whole_number(text)
    if count is None:
        raise Rejection("invalid fatalities", f"fatalities '{text}' is not a whole number")
    return count


def _modified(text: str) -> DateValue | None:
    if not text:
        return None
    seconds = whole_number(text)
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC) if seconds is not None else None
    except (OverflowError, ValueError, OSError):  # past year 9999
        moment = None
    if moment is None:
        raise Rejection("invalid timestamp", f"timestamp '{text}' is not Unix seconds")
    return DateValue(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), XSD_DATETIME)


def _row(line: int, row: dict[str, str], source_name: str) -> CodedRow:
    event_id = row["event_id_cnty"]
    if not event_id:
        raise Rejection("missing field", "no event_id_cnty")
    when, window = _time(row)
    mapping = type_table().get((row["event_type"].casefold(), row["sub_event_type"].casefold()))
    if mapping is None:
        raise Rejection("unknown ACLED type",
                        f"'{row['event_type']}: {row['sub_event_type']}' is not in acled-types.tsv")
    if mapping.cameo is None:
        raise Rejection("unmapped ACLED type", f"'{mapping.event_type}: {mapping.sub_event_type}' has no CAMEO "
                        "counterpart (see acled-types.tsv)")
    publishers = tuple(dict.fromkeys(p.strip() for p in row.get("source", "").split(";") if p.strip()))
    record = AcledRecord(
        iri=f"{SOURCE_NS}acled-{slug(event_id)}",
        label=f"ACLED event {event_id}",
        dataset=f"ACLED ({source_name})",
        record_id=event_id,
        coder=f"dipkb from ACLED's '{mapping.event_type}: {mapping.sub_event_type}'",
        notes=row.get("notes") or None,
        fatalities=_count(row.get("fatalities", "")),
        publishers=publishers,
        modified=_modified(row.get("timestamp", "")),
        plover=PLOVER_NS + mapping.plover if mapping.plover else None,
    )
    first, second = _actors(row, "1"), _actors(row, "2")
    if mapping.actor2_acts:
        first, second = first + second, ()
    return CodedRow(line=line, record=record, scheme=Scheme.CAMEO, code=mapping.cameo, date=when,
                    sources=first, targets=second, place=_place(row), window=window)
