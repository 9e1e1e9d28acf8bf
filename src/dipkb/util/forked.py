"""Work done in a forked child that exits without freeing what it built.

Freeing a big in-memory store is slow: 11.6M quads in Oxigraph's memory store take 5-8 s to free,
one small allocation at a time, where a process that ends hands its pages back to the system at
once. A child forked for the work sends its answer back and ends with ``os._exit``.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import TypeVar

from dipkb.errors import InternalError

Answer = TypeVar("Answer")

# What the work leaves to the child's exit (see keep_until_exit).
_KEPT: list[object] = []


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def keep_until_exit(thing: object) -> None:
    """Hold ``thing`` until the process ends: in a child of :func:`in_child`, it is never freed."""
    _KEPT.append(thing)


def in_child(work: Callable[[], Answer]) -> Answer:
    """``work()``, run in a forked child; what it raises is raised here (it must pickle). Fork only
    from a process with no other threads and no on-disk store open: neither survives a fork."""
    context = multiprocessing.get_context("fork")
    answers, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, sender))
    child.start()
    sender.close()
    try:
        ok, answer = answers.recv()
    except EOFError:
        child.join()
        raise InternalError(f"the child process doing the work ended without an answer (exit code "
                            f"{child.exitcode})") from None
    finally:
        answers.close()
        if child.is_alive() and child.exitcode is None:
            child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()
    if not ok:
        raise answer
    return answer


def _child(work: Callable[[], object], sender) -> None:
    try:
        try:
            message = (True, work())
        except BaseException as error:  # every way out, a keyboard interrupt included, reaches the parent
            message = (False, error)
        try:
            sender.send(message)
        except Exception as error:  # an answer or error that does not pickle
            sender.send((False, InternalError(f"the child process could not send back {message[1]!r}: {error}")))
        sender.close()
    finally:
        os._exit(0)
