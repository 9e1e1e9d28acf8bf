"""A selection too long to hold, for the views that write every event of it: sorted on disk.

At a million events, the whole timeline's selection held in memory (each event's IRI, days and
timeline rows) took the process past 1.4 GB for its CSV. Up to HELD_AT_MOST events a selection is
gathered in memory, as a page or a short timeline needs it; past that, its solutions go through two
external sorts (views/sorting.py): by event, to gather each event's rows, then chronologically. An
event whose solutions disagree on its days (two files date it) keeps the greatest, as one held in
memory does (selected.Gathering).
"""
from __future__ import annotations

from collections.abc import Collection, Iterator
from itertools import groupby

import orjson

from dipkb.store.kb import KnowledgeBase
from dipkb.views.selected import NO_LAST_DAY, Gathering, Selected, Solution, first_instant
from dipkb.views.selection import Selection, TimelineFilter
from dipkb.views.sorting import LineSorter

HELD_AT_MOST = 50_000
# Each of the two sorts holds this much before spilling a run: both are in memory at once while
# the first is read into the second.
_SORT_BOUND = 32 << 20


def select_all(kb: KnowledgeBase, filt: TimelineFilter) -> Collection[Selected]:
    """The events of ``filt``, chronological, as :func:`selection.select_events` gives them: a list
    up to HELD_AT_MOST events, else a collection read from disk (its length known, iterated in order)."""
    selection = Selection.of(kb, filt)
    solutions = selection.solutions(kb, selection.dated_buckets)
    gathering = Gathering()
    for solution in solutions:
        gathering.add(*solution)
        if len(gathering.found) > HELD_AT_MOST:
            return _sorted_on_disk(gathering, solutions)
    return gathering.selected()


class SortedOnDisk(Collection[Selected]):
    """Events in chronological order, in a sorter's runs on disk: iterated as they are read back."""

    def __init__(self, sorter: LineSorter, count: int):
        self._sorter, self._count = sorter, count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Selected]:
        for line in self._sorter.lines():
            _, _, _, iri, lo, hi, rows = line[:-1].split(b"\t")
            yield Selected(iri.decode(), lo.decode() or None, hi.decode() or None, tuple(orjson.loads(rows)))

    def __contains__(self, event: object) -> bool:
        return any(event == held for held in self)


def _sorted_on_disk(gathering: Gathering, rest: Iterator[Solution]) -> SortedOnDisk:
    held = ((iri, lo, hi, row) for iri, (lo, hi, rows) in gathering.found.items() for row in rows or (None,))
    by_event = LineSorter(_SORT_BOUND)
    by_event.add_lines(map(_solution_line, held))
    gathering.found.clear()
    by_event.add_lines(map(_solution_line, rest))
    in_order, count = LineSorter(_SORT_BOUND), 0

    def events() -> Iterator[bytes]:
        nonlocal count
        for iri, lines in groupby(by_event.lines(), key=lambda line: line[:line.index(b"\t")]):
            rows: set[str] = set()
            for line in lines:  # sorted by their days too: the last line has the greatest
                _, lo, hi, row = line[:-1].split(b"\t")
                if row:
                    rows.add(orjson.loads(row))
            count += 1
            yield _event_line(iri.decode(), lo.decode() or None, hi.decode() or None, sorted(rows))

    in_order.add_lines(events())
    by_event.close()
    return SortedOnDisk(in_order, count)


def _solution_line(solution: Solution) -> bytes:
    """A solution as a line that sorts by event; a row as a JSON string, which escapes tabs and newlines."""
    iri, lo, hi, row = solution
    return b"%s\t%s\t%s\t%s\n" % (iri.encode(), (lo or "").encode(), (hi or "").encode(),
                                  b"" if row is None else orjson.dumps(row))


def _event_line(iri: str, lo: str | None, hi: str | None, rows: list[str]) -> bytes:
    """An event as a line whose bytes sort as selected.chronological orders it (tab comes before any
    character of a day or an IRI)."""
    anchor = lo or hi
    key = f"{0 if anchor else 1}{anchor or ''}\t{hi or NO_LAST_DAY}\t{first_instant(tuple(rows))}"
    return f"{key}\t{iri}\t{lo or ''}\t{hi or ''}\t".encode() + orjson.dumps(rows) + b"\n"

