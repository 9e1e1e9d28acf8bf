"""Reading KB and ontology files: every parse and load of a data file goes through here, with the
documented base IRI and errors as file:line:col."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from pyoxigraph import NamedNode, Quad, RdfFormat, Store, parse

from dipkb.errors import KBSyntaxError, SyntaxProblem
from dipkb.model.namespaces import KB_BASE, PREFIXES
from dipkb.store.layout import DATA_SUFFIXES, KBLayout
from dipkb.util.paths import display_path

# Filling an on-disk store from nothing, files from this size go through Oxigraph's bulk loader, which
# writes table files directly: 3x faster than a transaction from ~100 kB (at 100k events, the
# generator's 440 kB files loaded in 7.2 s instead of 21 s), 4x slower for the 20 kB files of a
# hand-written KB. An in-memory store has no table files: there a transaction is the faster way
# (load_files).
BULK_LOAD_BYTES = 64 << 10
_FORMATS = {"turtle": RdfFormat.TURTLE, "ntriples": RdfFormat.N_TRIPLES}
_PARSER_PREFIX = re.compile(r"^Parser error (?:at line \d+ (?:between columns \d+ and \d+|column \d+)"
                            r"|between line \d+ column \d+ and line \d+ column \d+): ")


def syntax_problem(path: Path, error: SyntaxError | UnicodeDecodeError) -> SyntaxProblem:
    """pyoxigraph's SyntaxError as file:line:col; its message repeats the place, so that part is cut."""
    if isinstance(error, UnicodeDecodeError):
        return SyntaxProblem(display_path(path), None, None, f"not valid UTF-8 ({error.reason})")
    message = _PARSER_PREFIX.sub("", error.msg or str(error))
    if error.lineno == 1 and _starts_with_bom(path):  # the parser's message shows an invisible character
        message = ("the file starts with a byte order mark (U+FEFF), which the RDF parser does not accept: "
                   "save it as UTF-8 without BOM")
    elif hint := _hint(message, _line(path, error.lineno)):
        message = f"{message} ({hint})"
    return SyntaxProblem(display_path(path), error.lineno, error.offset, message)


_TYPOGRAPHIC_QUOTES = "“”„‘’‚«»"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_IRI = re.compile(r"<[^<>\s]*>")
_BARE_DATE = re.compile(r"(?<![\w-])\d{4}-\d{2}(?:-\d{2})?(?![\w-])")
_UNDECLARED = re.compile(r"^The prefix (\w*): has not been declared")


def _hint(message: str, line: str) -> str | None:
    """What the parser's message means, for the mistakes people make writing Turtle by hand."""
    if message.startswith("Invalid UTF-8"):
        return "the file is not UTF-8 here: save it as UTF-8; Windows-1252 and Latin-1 write accents so"
    if any(quote in message for quote in _TYPOGRAPHIC_QUOTES):
        return 'typographic quotes are not Turtle\'s: write "…" with straight quotes'
    if '"""' in line or "'''" in line:  # a long string's lines are no statements of their own
        return None
    # The line without its strings, IRIs and comment.
    code = _IRI.sub("<>", _STRING.sub('""', line)).split("#")[0]
    if "//" in code:
        return "a Turtle comment starts with #"
    if code.count('"') % 2:
        return 'a string\'s closing " is missing'
    if _BARE_DATE.search(code):
        return 'a date is a quoted literal with its type: "2021-07-08"^^xsd:date'
    if (undeclared := _UNDECLARED.match(message)) and (namespace := PREFIXES.get(undeclared[1])):
        return f"declare it: @prefix {undeclared[1]}: <{namespace}> ."
    return None


def _line(path: Path, number: int | None) -> str:
    """Line ``number`` of the file, as text, or '' where there is none."""
    try:
        lines = path.read_bytes().splitlines()
        return lines[number - 1].decode("utf-8", errors="replace") if number and number <= len(lines) else ""
    except OSError:
        return ""


def _starts_with_bom(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(3) == b"\xef\xbb\xbf"
    except OSError:
        return False


def rdf_format(path: Path) -> RdfFormat:
    """The parser for a data file, from its suffix."""
    return _FORMATS[DATA_SUFFIXES[path.suffix]]


def load_file(store: Store, path: Path, graph: NamedNode, *, text: bytes | None = None,
              bulk: bool = False, base_iri: str = KB_BASE) -> SyntaxProblem | None:
    """Load one data file (``text``: its bytes, already read) into ``graph``, with the bulk loader
    if ``bulk``; its syntax problem, or None. Relative IRIs resolve against ``base_iri``. The
    index and the in-memory KB both load through here.

    Oxigraph's stream parsers hold a term in a buffer of at most 16 MiB and fail with MemoryError on
    a longer one; the bulk loader reading bytes has no such limit, so such a file is loaded again that way."""
    source = {"path": str(path)} if text is None else {"input": text}
    try:
        try:
            (store.bulk_load if bulk else store.load)(**source, format=rdf_format(path), to_graph=graph,
                                                      base_iri=base_iri)
        except MemoryError:
            store.clear_graph(graph)  # the bulk loader may have written part of the file
            store.bulk_load(input=path.read_bytes() if text is None else text, format=rdf_format(path),
                            to_graph=graph, base_iri=base_iri)
    except (SyntaxError, UnicodeDecodeError) as error:
        return syntax_problem(path, error)
    return None


def load_files(store: Store, layout: KBLayout, paths: Iterable[Path], *, base_iri: str = KB_BASE) -> None:
    """Load each file into its own named graph of an in-memory ``store``; after trying them all, fail
    once listing every bad one. A file that fails leaves nothing of itself in the store.

    Each file in a transaction: in memory, Oxigraph's bulk loader is the slower way (1M events, the
    whole KB: 58 s bulk loaded, 41 s in transactions, the same peak memory)."""
    problems = []
    for path in paths:
        graph = NamedNode(layout.graph_name(path))
        problem = load_file(store, path, graph, base_iri=base_iri)
        if problem is not None:
            store.clear_graph(graph)
            problems.append(problem)
    if problems:
        raise KBSyntaxError(problems)


def parsed(path: Path, text: bytes | None = None, *, base_iri: str = KB_BASE) -> Iterator[Quad]:
    """The triples of a data file that :func:`load_file` loaded (``text``: its bytes, if read), as
    the parser streams them. A term over the parser's 16 MiB buffer raises MemoryError."""
    source = {"path": str(path)} if text is None else {"input": text}
    return parse(**source, format=rdf_format(path), base_iri=base_iri)


def read_quads(path: Path, *, format: RdfFormat | None = None, base_iri: str = KB_BASE) -> list[Quad]:
    """The triples of one data file (``format``: from its suffix when None) as written, without a
    store's canonical forms ("01"^^xsd:integer stays so), in the default graph; KBSyntaxError if
    it does not parse. A file with a term over the stream parser's 16 MiB buffer is read as in
    :func:`load_file`, through a scratch store: its typed literals then come back in canonical form."""
    format = format or rdf_format(path)
    try:
        return list(parse(path=str(path), format=format, base_iri=base_iri))
    except MemoryError:
        return _bulk_read(path, format, base_iri)
    except (SyntaxError, UnicodeDecodeError) as error:
        raise KBSyntaxError([syntax_problem(path, error)]) from None


def check_syntax(path: Path, *, format: RdfFormat | None = None, base_iri: str = KB_BASE) -> None:
    """:func:`read_quads` keeping no triple: a file of any size is checked in little memory."""
    format = format or rdf_format(path)
    try:
        for _ in parse(path=str(path), format=format, base_iri=base_iri):
            pass
    except MemoryError:
        _bulk_read(path, format, base_iri)
    except (SyntaxError, UnicodeDecodeError) as error:
        raise KBSyntaxError([syntax_problem(path, error)]) from None


def _bulk_read(path: Path, format: RdfFormat, base_iri: str) -> list[Quad]:
    """The one parser without the 16 MiB term limit is the bulk loader's, reading bytes: through a store."""
    store = Store()
    try:
        store.bulk_load(input=path.read_bytes(), format=format, base_iri=base_iri)
    except (SyntaxError, UnicodeDecodeError) as error:
        raise KBSyntaxError([syntax_problem(path, error)]) from None
    return list(store)
