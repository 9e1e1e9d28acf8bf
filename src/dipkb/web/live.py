"""The KB a server answers from: one open index generation shared by requests, replaced when the
files change, so that the server sees edits without a restart and each request reads one generation;
or, with ``serve --endpoint``, a SPARQL server that holds the KB (:class:`RemoteKB`).

Opening the store costs about 45 ms on the bundled KB; checking that the files did not change costs a
``stat`` per file. A request holds its generation until it ends: a replaced generation is closed when
its last request is done, and its lease keeps writers from deleting it before.

While one request refreshes the index for a change, the others answer from the generation held. A
change that does not load (a syntax error, an editor's half-written save) does not take the server
down: it answers from the generation it holds, says why in :attr:`LiveKB.stale`, and tries again when
the files change again, not on every request.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone

from dipkb.errors import KBFileError, KBSyntaxError
from dipkb.store import generations, index
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.remote import RemoteEngine


# Why the answer to the request under way comes from the files as they were: LiveKB.stale as it was
# when each of its readings took its generation. The web layer sets a list for each request; the
# threads the request runs in get a copy of its context, so they append to that list.
_STALE_NOTES: ContextVar[list[str] | None] = ContextVar("stale_notes", default=None)


@contextmanager
def noting_stale() -> Iterator[list[str]]:
    """Collect, for the request run inside, why its answers come from the files as they were: read
    when the answer is sent, the server's state could say "current" of an answer begun before a
    refresh and sent after it."""
    notes: list[str] = []
    token = _STALE_NOTES.set(notes)
    try:
        yield notes
    finally:
        _STALE_NOTES.reset(token)


def stale_notes() -> list[str]:
    """What :func:`noting_stale` collected so far for the request under way."""
    return _STALE_NOTES.get() or []


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
        self._lock = threading.Condition()  # notified when a refresh ends
        self._current: _Held | None = None
        self._failed: _FailedRefresh | None = None
        self._refreshing = False

    @property
    def stale(self) -> str | None:
        """Why the server answers from an older state of the files, or None when it does not. Read
        without the lock, which a check of the files holds: the event loop asks this of every answer."""
        held, failed, refreshing = self._current, self._failed, self._refreshing
        if held is None or not (refreshing or failed):
            return None
        as_of = f"as they were at {held.opened:%Y-%m-%d %H:%M:%S} UTC"
        if refreshing:
            return f"The KB's files changed; this server answers from them {as_of} while it reads the change."
        return f"The KB's files changed and do not load, so this server answers from them {as_of}:\n{failed.error}"

    @contextmanager
    def reading(self) -> Iterator[KnowledgeBase]:
        """The KB for one request: the same generation from start to end."""
        held = self._acquire()
        try:
            yield held.kb
        finally:
            with self._lock:
                held.readers -= 1
                done = held.retired and not held.readers
            if done:
                _close(held)

    def _acquire(self) -> _Held:
        """The generation to read, counted as read. The request that finds the files changed refreshes
        the index, outside the lock: the others answer from the generation held meanwhile (a large
        change took 10 s at 20,000 events, and held every request as long)."""
        with self._lock:
            while True:
                held = self._current
                if held is not None and (self._refreshing or self._holds_the_files(held)):
                    return self._counted(held)
                if not self._refreshing:
                    break
                self._lock.wait()  # the first refresh: nothing to answer from before it ends
            self._refreshing = True
        seen = None
        try:
            seen = self._files()
            opened = _Held(KnowledgeBase.open(layout=self.layout, progress=False), datetime.now(timezone.utc))
        except _FILE_ERRORS as error:
            with self._lock:
                self._refreshed()
                if held is None:  # nothing to answer from
                    raise
                self._failed = _FailedRefresh(str(error), seen)
                return self._counted(held)
        except BaseException:
            with self._lock:
                self._refreshed()
            raise
        with self._lock:
            self._refreshed()
            self._failed = None
            unread = self._retire()
            self._current = opened
            self._counted(opened)
        if unread is not None:
            _close(unread)
        return opened

    def _counted(self, held: _Held) -> _Held:
        """``held``, counted as read, and noted for the request when it is not the files as they are.
        Called with the lock held."""
        held.readers += 1
        notes, why = _STALE_NOTES.get(), self.stale
        if notes is not None and why is not None:
            notes.append(why)
        return held

    def _refreshed(self) -> None:
        self._refreshing = False
        self._lock.notify_all()

    def _holds_the_files(self, held: _Held) -> bool:
        """Whether ``held`` answers for the files as they are, or for the last state of them that
        loaded and they have not changed since a refresh failed. A stat of each file."""
        try:
            if self._failed is not None and self._failed.files == self._files():
                return True
            if held.kb.index is not None and index.is_current(self.layout, held.kb.index.generation):
                self._failed = None
                return True
        except _FILE_ERRORS:  # listing the files failed: the refresh says why
            pass
        return False

    def _files(self) -> FilesSeen:
        if not self.layout.kb_dir.is_dir():  # moved or deleted: not a KB with no events
            raise KBFileError(f"The KB's directory {self.layout.kb_dir} is gone (moved or deleted); put it "
                              "back, or restart the server on the KB where it is now.")
        seen = set()
        for graph, path in self.layout.file_graphs().items():
            try:
                stat = path.stat()
            except OSError:  # removed since the listing
                continue
            seen.add((graph, stat.st_size, stat.st_mtime_ns))
        return frozenset(seen)

    def _retire(self) -> _Held | None:
        """Retire the current generation; returned when no request reads it, to be closed."""
        held, self._current = self._current, None
        if held is not None:
            held.retired = True
        return held if held is not None and not held.readers else None

    def close(self) -> None:
        with self._lock:
            unread = self._retire()
        if unread is not None:
            _close(unread)


def _close(held: _Held) -> None:
    """Close a retired generation, and delete it: the refresh that replaced it could not while it was
    read, and at a million events a generation takes 8 GB of disk."""
    held.kb.close()
    if held.kb.index is not None:
        try:
            generations.collect_if_idle(held.kb.index.report.location)
        except OSError:  # the next writer deletes it: a request must not fail for it
            pass


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
