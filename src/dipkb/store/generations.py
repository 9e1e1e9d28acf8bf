"""Generations of the on-disk index: how a refresh stays invisible until it is whole.

The index directory holds:

- ``manifest.json``: the current generation and, per file graph, the size, mtime and hash of the
  file it was loaded from;
- ``store-<N>/``: generation N of the pyoxigraph store;
- ``store-<N>.lock``: readers of generation N hold a shared flock on it;
- ``write.lock``: the one writer holds an exclusive flock on it.

A writer never touches the current generation. It fills a new directory (a refresh starts from a
checkpoint of the current one: RocksDB hard-links its immutable table files, milliseconds whatever
the size), closes it, and commits by replacing ``manifest.json`` atomically. A crash or a kill at
any point leaves the old manifest naming the old, untouched generation, and the next writer deletes
the half-built one: an uncommitted generation is the "refresh in progress" marker (a command that
only reads deletes it too, when it finds the write lock free). Readers open a committed generation
read-only, which RocksDB allows only while no process writes it; after its commit none does. A
generation is deleted only once no reader holds its lock.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

import orjson
from pyoxigraph import Store

from dipkb.errors import IndexLockedError
from dipkb.util.durable import exclusive_lock, fsync_directory, try_lock, write_atomically
from dipkb.util.paths import display_path

MANIFEST = "manifest.json"
# Generation N owns store-N/, store-N.lock and store-N.tmp/ (RocksDB stages a checkpoint there,
# deleting whatever it finds first); store-N.scratch/ is what writers before 2026-12 left.
_GENERATION = re.compile(r"store-(\d+)(?:\.lock|\.scratch|\.tmp)?")
T = TypeVar("T")


@dataclass(frozen=True)
class FileState:
    """What the index knows of one source file."""

    size: int
    mtime_ns: int
    digest: str  # blake2b of the text loaded; "" when the file changed while it was loaded


@dataclass
class Manifest:
    """The committed state of the index; replaced atomically, never edited in place."""

    generation: int
    files: dict[str, FileState]
    fingerprint: str
    vocabulary: list[str] = field(default_factory=list)  # the roles and event classes derivation read

    @classmethod
    def load(cls, directory: Path) -> Manifest | None:
        """The manifest, or None when there is none or it is unreadable (a rebuild follows)."""
        try:
            data = orjson.loads((directory / MANIFEST).read_bytes())
            data["files"] = {graph: FileState(**state) for graph, state in data["files"].items()}
            manifest = cls(**data)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        # A number names the generation's directory: anything else (a path, -1) was not written by dipkb.
        return manifest if type(manifest.generation) is int and manifest.generation > 0 else None

    @staticmethod
    def current_generation(directory: Path) -> int | None:
        """The generation the manifest names, None as for :meth:`load`; without reading the state of
        every file (half of the 2 ms the whole manifest of 2,000 files takes)."""
        try:
            generation = orjson.loads((directory / MANIFEST).read_bytes())["generation"]
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return generation if type(generation) is int and generation > 0 else None

    def save(self, directory: Path) -> None:
        """Commit: replace the manifest atomically and durably."""
        write_atomically(directory / MANIFEST, json.dumps(asdict(self), sort_keys=True).encode())


@dataclass
class Lease:
    """A generation's store opened read-only, and the shared lock that keeps writers from deleting
    its files while it is in use. Closing the handle (or the process ending) releases it."""

    store: Store
    handle: BinaryIO


def store_path(directory: Path, generation: int) -> Path:
    return directory / f"store-{generation}"


def next_generation(directory: Path, current: int) -> int:
    """A generation number no directory uses yet, not even a crashed writer's."""
    return 1 + max([current] + [int(m[1]) for p in directory.iterdir() if (m := _GENERATION.fullmatch(p.name))])


def opens(directory: Path, generation: int) -> bool:
    """Whether a generation opens: a missing or damaged one makes the next refresh a rebuild."""
    try:
        Store.read_only(str(store_path(directory, generation)))
        return True
    except (OSError, RuntimeError):  # RocksDB's "Corruption: ..." is a RuntimeError
        return False


def lease(directory: Path, generation: int, *, held: bool = False) -> Lease | None:
    """Lease generation ``generation`` and open it read-only; None if it stopped being current first
    (a writer committed since the caller read the manifest) or does not open. ``held``: another
    lease keeps it, current or not (a server's query worker answering from the server's generation)."""
    handle = open(directory / f"store-{generation}.lock", "a+b")
    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
    # Again, now that no writer can delete the generation.
    try:
        if held or Manifest.current_generation(directory) == generation:
            return Lease(Store.read_only(str(store_path(directory, generation))), handle)
    except (OSError, RuntimeError):  # missing or damaged: the caller refreshes, which rebuilds it
        pass
    handle.close()
    return None


def fill_new(directory: Path, generation: int, fill: Callable[[Path], T]) -> T:
    """Run ``fill(store directory)`` for a new generation and make the store durable; remove it if
    anything fails. The caller commits by saving a manifest that names it."""
    target = store_path(directory, generation)
    try:
        result = fill(target)
        for path in target.iterdir():
            if path.is_file() and path.stat().st_nlink == 1:  # others are links to committed files
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        fsync_directory(target)
        return result
    except BaseException as error:
        _release(error)
        shutil.rmtree(target, ignore_errors=True)
        raise


def _release(error: BaseException | None) -> None:
    """Clear the finished frames of ``error`` and of what it was raised from: they hold the half-built
    Store, which stays open as long as the exception lives (a server keeps it a while), and RocksDB
    then refuses to open the same generation again in this process ("lock hold by current process")."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        error = error.__context__


def collect_garbage(directory: Path, keep: int) -> None:
    """Under the write lock: delete every generation but ``keep`` that no reader holds, old ones
    and those of writers that crashed."""
    numbers = {int(m[1]) for p in directory.iterdir() if (m := _GENERATION.fullmatch(p.name))}
    for generation in numbers - {keep}:
        lock = directory / f"store-{generation}.lock"
        with open(lock, "a+b") as handle:
            if not try_lock(handle):
                continue  # a reader still has it open; a later refresh deletes it
            for suffix in ("", ".scratch", ".tmp"):
                shutil.rmtree(directory / f"store-{generation}{suffix}", ignore_errors=True)
            lock.unlink(missing_ok=True)
    for temporary in directory.glob(f".{MANIFEST}.*.tmp"):  # left by a writer killed while saving
        temporary.unlink(missing_ok=True)


def collect_if_idle(directory: Path) -> None:
    """Collect garbage if no writer holds the lock, without waiting for it: commands that only read
    call it, so that what a killed writer left does not stay until the next refresh. Cheap: a
    directory listing and a non-blocking lock per generation left."""
    with open(directory / "write.lock", "a+b") as handle:
        if not try_lock(handle):
            return  # a writer is at work; it collects when it commits
        manifest = Manifest.load(directory)  # read under the lock: no commit can follow
        collect_garbage(directory, manifest.generation if manifest else 0)


@contextmanager
def write_lock(directory: Path, timeout: float, waiting: Callable[[], None]) -> Iterator[None]:
    """Hold the index's write lock, calling ``waiting`` while another process has it; raise
    IndexLockedError after ``timeout`` seconds. The kernel releases it if the process dies."""
    def timed_out() -> IndexLockedError:
        return IndexLockedError(f"Another dipkb process has been updating the index in {display_path(directory)} "
                                f"for more than {timeout:.0f} s; wait for it to finish, or stop it.")

    with open(directory / "write.lock", "a+b") as handle, exclusive_lock(handle, timeout, timed_out, waiting):
        yield
