"""Saved queries: SPARQL files in ``queries/`` with a comment header, loaded as typed objects whose
parameters are bound as RDF terms, never spliced into the query text.

The header and its parameter types are read by :mod:`dipkb.sparql.header`.

Parameters are bound by a ``VALUES`` block put at the start of the query's ``WHERE`` group (found
from the guard's tokens, see :meth:`SavedQuery.with_values`), made of the terms pyoxigraph serialises
(N-Triples syntax), ``UNDEF`` for an optional parameter without a value. That is standard SPARQL 1.1:
the same text runs on any engine, a parameter need not be projected, and ``!BOUND(?from)`` tests an
optional one. queries/README.md explains the rules and how to keep queries fast.
"""
from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import Store

from dipkb.errors import DipkbError, KBNotFoundError, ParameterError, QueryError, UnknownQueryError
from dipkb.model.namespaces import PREFIXES
from dipkb.sparql import guard
from dipkb.sparql.header import (ActorResolver, HeaderProblem, Parameter, ParamType, QueryHeader, Term,
                                has_header, read_header)
from dipkb.sparql.tokens import Kind, tokenize
from dipkb.util.paths import display_path

__all__ = ["ParamType", "Parameter", "QueryHeader", "SavedQuery", "find_query", "is_query_name",
           "load_catalogue", "load_query_file", "read_query_file", "unloaded", "parse_assignments", "parse_header",
           "pattern_start", "read_catalogue", "values_clause"]

QUERY_SUFFIX = ".rq"
# A query file named on the command line: .sparql is as common as .rq.
QUERY_FILE_SUFFIXES = (QUERY_SUFFIX, ".sparql")

_SYNTAX_PLACE = re.compile(r"^error at (\d+):(\d+):\s*")
_QUERY_NAME = re.compile(r"^[^\W_][\w.-]*$")  # a word: letters of any script, digits, "_", ".", "-"


@dataclass(frozen=True)
class SavedQuery:
    """A saved query of the catalogue: its file stem is its name."""

    name: str
    title: str
    description: str
    parameters: tuple[Parameter, ...]
    text: str
    path: Path
    example: tuple[tuple[str, str], ...] = ()

    @property
    def example_values(self) -> dict[str, str]:
        return dict(self.example)

    def parameter(self, name: str) -> Parameter:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise ParameterError(f"Query '{self.name}' has no parameter {name!r}; {self._takes()}.")

    def bind(self, values: Mapping[str, str], resolve_actor: ActorResolver | None = None) -> dict[str, Term]:
        """Type-check ``values`` against the declared parameters and return them as RDF terms, keyed
        by variable name, for :meth:`with_values`. Optional parameters without a value or default
        are left out, so their variables stay unbound (UNDEF)."""
        declared = {p.name for p in self.parameters}
        unknown = sorted(set(values) - declared)
        if unknown:
            names = ", ".join(repr(n) for n in unknown)
            raise ParameterError(f"Unknown parameter {names} for query '{self.name}'; {self._takes()}.")
        missing = [p for p in self.parameters if p.required and values.get(p.name) is None]
        if missing:
            wanted = "; ".join(f"{p.name}=... ({p.description or p.type.expects})" for p in missing)
            raise ParameterError(f"Query '{self.name}' needs {wanted}.")
        bindings: dict[str, Term] = {}
        for parameter in self.parameters:
            value = values.get(parameter.name, parameter.default)
            if value is not None:
                bindings[parameter.name] = parameter.to_term(value, resolve_actor)
        self._check_range(bindings)
        return bindings

    def with_values(self, bindings: Mapping[str, Term]) -> str:
        """The query's text with ``bindings`` (from :meth:`bind`) in a VALUES block at the start of
        its WHERE group, on the line of its ``{`` so that the lines of syntax errors stay the file's.
        This is the text any SPARQL 1.1 engine runs; a query without parameters is its file as is."""
        if not self.parameters:
            return self.text
        at = pattern_start(self.text)
        if at is None:
            raise QueryError(f"{_where(self.path)}: {_NO_WHERE}")
        return f"{self.text[:at]} {values_clause(self.parameters, bindings)}{self.text[at:]}"

    def _check_range(self, bindings: Mapping[str, Term]) -> None:
        """A start after an end would match nothing, silently: say so instead. ISO days order as text."""
        given = [p for p in self.parameters if p.name in bindings]
        for start in (p for p in given if p.type is ParamType.DATE):
            for end in (p for p in given if p.type is ParamType.DATE_END):
                if bindings[start.name].value > bindings[end.name].value:
                    raise ParameterError(f"The range of query '{self.name}' is empty: {start.name} "
                                         f"({bindings[start.name].value}) is after {end.name} "
                                         f"({bindings[end.name].value}).")

    def _takes(self) -> str:
        if not self.parameters:
            return "it takes no parameters"
        return "it takes: " + ", ".join(p.signature() for p in self.parameters)


def values_clause(parameters: Sequence[Parameter], bindings: Mapping[str, Term]) -> str:
    """``VALUES (?a ?b) { (<iri> UNDEF) }``: one row binding every parameter, from terms as pyoxigraph
    writes them in N-Triples (escaped, so a value can never close its term), UNDEF where none is given."""
    unknown = sorted(set(bindings) - {p.name for p in parameters})
    if unknown:
        raise ParameterError(f"Not a parameter of the query: {', '.join(unknown)}.")
    names = " ".join(f"?{p.name}" for p in parameters)
    row = " ".join(str(bindings[p.name]) if p.name in bindings else "UNDEF" for p in parameters)
    return f"VALUES ({names}) {{ ({row}) }}"


def pattern_start(text: str) -> int | None:
    """The offset just after the ``{`` that opens the query's WHERE group (the WHERE keyword outside
    every brace, so not a sub-SELECT's), or None if the query has no WHERE keyword. Found from the
    guard's tokens, so a WHERE in a comment, string or IRI is never taken for it."""
    depth, after_where = 0, False
    for token in tokenize(text):
        if token.kind in (Kind.SPACE, Kind.COMMENT):
            continue
        if after_where:
            return token.end if token.text == "{" else None
        if token.kind is Kind.PUNCT and token.text in ("{", "}"):
            depth += 1 if token.text == "{" else -1
        elif token.kind is Kind.KEYWORD and depth == 0 and token.text.upper() == "WHERE":
            after_where = True
    return None


_NO_WHERE = ("a query with parameters needs the WHERE keyword before its pattern: dipkb binds the "
             "parameters with a VALUES block at the start of that group.")


def parse_header(text: str, path: Path | str) -> QueryHeader:
    """Read the header of a saved query; QueryError naming ``file:line`` if it is malformed."""
    try:
        return read_header(text)[0]
    except HeaderProblem as problem:
        raise QueryError(f"{_where(path)}:{problem.line}: {problem.message}") from None


def _check_body(text: str, header: QueryHeader, param_line: Mapping[str, int]) -> None:
    """The query uses every parameter, parses, and has a WHERE group to take their VALUES block."""
    _dry_run(text)
    used, bound = _variables(text)
    for parameter in header.parameters:
        name, line = parameter.name, param_line.get(parameter.name, 1)
        if name not in used:
            raise HeaderProblem(line, f"parameter '{name}' is declared but the query never uses ?{name}.")
        if name not in bound:
            raise HeaderProblem(line, f"parameter '{name}' is used only inside a subquery, which a value given "
                                      f"outside it does not reach: select ?{name} in the subquery, or use it outside.")
    if header.parameters:
        at = pattern_start(text)
        if at is None:
            raise HeaderProblem(param_line.get(header.parameters[0].name, 1), _NO_WHERE)
        # The same with every parameter UNDEF: the block must also fit where it goes (it cannot in
        # the short form CONSTRUCT WHERE { triples }).
        try:
            _dry_run(SavedQuery("", "", "", header.parameters, text, Path("")).with_values({}))
        except HeaderProblem as problem:
            raise HeaderProblem(text.count("\n", 0, at) + 1, "the VALUES block for the parameters cannot open "
                                 f"this WHERE group ({problem.message})") from None


def _variables(text: str) -> tuple[set[str], set[str]]:
    """The query's variables, and those a VALUES block at the start of its WHERE group binds: all but
    the ones only inside a subquery (``{ SELECT ... }``), which sees from outside only what it selects."""
    code = [t for t in tokenize(text) if t.kind not in (Kind.SPACE, Kind.COMMENT)]
    used: set[str] = set()
    bound: set[str] = set()
    subquery: list[bool] = []  # per open brace: whether it is, or is inside, a subquery
    selecting = False  # in the variables an outermost subquery selects
    for at, token in enumerate(code):
        if token.text == "{":
            opens = at + 1 < len(code) and code[at + 1].text.upper() == "SELECT"
            selecting = opens and not any(subquery)
            subquery.append(opens or any(subquery))
            continue
        if token.text == "}" and subquery:
            subquery.pop()
        elif token.text.upper() == "WHERE":
            selecting = False
        if token.kind is Kind.VAR:
            used.add(token.text[1:])
            if selecting or not any(subquery):
                bound.add(token.text[1:])
    return used, bound


def _dry_run(text: str) -> None:
    """Parse ``text`` on an empty store; the guard's text and never the file's: even an unread
    SELECT sends its SERVICE requests."""
    try:
        safe = guard.prepare(text, PREFIXES)
        Store().query(safe.text)
    except QueryError as error:  # the guard's: a refusal, or text that does not tokenize (placed already)
        raise _placed(str(error).removeprefix(_SYNTAX)) if str(error).startswith(_SYNTAX) else HeaderProblem(
            1, str(error)) from None
    except SyntaxError as error:
        raise _placed(" ".join(guard.shorten_syntax_error(safe.locate(error.msg or str(error))).split())) from None  # one line, as the CLI's


_SYNTAX = "SPARQL syntax error: "


def _placed(message: str) -> HeaderProblem:
    """A syntax error at the line and column its message starts with (``error at 3:12: ...``)."""
    place = _SYNTAX_PLACE.match(message)
    if place:
        return HeaderProblem(f"{place[1]}:{place[2]}", f"{_SYNTAX}{message[place.end():]}")
    return HeaderProblem(1, f"{_SYNTAX}{message}")


def load_query_file(path: Path) -> SavedQuery:
    """One saved query from its file; QueryError naming ``file:line`` if it is malformed. Read again
    only when the file changed: a server lists the catalogue on every request (the guard's check of
    each query costs milliseconds)."""
    try:
        stat = path.stat()
    except OSError as error:
        raise QueryError(f"{_where(path)}: cannot read the query ({error.strerror}).") from None
    return _load_query_file(path, stat.st_mtime_ns, stat.st_size)


def read_query_file(path: Path) -> SavedQuery | str:
    """A query file named on the command line: a saved query if it has a header (it may declare
    parameters), else its text, to run as it is."""
    text = _text(path)
    return _saved_query(path, text) if has_header(text) else text


@functools.lru_cache(maxsize=512)
def _load_query_file(path: Path, mtime_ns: int, size: int) -> SavedQuery:
    return _saved_query(path, _text(path))


def _text(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            return guard.read_query(stream, _where(path))
    except OSError as error:
        raise QueryError(f"{_where(path)}: cannot read the query ({error.strerror}).") from None


def _saved_query(path: Path, text: str) -> SavedQuery:
    try:
        header, param_lines = read_header(text)
        _check_body(text, header, param_lines)
    except HeaderProblem as problem:
        raise QueryError(f"{_where(path)}:{problem.line}: {problem.message}") from None
    return SavedQuery(path.stem, header.title, header.description, header.parameters, text, path, header.example)


def _query_paths(queries_dir: Path) -> dict[str, Path]:
    if not queries_dir.is_dir():
        raise KBNotFoundError(f"Saved-query directory not found: {_where(queries_dir)}")
    paths = (p for p in queries_dir.glob(f"*{QUERY_SUFFIX}") if p.is_file() and not p.name.startswith("."))
    return {p.stem: p for p in sorted(paths)}


def load_catalogue(queries_dir: Path) -> list[SavedQuery]:
    """Every saved query in ``queries_dir``, sorted by name. All files are read; if any is malformed,
    one QueryError lists every bad file."""
    queries, problems = read_catalogue(queries_dir)
    if problems:
        raise QueryError(unloaded(problems))
    return queries


def unloaded(problems: list[str], most: int | None = None) -> str:
    """What :func:`read_catalogue` found wrong, one line a file (the first ``most``), and how many failed."""
    shown = problems[:most]
    more = [f"... and {len(problems) - len(shown)} more."] if len(shown) < len(problems) else []
    noun = "query" if len(problems) == 1 else "queries"
    return "\n".join(shown + more + [f"{len(problems)} saved {noun} failed to load."])


def read_catalogue(queries_dir: Path) -> tuple[list[SavedQuery], list[str]]:
    """The saved queries that load, sorted by name, and what is wrong with each of the others."""
    queries, problems = [], []
    for path in _query_paths(Path(queries_dir)).values():
        try:
            if not is_query_name(path.stem):  # listed, `dipkb query NAME` would read the name as SPARQL
                raise QueryError(f"{_where(path)}: a saved query's name is letters (of any script), digits, '-', "
                                 "'_' and '.', starting with a letter or digit, so that `dipkb query NAME` finds it: "
                                 "rename the file.")
            queries.append(load_query_file(path))
        except DipkbError as error:
            problems.append(str(error))
    return queries, problems


def is_query_name(text: str) -> bool:
    """Whether ``text`` reads as the name of a saved query (``actor-timeline``, ``claims.rq``) rather
    than SPARQL text, which always has spaces or braces."""
    return bool(_QUERY_NAME.match(text))


_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.I)


def not_sparql(queries_dir: Path, text: str) -> UnknownQueryError | None:
    """For text that cannot be SPARQL (no query form, no braces), such as ``who met whom``: the saved
    query it may name, rather than the parser's "syntax error at 1:1"."""
    if "{" in text or _FORM.search(text):
        return None
    names = list(_query_paths(Path(queries_dir)))
    meant = difflib.get_close_matches(re.sub(r"[\s_]+", "-", text.strip().lower()), names, n=1, cutoff=0.6)
    hint = f"did you mean {meant[0]}? " if meant else ""
    return UnknownQueryError(f"{text!r} is neither SPARQL (it has no SELECT, ASK, CONSTRUCT or DESCRIBE) nor the "
                             f"name of a saved query: {hint}`dipkb queries` lists them.")


def find_query(queries_dir: Path, name: str) -> SavedQuery:
    """The saved query called ``name`` (the file stem; a trailing ``.rq`` is allowed). Only that
    file is read, so one broken query does not stop the others from running."""
    stem = name[: -len(QUERY_SUFFIX)] if name.endswith(QUERY_SUFFIX) else name
    # Looked up among the listed files rather than joined to the directory, so a name such as
    # '../x' cannot reach a file outside it.
    paths = _query_paths(Path(queries_dir))
    if stem not in paths:
        available = ", ".join(paths) or "none"
        raise UnknownQueryError(f"No saved query named {name!r}. Available: {available}.")
    return load_query_file(paths[stem])


def _where(path: Path | str) -> str:
    return display_path(Path(path))


def parse_assignments(values: Sequence[str]) -> dict[str, str]:
    """``NAME=VALUE`` arguments (``-p``) as a dict; the value may itself hold ``=``."""
    params = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ParameterError(f"-p expects NAME=VALUE, got {item!r}.")
        if name.strip() in params:  # a parameter binds one value: the last one given was taken, silently
            raise ParameterError(f"-p {name.strip()} is given twice ({params[name.strip()]!r}, {value!r}); "
                                 "a parameter takes one value.")
        params[name.strip()] = value
    return params
