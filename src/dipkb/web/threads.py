"""The threads the pages and the JSON API answer on: a few of their own.

Their handlers read the KB in Python with no time limit, and Starlette runs every such handler, the
static files and the SPARQL endpoint's waits on one pool of 40 threads. 45 requests of a timeline
filtered by 20 actors (about 1.3 s each) took them all: the stylesheet then took 40.6 s to come.
Here they queue for PAGE_THREADS threads of their own instead, and the rest is served meanwhile.
"""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from anyio import CapacityLimiter, to_thread
from starlette.requests import Request
from starlette.responses import Response

# Two cores run two handlers at a time; a few more let a quick page pass one that waits on the disk.
PAGE_THREADS = 8


def page_threads() -> CapacityLimiter:
    """The limiter, made on the event loop it belongs to (in the application's lifespan)."""
    return CapacityLimiter(PAGE_THREADS)


def on_page_threads(handler: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` run on the application's page threads (``app.state.page_threads``)."""
    @functools.wraps(handler)
    async def answered(request: Request) -> Response:
        return await to_thread.run_sync(handler, request, limiter=request.app.state.page_threads)
    return answered
