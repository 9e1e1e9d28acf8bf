"""One status line on stderr, rewritten in place: how long commands (index builds, pushes) show progress."""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StatusLine:
    """Silent unless asked (``enabled``) or, when None, unless stderr is a terminal."""

    def __init__(self, enabled: bool | None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.shown = ""

    def note(self, text: str) -> None:
        if self.enabled and text != self.shown:
            self.shown = text
            sys.stderr.write(f"\r\x1b[K{text}")
            sys.stderr.flush()

    def clear(self) -> None:
        self.note("")

    @contextmanager
    def ticking(self, status: Callable[[], str]) -> Iterator[None]:
        """Show ``status()`` and the seconds spent, every half second while the block runs."""
        if not self.enabled:
            yield
            return
        started, stop = time.monotonic(), threading.Event()

        def tick() -> None:
            while True:
                self.note(f"{status()} ({time.monotonic() - started:.0f} s)")
                if stop.wait(0.5):
                    return
        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()
            self.note(f"{status()} ({time.monotonic() - started:.0f} s)")
