"""Time at its real precision: parse the four allowed datatypes and user input, never pad precision."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from dipkb.errors import ParameterError
from dipkb.model.namespaces import XSD

XSD_DATE = XSD + "date"
XSD_DATETIME = XSD + "dateTime"
XSD_GYEARMONTH = XSD + "gYearMonth"
XSD_GYEAR = XSD + "gYear"
TEMPORAL_DATATYPES = (XSD_DATE, XSD_DATETIME, XSD_GYEARMONTH, XSD_GYEAR)

# An optional time-zone suffix is allowed by XSD on all four types; it does not change the day range
# we compute, which is what sorting and filtering need. ASCII digits only: Python's \d also takes
# "２０２１", which XSD and every other tool refuse.
_TZ = r"(?:Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))?"  # XSD's zones: -14:00 to +14:00
_YEAR = r"(-?(?:[1-9]\d{4,}|\d{4}))"  # four digits, or more without a leading zero
_TIME = r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?"
_PATTERNS = {
    XSD_GYEAR: re.compile(rf"^{_YEAR}{_TZ}$", re.ASCII),
    XSD_GYEARMONTH: re.compile(rf"^{_YEAR}-(\d{{2}}){_TZ}$", re.ASCII),
    XSD_DATE: re.compile(rf"^{_YEAR}-(\d{{2}})-(\d{{2}}){_TZ}$", re.ASCII),
    XSD_DATETIME: re.compile(rf"^{_YEAR}-(\d{{2}})-(\d{{2}}){_TIME}{_TZ}$", re.ASCII),
}


class Precision(Enum):
    YEAR = "year"
    MONTH = "month"
    DAY = "day"
    INSTANT = "instant"


_PRECISION_OF = {
    XSD_GYEAR: Precision.YEAR,
    XSD_GYEARMONTH: Precision.MONTH,
    XSD_DATE: Precision.DAY,
    XSD_DATETIME: Precision.INSTANT,
}
DATATYPE_OF = {precision: datatype for datatype, precision in _PRECISION_OF.items()}

# The time properties of an event, by their local name in dip:, and the EventTime field each one fills
# (the same name as the option of `dipkb add` and the column of an imported table).
TIME_FIELDS = {"date": "date", "startDate": "start", "endDate": "end", "earliestDate": "earliest",
               "latestDate": "latest"}
# Those that say when an event began: none of them may come after a source of an event that occurred.
BEGINNING_FIELDS = ("date", "startDate", "earliestDate")


@dataclass(frozen=True)
class Period:
    """The days a time value can denote: 2021-07 covers 2021-07-01 to 2021-07-31."""

    text: str
    precision: Precision
    first_day: date
    last_day: date

    @property
    def datatype(self) -> str:
        """The XSD datatype that writes this period at its own precision: 2021-07 is an xsd:gYearMonth."""
        return DATATYPE_OF[self.precision]

    def overlaps(self, first: date | None, last: date | None) -> bool:
        """Whether a day of this period falls from ``first`` to ``last``, inclusive (None: open)."""
        return not ((last and self.first_day > last) or (first and self.last_day < first))

    def words(self) -> str:
        """The period as a person writes it, at its own precision: 2021, July 2021, 9 July 2021."""
        day = self.first_day
        if self.precision is Precision.YEAR:
            return str(day.year)
        if self.precision is Precision.MONTH:
            return f"{_MONTHS[day.month - 1]} {day.year}"
        written = f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
        if self.precision is Precision.INSTANT:
            return f"{written} {self.text.split('T', 1)[1]}"
        return written


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


@dataclass(frozen=True)
class DateValue:
    """A time at the precision the data gives, as a typed literal: "2019-10-24"^^xsd:date."""

    lexical: str
    datatype: str


def period_of(lexical: str, datatype: str) -> Period | None:
    """The period a typed literal denotes, or None if it is not a valid value of a temporal datatype."""
    pattern = _PATTERNS.get(datatype)
    match = pattern.match(lexical) if pattern else None
    if not match:
        return None
    try:
        return _period(lexical, _PRECISION_OF[datatype], [int(g) for g in match.groups()])
    except (ValueError, OverflowError):  # no such day, or a year beyond any C integer
        return None


def _period(text: str, precision: Precision, parts: list[int]) -> Period:
    year = parts[0]
    if precision is Precision.YEAR:
        return Period(text, precision, date(year, 1, 1), date(year, 12, 31))
    month = parts[1]
    if precision is Precision.MONTH:
        # Not calendar.monthrange: importing calendar cost every command 3.5 ms.
        last = date(year, 12, 31) if month == 12 else date(year, month + 1, 1) - timedelta(days=1)
        return Period(text, precision, date(year, month, 1), last)
    day = date(year, month, parts[2])
    return Period(text, precision, day, day)


def any_period(text: str) -> Period | None:
    """The period of a date written in any of the four forms (``2021``, ``2021-07``, ``2021-07-08``,
    ``2021-07-08T10:00:00Z``), None if it is none of them or names no real day."""
    for datatype in TEMPORAL_DATATYPES:
        if period := period_of(text, datatype):
            return period
    return None


# Pairs of an event's time properties whose second must not come before its first, as the shapes
# EventIntervalShape, EventBoundsShape and EventTimesAgreeShape say: checked row by row by the
# importers, which validate one event of each form only (authoring/checking.py).
ORDERED_TIMES = (("startDate", "endDate"), ("earliestDate", "latestDate"), ("earliestDate", "date"),
                 ("earliestDate", "startDate"), ("earliestDate", "endDate"), ("date", "latestDate"),
                 ("startDate", "latestDate"), ("date", "endDate"), ("date", "startDate"), ("startDate", "date"))
_ZONED = re.compile(r"(?:Z|[+-]\d{2}:\d{2})$", re.ASCII)


def contradictions(times: Mapping[str, DateValue]) -> list[str]:
    """How the times of one event (by property local name) contradict each other, as the shapes
    compare them: at the coarser precision of two, and two instants written both with zones or both
    without as values."""
    periods = {name: period for name, value in times.items()
               if (period := period_of(value.lexical, value.datatype)) is not None}
    return [f"dip:{later} {periods[later].text} is before dip:{earlier} {periods[earlier].text}"
            for earlier, later in ORDERED_TIMES
            if earlier in periods and later in periods and is_before(periods[later], periods[earlier])]


def is_before(later: Period, earlier: Period) -> bool:
    """Whether ``later`` comes before ``earlier`` as the shapes compare times (see :func:`contradictions`)."""
    if later.precision is earlier.precision is Precision.INSTANT and \
            bool(_ZONED.search(later.text)) == bool(_ZONED.search(earlier.text)):
        try:
            return datetime.fromisoformat(later.text) < datetime.fromisoformat(earlier.text)
        except (ValueError, OverflowError):  # an instant Python cannot hold: the shapes report it
            return False
    return later.last_day < earlier.first_day


class DateInputError(ParameterError):
    """A date typed by the user is not YYYY, YYYY-MM or YYYY-MM-DD, or names no real day. ``detail``
    says so without the advice, for a rejected row's reason."""

    def __init__(self, text: str, forms: str = "YYYY, YYYY-MM or YYYY-MM-DD with a real day"):
        self.detail = f"{text!r} is not {forms}"
        super().__init__(f"{text!r} is not a date: use {forms}.")


def parse_partial_date(text: str) -> Period:
    """Parse a user's date at year, month or day precision (``2021``, ``2021-07``, ``2021-07-08``),
    spaces around it aside: ``--from " 2021-07"`` and the served form's ``from=%202021-07`` were errors
    where the HTML file's filter and ``add --date`` took them."""
    text = text.strip()
    for datatype in (XSD_GYEAR, XSD_GYEARMONTH, XSD_DATE):
        match = _PATTERNS[datatype].match(text)
        if match and ":" not in text and "Z" not in text:
            try:
                return _period(text, _PRECISION_OF[datatype], [int(g) for g in match.groups()])
            except (ValueError, OverflowError):  # no such day, or a year beyond any C integer
                break
    raise DateInputError(text)


def date_value(text: str, *, instants: bool = False) -> DateValue:
    """A date typed by a user or in a table, stripped, as a typed literal at its own precision; with
    ``instants`` an xsd:dateTime is taken too. Raises DateInputError."""
    text = text.strip()
    if instants and "T" in text:
        if period_of(text, XSD_DATETIME) is None:
            raise DateInputError(text, "a valid xsd:dateTime")
        return DateValue(text, XSD_DATETIME)
    period = parse_partial_date(text)
    return DateValue(period.text, period.datatype)


@dataclass(frozen=True)
class EventTime:
    """The time properties of one event, as authored."""

    date: Period | None = None
    start: Period | None = None
    end: Period | None = None
    earliest: Period | None = None
    latest: Period | None = None

    def bounds(self) -> tuple[date | None, date | None]:
        """The first and last day the event is filed under, for sorting and date filters.

        Bounds (earliest/latest) constrain when the event began. An event known only by a bound is
        filed under that bound's own period: "no later than July 2021" is found in July 2021, not in
        every year before it. Returns None for a side that stays open (a war with no known end): a
        start without an end is open, whatever bounds its start. An end makes a date the first day
        of an interval, as a start.
        """
        lows = [p.first_day for p in (self.date, self.start, self.earliest) if p]
        highs = [self.end.last_day] if self.end else [self.date.last_day] if self.date else []
        if self.latest and not self.end and not self.start:
            highs.append(self.latest.last_day)
        if not lows and self.latest:
            lows.append(self.latest.first_day)
        if not highs and self.earliest and not self.start:
            highs.append(self.earliest.last_day)
        first, last = (max(lows) if lows else None, min(highs) if highs else None)
        if first and last and first > last:
            # Instants written in two time zones: 2021-06-01T01:00+05:00 to 2021-05-31T23:00Z is two
            # hours, on the 31st or the 1st depending on where one stands; filed under both days, not
            # under none (a first day after the last matched no filter).
            first, last = last, first
        return first, last

    def filed_by(self) -> Period | None:
        """The time the event's first day (:meth:`bounds`) comes from: the latest-beginning of its date,
        start and earliest bound, the finest if two begin alike; else its latest bound."""
        lows = [p for p in (self.date, self.start, self.earliest) if p]
        if not lows:
            return self.latest
        return max(lows, key=lambda p: (p.first_day, list(Precision).index(p.precision)))

    def display(self) -> str:
        """ISO 8601 at the event's own precision: ``2021-07``, an interval ``2021-05/2021-07``, or
        bounds in EDTF's "one of a set" form, ``[..2021-07]`` for "no later than July 2021"."""
        bounds = f"[{self.earliest.text if self.earliest else ''}..{self.latest.text if self.latest else ''}]"
        if self.date:
            shown = f"{self.date.text}/{self.end.text}" if self.end else self.date.text
            # A bound narrows the date, and the filters use it: "2021 [..2021-03]" is in no July.
            return f"{shown} {bounds}" if self.earliest or self.latest else shown
        if self.start or self.end:
            begin = self.start.text if self.start else (bounds if self.earliest or self.latest else "..")
            return f"{begin}/{self.end.text if self.end else '..'}"
        return bounds if self.earliest or self.latest else ""

    def bounded_words(self) -> str:
        """The bounds in words: "no later than July 2021", "between 2019 and 2020"; "" without any."""
        if self.earliest and self.latest:
            return f"between {self.earliest.words()} and {self.latest.words()}"
        if self.latest:
            return f"no later than {self.latest.words()}"
        return f"no earlier than {self.earliest.words()}" if self.earliest else ""

    def words(self) -> str:
        """What :meth:`display` says, in words: "July 2021", "no later than July 2021", "from May 2021
        to July 2021", "from 1996, end unknown"; "" for an undated event."""
        if self.date:
            shown = f"from {self.date.words()} to {self.end.words()}" if self.end else self.date.words()
            return f"{shown}, {self.bounded_words()}" if self.earliest or self.latest else shown
        begin = self.start.words() if self.start else self.bounded_words()
        if self.end:
            return f"from {begin} to {self.end.words()}" if begin else f"until {self.end.words()}, start unknown"
        if self.start:
            return f"from {begin}, end unknown"
        return begin


# Oxigraph cannot scan a range of dates, so the index files every dated event under one time
# bucket, the smallest calendar unit holding all its days, and a date filter first takes the
# events of the few buckets that can overlap its range (one index lookup each), then compares days.
# An event open on one side is filed under the century of the side it has.
TIME_BUCKET_PREFIX = "urn:dipkb:time:"
# Where a file that does not date an event files its participants (another file may date it), so
# that a range still finds them; its events may have any day.
DATED_ELSEWHERE = TIME_BUCKET_PREFIX + "elsewhere"
_BUCKET_UNITS = (("year", 1), ("decade", 10), ("century", 100))
# Past this many years a range's buckets would be most of the KB's anyway.
MAX_BUCKETED_YEARS = 60


def time_bucket(first: date | None, last: date | None) -> str | None:
    """The IRI of the bucket of an event filed from ``first`` to ``last`` (either open), None if undated."""
    if first and last:
        if (first.year, first.month) == (last.year, last.month):
            return f"{TIME_BUCKET_PREFIX}month:{first.year:04d}-{first.month:02d}"
        for unit, years in _BUCKET_UNITS:
            if first.year // years == last.year // years:
                return f"{TIME_BUCKET_PREFIX}{unit}:{first.year // years * years:04d}"
        return f"{TIME_BUCKET_PREFIX}wide"
    if first:
        return f"{TIME_BUCKET_PREFIX}from:{first.year // 100 * 100:04d}"
    if last:
        return f"{TIME_BUCKET_PREFIX}until:{last.year // 100 * 100:04d}"
    return None


def overlapping_buckets(first: date, last: date) -> list[str] | None:
    """The IRIs of every bucket that can hold an event with a day from ``first`` to ``last``, or
    None when the range spans more than MAX_BUCKETED_YEARS (filter the days directly then)."""
    if last < first:
        return []
    if last.year - first.year > MAX_BUCKETED_YEARS:
        return None
    months = [(y, m) for y in range(first.year, last.year + 1) for m in range(1, 13)
              if (first.year, first.month) <= (y, m) <= (last.year, last.month)]
    names = [f"month:{y:04d}-{m:02d}" for y, m in months]
    for unit, years in _BUCKET_UNITS:
        names += [f"{unit}:{start:04d}" for start in range(first.year // years * years, last.year + 1, years)]
    names.append("wide")
    names += [f"from:{century:04d}" for century in range(0, last.year // 100 * 100 + 1, 100)]
    names += [f"until:{century:04d}" for century in range(first.year // 100 * 100, 10_000, 100)]
    return [TIME_BUCKET_PREFIX + name for name in names] + [DATED_ELSEWHERE]


def bucket_span(iri: str) -> tuple[date, date] | None:
    """The first and last day an event filed under bucket ``iri`` can have as its anchor (its first day,
    else its last: the day a timeline sorts it by), or None when it may have any (``wide``, or a name
    :func:`time_bucket` does not make)."""
    unit, _, start = iri.removeprefix(TIME_BUCKET_PREFIX).partition(":")
    named = _BUCKET_START.fullmatch(start) if iri.startswith(TIME_BUCKET_PREFIX) else None
    years = _BUCKET_YEARS.get(unit) if named and bool(named[2]) == (unit == "month") else None
    if years is None or int(named[1]) + years <= 1:  # year 0 has no day
        return None
    year = int(named[1])
    if named[2]:
        period = _period(start, Precision.MONTH, [year, int(named[2])])
        return period.first_day, period.last_day
    return date(max(year, 1), 1, 1), date(min(year + years - 1, 9999), 12, 31)


_BUCKET_START = re.compile(r"(\d{4})(?:-(0[1-9]|1[0-2]))?", re.ASCII)
_BUCKET_YEARS = dict(_BUCKET_UNITS, month=1, **{"from": 100, "until": 100})
