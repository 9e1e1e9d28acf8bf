"""The KB a server answers from: one open index generation shared by requests, replaced when the
files change, so that the server sees edits without a restart and each request reads one generation;
or, with ``serve --endpoint``, a SPARQL server that holds the KB (:class:`RemoteKB`).

Opening the store costs about 45 ms on the bundled KB; checking that the files did not change costs a
``stat`` per file. A request holds its generation until it ends: a replaced generation is closed when
its last request is done, and its lease keeps writers from deleting it before.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dipkb.store import index
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.remote import RemoteEngine


@dataclass
class _Held:
    kb: KnowledgeBase
    readers: int = 0
    retired: bool = False


class LiveKB:
    def __init__(self, layout: KBLayout):
        self.layout = layout
        self._lock = threading.Lock()
        self._current: _Held | None = None

    def _fresh(self) -> _Held:
        """The current generation, opened (and refreshed from the files) if the one held is stale.
        Called with the lock held: one request refreshes, the others wait for it."""
        held = self._current
        if held is not None and held.kb.index is not None and index.is_current(self.layout, held.kb.index.generation):
            return held
        opened = _Held(KnowledgeBase.open(layout=self.layout, progress=False))
        self._retire()
        self._current = opened
        return opened

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

    def __init__(self, layout: KBLayout, engine: RemoteEngine):
        self.layout = layout
        self.engine = engine

    @contextmanager
    def reading(self, timeout: float | None = None) -> Iterator[KnowledgeBase]:
        """The KB for one request, its reads cut after ``timeout`` seconds when given."""
        yield KnowledgeBase(self.layout, self.engine if timeout is None else self.engine.limited(timeout))

    def close(self) -> None:
        pass
