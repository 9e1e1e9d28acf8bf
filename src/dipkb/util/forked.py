"""Work done in a forked child that exits without freeing what it built.

Freeing a big in-memory store is slow: 11.6M quads in Oxigraph's memory store take 5-8 s to free,
one small allocation at a time, where a process that ends hands its pages back to the system at
once. A child forked for the work sends its answer back and ends with ``os._exit``; it also ends
when its parent does, killed or not (:func:`exit_with`, which the export's workers use too).
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from dipkb.errors import InternalError

Answer = TypeVar("Answer")

# What the work leaves to the child's exit (see keep_until_exit).
_KEPT: list[object] = []


def can_fork() -> bool:
    import multiprocessing  # here, as below: it costs start-up, and most commands never fork

    return "fork" in multiprocessing.get_all_start_methods()


def keep_until_exit(thing: object) -> None:
    """Hold ``thing`` until the process ends: in a child of :func:`in_child`, it is never freed."""
    _KEPT.append(thing)


def exit_with(parent: int) -> None:
    """In a child process: exit as soon as ``parent`` is gone (then the child has another parent),
    even killed, rather than work or wait for nobody."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="dipkb-parent-watch", daemon=True).start()


def in_child(work: Callable[[], Answer]) -> Answer:
    """``work()``, run in a forked child; what it raises is raised here (it must pickle). Fork only
    from a process with no on-disk store open and no other thread at work (threads waiting on
    children of their own, as dipkb.shacl.batches's do, hold nothing the child could need)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    answers, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, sender, os.getpid()))
    child.start()
    sender.close()
    try:
        ok, answer = answers.recv()
    except EOFError:  # the child died before it answered
        ok, answer = None, None
    finally:
        answers.close()
        child.join(timeout=5)
        if child.is_alive():  # this process was interrupted: the child must not work on alone
            child.kill()
            child.join()
    if ok is None:
        raise InternalError(f"the child process doing the work ended without an answer (exit code "
                            f"{child.exitcode})")
    if not ok:
        raise answer
    return answer


def _child(work: Callable[[], object], sender, parent: int) -> None:
    try:
        exit_with(parent)
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
