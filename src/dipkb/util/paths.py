"""Paths as the user reads them, what tells that files are unchanged, and the one place where a failed
write becomes a message."""
from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dipkb.errors import WriteError


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it, absolute
    otherwise (``/tmp/x.nt``, not ``../../tmp/x.nt``). A name's bytes that are not UTF-8 are shown
    as Python escapes them (``bad\\xff.ttl``): written as they are, they would not encode."""
    absolute = os.path.abspath(path)
    here = os.getcwd()
    if absolute == here or absolute.startswith(here.rstrip(os.sep) + os.sep):
        absolute = os.path.relpath(absolute, here)
    return shown_bytes(absolute)


def shown_bytes(text: str) -> str:
    """A name or argument from the system with its bytes that are not UTF-8 (which Python holds as
    lone surrogates) written as Python escapes them, ``\\xff``: as they are, they would not encode."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def file_stamps(paths: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """Each file's path, mtime and size: what was read from the files holds while these stay the same."""
    return tuple((str(path), (stat := path.stat()).st_mtime_ns, stat.st_size) for path in paths)


_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL = {errno.ENOSPC, errno.EDQUOT}


@contextmanager
def reporting_write_errors(place: Path | str, advice: str, *, advise_when_full: bool = False) -> Iterator[None]:
    """Turn an OSError raised in the block into a WriteError naming ``place`` (what the user asked to
    write, not the temporary file that failed first; a str is a name such as "standard output") and
    the system's reason, followed by ``advice`` when the place cannot be written at all, or is full
    and ``advise_when_full``. The one place where a failed write becomes a message."""
    try:
        yield
    except BrokenPipeError:  # the reader went away (`-o /dev/stdout | head`): not the place's failure
        raise
    except OSError as error:
        advised = error.errno in _NOT_WRITABLE or (advise_when_full and error.errno in _FULL)
        hint = f" ({advice})" if advised else ""
        name = place if isinstance(place, str) else display_path(place)
        raise WriteError(f"cannot write to {name}: {error.strerror or error}{hint}") from error
