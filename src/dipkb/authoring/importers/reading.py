"""Reading input files as streams of numbered lines: plain or zipped, UTF-8 checked line by line."""
from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from dipkb.errors import ImportInputError, KBNotFoundError
from dipkb.model.records import Rejection
from dipkb.util.paths import display_path


@contextmanager
def open_input(path: Path) -> Iterator[IO[bytes]]:
    """The file's bytes as a binary stream; a .zip archive must hold exactly one file, which is read
    (GDELT publishes its exports zipped one file each)."""
    if not path.is_file():
        raise KBNotFoundError(f"File not found: {display_path(path)}")
    if path.suffix.lower() != ".zip":
        with path.open("rb") as stream:
            yield stream
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise ImportInputError(f"{display_path(path)} is not a readable zip archive ({error}).") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            raise ImportInputError(f"{display_path(path)} holds {len(members)} files; "
                                   "unzip it and import the one you mean.")
        with archive.open(members[0]) as stream:
            yield stream


def member_name(path: Path) -> str:
    """The name the data is published under: the zip's one member, else the file's own name."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                names = [m.filename for m in archive.infolist() if not m.is_dir()]
            if len(names) == 1:
                return Path(names[0]).name
        except zipfile.BadZipFile:
            pass
    return path.name


def numbered_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Each line with its 1-based number, without its line ending. Streams: never holds the file."""
    for number, raw in enumerate(stream, start=1):
        yield number, raw.rstrip(b"\r\n")


def decode(raw: bytes) -> str:
    """One line as text; invalid UTF-8 rejects that line only, saying where."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Rejection("invalid UTF-8", f"byte 0x{raw[error.start]:02x} at column {error.start + 1}") from None


def shown(raw: bytes) -> str:
    """A line as it can be written to the rejects file whatever its bytes."""
    return raw.decode("utf-8", "backslashreplace")
