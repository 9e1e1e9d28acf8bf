"""Sorting more lines than fit in memory: the export's N-Triples of a KB of any size.

Lines are gathered in memory until their estimated size passes a bound, then sorted and written as
one run to an anonymous temporary file (in $TMPDIR, unlinked as soon as it is created: a crash,
even a kill, leaves nothing behind). Reading merges the runs and the lines still in memory
(heapq.merge), dropping repeats, so memory holds one bound's worth of lines whatever the KB's size.

Every line ends with a newline, kept: the runs are read back line by line as they were written,
with nothing to strip or add. That leaves the byte order unchanged because no line is a prefix of
another (an N-Triples or N-Quads statement ends at its " .", which never occurs inside a term:
a literal's quotes are escaped).
"""
from __future__ import annotations

import heapq
import io
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, suppress
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO, Self

from dipkb.util.paths import reporting_write_errors

# The bytes of lines held in memory before they are sorted and spilled to a run: at ~190 bytes a
# line (N-Triples of the generator's KB, with a bytes object's overhead), about 700k lines. A module
# constant, so that tests can make it tiny.
MEMORY_BOUND = 128 * 1024 * 1024
_LINE_OVERHEAD = 48  # a bytes object's header and its slot in a list
_BUFFER = 256 * 1024  # per run: a few dozen runs are read side by side


def temporary_writes() -> AbstractContextManager[None]:
    """Where a write to the temporary directory fails (a full $TMPDIR under a long output), the
    message names that directory rather than the output the user asked for."""
    return reporting_write_errors(Path(tempfile.gettempdir()), "dipkb sorts long outputs in the temporary "
                                  "directory: point TMPDIR to one with room", advise_when_full=True)


def _unique(sorted_lines) -> Iterator[bytes]:
    """Sorted lines without repeats (repeats are adjacent once sorted)."""
    return map(itemgetter(0), groupby(sorted_lines))


class LineSorter:
    """Unique lines in byte order, from texts added in any order, in bounded memory.

    A context manager: leaving it closes the runs, which the system then deletes.

    >>> with LineSorter() as sorter:
    ...     sorter.add(b"b\\na\\n")
    ...     sorter.add(b"a\\n")
    ...     list(sorter.lines())
    [b'a\\n', b'b\\n']
    """

    def __init__(self, bound: int | None = None):
        self._bound = MEMORY_BOUND if bound is None else bound
        self._lines: list[bytes] = []
        self._size = 0
        self._runs: list[BinaryIO] = []
        self._files = ExitStack()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the runs, which the system then deletes, and drop the lines held."""
        self._files.close()
        self._lines = []

    @property
    def spilled(self) -> int:
        """How many runs went to temporary files."""
        return len(self._runs)

    def add(self, text: bytes) -> None:
        """Lines to sort, each ending with a newline."""
        if not text:
            return
        lines = io.BytesIO(text).readlines()
        self._lines += lines
        self._size += len(text) + _LINE_OVERHEAD * len(lines)
        if self._size > self._bound:
            self._spill()

    def _spill(self) -> None:
        with temporary_writes():
            run = tempfile.TemporaryFile(prefix="dipkb-sort-", buffering=_BUFFER)
            try:
                self._lines.sort()
                run.writelines(_unique(self._lines))
                run.flush()
            except OSError:
                # Closed here, losing what it could not write: closing it later would try again and
                # fail with the bare OSError, which would then be blamed on the output.
                with suppress(OSError):
                    run.close()
                raise
        self._runs.append(self._files.enter_context(run))
        self._lines, self._size = [], 0

    def lines(self) -> Iterator[bytes]:
        """Every line added, in byte order, each once; each call reads them from the start, so read
        one call's lines before asking for another's."""
        self._lines.sort()
        if not self._runs:
            return _unique(self._lines)
        for run in self._runs:
            run.seek(0)
        return _unique(heapq.merge(*self._runs, self._lines))
