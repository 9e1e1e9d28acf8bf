"""Reading input files as streams of numbered lines: plain, zipped, gzipped or bzipped, UTF-8 checked
line by line."""
from __future__ import annotations

import bz2
import csv
import gzip
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from dipkb.errors import ImportInputError, KBNotFoundError
from dipkb.model.records import Rejection
from dipkb.util.paths import display_path

_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open}


class NotThisFormat(ImportInputError):
    """No row of the file fits the format it was read as. :mod:`dipkb.authoring.importing` turns it
    into a message that names the format the file looks like."""

    def __init__(self, path: Path, declared: str, detail: str = ""):
        self.path, self.declared, self.detail = path, declared, detail
        super().__init__(f"{display_path(path)} is not {declared}" + (f": {detail}" if detail else "") + ".")


# Once decompressed, a line longer than MAX_LINE is no row of events (a row's cells are at most MAX_CELL
# each), and a document read whole (YAML, a PLOVER JSON array) longer than MAX_DOCUMENT would take
# gigabytes to parse. Past either, the input is refused before it is held: a few MB of gzip can stand
# for gigabytes (2 GB of zeros, 8.7 MB gzipped, made an import hold 6 to 8 GB before it failed).
MAX_LINE = 16 << 20
MAX_DOCUMENT = 256 << 20


@contextmanager
def open_input(path: Path) -> Iterator[IO[bytes]]:
    """The file's bytes as a binary stream, decompressed, within MAX_LINE and MAX_DOCUMENT: a .gz or
    .bz2 file is read through, a .zip archive must hold exactly one file, which is read (GDELT
    publishes its exports zipped one file each)."""
    if not path.is_file():
        if path.exists():  # `import <(zcat ...)`: /dev/fd/63 is there, as a pipe
            raise ImportInputError(f"{display_path(path)} is not a regular file but a pipe or a device: import "
                                   "reads files only; save the data to a file first.")
        raise KBNotFoundError(f"File not found: {display_path(path)}")
    suffix = path.suffix.lower()
    if suffix in _COMPRESSED:
        with _COMPRESSED[suffix](path, "rb") as stream:
            yield _Bounded(stream, path)
        return
    if suffix != ".zip":
        with path.open("rb") as stream:
            yield _Bounded(stream, path)
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
            yield _Bounded(stream, path)


class _Bounded:
    """A stream read within MAX_LINE and MAX_DOCUMENT, whose corrupt or truncated compressed data is
    an input error naming the file, not a traceback from the codec in the middle of an import."""

    def __init__(self, stream: IO[bytes], path: Path):
        self.stream, self.path = stream, path
        self.lines = 0  # read so far, to place a line too long

    def read(self, size: int = -1) -> bytes:
        data = self._reading(self.stream.read, MAX_DOCUMENT + 1 if size < 0 else size)
        if size < 0 and len(data) > MAX_DOCUMENT:
            raise ImportInputError(f"{display_path(self.path)} is larger than {MAX_DOCUMENT >> 20} MiB once "
                                   "decompressed: too large to read at once; split it.")
        return data

    def readline(self, size: int = -1) -> bytes:
        line = self._reading(self.stream.readline, MAX_LINE + 1 if size < 0 else min(size, MAX_LINE + 1))
        self.lines += 1
        if len(line) > MAX_LINE:
            raise ImportInputError(f"{display_path(self.path)}:{self.lines}: a line longer than {MAX_LINE >> 20} MiB "
                                   "once decompressed: it is no table of events.")
        return line

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def _reading(self, read, size: int) -> bytes:
        try:
            return read(size)
        except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as error:
            what = "zip archive" if self.path.suffix.lower() == ".zip" else f"{self.path.suffix[1:]} file"
            raise ImportInputError(f"{display_path(self.path)} is not a readable {what} "
                                   f"({error or type(error).__name__}).") from None


def member_name(path: Path) -> str:
    """The name the data is published under: the zip's one member, a compressed file's name without
    .gz or .bz2, else the file's own name."""
    suffix = path.suffix.lower()
    if suffix in _COMPRESSED:
        return path.stem
    if suffix == ".zip":
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


# A str holds these for bytes that were not UTF-8 (decoded with surrogateescape: U+DC80..U+DCFF) and
# for JSON's or YAML's escape of half a character ("\ud800"); neither can become RDF text.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Integers parsed from JSON or YAML keep their text past this many digits: int() refuses past 4,300.
LONGEST_INTEGER = 1000


def text_problem(record: object) -> Rejection | None:
    """Why a record parsed from JSON or YAML holds text that cannot become RDF, or None."""
    pending = [record]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            pending += value
        elif isinstance(value, str) and (found := _SURROGATE.search(value)):
            if "\udc80" <= found.group() <= "\udcff":
                return Rejection("invalid UTF-8", "the record holds bytes that are not UTF-8")
            return Rejection("invalid text", f"the record holds \\u{ord(found.group()):04x}, an escape of half a "
                                             "character (a lone surrogate)")
    return None


def shown_text(text: str) -> str:
    """Parsed text as the rejects file can hold it: bytes that were not UTF-8 as \\xff, half
    characters as \\ud800."""
    def escaped(found: re.Match[str]) -> str:
        code = ord(found.group())
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"
    return _SURROGATE.sub(escaped, text)


def json_integer(text: str) -> int | str:
    """JSON's ``parse_int``: the text itself past :data:`LONGEST_INTEGER` digits."""
    return int(text) if len(text) <= LONGEST_INTEGER else text


_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def decimal(text: str, what: str, bound: float) -> str | None:
    """A decimal cell within -bound..bound, kept as written (valid xsd:decimal); None when empty."""
    if not text:
        return None
    if not _DECIMAL.fullmatch(text) or abs(float(text)) > bound:
        raise Rejection("malformed signal", f"{what} '{text}' is not a number from -{bound:g} to {bound:g}")
    return text


# Characters in one CSV cell (the csv module's default field limit): a longer cell rejects its row. No
# field of an event needs it, and it keeps one runaway quote from swallowing the rest of the file.
MAX_CELL = 128 * 1024
CsvRecord = tuple[int, list[str] | Rejection, str]  # line, cells or why rejected, text


_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def refuse_utf16(path: Path, head: bytes) -> None:
    """An input error for a file that starts as UTF-16 does (Excel's "Unicode Text"): every line of it
    would be rejected as not UTF-8, or the file taken for an empty one."""
    if head.startswith(_UTF16_MARKS):
        raise ImportInputError(f"{display_path(path)} is UTF-16 text (it starts with UTF-16's byte order mark): "
                               "save it as UTF-8 (in Excel, CSV UTF-8) and import it again.")


def csv_records(path: Path) -> Iterator[CsvRecord]:
    """Every CSV record of the file, read as it streams, with the line it starts on (a quoted cell may
    hold line breaks): its cells, or why the row is rejected (blank, not UTF-8, a cell over MAX_CELL);
    and its text for the rejects file. The csv module aborts on a cell over its field limit, naming no
    line, so the limit is raised to MAX_LINE while reading (process-wide, as the module keeps it) and
    longer cells up to it are rejected row by row instead; a record the module cannot read at all (a
    cell over MAX_LINE, an unclosed quote to the end of the file) is an input error at the line it
    starts on."""
    previous = csv.field_size_limit(MAX_LINE)
    try:
        with open_input(path) as stream:
            lines = _text_lines(path, stream)
            first = next(lines, "")
            reader = csv.reader(itertools.chain([first], lines), delimiter=csv_delimiter(first))
            start = 1
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    raise ImportInputError(f"{display_path(path)}:{start}: not a readable CSV record ({error}).") from None
                if cells:  # a blank line is no record: it was a rejected "empty row"
                    yield start, _checked(cells), shown(_record_text(cells).encode("utf-8", "surrogateescape"))
                start = reader.line_num + 1
    finally:
        csv.field_size_limit(previous)


def csv_delimiter(header: str) -> str:
    """What separates the cells of a CSV file, told by its header line: ";" where a spreadsheet saves
    CSV in a language whose decimal mark is the comma (Excel in French, German, Spanish...), a header
    with semicolons and no comma; else ","."""
    return ";" if ";" in header and "," not in header else ","


def _record_text(cells: list[str]) -> str:
    """The record as CSV again, quoted where a cell needs it: cells joined with commas lost the quotes
    around a cell holding a comma, and the rejects file could not be read back."""
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow(cells)
    return text.getvalue()


def _checked(cells: list[str]) -> list[str] | Rejection:
    longest = max((len(c) for c in cells), default=0)
    if longest > MAX_CELL:
        return Rejection("cell too long", f"a cell of {longest} characters; the limit is {MAX_CELL}")
    try:
        ",".join(cells).encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept as surrogates
        return Rejection("invalid UTF-8", "the row holds bytes that are not UTF-8")
    if not any(c.strip() for c in cells):
        return Rejection("empty row", "the row is blank")
    return cells


def _text_lines(path: Path, stream: Iterable[bytes]) -> Iterator[str]:
    """Lines as text, line endings kept (inside a quoted cell they are part of it), a BOM dropped."""
    for number, raw in enumerate(stream):
        if number == 0:
            refuse_utf16(path, raw)
        text = raw.decode("utf-8", "surrogateescape")
        yield text.lstrip("\ufeff") if number == 0 else text

