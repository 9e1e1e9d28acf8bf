"""Changing KB files safely: all or nothing, one writer at a time.

Every write goes to a temporary file beside its target (hidden, so the loader skips it), is checked to
parse, and replaces the target with os.replace, which is atomic on POSIX. When several files change,
their old bytes are kept until all are replaced, and put back if any step fails: a failed or
interrupted write leaves every file byte-identical. Writers take an exclusive fcntl lock on
``kb/.dipkb-write.lock`` and read the file they append to only once they hold it, so two concurrent
writers both land.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import RdfFormat, parse

from dipkb.errors import IndexLockedError, KBSyntaxError
from dipkb.kb import syntax_problem
from dipkb.layout import KBLayout, display_path

LOCK_NAME = ".dipkb-write.lock"
_PREFIX = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.I | re.M)


@contextmanager
def write_lock(layout: KBLayout, timeout: float = 60.0) -> Iterator[None]:
    """Hold the KB's write lock; IndexLockedError if another writer keeps it longer than ``timeout``.
    The lock is released by the kernel if the process dies, so a crash never leaves the KB locked."""
    layout.kb_dir.mkdir(parents=True, exist_ok=True)
    with open(layout.kb_dir / LOCK_NAME, "a+b") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexLockedError(f"Another dipkb process has been writing to {display_path(layout.kb_dir)} "
                                           f"for over {timeout:.0f} s; try again when it has finished.") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class FileWrite:
    """Text to add to a file (``append``) or to replace its content with."""

    path: Path
    text: str
    append: bool = True


def check_turtle(path: Path) -> None:
    """Raise KBSyntaxError, with file:line:column, if the file does not parse as Turtle."""
    try:
        with path.open("rb") as stream:
            for _ in parse(stream, format=RdfFormat.TURTLE):
                pass
    except (SyntaxError, UnicodeDecodeError) as error:
        raise KBSyntaxError([syntax_problem(path, error)]) from None


def missing_prefixes(existing: str, wanted: dict[str, str]) -> dict[str, str]:
    """The prefixes of ``wanted`` that ``existing`` Turtle does not bind (its last binding counts)."""
    bound: dict[str, str] = {}
    for match in _PREFIX.finditer(existing):
        bound[match.group(1) or ""] = match.group(2)
    return {name: ns for name, ns in wanted.items() if bound.get(name) != ns}


def joined(old: str, addition: str) -> str:
    """``addition`` after ``old``, separated by one blank line."""
    if not old:
        return addition
    return old.rstrip("\n") + "\n\n" + addition.lstrip("\n")


def write_files(layout: KBLayout, writes: Sequence[FileWrite], *,
                check: Callable[[Path], None] | None = check_turtle, lock: bool = True,
                timeout: float = 60.0) -> list[Path]:
    """Apply ``writes`` all together or not at all; returns the paths written."""
    if lock:
        with write_lock(layout, timeout):
            return _write_all(writes, check)
    return _write_all(writes, check)


def _write_all(writes: Sequence[FileWrite], check: Callable[[Path], None] | None) -> list[Path]:
    originals: dict[Path, bytes | None] = {}
    temporaries: dict[Path, Path] = {}
    created_dirs: list[Path] = []
    replaced: list[Path] = []
    try:
        for write in writes:
            path = write.path.resolve()
            created_dirs += _make_parents(path.parent)
            old = path.read_bytes() if path.exists() else None
            originals.setdefault(path, old)
            base = (old or b"").decode("utf-8") if write.append else ""
            temporaries[path] = _temporary(path, joined(base, write.text).encode("utf-8"))
            if check is not None:
                check(temporaries[path])
        for path, temporary in temporaries.items():
            os.replace(temporary, path)
            replaced.append(path)
    except BaseException:
        # Put back what was replaced, newest first, then drop temporaries and new directories.
        for path in reversed(replaced):
            if originals[path] is None:
                path.unlink(missing_ok=True)
            else:
                os.replace(_temporary(path, originals[path]), path)
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
        for directory in reversed(created_dirs):
            try:
                directory.rmdir()
            except OSError:
                pass
        raise
    return replaced


def _make_parents(directory: Path) -> list[Path]:
    created = []
    for parent in reversed([directory, *directory.parents]):
        if not parent.exists():
            parent.mkdir()
            created.append(parent)
    return created


def _temporary(path: Path, data: bytes) -> Path:
    """``data`` in a hidden file beside ``path``, flushed to disk, with the target's permissions."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(name, mode)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
