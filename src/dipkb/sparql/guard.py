"""Running user SPARQL safely: the engine never sees the user's text, only one rebuilt from its tokens.

pyoxigraph 0.5.13 offers no way to turn SERVICE off (``Store.query`` takes no service handler; it
sends the HTTP request as soon as the query is called, before the first row is read), so this module
is the control. Refusing a ``SERVICE`` token is not enough on its own: Oxigraph's parser backtracks,
so ``service:x {}`` whose prefixed-name reading fails is read again as ``SERVICE :x {}``, and
``FILTER(0 <p:a)SERVICEq:x#>)`` is an IRI to a tokenizer but a comparison, a SERVICE and a comment
to the parser. Hence :func:`prepare` tokenizes the query following the SPARQL 1.1 grammar's
terminals, refuses SERVICE, LOAD and update keywords, and writes the tokens out again in forms that
have one reading only: prefixed names expanded to IRIs, IRIs and strings escaped so they hold no
quote, ``#`` or ``>``, comments blanked, variables as ``$name`` (``?`` is also a path modifier). The
only letters the engine can take for a keyword are then the keyword tokens checked here.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import BinaryIO

from dipkb.errors import ForbiddenQueryError, QueryError
from dipkb.sparql.tokens import (BRACKETS, CLOSERS, OPENERS, Kind, Token, escaped, iter_tokens, place, resolve_iri,
                                syntax_error, tokenize)

# 1 MiB: a hand-written or generated query is a few KiB; the largest saved query is under 4 KiB. The
# limit bounds the tokenizer's work and the length of chains (`||`, UNION, joins) handed to the engine.
MAX_QUERY_BYTES = 1 << 20
# pyoxigraph 0.5.13 dies on SIGSEGV (stack overflow, 8 MiB stack) at about 970 nested function
# calls `STR(STR(...))`, 1,420 levels of `{ FILTER(EXISTS {`, 2,200 nested `{}`, 3,500 `[`, 4,600 `(`
# and between 8,000 and 20,000 `!`. 128 leaves a margin of 7x on the worst, and is deeper than any
# query a person writes.
MAX_NESTING = 128
# Chains are trees as deep as they are long: the engine dies at about 2,600 OPTIONALs in a row,
# 6,500 UNIONs, 9,300 `||` or FILTERs, all well within 1 MiB. Counting keywords and operators
# (every punctuation token but brackets) bounds them all; the largest saved query has 148.
MAX_OPERATORS = 500

_SERVICE_WHY = ("SERVICE is not allowed in queries: SERVICE calls a remote endpoint, and dipkb does not reach "
                "the network unless asked to. Query the local knowledge base instead.")
_LOAD_WHY = ("LOAD is not allowed in queries: LOAD fetches a remote document, and dipkb does not reach the "
             "network unless asked to. Query the local knowledge base instead.")
_UPDATE_WHY = ("Update operations (INSERT, DELETE, ...) are not allowed in queries: the Turtle files in kb/ "
               "are the source of truth; edit them or use 'dipkb add'.")
# Update-only keywords: none can appear in a read-only query, so the token alone decides.
_UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH",
                              "USING", "INTO", "TO", "DATA", "DEFAULT", "ALL", "SILENT"})

@dataclass(frozen=True)
class SafeQuery:
    """A query that passed the guard: ``text`` is what the engine runs. Lines are kept, columns
    move; :meth:`locate` turns the engine's "error at line:column" back into the user's."""

    text: str
    source: str
    # Each token's span in ``text`` and in ``source``: (start, end in text, start, end in source).
    marks: tuple[tuple[int, int, int, int], ...]

    def locate(self, message: str) -> str:
        match = re.search(r"error at (\d+):(\d+)", message)
        if not match:
            return message
        line, column = int(match[1]), int(match[2])
        offset = (0 if line == 1 else _nth_newline(self.text, line - 1) + 1) + column - 1
        source_offset = offset
        for start, end, source_start, source_end in self.marks:
            if start > offset:
                break
            if offset >= end:  # after the token (the end of the query, often): as far after it there
                source_offset = source_end + offset - end
            elif end - start == source_end - source_start:
                source_offset = source_start + offset - start
            else:  # inside a token written otherwise: at its start
                source_offset = source_start
        return message[:match.start()] + f"error at {place(self.source, source_offset)}" + message[match.end():]


def _nth_newline(text: str, n: int) -> int:
    offset = -1
    for _ in range(n):
        offset = text.find("\n", offset + 1)
        if offset < 0:
            return len(text)
    return offset


def prepare(text: str, prefixes: Mapping[str, str]) -> SafeQuery:
    """Check a read-only query and rebuild it for the engine, with ``prefixes`` (the engine's
    default ones) and the query's own expanded. Raises ForbiddenQueryError for SERVICE, LOAD and
    updates, and QueryError beyond the size or nesting limit and for text that does not tokenize."""
    return _rebuild(text, _checked_tokens(text), prefixes)


def read_query(stream: BinaryIO, where: str) -> str:
    """A query's text from ``stream`` (standard input, a .rq file), read no further than the size the
    guard accepts: 300 MB on standard input took 623 MB before the size was checked, /dev/zero all."""
    data = stream.read(MAX_QUERY_BYTES + 1)
    if len(data) > MAX_QUERY_BYTES:
        raise QueryError(f"{where}: the query is over {MAX_QUERY_BYTES:,} bytes long; dipkb accepts queries up to "
                         f"{MAX_QUERY_BYTES:,} bytes (1 MiB).")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise QueryError(f"{where}: not valid UTF-8 ({error.reason}).") from None


def _checked_tokens(text: str) -> list[Token]:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise QueryError("The query is not valid UTF-8 text.") from None
    if size > MAX_QUERY_BYTES:
        raise QueryError(f"The query is {size:,} bytes long; dipkb accepts queries up to {MAX_QUERY_BYTES:,} "
                         "bytes (1 MiB). Query with less inline data, e.g. fewer VALUES rows.")
    tokens = tokenize(text)
    depth = negations = operators = 0
    for token in tokens:
        if token.kind in (Kind.SPACE, Kind.COMMENT):
            continue
        if token.kind is Kind.KEYWORD or (token.kind is Kind.PUNCT and token.text not in BRACKETS):
            operators += 1
            if operators > MAX_OPERATORS:
                raise QueryError(f"The query has more than {MAX_OPERATORS} keywords and operators (at "
                                 f"{place(text, token.start)}); dipkb refuses it, since the query engine runs "
                                 "out of stack on long chains of joins, UNIONs or ||. Split the query.")
        if token.kind is Kind.KEYWORD:
            word = token.text.upper()
            if word == "SERVICE":
                raise ForbiddenQueryError(_SERVICE_WHY)
            if word == "LOAD":
                raise ForbiddenQueryError(_LOAD_WHY)
            if word in _UPDATE_KEYWORDS:
                raise ForbiddenQueryError(_UPDATE_WHY)
        # `!!!!x` nests one level per `!` in the engine's parser, like brackets.
        negations = negations + 1 if token.text == "!" else 0
        if token.kind is Kind.PUNCT and token.text in OPENERS:
            depth += 1
        elif token.kind is Kind.PUNCT and token.text in CLOSERS:
            depth = max(depth - 1, 0)
        if depth + negations > MAX_NESTING:
            raise QueryError(f"The query nests brackets or '!' deeper than {MAX_NESTING} levels (at "
                             f"{place(text, token.start)}); dipkb refuses it, since the query engine's parser "
                             "runs out of stack on deep nesting. Flatten the query.")
    if all(token.kind in (Kind.SPACE, Kind.COMMENT) for token in tokens):  # the engine: "expected [_]"
        raise QueryError("The query is empty: give a SELECT, ASK, CONSTRUCT or DESCRIBE query.")
    return tokens


def _rebuild(text: str, tokens: list[Token], prefixes: Mapping[str, str]) -> SafeQuery:
    declared = dict(prefixes)
    base: str | None = None
    out: list[str] = []
    marks: list[tuple[int, int, int, int]] = []
    length = 0
    before: Token | None = None  # the previous token that is not whitespace or a comment
    declaring: str | None = None  # after `PREFIX p:`, the prefix whose IRI comes next
    for token in tokens:
        piece, follows = token.text, None
        if token.kind is Kind.COMMENT:
            piece = " " * (token.end - token.start)
        elif token.kind is Kind.IRI:
            piece = f"<{escaped(token.value)}>"
            if before is not None and before.text.upper() == "BASE":
                base = _valid_iri(text, token, resolve_iri(base, token.value))
            elif declaring is not None:
                declared[declaring] = _valid_iri(text, token, resolve_iri(base, token.value))
        elif token.kind is Kind.PNAME and before is not None and before.text.upper() == "PREFIX":
            follows = token.text[:-1] if token.text.endswith(":") else None
        elif token.kind is Kind.PNAME and token.text.partition(":")[0] not in declared:
            # Left to the engine's "Prefix not found", at the same column, under a name no keyword
            # starts with (none starts with z), so that it cannot be read as one.
            prefix = token.text.partition(":")[0]
            piece = "z" * len(prefix) + token.text[len(prefix):]
        elif token.kind is Kind.PNAME:
            piece = f"<{escaped(_expand(text, token, declared))}>"
        elif token.kind is Kind.STRING and before is not None and before.text.upper() == "VERSION":
            piece = f'"{escaped(token.value)}"'  # SPARQL 1.2's version specifier takes no long quotes
        elif token.kind is Kind.STRING:
            # Long quotes, so that line ends stay as they are and the engine's lines are the user's.
            piece = f'"""{escaped(token.value, keep=chr(10))}""" '
        elif token.kind is Kind.VAR:
            piece = "$" + token.text[1:]
        elif token.kind is Kind.KEYWORD and out and (out[-1][-1].isalnum() or out[-1][-1] == "_"):
            # Two keywords side by side (`SELECTDISTINCT`) could be split another way by the engine.
            out.append(" ")
            length += 1
        marks.append((length, length + len(piece), token.start, token.end))
        out.append(piece)
        length += len(piece)
        if token.kind not in (Kind.SPACE, Kind.COMMENT):
            before, declaring = token, follows
    return SafeQuery("".join(out), text, tuple(marks))


def _valid_iri(text: str, token: Token, iri: str | None) -> str:
    if iri is None:
        raise syntax_error(text, token.start, f"{token.text} is not a valid IRI here")
    return iri


def _expand(text: str, token: Token, declared: Mapping[str, str]) -> str:
    prefix, _, local = token.text.partition(":")
    # As the engine does: the prefix's IRI, then the local name without its backslashes.
    return _valid_iri(text, token, resolve_iri(None, declared[prefix] + local.replace("\\", "")))


def code_only(query: str) -> str:
    """The query with strings, IRIs and comments blanked (same length, lines kept), for searching
    its code with a regular expression."""
    return "".join(" " * (t.end - t.start) if t.kind in (Kind.STRING, Kind.IRI, Kind.COMMENT)
                   else query[t.start:t.end] for t in tokenize(query))


QueryForm = Enum("QueryForm", "SELECT CONSTRUCT DESCRIBE ASK")


@dataclass(frozen=True)
class Outline:
    """A query's form and dataset clauses (SPARQL 1.1 §13.2): the IRIs of its ``FROM`` and
    ``FROM NAMED`` clauses, resolved as the engine resolves them."""

    form: QueryForm | None  # None: no form keyword, a syntax error left to the engine to report
    from_graphs: tuple[str, ...] = ()
    from_named_graphs: tuple[str, ...] = ()

    @property
    def names_dataset(self) -> bool:
        """Whether the query names its own dataset; it then sees those graphs and no others."""
        return bool(self.from_graphs or self.from_named_graphs)


def outline(safe: SafeQuery) -> Outline:
    """The form and dataset clauses of a query that passed the guard, read from the tokens of the
    text the engine runs, where prefixed names are already IRIs."""
    # FROM is a keyword only in a dataset clause, so every FROM token opens one. When the letters
    # are nowhere in the text, the scan stops at the form keyword, near the start, rather than read a
    # large query a second time (+75% on the guard's time for 700 kB of VALUES).
    whole = re.search("from", safe.text, re.IGNORECASE) is not None
    form: QueryForm | None = None
    base: str | None = None
    graphs: dict[bool, list[str]] = {False: [], True: []}  # by NAMED
    code = (t for t in iter_tokens(safe.text) if t.kind not in (Kind.SPACE, Kind.COMMENT))
    for token in code:
        word = token.text.upper() if token.kind is Kind.KEYWORD else ""
        if word == "BASE" and (iri := next(code, None)) is not None and iri.kind is Kind.IRI:
            base = resolve_iri(base, iri.value) or base
        elif word in QueryForm.__members__ and form is None:
            form = QueryForm[word]
            if not whole:
                break
        elif word == "FROM":
            source = next(code, None)
            named = source is not None and source.text.upper() == "NAMED"
            source = next(code, None) if named else source
            # Anything but an IRI after FROM is a syntax error, which the engine reports.
            if source is not None and source.kind is Kind.IRI and (graph := resolve_iri(base, source.value)):
                graphs[named].append(graph)
    return Outline(form, tuple(graphs[False]), tuple(graphs[True]))


def shorten_syntax_error(message: str) -> str:
    """Oxigraph lists every token it would accept; the first few say enough. It lists its own reason
    among them ("The SELECT contains a variable that is unbound", "Prefix not found"): that says more."""
    head, sep, alternatives = message.partition("expected one of ")
    if not sep:
        return message
    options = alternatives.split(", ")
    if reason := next((option for option in options if _REASON.match(option)), None):
        return head + reason
    return head + sep + ", ".join(options[:6]) + (f", ... ({len(options) - 6} more)" if len(options) > 6 else "")


_REASON = re.compile(r"[A-Z][a-z]+ \S+ [a-z]")  # a sentence, not a token or a class of characters
