"""The two primitives every writer of dipkb shares: an exclusive lock with a timeout, and a file
replaced atomically and durably.

A file is written to a hidden temporary beside its target (same disk, so os.replace is atomic on
POSIX; hidden, so the KB's loader skips it), flushed to disk, given the permissions a plain open()
would give the target, then put in place; the directory is flushed too, or a power cut after the
rename could bring back the old name. Locks are flock locks: the kernel releases them when the
process dies, so a crash never leaves anything locked.
"""
from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def exclusive_lock(handle: BinaryIO, timeout: float, timed_out: Callable[[], Exception],
                   waiting: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Hold an exclusive flock on the open file ``handle``, calling ``waiting`` while another process
    has it; raise ``timed_out()`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise timed_out() from None
            waiting()
            time.sleep(0.05)
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def try_lock(handle: BinaryIO) -> bool:
    """Take an exclusive flock on ``handle`` if nobody holds one, without waiting; it lasts until the
    handle is closed. Used to tidy up after dead writers only while no live one is at work."""
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def new_file_mode(path: Path) -> int:
    """The permissions of a file that replaces ``path``: its own if it exists, else those open() gives
    a new file under the umask. mkstemp creates every file 0600, whatever the umask."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)  # the only way to read it; set back at once
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def temporary_beside(path: Path, then: Callable[[Path], None] = lambda name: None) -> Iterator[tuple[BinaryIO, Path]]:
    """A new hidden file beside ``path`` and its name, to write to; on leaving, it is flushed to disk,
    has the permissions ``path`` would get, and ``then(name)`` runs. Deleted if any of it fails.

    Locked until then, so that the next writer of ``path`` can tell a killed writer's file, which it
    deletes (an export killed at 1 s left 27 MB beside its output for good), from a live one's."""
    import tempfile  # here: it costs every command 4 ms of start-up, and only writes need it

    _remove_dead_temporaries(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    lock = os.open(name, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream, Path(name)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(name, new_file_mode(path))
        then(Path(name))
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    finally:
        os.close(lock)


# mkstemp's names: the prefix, eight characters of [a-z0-9_], the suffix.
_RANDOM_PART = 8
# A file is made before its lock is taken: one younger than this may be a live writer's, unlocked yet
# (four processes writing one file 3,000 times each deleted each other's a hundred times).
_SURELY_DEAD = 60.0  # seconds since it was last written


def _remove_dead_temporaries(path: Path) -> None:
    """Delete the temporary files beside ``path`` whose writer died: nobody holds their lock, and
    nothing was written to them for a while."""
    prefix = f".{path.name}."
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(prefix) and n.endswith(".tmp")
                 and len(n) == len(prefix) + _RANDOM_PART + len(".tmp")]
    except OSError:
        return
    for name in names:
        try:
            with open(path.parent / name, "rb") as handle:
                if time.time() - os.fstat(handle.fileno()).st_mtime > _SURELY_DEAD and try_lock(handle):
                    os.unlink(path.parent / name)
        except OSError:  # gone meanwhile, or not ours to delete: never a reason to fail the write
            pass


def write_temporary(path: Path, data: bytes) -> Path:
    """``data`` in a durable hidden file beside ``path``, to be checked before it replaces it."""
    with temporary_beside(path) as (stream, name):
        stream.write(data)
    return name


def put_in_place(temporary: Path, path: Path) -> None:
    """Replace ``path`` with ``temporary`` (beside it) and make the rename itself durable."""
    os.replace(temporary, path)
    fsync_directory(path.parent)


@contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A stream whose bytes replace ``path`` atomically and durably once the block completes; if it
    fails, ``path`` is untouched and nothing is left behind."""
    with temporary_beside(path, then=lambda name: put_in_place(name, path)) as (stream, _):
        yield stream


def write_atomically(path: Path, data: bytes) -> None:
    with replacing(path) as stream:
        stream.write(data)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
