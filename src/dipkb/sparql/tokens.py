"""SPARQL 1.1's terminals, as Oxigraph 0.5 reads them: the guard's tokenizer (:mod:`dipkb.sparql.guard`).

Each token is the longest match at its place, with the grammar's one ambiguity (`<` as an IRI's start
or as less-than) settled as the engine settles it. Strings and IRIs carry their decoded values.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from pyoxigraph import NamedNode, RdfFormat, parse

from dipkb.errors import QueryError

# Every keyword of Oxigraph 0.5's grammar (its `i("...")` literals, SPARQL 1.2 and LATERAL included),
# plus `a`, `true`, `false`; matched case-insensitively, longest first.
_KEYWORDS = """ABS ADD ADJUST ALL AS ASC ASK AVG BASE BIND BNODE BOUND BY CEIL CLEAR COALESCE CONCAT CONSTRUCT
CONTAINS COPY COUNT CREATE DATA DATATYPE DAY DEFAULT DELETE DESC DESCRIBE DISTINCT DROP ENCODE_FOR_URI EXISTS
FILTER FLOOR FROM GRAPH GROUP GROUP_CONCAT HAVING HOURS IF IN INSERT INTO IRI LANG LANGDIR LANGMATCHES LATERAL
LCASE LIMIT LOAD MAX MD5 MIN MINUS MINUTES MONTH MOVE NAMED NOT NOW OBJECT OFFSET OPTIONAL ORDER PREDICATE
PREFIX RAND REDUCED REGEX REPLACE ROUND SAMPLE SECONDS SELECT SEPARATOR SERVICE SHA1 SHA256 SHA384 SHA512 SILENT
STR STRAFTER STRBEFORE STRDT STRENDS STRLANG STRLANGDIR STRLEN STRSTARTS STRUUID SUBJECT SUBSTR SUM TIMEZONE TO
TRIPLE TZ UCASE UNDEF UNION URI USING UUID VALUES VERSION WHERE WITH YEAR hasLANG hasLANGDIR isBLANK isIRI
isLITERAL isNUMERIC isTRIPLE isURI sameTerm a true false""".split()

# The grammar's terminals (https://www.w3.org/TR/sparql11-query/#grammar). PN_CHARS_BASE stops at
# U+FFFD as in Oxigraph, which does not accept the spec's U+10000-U+EFFFF there.
_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F"
         "\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD")
_CHARS_MORE = r"\u00B7\u0300-\u036F\u203F-\u2040"  # what PN_CHARS adds to PN_CHARS_U, '-' and digits
_CHARS = _BASE + r"_\-0-9" + _CHARS_MORE
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
_ESCAPE = r"\\(?:[tbnrf\"'\\]|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"
_UCHAR = r"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"

_WS = re.compile(r"[ \t\r\n]+")
_COMMENT = re.compile(r"#[^\r\n]*")
_IRIREF = re.compile(rf"<((?:[^<>\"{{}}|^`\\\x00-\x20]|{_UCHAR})*)>")
_KEYWORD = re.compile("|".join(sorted(_KEYWORDS, key=len, reverse=True)), re.IGNORECASE)
_LANGTAG = re.compile(r"@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*(?:--[a-zA-Z]+)?")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*[eE][+-]?[0-9]+|\.[0-9]+[eE][+-]?[0-9]+|[0-9]+[eE][+-]?[0-9]+"
                     r"|[0-9]*\.[0-9]+|[0-9]+)")
_STRINGS = [re.compile(p) for p in (rf"'''((?:(?:''|')?(?:[^'\\]|{_ESCAPE}))*)'''",
                                    rf'"""((?:(?:""|")?(?:[^"\\]|{_ESCAPE}))*)"""',
                                    rf"'((?:[^'\\\n\r]|{_ESCAPE})*)'", rf'"((?:[^"\\\n\r]|{_ESCAPE})*)"')]
_PUNCT = re.compile(r"<<\(|\)>>|<<|>>|\{\||\|\}|\^\^|\|\||&&|!=|<=|>=|[{}()\[\],.;*/+\-=!^|<>?~]")
_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
OPENERS = frozenset({"{", "(", "[", "{|", "<<", "<<("})
CLOSERS = frozenset({"}", ")", "]", "|}", ">>", ")>>"})
BRACKETS = OPENERS | CLOSERS


class Kind(Enum):
    SPACE = "whitespace"
    COMMENT = "comment"
    IRI = "IRI"
    PNAME = "prefixed name"
    KEYWORD = "keyword"
    VAR = "variable"
    BLANK_NODE = "blank node"
    LANGTAG = "language tag"
    NUMBER = "number"
    STRING = "string"
    PUNCT = "punctuation"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    start: int
    end: int
    text: str
    value: str = ""  # IRI: its text with the escapes decoded; STRING: the string's value


@dataclass(frozen=True, slots=True)
class _Names:
    """The terminals whose character classes span most of Unicode: prefixed names, variables, blank nodes."""

    pname: re.Pattern[str]
    var: re.Pattern[str]
    blank_node: re.Pattern[str]
    run: re.Pattern[str]  # what a prefix is made of: a prefixed name's `:` can only end such a run


@functools.cache
def _names(ascii_only: bool) -> _Names:
    """The name terminals, or for a text all in ASCII their ASCII part, which matches there exactly as
    they do. The whole ones take some 15 ms to compile (re maps each class's 60,000 characters one by
    one), a tenth of a command's start-up; nearly every query is ASCII, and the parts take 1 ms."""
    base, more = ("A-Za-z", "") if ascii_only else (_BASE, _CHARS_MORE)
    u, chars = base + "_", base + r"_\-0-9" + more
    prefix = rf"[{base}](?:[{chars}.]*[{chars}])?"
    local = rf"(?:[{u}:0-9]|{_PLX})(?:(?:[{chars}.:]|{_PLX})*(?:[{chars}:]|{_PLX}))?"
    return _Names(pname=re.compile(rf"({prefix})?:({local})?"), var=re.compile(rf"[?$][{u}0-9][{u}0-9{more}]*"),
                  blank_node=re.compile(rf"_:[{u}0-9](?:[{chars}.]*[{chars}])?"), run=re.compile(rf"[{chars}.]*"))


# After these a `<` may be the less-than operator; elsewhere it can only open an IRI.
_OPERAND_ENDS = frozenset({Kind.VAR, Kind.NUMBER, Kind.STRING, Kind.IRI, Kind.PNAME, Kind.LANGTAG, Kind.BLANK_NODE})


def place(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"{line}:{offset - text.rfind(chr(10), 0, offset)}"


def syntax_error(text: str, offset: int, message: str) -> QueryError:
    return QueryError(f"SPARQL syntax error: error at {place(text, offset)}: {message}")


def _unescape(text: str, offset: int, body: str) -> str:
    """A string's or IRI's escapes decoded; an escape that names no character is refused, as the
    engine refuses it (and would then read the text another way)."""
    def one(match: re.Match) -> str:
        escape = match.group()
        if escape[1] in "uU":
            code = int(escape[2:], 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise syntax_error(text, offset, f"the escape {escape} is not a character")
            return chr(code)
        return _ESCAPES[escape[1]]
    return re.sub(_ESCAPE, one, body)


def resolve_iri(base: str | None, reference: str) -> str | None:
    """The IRI the engine makes of ``reference``: as given without a base, else resolved against it
    (by the same IRI library, through pyoxigraph's Turtle parser); None if it is not an IRI."""
    try:
        if base is None:
            return NamedNode(reference).value
        triple = f"<{escaped(reference)}> <urn:x:p> <urn:x:o> ."
        return next(iter(parse(triple, format=RdfFormat.TURTLE, base_iri=base))).subject.value
    except (ValueError, SyntaxError):
        return None


def tokenize(text: str) -> list[Token]:
    """The query's tokens, whitespace and comments included, by longest match; raises QueryError
    at the first place no terminal matches."""
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[Token]:
    """:func:`tokenize`'s tokens one by one, for readers that stop early."""
    code: list[Token] = []  # the tokens that are not whitespace or comments
    # Relative IRIs are IRIs only under a BASE; any "base" in the text is enough to consider them.
    base = "http://base.invalid/" if re.search("base", text, re.IGNORECASE) else None
    names = _names(text.isascii())
    position, end = 0, len(text)
    # Where the run of prefix characters around ``position`` ends: found once for the whole run, as
    # every position inside it shares it. Trying the prefixed name at each of 100,000 `a` keywords
    # scanned the rest of the run each time, for a ':' that never came: 30 s.
    run_end = 0
    while position < end:
        if position >= run_end:
            run_end = max(names.run.match(text, position).end(), position + 1)
        token = _next_token(text, position, code, base, names, run_end)
        yield token
        if token.kind not in (Kind.SPACE, Kind.COMMENT):
            code.append(token)
        position = token.end


def _opens_iri(body: str, code: list[Token], base: str | None) -> bool:
    """Whether `<` opens an IRI rather than compares: `?a<?b&&?c>?d` is a comparison. The grammar's
    own ambiguity, settled as the engine does: after an operand, only if the text is an IRI."""
    if not code or code[-1].kind not in _OPERAND_ENDS:
        return True
    if len(code) > 1 and code[-2].text.upper() == "PREFIX":
        return True
    return resolve_iri(base, body) is not None


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def _next_token(text: str, at: int, code: list[Token], base: str | None, names: _Names, run_end: int) -> Token:
    char = text[at]
    if char in " \t\r\n":
        return Token(Kind.SPACE, at, (space := _WS.match(text, at)).end(), space.group())
    if char == "#":
        return Token(Kind.COMMENT, at, (comment := _COMMENT.match(text, at)).end(), comment.group())
    if char in "'\"":
        for pattern in _STRINGS:
            if match := pattern.match(text, at):
                return Token(Kind.STRING, at, match.end(), match.group(), _unescape(text, at, match.group(1)))
        raise syntax_error(text, at, "unterminated string, or a backslash that starts no escape")
    if char == "<" and (iri := _IRIREF.match(text, at)):
        body = _unescape(text, at, iri.group(1))
        if _opens_iri(body, code, base):
            if base is None and not _SCHEME.match(body):  # the engine's message: "expected [_]"
                raise syntax_error(text, at, f"{iri.group()} is a relative IRI, and the query has no BASE to "
                                   "resolve it against: write it whole (<https://...>) or as a prefixed name")
            return Token(Kind.IRI, at, iri.end(), iri.group(), body)
    if char in "?$" and (var := names.var.match(text, at)):
        return Token(Kind.VAR, at, var.end(), var.group())
    if char == "@" and (tag := _LANGTAG.match(text, at)):
        return Token(Kind.LANGTAG, at, tag.end(), tag.group())
    if text.startswith("_:", at) and (label := names.blank_node.match(text, at)):
        return Token(Kind.BLANK_NODE, at, label.end(), label.group())
    if number := _NUMBER.match(text, at):
        return Token(Kind.NUMBER, at, number.end(), number.group())
    named = char == ":" or text.startswith(":", run_end)
    keyword, pname = _KEYWORD.match(text, at), names.pname.match(text, at) if named else None
    if pname and (not keyword or pname.end() > keyword.end()):
        return Token(Kind.PNAME, at, pname.end(), pname.group())
    if keyword:
        return Token(Kind.KEYWORD, at, keyword.end(), keyword.group())
    if punct := _PUNCT.match(text, at):
        return Token(Kind.PUNCT, at, punct.end(), punct.group())
    word = re.match(rf"[{_CHARS}]+", text[at:at + 40])
    found = f"'{word.group()}'" if word else repr(char)
    raise syntax_error(text, at, f"unexpected {found}: not a keyword, name, IRI, string or number")


def escaped(value: str, keep: str = "") -> str:
    """``value`` with every character outside [A-Za-z0-9] and ``keep`` written as \\uXXXX or
    \\UXXXXXXXX: no quote, ``>`` or ``#`` is left to end a string or an IRI early, or to start anything."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in keep
                   else (f"\\u{ord(c):04X}" if ord(c) < 0x10000 else f"\\U{ord(c):08X}") for c in value)
