"""Output formats for rows and query results. Every row-printing command goes through here."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pyoxigraph import BlankNode, Literal, NamedNode, QueryBoolean, QueryResultsFormat, QuerySolutions, RdfFormat

from dipkb.errors import DipkbError
from dipkb.model.namespaces import curie
from dipkb.util.durable import replacing
from dipkb.util.jsontext import pretty_json
from dipkb.util.paths import reporting_write_errors
from dipkb.util.tsvtext import tsv_line
from dipkb.util.terminal import cut_to, display_width, padded, terminal_text

if TYPE_CHECKING:
    from dipkb.views.timeline import TimelineEntry


class OutputFormat(Enum):
    TABLE = "table"
    TEXT = "text"
    CSV = "csv"
    TSV = "tsv"
    JSON = "json"
    XML = "xml"
    TURTLE = "turtle"
    NTRIPLES = "ntriples"
    NQUADS = "nquads"
    TRIG = "trig"
    JSONLD = "jsonld"
    RDFXML = "rdfxml"
    TIMELINEJS = "timelinejs"
    GEOJSON = "geojson"
    HTML = "html"


_BY_EXTENSION = {
    ".csv": OutputFormat.CSV, ".tsv": OutputFormat.TSV, ".json": OutputFormat.JSON,
    ".srj": OutputFormat.JSON, ".xml": OutputFormat.XML, ".srx": OutputFormat.XML,
    ".ttl": OutputFormat.TURTLE, ".nt": OutputFormat.NTRIPLES, ".nq": OutputFormat.NQUADS,
    ".trig": OutputFormat.TRIG, ".txt": OutputFormat.TEXT, ".jsonld": OutputFormat.JSONLD,
    ".rdf": OutputFormat.RDFXML,
    ".geojson": OutputFormat.GEOJSON,
    ".html": OutputFormat.HTML,
}


def choose_format(formats: Sequence[OutputFormat], default: OutputFormat, fmt: str | None,
                  path: str | None) -> OutputFormat:
    """The format a command writes: -f's, else the one -o's extension names, else ``default``.

    An extension naming no format this command writes is an error, never a quiet fallback to the
    default (a text table in a file called results.jsonld). A name without extension takes the
    default; .txt is the plain-text form, a table or text, whichever the command prints."""
    if fmt:
        return OutputFormat(fmt)
    suffix = Path(path).suffix.lower() if path else ""
    if not suffix:
        return default
    guessed = _BY_EXTENSION.get(suffix)
    if guessed in formats:
        return guessed
    if guessed is OutputFormat.TEXT and OutputFormat.TABLE in formats:
        return OutputFormat.TABLE
    extensions = " ".join(sorted(ext for ext, f in _BY_EXTENSION.items() if f in formats
                                 or (f is OutputFormat.TEXT and OutputFormat.TABLE in formats)))
    raise UnsupportedFormat(f"cannot write a '{suffix}' file: this command writes "
                            f"{', '.join(f.value for f in formats)}. Name the file with one of "
                            f"{extensions}, or choose the format with -f.")


def term_text(term) -> str:
    """A term as a person reads it: CURIEs for IRIs, the lexical form for literals."""
    if term is None:
        return ""
    if isinstance(term, NamedNode):
        return curie(term.value)
    if isinstance(term, Literal):
        return term.value
    return str(term)


def csv_results(variables: Sequence[str], rows: Iterable[Sequence], batch: int = 10_000) -> Iterator[str]:
    """SELECT solutions (rows of terms, None where unbound) in the SPARQL 1.1 CSV results format, in
    pieces as the rows come. Every field is quoted where RFC 4180 needs it: pyoxigraph 0.5 quotes
    literals but not IRIs or triple terms, so an IRI holding a comma (DBpedia's Washington,_D.C.)
    split its row in two fields. Written here, a million rows take 2.4 s against its 0.8 s."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(variables)
    rows = iter(rows)
    while True:
        writer.writerows([_csv_field(term) for term in row] for row in islice(rows, batch))
        text = buffer.getvalue()
        if not text:
            return
        yield text
        buffer.seek(0)
        buffer.truncate()


def _csv_field(term) -> str:
    """A term as the CSV results format writes it: its value, without the syntax that says its kind."""
    if term is None:
        return ""
    if type(term) is NamedNode or type(term) is Literal:
        return term.value
    if type(term) is BlankNode:
        return "_:" + term.value
    # A triple term as pyoxigraph writes one: its subject and predicate bare, its object a literal in
    # N-Triples form.
    return " ".join(str(t) if type(t) is Literal else _csv_field(t) for t in (term.subject, term.predicate, term.object))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with a header rule; cells are single-line."""
    buffer = io.StringIO()
    write_table(headers, rows, buffer.write, window=len(rows))
    return buffer.getvalue()


TABLE_WINDOW = 1000
TRUNCATED = "…"
# A query's values may be whole paragraphs (definitions, scope notes, a timeline row's JSON): one
# of them in the first rows would pad every line of a million to its length. Whole values are in
# csv, tsv, json and xml.
QUERY_CELL_WIDTH = 100
# A timeline's cells are sentences (a label, its participants); one of thousands of characters
# (20,000 participants, a pasted article) padded every line of the table to its length: 32 MB for
# six events. Wider than any cell of the bundled KB's timeline (113 columns).
ROW_CELL_WIDTH = 200


def write_table(headers: Sequence[str], rows: Iterable[Sequence[str]], write: Callable[[str], object], *,
                window: int = TABLE_WINDOW, cell_width: int | None = None) -> None:
    """A table written as its rows come, each column as wide as its widest cell among the first
    ``window`` rows, or ``cell_width`` at most: a wider cell is cut to the column's width, ending in
    TRUNCATED (…), except in the last column, which nothing follows. Widths are a terminal's columns
    (:func:`display_width`), so that names written in Chinese or Japanese line up too."""
    def single_line(batch: Iterable[Sequence[str]]) -> list[list[str]]:
        return [[terminal_text(str(c)) for c in row] for row in batch]

    rows = iter(rows)
    first = single_line(islice(rows, window))
    widths = [max([display_width(h)] + [display_width(r[i]) for r in first]) for i, h in enumerate(headers)]
    if cell_width is not None:
        widths[:-1] = [min(w, max(cell_width, display_width(h))) for w, h in zip(widths[:-1], headers)]
    write("  ".join(padded(h, w) for h, w in zip(headers, widths)).rstrip() + "\n")
    # The last column is not cut, but its rule is: a 50 MB value drew 50 MB of dashes.
    rule = list(widths)
    if cell_width is not None:
        rule[-1] = min(rule[-1], max(cell_width, display_width(headers[-1])))
    write("  ".join("-" * w for w in rule) + "\n")
    last = len(widths) - 1
    for batch in chain([first], iter(lambda: single_line(islice(rows, TABLE_WINDOW)), [])):
        lines = []
        for cells in batch:
            fitted = []
            for i, (cell, width) in enumerate(zip(cells, widths)):
                columns = display_width(cell)
                if columns > width and i < last:
                    cell = cut_to(cell, width, TRUNCATED)
                    columns = display_width(cell)
                fitted.append(cell + " " * (width - columns))
            lines.append("  ".join(fitted).rstrip() + "\n")
        write("".join(lines))


def rows_output(headers: Sequence[str], rows: Sequence[Sequence[str]], fmt: OutputFormat) -> str:
    """Render plain rows (a timeline, a catalogue) as table, csv, tsv or json."""
    buffer = io.StringIO()
    write_rows(headers, rows, fmt, buffer.write, window=len(rows))
    return buffer.getvalue()


def write_rows(headers: Sequence[str], rows: Iterable[Sequence[str]], fmt: OutputFormat,
               write: Callable[[str], object], *, window: int = TABLE_WINDOW) -> None:
    """:func:`rows_output` written as the rows come: a table sizes its columns from its first ``window``
    rows, ROW_CELL_WIDTH at most (:func:`write_table`)."""
    rows = iter(rows)
    if fmt is OutputFormat.JSON:
        for text in json_array(dict(zip(headers, row)) for row in rows):
            write(text)
    elif fmt is OutputFormat.TSV:
        write(tsv_line(headers))
        for batch in iter(lambda: list(islice(rows, TABLE_WINDOW)), []):
            write("".join(map(tsv_line, batch)))
    elif fmt is OutputFormat.CSV:
        writer = csv.writer(_Writes(write), lineterminator="\n")
        writer.writerow(headers)
        for batch in iter(lambda: list(islice(rows, TABLE_WINDOW)), []):
            writer.writerows(batch)
    else:
        write_table(headers, rows, write, window=window, cell_width=ROW_CELL_WIDTH)


@dataclass(frozen=True)
class _Writes:
    """What csv.writer writes to: anything with a write method."""

    write: Callable[[str], object]


_RESULT_FORMATS = {
    OutputFormat.CSV: QueryResultsFormat.CSV,
    OutputFormat.TSV: QueryResultsFormat.TSV,
    OutputFormat.JSON: QueryResultsFormat.JSON,
    OutputFormat.XML: QueryResultsFormat.XML,
}
_RDF_FORMATS = {
    OutputFormat.TURTLE: RdfFormat.TURTLE,
    OutputFormat.NTRIPLES: RdfFormat.N_TRIPLES,
    OutputFormat.NQUADS: RdfFormat.N_QUADS,
    OutputFormat.TRIG: RdfFormat.TRIG,
}
SOLUTION_FORMATS = (OutputFormat.TABLE, *_RESULT_FORMATS)
# What CONSTRUCT and DESCRIBE answers are written as, besides a table.
GRAPH_FORMATS = (OutputFormat.TURTLE, OutputFormat.NTRIPLES, OutputFormat.JSONLD, OutputFormat.RDFXML)


def json_text(data: object) -> str:
    """JSON as dipkb prints it (`-f json`), on the command line and over HTTP alike: the same bytes
    for the same answer."""
    return pretty_json(data) + "\n"


def json_array(items: Iterable[object], batch: int = 1000) -> Iterator[str]:
    """``json_text`` of a list of ``items``, in pieces as the items come, ``batch`` at a time: the same
    text, whatever their number."""
    yield from _json_list(items, 0, batch)
    yield "\n"


def json_pieces(data: Mapping[str, object]) -> Iterator[str]:
    """``json_text`` of ``data``, in pieces: a value that is an iterator is written as a list, as its
    items come."""
    if not data:
        yield "{}\n"
        return
    separator = "{\n  "
    for key, value in data.items():
        yield separator + json.dumps(key, ensure_ascii=False) + ": "
        if isinstance(value, Iterator):
            yield from _json_list(value, 1)
        else:
            yield pretty_json(value).replace("\n", "\n  ")
        separator = ",\n  "
    yield "\n}\n"


def _json_list(items: Iterable[object], level: int, batch: int = 1000) -> Iterator[str]:
    """A list as ``json.dumps(..., indent=2)`` writes it ``level`` deep, in pieces."""
    items, newline, opening = iter(items), "\n" + "  " * (level + 1), "["
    for chunk in iter(lambda: list(islice(items, batch)), []):
        yield opening + newline + ("," + newline).join(
            pretty_json(item).replace("\n", newline) for item in chunk)
        opening = ","
    yield "[]" if opening == "[" else "\n" + "  " * level + "]"


class UnsupportedFormat(DipkbError):
    """The chosen format does not fit the result (e.g. Turtle for a SELECT)."""


def query_result(result, fmt: OutputFormat) -> bytes:
    """:func:`write_query_result` as bytes."""
    buffer = io.BytesIO()
    write_query_result(result, fmt, buffer)
    return buffer.getvalue()


def write_query_result(result, fmt: OutputFormat, out: BinaryIO) -> None:
    """Write a pyoxigraph query result to ``out``: SELECT/ASK in the W3C results formats (or a
    table), CONSTRUCT/DESCRIBE as RDF (or a table of triples). Solutions are written as they come,
    whatever their number (a table sizes its columns from its first rows, see write_table);
    triples are sorted first, as the export sorts them, in the same bounded memory."""
    if isinstance(result, (QuerySolutions, QueryBoolean)):
        if fmt is OutputFormat.TABLE:
            if isinstance(result, QueryBoolean):
                out.write((("yes" if bool(result) else "no") + "\n").encode())
                return
            headers = [v.value for v in result.variables]
            rows = ([term_text(solution[h]) for h in headers] for solution in result)
            write_table(headers, rows, lambda text: out.write(text.encode()), cell_width=QUERY_CELL_WIDTH)
            return
        if fmt not in _RESULT_FORMATS:
            raise UnsupportedFormat(f"SELECT and ASK results cannot be written as {fmt.value}; "
                                    "use table, csv, tsv, json or xml.")
        if fmt is OutputFormat.CSV and isinstance(result, QuerySolutions):
            for text in csv_results([v.value for v in result.variables], result):
                out.write(text.encode())
            return
        if fmt is OutputFormat.XML:
            from dipkb.views.jsonld import XmlResultsChecked

            out = XmlResultsChecked(out)
        result.serialize(out, format=_RESULT_FORMATS[fmt])
        if isinstance(result, QueryBoolean) and fmt in (OutputFormat.CSV, OutputFormat.TSV):
            out.write(b"\n")  # a line, as each row of a SELECT is: pyoxigraph writes "true" alone
        return
    from dipkb.views.export import ExportFormat, sorted_graph, write_graph
    from dipkb.views.turtle_writing import triples_of

    if fmt is OutputFormat.TABLE:
        with sorted_graph(result, ExportFormat.NTRIPLES) as lines:
            rows = ([term_text(t.subject), term_text(t.predicate), term_text(t.object)]
                    for t in triples_of(lines, sort_keyed=False))
            write_table(["subject", "predicate", "object"], rows, lambda text: out.write(text.encode()),
                        cell_width=QUERY_CELL_WIDTH)
        return
    if fmt not in GRAPH_FORMATS:
        raise UnsupportedFormat(f"CONSTRUCT and DESCRIBE results cannot be written as {fmt.value}; "
                                f"use table, {', '.join(f.value for f in GRAPH_FORMATS)}.")
    write_graph(result, ExportFormat(fmt.value), out)


class Output:
    """Where a command's result goes: stdout, or a file replaced atomically when complete."""

    def __init__(self, fmt: OutputFormat, path: str | None):
        self.format = fmt
        self.path = path

    def write(self, data: str | bytes) -> None:
        self.write_pieces([data])

    def write_pieces(self, pieces: Iterable[str | bytes]) -> None:
        """Write ``pieces`` as they come (a long result, a piece at a time)."""
        with self.stream() as handle:
            for piece in pieces:
                handle.write(piece.encode() if isinstance(piece, str) else piece)

    @contextlib.contextmanager
    def stream(self) -> Iterator[BinaryIO]:
        """A binary stream to write the whole result to; a file appears only once it is complete, with
        the permissions a plain open() would give it (or those of the file it replaces)."""
        if self.path is None:
            with reporting_write_errors("standard output", "redirect it elsewhere"):
                yield sys.stdout.buffer
                sys.stdout.flush()
            return
        target = Path(self.path)
        with reporting_write_errors(target, "choose another place for the output"):
            if target.exists() and not target.is_file():
                # A device or a pipe (-o /dev/stdout, /dev/null, a FIFO) is written to as it is: the
                # rename that replaces a file would put a file in its place (as root, in /dev).
                with open(target, "wb") as handle:
                    yield handle
                return
            if target.parts[:2] in (("/", "dev"), ("/", "proc")):
                # /dev/stdout of a command whose output goes to a file (`>> log`) names that file:
                # replaced, it lost what the log held; appended to, it gets this after it.
                with open(target, "ab") as handle:
                    yield handle
                return
            # Through a link to the file it names: replacing the link would cut it.
            with replacing(target.resolve()) as handle:
                yield handle


TIMELINE_HEADERS = ["date", "type", "modality", "label", "participants", "place", "sources"]


def timeline_rows(entries: Iterable[TimelineEntry], fmt: OutputFormat) -> Iterator[list[str]]:
    """A timeline as rows, as the entries come; a table names each source by its short id, files by
    its title."""
    return ([
        e.date, e.type.removeprefix("dip:"), e.modality, e.label,
        "; ".join(f"{p.label} ({p.role})" for p in e.participants),
        e.where,
        "; ".join(s.id.rsplit("/", 1)[-1] if fmt is OutputFormat.TABLE else s.title for s in e.sources),
    ] for e in entries)
