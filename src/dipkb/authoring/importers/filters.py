"""Filters for big files: keep rows by actor or country code, date range, event code and GDELT attention.

They run on the raw fields, before a row is checked, so a row the user did not ask for is counted as
filtered even when it would also have been rejected. A field that cannot be read does not filter:
the row goes on to be checked, and rejected with its reason.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from dipkb.errors import ImportInputError
from dipkb.model.countries import country_table
from dipkb.model.temporal import DateInputError, any_period, parse_partial_date
from dipkb.util.numbers import whole_number


@dataclass(frozen=True)
class RowFilter:
    actor_codes: tuple[str, ...] = ()  # upper case; a row is kept when an actor's code starts with one
    first_day: date | None = None  # inclusive
    last_day: date | None = None
    event_codes: tuple[str, ...] = ()  # CAMEO code prefixes ("04", "190") or PLOVER types ("CONSULT")
    min_mentions: int | None = None  # GDELT NumMentions, inclusive
    countries: frozenset[str] = frozenset()  # ISO alpha-3 codes: a row is kept when an actor is of one
    root_only: bool = False  # GDELT IsRootEvent: only events from a document's lead paragraph

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

    def with_attention(self, min_mentions: int | None = None, root_only: bool = False) -> RowFilter:
        """This filter, also keeping only GDELT rows mentioned at least ``min_mentions`` times or (with
        ``root_only``) marked as root events. Raises ImportInputError for a negative count."""
        if min_mentions is not None and min_mentions < 0:
            raise ImportInputError(f"Bad --min-mentions {min_mentions}: give a count of 0 or more.")
        return replace(self, min_mentions=min_mentions, root_only=root_only)

    def with_countries(self, texts: Iterable[str]) -> RowFilter:
        """This filter, also keeping only rows with an actor of one of these countries, each given by
        name, ISO 3166 alpha-2 or alpha-3 or CAMEO code, as `timeline --actor` takes them. Raises
        ImportInputError for a text that names no country."""
        table, wanted = country_table(), set()
        for text in (t for t in texts if t.strip()):
            country = table.find(text) or table.find(text.strip().upper())  # a code in lower case too
            if country is None:
                raise ImportInputError(f"Unknown country {text!r}: give a name (Bangladesh), an ISO 3166 code "
                                       "(BD, BGD) or a CAMEO code (ROM).")
            wanted.add(country.alpha3)
        return replace(self, countries=frozenset(wanted))

    @property
    def active(self) -> bool:
        return bool(self.actor_codes or self.first_day or self.last_day or self.event_codes or self.countries
                    or self.min_mentions is not None or self.root_only)

    @property
    def on_attention(self) -> bool:
        """Whether the filter reads GDELT's attention columns, which other datasets do not have."""
        return self.min_mentions is not None or self.root_only

    def keeps_attention(self, num_mentions: str, is_root: str) -> bool:
        """GDELT NumMentions and IsRootEvent as read; an unreadable value does not filter (the row is
        then rejected for it)."""
        mentions = whole_number(num_mentions)
        if self.min_mentions is not None and mentions is not None and mentions < self.min_mentions:
            return False
        return not (self.root_only and is_root == "0")

    def keeps_actors(self, values: Iterable[str | None]) -> bool:
        """Kept when any of the row's actor codes, country codes or names starts with a wanted code, and
        (with countries) any of them is of a wanted country by the rule the reconciler links actors to
        their state with (CountryTable.of_value): then `timeline --actor` shows what was kept."""
        values = [v for v in values if v]
        if self.actor_codes and not any(v.strip().upper().startswith(self.actor_codes) for v in values):
            return False
        if self.countries:
            table = country_table()
            return any((country := table.of_value(v)) is not None and country.alpha3 in self.countries
                       for v in values)
        return True

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
