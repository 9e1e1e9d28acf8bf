"""Work handed to a pool a few items ahead of the caller, the answers taken back in order."""
from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # concurrent.futures costs start-up; its callers import it when they need a pool
    from concurrent.futures import Executor, Future

Item = TypeVar("Item")
Answer = TypeVar("Answer")


def in_order(pool: Executor, work: Callable[[Item], Answer], items: Iterable[Item], ahead: int) -> Iterator[Answer]:
    """``work(item)`` of each item, in the items' order, with at most ``ahead`` items submitted beyond
    the one the caller waits for: the pool keeps busy while the caller reads, and memory stays flat."""
    pending: collections.deque[Future[Answer]] = collections.deque()
    for item in items:
        pending.append(pool.submit(work, item))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
