"""A timeline as TimelineJS3 JSON (https://timeline.knightlab.com/docs/json-format.html), for people
who embed a timeline in a page: one slide per event, its date at the precision the sources give.

TimelineJS draws a date object at the precision of the parts it has (``{"year": 2021, "month": 7}`` is
"July 2021"), so a slide gets only the parts its event's date has. It has no notion of a bounded date
("no later than July 2021"): such a slide starts on the bound's own period, as the index files it,
and says the truth in its ``display_date``. An undated event has no place on a TimelineJS timeline
(``start_date`` is required) and is left out, and counted.
"""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from dipkb.model.namespaces import curie
from dipkb.model.temporal import EventTime, Period, Precision
from dipkb.views.timeline import TimelineEntry

@dataclass(frozen=True)
class SlideDates:
    """A slide's dates: ``display`` says in words what the date objects cannot (a bound, an open end)."""

    start: Period
    end: Period | None = None
    display: str | None = None


def slide_dates(time: EventTime) -> SlideDates | None:
    """The dates a slide shows for an event's time, None for an undated event: a date, or an interval
    with both sides, as date objects; anything else (a bound, an open side) said in words as well."""
    if time.date:
        return SlideDates(time.date, time.end) if time.end else SlideDates(time.date)
    begin = time.start or time.earliest or time.latest
    if begin is None:
        return SlideDates(time.end, None, time.words()) if time.end else None
    return SlideDates(begin, time.end, None if time.start and time.end else time.words())


def date_object(period: Period) -> dict[str, int]:
    """A TimelineJS date object with the parts the period's precision has and no more."""
    day = period.first_day
    parts = {"year": day.year}
    if period.precision is not Precision.YEAR:
        parts["month"] = day.month
    if period.precision in (Precision.DAY, Precision.INSTANT):
        parts["day"] = day.day
    if period.precision is Precision.INSTANT:
        # TimelineJS reads every date as local: an instant with a zone is given in UTC, so that
        # 01:00+05:00 comes before 05:00Z as it happened (its slide says the time as written, see
        # _slide); one without a zone as written.
        try:
            moment = datetime.fromisoformat(period.text)
            moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment
        except (ValueError, OverflowError):  # moved by its zone out of the years Python has: the day
            return parts
        parts = {"year": moment.year, "month": moment.month, "day": moment.day, "hour": moment.hour,
                 "minute": moment.minute, "second": moment.second}
        if moment.microsecond:
            parts["millisecond"] = moment.microsecond // 1000
    return parts


_ZONE = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


def _zoned(period: Period | None) -> bool:
    return period is not None and period.precision is Precision.INSTANT and bool(_ZONE.search(period.text))


@dataclass(frozen=True)
class TimelineJSDocument:
    document: dict
    undated: int  # events left out: a slide needs a start date

    @property
    def note(self) -> str | None:
        if not self.undated:
            return None
        plural = "" if self.undated == 1 else "s"
        return f"{self.undated} undated event{plural} left out: a TimelineJS slide needs a start date."


def timelinejs(entries: Sequence[TimelineEntry], title: str = "Diplomatic events") -> TimelineJSDocument:
    """The TimelineJS3 document of ``entries``: a title slide and one slide per dated event, grouped by type."""
    slides = [slide for entry in entries if (slide := _slide(entry)) is not None]
    count = f"{len(slides)} event{'' if len(slides) == 1 else 's'}"
    document = {
        "title": {"text": {"headline": _text(title), "text": f"<p>{count}, from dipkb.</p>"}},
        "events": slides,
    }
    return TimelineJSDocument(document, len(entries) - len(slides))


def _slide(entry: TimelineEntry) -> dict | None:
    dates = slide_dates(entry.time)
    if dates is None:
        return None
    slide: dict = {"start_date": date_object(dates.start)}
    if dates.end:
        slide["end_date"] = date_object(dates.end)
    if dates.display:
        slide["display_date"] = dates.display
    elif _zoned(dates.start) or _zoned(dates.end):
        slide["display_date"] = entry.date  # the time in its own zone, which the date objects give in UTC
    slide["text"] = {"headline": _text(entry.label or curie(entry.id)), "text": _body(entry)}
    slide["group"] = entry.type.removeprefix("dip:")
    slide["unique_id"] = unique_id(entry.id)
    return slide


def unique_id(iri: str) -> str:
    """A slide id that TimelineJS keeps as is: it slugifies ids (lower case, letters, digits and
    hyphens, no leading digit), so the CURIE is written that way, ``event-kabulov-taliban-meeting``."""
    return re.sub(r"[^a-z0-9-]+", "-", curie(iri).lower()).strip("-")


def _body(entry: TimelineEntry) -> str:
    """The slide's text as HTML, every value escaped: what kind of event and how sure, who took part
    in which role, the quotes and paraphrases, and the sources (a link where the URL is known)."""
    e = _text
    facts = [entry.modality, entry.type.removeprefix("dip:")] + ([entry.where] if entry.where else [])
    parts = [f"<p><strong>{e(facts[0])}</strong> · {' · '.join(e(f) for f in facts[1:])}</p>"]
    if entry.participants:
        parts.append("<p>" + "; ".join(f"{e(p.label)} ({e(p.role)})" for p in entry.participants) + "</p>")
    parts += [f"<blockquote>“{e(quote)}”</blockquote>" for quote in entry.quotes]
    parts += [f"<p>{e(content)}</p>" for content in entry.contents]
    if entry.sources:
        parts.append("<p>Sources: " + "; ".join(_source(s.title, s.url) for s in entry.sources) + "</p>")
    return "".join(parts)


def _source(title: str, url: str | None) -> str:
    # Only web links: a javascript: or data: URL in the KB must not become a live link in someone's page.
    if url and url.lower().startswith(("http://", "https://")):
        return f'<a href="{html.escape(url)}">{_text(title)}</a>'
    return _text(title)


def _text(value: str) -> str:
    """Text for an HTML text node: only <, > and & need escaping there (an attribute value needs quotes too)."""
    return html.escape(value, quote=False)
