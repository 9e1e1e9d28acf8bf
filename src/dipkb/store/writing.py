"""Changing KB files safely: all or nothing, one writer at a time.

Every write goes to a temporary file beside its target (hidden, so the loader skips it), is checked to
parse, and replaces the target with os.replace, which is atomic on POSIX. When several files change,
their old bytes are kept until all are replaced, and put back if any step fails: a failed or
interrupted write leaves every file byte-identical. Writers take an exclusive fcntl lock on
``kb/.dipkb/kb-write.lock`` (in the index directory, so that kb/ holds only data) and read the file
they append to only once they hold it, so two concurrent writers both land. A writer killed midway
leaves a hidden temporary file; the next one to hold the lock deletes it, and so does a command that
only reads when it finds the lock free.
"""
from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import RdfFormat

from dipkb.errors import KBLockedError, ReadOnlyKBError
from dipkb.store.layout import KBLayout
from dipkb.store.loading import check_syntax
from dipkb.util.durable import exclusive_lock, put_in_place, try_lock, write_temporary
from dipkb.util.paths import display_path, reporting_write_errors

LOCK_NAME = "kb-write.lock"  # in layout.index_dir; the index's own write.lock is another lock
# The names durable gives its temporaries: mkstemp puts eight characters of [a-z0-9_] between prefix and suffix.
_TEMPORARY = re.compile(r"\..+\.(?:ttl|nt)\.[a-z0-9_]{8}\.tmp")
_READ_ONLY = "the knowledge base cannot be changed here; copy it somewhere writable and pass --kb DIR"
_PREFIX = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.I | re.M)


def check_writable(layout: KBLayout) -> None:
    """Raise ReadOnlyKBError for the example inside the installed package: what is written there is
    lost when pip upgrades or uninstalls dipkb."""
    if layout.is_installed_example:
        raise ReadOnlyKBError("The bundled example KB is read-only: it lives inside the installed dipkb package. "
                              "Start your own with `dipkb init mykb --example`, then run dipkb inside mykb "
                              "(or pass --kb mykb).")


@contextmanager
def write_lock(layout: KBLayout, timeout: float = 60.0) -> Iterator[None]:
    """Hold the KB's write lock; KBLockedError if another writer keeps it longer than ``timeout``.
    The lock is released by the kernel if the process dies, so a crash never leaves the KB locked."""
    check_writable(layout)  # before the lock file is created inside the package
    with reporting_write_errors(layout.kb_dir, _READ_ONLY):
        layout.index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(layout.index_dir / LOCK_NAME, "a+b")

    def timed_out() -> KBLockedError:
        return KBLockedError(f"Another dipkb process has been writing to {display_path(layout.kb_dir)} "
                             f"for over {timeout:.0f} s; try again when it has finished.")

    with handle, exclusive_lock(handle, timeout, timed_out):
        _remove_leftovers(layout)
        yield


def remove_leftovers_if_idle(layout: KBLayout) -> None:
    """Without waiting: if no writer holds the KB's lock, delete what writers that died left behind.
    Commands that only read call it, so that a crash's litter does not wait for the next write."""
    try:
        handle = open(layout.index_dir / LOCK_NAME, "rb")  # never created here: without it, no writer ever ran
    except OSError:
        return
    with handle:
        if try_lock(handle):  # else a writer is at work, and its temporary files are live
            _remove_leftovers(layout)


def _remove_leftovers(layout: KBLayout) -> None:
    """Under the lock: delete the temporary files of dead writers, in kb/ and the directories in it."""
    for directory, subdirectories, names in os.walk(layout.kb_dir):
        subdirectories[:] = [d for d in subdirectories if not d.startswith(".")]  # the index collects its own
        for name in filter(_TEMPORARY.fullmatch, names):
            with contextlib.suppress(OSError):  # litter that cannot be deleted must not stop a write
                os.unlink(os.path.join(directory, name))


@dataclass(frozen=True)
class FileWrite:
    """Text to add to a file (``append``) or to replace its content with."""

    path: Path
    text: str
    append: bool = True


def check_turtle(path: Path) -> None:
    """Raise KBSyntaxError, with file:line:column, if the file does not parse as Turtle (the file
    checked is the temporary one, whatever its suffix)."""
    check_syntax(path, format=RdfFormat.TURTLE)


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
    check_writable(layout)
    if lock:
        with write_lock(layout, timeout):
            return _write_all(writes, check)
    return _write_all(writes, check)


def _write_all(writes: Sequence[FileWrite], check: Callable[[Path], None] | None) -> list[Path]:
    where = Path(os.path.commonpath([w.path.resolve() for w in writes])) if writes else Path(".")
    with reporting_write_errors(where, _READ_ONLY):
        return _replace_all(writes, check)


def _replace_all(writes: Sequence[FileWrite], check: Callable[[Path], None] | None) -> list[Path]:
    originals: dict[Path, bytes | None] = {}
    temporaries: dict[Path, Path] = {}
    created_dirs: list[Path] = []
    replaced: list[Path] = []
    texts: dict[Path, bytes] = {}  # each file's new content, the writes to one file applied in order
    try:
        for write in writes:
            path = write.path.resolve()
            if path not in originals:
                originals[path] = path.read_bytes() if path.exists() else None
            base = (texts.get(path, originals[path]) or b"").decode("utf-8") if write.append else ""
            texts[path] = joined(base, write.text).encode("utf-8")
        for path, text in texts.items():
            created_dirs += _make_parents(path.parent)
            temporaries[path] = write_temporary(path, text)
            if check is not None:
                check(temporaries[path])
        for path, temporary in temporaries.items():
            put_in_place(temporary, path)
            replaced.append(path)
    except BaseException:
        # Put back what was replaced, newest first, then drop temporaries and new directories.
        for path in reversed(replaced):
            if originals[path] is None:
                path.unlink(missing_ok=True)
            else:
                put_in_place(write_temporary(path, originals[path]), path)
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
