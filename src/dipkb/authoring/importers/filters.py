"""Filters for big files: keep rows by actor or country code, date range and event code.

They run on the raw fields, before a row is checked, so a row the user did not ask for is counted as
filtered even when it would also have been rejected. A field that cannot be read does not filter:
the row goes on to be checked, and rejected with its reason.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from dipkb.errors import ImportInputError
from dipkb.model.temporal import DateInputError, any_period, parse_partial_date


@dataclass(frozen=True)
class RowFilter:
    actor_codes: tuple[str, ...] = ()  # upper case; a row is kept when an actor's code starts with one
    first_day: date | None = None  # inclusive
    last_day: date | None = None
    event_codes: tuple[str, ...] = ()  # CAMEO code prefixes ("04", "190") or PLOVER types ("CONSULT")

    @classmethod
    def build(cls, actor_codes: Iterable[str] = (), date_from: str | None = None, date_to: str | None = None,
              event_codes: Iterable[str] = ()) -> RowFilter:
        """Raises ImportInputError for a bound that is not YYYY, YYYY-MM or YYYY-MM-DD, or an empty range."""
        try:
            first = parse_partial_date(date_from).first_day if date_from else None
            last = parse_partial_date(date_to).last_day if date_to else None
        except DateInputError as error:
            raise ImportInputError(f"Bad date filter: {error}") from None
        if first and last and first > last:
            raise ImportInputError(f"Bad date filter: The date range {date_from}..{date_to} is empty: "
                                   "the start is after the end.")
        return cls(tuple(c.strip().upper() for c in actor_codes if c.strip()), first, last,
                   tuple(c.strip().upper() for c in event_codes if c.strip()))

    @property
    def active(self) -> bool:
        return bool(self.actor_codes or self.first_day or self.last_day or self.event_codes)

    def keeps_actors(self, values: Iterable[str | None]) -> bool:
        """Kept when any of the row's actor codes, country codes or names starts with a wanted code."""
        if not self.actor_codes:
            return True
        return any(v and v.strip().upper().startswith(self.actor_codes) for v in values)

    def keeps_date(self, iso_text: str | None) -> bool:
        """``iso_text`` is YYYY, YYYY-MM, YYYY-MM-DD or an xsd:dateTime; its period must overlap the range."""
        if not (self.first_day or self.last_day) or not iso_text:
            return True
        period = any_period(iso_text.strip())
        return period is None or period.overlaps(self.first_day, self.last_day)

    def keeps_code(self, code: str | None) -> bool:
        """A CAMEO code is kept when it starts with a wanted prefix: "04" keeps 040 to 046 and 0421."""
        if not self.event_codes or code is None:
            return True
        return code.strip().upper().startswith(self.event_codes)

    def keeps_type(self, plover_type: str | None) -> bool:
        """A PLOVER type is kept when it is one of the wanted ones (types are words, not prefixes)."""
        if not self.event_codes or plover_type is None:
            return True
        return plover_type.strip().upper() in self.event_codes
