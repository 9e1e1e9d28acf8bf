"""What a selection gives (views/selection.py): each event it chose, with its days and the texts of its
rows, one per event however many solutions named it, in timeline order."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from dipkb.model.temporal import BEGINNING_FIELDS

# Where an event without a last day sorts among those with the same first day: after them.
NO_LAST_DAY = "9999-12-31"


@dataclass(frozen=True, slots=True)
class Selected:
    """An event a selection chose: its first and last day, and the texts of its rows
    (dip:timelineRow, one from each file that states it)."""

    iri: str
    earliest_day: str | None
    latest_day: str | None
    rows: tuple[str, ...]

    @property
    def anchor(self) -> str | None:
        """The day a timeline sorts the event by: its first, else its last."""
        return self.earliest_day or self.latest_day


Solution = tuple[str, str | None, str | None, str | None]  # (event IRI, first day, last day, row)


class Gathering:
    """Solutions merged into one :class:`Selected` per event: its rows together, its days the greatest
    of its solutions' (an event dated by two files has two of each), whatever order they come in, as
    a selection sorted on disk keeps them (the pairs of a busy actor come in bucket by bucket)."""

    def __init__(self) -> None:
        # Per event: its first day, last day and rows; one string for each day, which thousands of
        # events share. A long output holds its selection: two actors' 338,767 events at a million
        # took 669 MB in a set and a tuple of days each, 560 so.
        self.found: dict[str, list] = {}
        self._day: dict[str, str] = {}

    def add(self, iri: str, lo: str | None, hi: str | None, row: str | None) -> None:
        held = self.found.get(iri) or self.found.setdefault(iri, [None, None, ()])
        if lo and (held[0] is None or lo > held[0]):
            held[0] = self._day.setdefault(lo, lo)
        if hi and (held[1] is None or hi > held[1]):
            held[1] = self._day.setdefault(hi, hi)
        if row is not None and row not in held[2]:
            held[2] += (row,)

    def selected(self) -> list[Selected]:
        """The events gathered, chronological."""
        selected = [Selected(iri, lo, hi, tuple(sorted(rows))) for iri, (lo, hi, rows) in self.found.items()]
        return sorted(selected, key=chronological)


def chronological(event: Selected) -> tuple:
    """The key that orders a timeline: by first day (else last), then last day, then the instant it
    began for an event dated to the second; undated events last."""
    anchor = event.anchor
    return (anchor is None, anchor or "", event.latest_day or NO_LAST_DAY, first_instant(event.rows), event.iri)


def first_instant(rows: tuple[str, ...]) -> str:
    """When an event dated to the second began, in UTC and of fixed width (its text sorts as it
    orders), so that the events of one day come in the order of their hours: by IRI, 18:00 came
    before 06:00. "" for an event without an instant: the whole day, first."""
    instants = [moment for row in rows if '"dateTime"' in row  # most rows have none: not parsed
                for name, values in orjson.loads(row).items() if name in BEGINNING_FIELDS
                for lexical, datatype in values if datatype == "dateTime" and (moment := _utc(lexical))]
    return max(instants, default="")


def _utc(lexical: str) -> str | None:
    try:
        moment = datetime.fromisoformat(lexical)
    except ValueError:  # not an instant Python reads: it keeps its place by IRI
        return None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00:00+05:00 is in year 0 in UTC: it keeps its place by IRI
            return None
    return moment.isoformat(timespec="microseconds")
