"""Sorting more lines than fit in memory: the export's N-Triples of a KB of any size, a long
timeline's events, what refers to a busy actor.

Lines are gathered in memory until their estimated size passes a bound, then sorted and written as
one run to an anonymous temporary file (in $TMPDIR, unlinked as soon as it is created: a crash,
even a kill, leaves nothing behind). Reading merges the runs and the lines still in memory
(heapq.merge), dropping repeats, so memory holds one bound's worth of lines whatever the KB's size.

Every line ends with a newline, kept: the runs are read back line by line as they were written,
with nothing to strip or add. That leaves the byte order unchanged because no line is a prefix of
another (an N-Triples or N-Quads statement ends at its " .", which never occurs inside a term:
a literal's quotes are escaped; of two lines of :func:`fields_line` with as many fields, where one
ends, the other's last field goes on with a byte above the newline).
"""
from __future__ import annotations

import heapq
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, suppress
from itertools import groupby, islice
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
_BATCH = 10_000  # lines joined into one text for LineSorter.add

# Fields of a line that sorts as their tuple of strings sorts (a string's code points compare as its
# UTF-8 bytes do). Each byte below 0x0C, newline and the separator among them, is written as 0x0B
# and the byte plus 0x20: still below every byte left as it is, in the same order among themselves.
# The separator, 0x01, is below both, so a field sorts before any longer one it begins.
_SEPARATOR = b"\x01"
_LOW = re.compile("[\x00-\x0b]")
_ESCAPES = {code: f"\x0b{chr(code + 0x20)}" for code in range(0x0C)}
_ESCAPED = re.compile(b"\x0b(.)", re.DOTALL)


def temporary_writes() -> AbstractContextManager[None]:
    """Where a write to the temporary directory fails (a full $TMPDIR under a long output), the
    message names that directory rather than the output the user asked for."""
    return reporting_write_errors(Path(tempfile.gettempdir()), "dipkb sorts long outputs in the temporary "
                                  "directory: point TMPDIR to one with room", advise_when_full=True)


def fields_line(fields: Sequence[str]) -> bytes:
    """A line of ``fields`` whose bytes sort, among lines of as many fields, as the tuple of them does;
    :func:`line_fields` reads it."""
    return _SEPARATOR.join((field.translate(_ESCAPES) if _LOW.search(field) else field).encode()
                           for field in fields) + b"\n"


def line_fields(line: bytes) -> list[str]:
    """The fields of a line made by :func:`fields_line`."""
    return [(_ESCAPED.sub(lambda match: bytes((match[1][0] - 0x20,)), field) if b"\x0b" in field else field).decode()
            for field in line[:-1].split(_SEPARATOR)]


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

    def add_lines(self, lines: Iterable[bytes]) -> None:
        """:meth:`add` of each line, a batch at a time."""
        lines = iter(lines)
        for batch in iter(lambda: list(islice(lines, _BATCH)), []):
            self.add(b"".join(batch))

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
