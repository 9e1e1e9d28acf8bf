"""The dipkb command line: parses arguments, calls the library, renders. Nothing else lives here."""
from __future__ import annotations

import errno
import gc
import os
import sys
import threading

from dipkb.cli.base import EXIT_OK, cli
from dipkb.errors import DipkbError

# A long output makes and drops millions of small objects while it holds a large selection, and
# CPython's default first threshold (700) ran a full collection over all of it dozens of times: the
# busiest actor's whole timeline at a million events took 26-28 s with it, 18-19 s with this.
GC_THRESHOLDS = (100_000, 10, 10)


def main() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    if sys.stdout is None:  # started with it closed (`dipkb stats >&-`): Python gives None, which click cannot use
        print("Error: standard output is closed; send it to a file, or to /dev/null.", file=sys.stderr)
        sys.exit(DipkbError.exit_code)
    try:
        cli(prog_name="dipkb")
    except SystemExit as done:
        if isinstance(done.code, int | None) and _alone():
            _exit_now(done.code or 0)
        raise
    except OSError as error:  # click's own output (--help, --version) to a full or closed stdout
        if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EBADF, errno.EPIPE):
            raise
        if error.errno != errno.EPIPE:
            print(f"Error: cannot write: {error.strerror}.", file=sys.stderr)  # as DipkbGroup.invoke says it
        os._exit(EXIT_OK if error.errno == errno.EPIPE else DipkbError.exit_code)


def _alone() -> bool:
    """Whether nothing but this thread runs: no thread or child process an interpreter's exit would wait
    for (multiprocessing is imported only by the commands that start processes)."""
    return threading.active_count() == 1 and "multiprocessing" not in sys.modules


def _exit_now(code: int) -> None:
    """Exit once stdout and stderr are flushed, without freeing every object and closing the store's
    files one by one: that took 30 ms of a 0.5 s timeline at a million events. Every file a command
    writes is closed, and made durable, before it returns. mypy ends the same way (util.hard_exit).
    A stream that does not flush (a closed pipe) is left to the interpreter's own exit."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)
