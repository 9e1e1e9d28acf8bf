"""The KB a server answers from: one open index generation shared by requests, replaced when the
files change, so that the server sees edits without a restart and each request reads one generation;
or, with ``serve --endpoint``, a SPARQL server that holds the KB (:class:`RemoteKB`).

Opening the store costs about 45 ms on the bundled KB; checking that the files did not change costs a
``stat`` per file. A request holds its generation until it ends: a replaced generation is closed when
its last request is done, and its lease keeps writers from deleting it before.

A change that does not load (a syntax error, an editor's half-written save) does not take the server
down: it answers from the generation it holds, says why in :attr:`LiveKB.stale`, and tries again when
the files change again, not on every request.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from dipkb.errors import KBFileError, KBSyntaxError
from dipkb.store import index
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.remote import RemoteEngine


# What the files can do to a refresh; the server's own failures (a locked or vanished index) stay errors.
_FILE_ERRORS = (KBSyntaxError, KBFileError)

FilesSeen = frozenset[tuple[str, int, int]]


@dataclass
class _Held:
    kb: KnowledgeBase
    opened: datetime
    readers: int = 0
    retired: bool = False


@dataclass(frozen=True)
class _FailedRefresh:
    error: str
    files: FilesSeen | None  # as they were when the refresh began: tried again once they differ


class LiveKB:
    def __init__(self, layout: KBLayout):
        self.layout = layout
        self._lock = threading.Lock()
        self._current: _Held | None = None
        self._failed: _FailedRefresh | None = None

    @property
    def stale(self) -> str | None:
        """Why the server answers from an older state of the files, or None when it does not. Read
        without the lock, which a refresh holds for seconds: the event loop asks this of every answer."""
        failed, held = self._failed, self._current
        if failed is None or held is None:
            return None
        return (f"The KB's files changed and do not load, so this server answers from them as they were at "
                f"{held.opened:%Y-%m-%d %H:%M:%S} UTC:\n{failed.error}")

    def _fresh(self) -> _Held:
        """The current generation, opened (and refreshed from the files) if the one held is stale.
        Called with the lock held: one request refreshes, the others wait for it."""
        held, seen = self._current, None
        try:
            if held is not None:
                if self._failed is not None and self._failed.files == (seen := self._files()):
                    return held
                if held.kb.index is not None and index.is_current(self.layout, held.kb.index.generation):
                    self._failed = None
                    return held
            if seen is None:
                seen = self._files()
            opened = _Held(KnowledgeBase.open(layout=self.layout, progress=False), datetime.now(timezone.utc))
        except _FILE_ERRORS as error:
            if held is None:  # nothing to answer from
                raise
            self._failed = _FailedRefresh(str(error), seen)
            return held
        self._failed = None
        self._retire()
        self._current = opened
        return opened

    def _files(self) -> FilesSeen:
        seen = set()
        for graph, path in self.layout.file_graphs().items():
            try:
                stat = path.stat()
            except OSError:  # removed since the listing
                continue
            seen.add((graph, stat.st_size, stat.st_mtime_ns))
        return frozenset(seen)

    def _retire(self) -> None:
        if self._current is not None:
            self._current.retired = True
            if not self._current.readers:
                self._current.kb.close()
            self._current = None

    @contextmanager
    def reading(self) -> Iterator[KnowledgeBase]:
        """The KB for one request: the same generation from start to end."""
        with self._lock:
            held = self._fresh()
            held.readers += 1
        try:
            yield held.kb
        finally:
            with self._lock:
                held.readers -= 1
                if held.retired and not held.readers:
                    held.kb.close()

    def close(self) -> None:
        with self._lock:
            self._retire()


class RemoteKB:
    """The KB on a SPARQL server (``dipkb push`` keeps it there). Each request gets a KB of its own:
    what a view caches per KB (the event classes) is then never older than the request, as the
    server's data may change under a running ``dipkb serve``. The saved queries still come from the
    local files (``layout``)."""

    stale = None  # the server's data are what they are: a failed push leaves them as they were

    def __init__(self, layout: KBLayout, engine: RemoteEngine):
        self.layout = layout
        self.engine = engine

    @contextmanager
    def reading(self, timeout: float | None = None) -> Iterator[KnowledgeBase]:
        """The KB for one request, its reads cut after ``timeout`` seconds when given."""
        yield KnowledgeBase(self.layout, self.engine if timeout is None else self.engine.limited(timeout))

    def close(self) -> None:
        pass
