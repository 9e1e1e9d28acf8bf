"""A page of a long timeline, without the days of every event in it.

A timeline is in the order of its events' first days, and looking up two days an event cost a page of
the busiest actor at a million events (237,128 events) 8 s, and the unfiltered timeline 34 s. Each
dated event is filed under one time bucket, whose name bounds the day it sorts by
(:func:`dipkb.model.temporal.bucket_span`). So a page counts the matching events of each bucket (in one
query, with no look-up of days), works out from the counts which buckets can hold its events, and reads
the days of theirs only. It is exact or not taken: a selection that is small, that has several actors
or a one-sided range, whose page reaches its undated events, or with an event filed under two buckets
(two files dating it differently, or one dating it and another naming a participant), is read whole,
as `dipkb timeline` reads it.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from itertools import groupby
from operator import attrgetter

from dipkb.model.temporal import bucket_span
from dipkb.store.kb import KnowledgeBase
from dipkb.views.bucket_tallies import Tallied, filed_buckets, tallied
from dipkb.views.selected import Selected, chronological
from dipkb.views.selection import Selection, TimelineFilter
from dipkb.views.timeline import TimelineEntry, entries_of

# Fewer matching events than this and a page reads them all: as quick, in one query.
WINDOWED_FROM = 5_000


def timeline_window(kb: KnowledgeBase, filt: TimelineFilter, start: int, size: int, *,
                    windowed_from: int = WINDOWED_FROM) -> tuple[list[TimelineEntry], int]:
    """The ``size`` matching events from position ``start`` and how many match in all: a page of a
    long timeline costs its own events' details, and the days of the events near them."""
    selection = Selection.of(kb, filt)
    found = _window(kb, selection, start, size, windowed_from)
    if found is None:
        every = selection.events(kb, selection.dated_buckets, with_rows=False)
        found = every[start:start + size], len(every)
    shown, total = found
    return entries_of(kb, _rows_read(kb, shown)), total


@dataclass(frozen=True)
class _Bucket:
    """A bucket whose matching events are all counted: the days they sort by lie in ``first``..``last``
    (ISO dates)."""

    iri: str
    first: str
    last: str
    count: int


def _window(kb: KnowledgeBase, selection: Selection, start: int, size: int,
            windowed_from: int) -> tuple[list[Selected], int] | None:
    """The events from ``start`` to ``start + size`` and how many match, or None when the selection is
    better read whole."""
    filt = selection.filt
    dated = filt.start is not None or filt.end is not None
    if len(selection.agents) != 1 or dated and selection.dated_buckets is None:
        return None
    # The next page of the same selection counts nothing again: a server's second page of every event
    # at a million events took 4.6-5.1 s, 0.5 s so.
    counts = kb.remembered(("bucket counts", selection, windowed_from), lambda: (
        _counted_in(kb, selection) if dated else _counted(kb, selection, windowed_from)))
    if counts is None or sum(counts.values()) < windowed_from:
        return None
    counts = dict(counts)  # the remembered counts serve the next page too
    undated = counts.pop(None, 0)
    certain, uncertain = _sorted_out(counts, filt.start, filt.end)
    # Their events are read whatever the page: their days can be anywhere, or straddle the range's ends.
    anywhere = selection.events(kb, uncertain, with_rows=False) if uncertain else []
    dated_count = sum(b.count for b in certain) + len(anywhere)
    total = dated_count + undated
    end = min(start + size, total)
    if start >= total:
        return [], total
    if end > dated_count:  # the page reaches the undated events, which sort last
        return None
    while True:
        anchors = sorted(event.anchor for event in anywhere)
        first, last = _first_day(certain, anchors, start), _last_day(certain, anchors, end)
        near = [b for b in certain if b.first <= last and b.last >= first]
        # The coarse buckets near the page read first: their days narrow the months to read, which
        # their counts alone stretched by up to a year (a middle page of every event at a million
        # events read 64,775 events, 38,681 so). Each time round the stretch narrows.
        coarse = [b for b in near if b.first[:7] != b.last[:7]]
        if not coarse:
            break
        anywhere += selection.events(kb, [b.iri for b in coarse], with_rows=False)
        certain = [b for b in certain if b not in coarse]
    before = sum(b.count for b in certain if b.last < first)
    events = anywhere + (selection.events(kb, [b.iri for b in near], with_rows=False) if near else [])
    return sorted(events, key=chronological)[start - before:end - before], total


def _counted(kb: KnowledgeBase, selection: Selection, windowed_from: int) -> dict[str | None, int] | None:
    """How many matching events each bucket holds, None for those without one; None when an event is
    under two buckets, or, counted by query, when fewer than ``windowed_from`` match."""
    every_event = replace(selection.filt, via_agents=True) == TimelineFilter()
    (agents,) = selection.agents
    tallies = tallied(kb) if every_event or agents else None
    if agents and (buckets := filed_buckets(kb, agents)):
        # At a million events, the busiest actor's 237,128 events took 2.1-2.4 s by their buckets, 0.4 s so.
        return _counted_together(kb, *selection.counting_filed(buckets))
    everything_query, hashed_query, joined_query = selection.counting()
    (found,) = kb.query(everything_query)
    everything = int(found["n"].value)
    if everything < windowed_from:
        return None
    if tallies is not None and tallies.events == everything:
        return tallies.counts
    # By hash, every dated thing's bucket is read (1.5 s at a million events); event by event,
    # 10 µs an event of the selection: the hash past a sixth of the dated things.
    rows = kb.query(hashed_query if every_event or everything > _dated(kb, tallies) / 6 else joined_query)
    counts = {row["bucket"].value if row["bucket"] else None: int(row["n"].value) for row in rows}
    return counts if sum(counts.values()) == everything else None


def _dated(kb: KnowledgeBase, tallies: Tallied | None) -> int:
    """How many things are dated, near enough to choose how to count: from the files' tallies, read
    once a generation (0.15 s at a million events, and a page of every event or of an actor reads
    them anyway), else from the store (a scan of 0.4 s, most of a country's first page: 1.5 s)."""
    tallies = tallies or tallied(kb)
    return sum(n for bucket, n in tallies.counts.items() if bucket) if tallies is not None else kb.dated_count


def _counted_in(kb: KnowledgeBase, selection: Selection) -> dict[str | None, int] | None:
    """How many matching events each bucket of the filter's range holds, whatever their days; None
    when an event is under two of them."""
    return _counted_together(kb, *selection.counting_in(selection.dated_buckets))


def _counted_together(kb: KnowledgeBase, per_bucket_query: str, together_query: str,
                      rows: list[tuple]) -> dict[str | None, int] | None:
    """The counts by bucket (None: undated) of a pair of Selection counting queries over the same
    VALUES ``rows``; None when an event is under two buckets."""
    with ThreadPoolExecutor(2) as pool:  # the engine answers without the GIL
        per_bucket, (together,) = pool.map(lambda query: list(kb.select_values(query, rows, chunk=len(rows))),
                                           (per_bucket_query, together_query))
    counts = {row["bucket"].value if row["bucket"] else None: int(row["n"].value) for row in per_bucket}
    return counts if sum(counts.values()) == int(together["n"].value) else None


def _sorted_out(counts: dict[str, int], start: date | None, end: date | None) -> tuple[list[_Bucket], list[str]]:
    """The buckets whose events all match, with their counts, and those whose events must be read to
    know: a bucket without bounds, or (given a range) one reaching past either end of it."""
    certain, uncertain = [], []
    for iri, count in sorted(counts.items()):
        span = bucket_span(iri)
        if span and (start is None or start <= span[0]) and (end is None or span[1] <= end):
            certain.append(_Bucket(iri, span[0].isoformat(), span[1].isoformat(), count))
        else:
            uncertain.append(iri)
    return certain, uncertain


def _first_day(certain: list[_Bucket], anchors: list[str], start: int) -> str:
    """A day on or before the anchor of the event at position ``start``: the latest first day of a
    bucket such that at most ``start`` events can sort before it."""
    best, opened = date.min.isoformat(), 0  # opened: the events of the buckets opening before ``day``
    for day, opening in groupby(sorted(certain, key=attrgetter("first")), key=attrgetter("first")):
        if opened + bisect_left(anchors, day) > start:
            break
        best, opened = day, opened + sum(b.count for b in opening)
    return best


def _last_day(certain: list[_Bucket], anchors: list[str], end: int) -> str:
    """A day on or after the anchor of the event at position ``end - 1``: the earliest day by which at
    least ``end`` events sort for sure."""
    closing, closed = iter(sorted(certain, key=attrgetter("last"))), 0  # closed: by ``day``
    after = next(closing, None)
    for day in sorted({b.last for b in certain} | set(anchors)):
        while after is not None and after.last <= day:
            closed, after = closed + after.count, next(closing, None)
        if closed + bisect_right(anchors, day) >= end:
            return day
    return date.max.isoformat()


_ROWS_QUERY = "SELECT ?n ?row WHERE { VALUES (?event ?n) { %s } ?event dip:timelineRow ?row }"


def _rows_read(kb: KnowledgeBase, selected: list[Selected]) -> list[Selected]:
    """``selected``, chosen without their rows, with them."""
    rows: list[set[str]] = [set() for _ in selected]
    for n, row in kb.numbered_for_each(_ROWS_QUERY, [event.iri for event in selected]):
        rows[int(n.value)].add(row.value)
    return [replace(event, rows=tuple(sorted(found))) for event, found in zip(selected, rows)]
