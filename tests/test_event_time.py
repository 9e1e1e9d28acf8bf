"""Honest time, rule by rule: the days an event is filed under (EventTime.bounds, which every date
filter, bucket and sort reads), how its date is written and said (EventTime.display and words), and
whether a period meets a range (Period.overlaps, the importers' --from and --to)."""
from __future__ import annotations

from datetime import date

import pytest

from dipkb.model.namespaces import XSD
from dipkb.model.temporal import EventTime, parse_partial_date, period_of


def event_time(**fields: str) -> EventTime:
    """Dates, and xsd:dateTime values as the files write them (with a T)."""
    return EventTime(**{name: period_of(text, XSD + "dateTime") if "T" in text else parse_partial_date(text)
                        for name, text in fields.items()})


@pytest.mark.parametrize(("fields", "first", "last"), [
    ({"date": "2021-07"}, "2021-07-01", "2021-07-31"),
    ({"start": "2021-05", "end": "2021-07-09"}, "2021-05-01", "2021-07-09"),
    ({"start": "1996"}, "1996-01-01", None),  # a war with no known end stays open
    ({"end": "2001-10"}, None, "2001-10-31"),
    # Known only by a bound: filed under the bound's own period, not every year before or after it.
    ({"latest": "2021-07"}, "2021-07-01", "2021-07-31"),
    ({"earliest": "1996"}, "1996-01-01", "1996-12-31"),
    ({"earliest": "2019", "latest": "2020"}, "2019-01-01", "2020-12-31"),
    # Begun no later than July, ended in September: surely under way from July.
    ({"latest": "2021-07", "end": "2021-09"}, "2021-07-01", "2021-09-30"),
    # Begun in May, not before March: the start says more, and the end stays open.
    ({"earliest": "2021-03", "start": "2021-05"}, "2021-05-01", None),
    # Two statements of one side: the narrower wins, never a day outside either.
    ({"date": "2021-07", "latest": "2021-07-09"}, "2021-07-01", "2021-07-09"),
    ({"date": "2021", "earliest": "2021-03"}, "2021-03-01", "2021-12-31"),
    # Begun in 2021, no later than March: the bound is the start's, the end stays open (it was filed as
    # over by April while shown "2021/..").
    ({"start": "2021", "latest": "2021-03"}, "2021-01-01", None),
    # A date with an end is an interval from the date: the end was dropped, shown and filtered.
    ({"date": "2021-07-01", "end": "2021-07-10"}, "2021-07-01", "2021-07-10"),
    # Two hours written in two zones (20:00Z on the 31st to 23:00Z): filed under both days, not none.
    ({"start": "2021-06-01T01:00:00+05:00", "end": "2021-05-31T23:00:00Z"}, "2021-05-31", "2021-06-01"),
    ({"earliest": "2021-09-01T01:00:00+05:00", "latest": "2021-08-31T23:00:00Z"}, "2021-08-31", "2021-09-01"),
    ({}, None, None),
])
def test_the_days_an_event_is_filed_under(fields, first, last):
    low, high = event_time(**fields).bounds()
    assert (low and low.isoformat(), high and high.isoformat()) == (first, last)


@pytest.mark.parametrize(("fields", "shown"), [
    ({"date": "2021-07"}, "2021-07"),
    ({"start": "2021-05", "end": "2021-07"}, "2021-05/2021-07"),
    ({"start": "1996"}, "1996/.."),
    ({"end": "2001-10"}, "../2001-10"),
    ({"latest": "2021-07"}, "[..2021-07]"),
    ({"earliest": "1996"}, "[1996..]"),
    ({"earliest": "2019", "latest": "2020"}, "[2019..2020]"),
    ({"latest": "2021-07", "end": "2021-09"}, "[..2021-07]/2021-09"),
    ({"date": "2021-07-01", "end": "2021-07-10"}, "2021-07-01/2021-07-10"),
    # A bound beside a date narrows it, and the filters use it: "2021" alone was in no July's list.
    ({"date": "2021", "latest": "2021-03"}, "2021 [..2021-03]"),
    ({"earliest": "2021-06", "end": "2021-08-15"}, "[2021-06..]/2021-08-15"),
    ({}, ""),
])
def test_a_date_is_written_at_its_own_precision(fields, shown):
    assert event_time(**fields).display() == shown


@pytest.mark.parametrize("fields, words", [
    ({"date": "2021"}, "2021"),
    ({"date": "2021-07"}, "July 2021"),
    ({"date": "2021-07-09"}, "9 July 2021"),
    ({"date": "2021", "latest": "2021-03"}, "2021, no later than March 2021"),
    ({"latest": "2021-07"}, "no later than July 2021"),
    ({"earliest": "1996"}, "no earlier than 1996"),
    ({"earliest": "2019", "latest": "2020-03"}, "between 2019 and March 2020"),
    ({"start": "2021-05", "end": "2021-07-09"}, "from May 2021 to 9 July 2021"),
    ({"start": "1996"}, "from 1996, end unknown"),
    ({"end": "2001-09-11"}, "until 11 September 2001, start unknown"),
    ({"latest": "2021-07", "end": "2021-09-11"}, "from no later than July 2021 to 11 September 2021"),
    ({"date": "2021-07-01", "end": "2021-07-10"}, "from 1 July 2021 to 10 July 2021"),
    ({}, ""),
])
def test_an_event_time_in_words_keeps_its_precision(fields: dict[str, str], words: str) -> None:
    """One wording for the web timeline, the shared HTML file and TimelineJS's display_date."""
    assert event_time(**fields).words() == words


@pytest.mark.parametrize(("period", "first", "last", "overlaps"), [
    ("2021-07", date(2021, 6, 1), date(2021, 7, 1), True),  # its first day is the range's last
    ("2021-07", date(2021, 7, 31), None, True),  # its last day is the range's first
    ("2021-07-31", date(2021, 7, 1), date(2021, 7, 31), True),
    ("2021-07", date(2021, 8, 1), None, False),
    ("2021-07", None, date(2021, 6, 30), False),
    ("2021", None, None, True),
])
def test_a_period_overlaps_a_range_its_ends_included(period, first, last, overlaps):
    assert parse_partial_date(period).overlaps(first, last) is overlaps
