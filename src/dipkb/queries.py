"""Saved queries: SPARQL files in ``queries/`` with a comment header, loaded as typed objects whose
parameters are bound as RDF terms, never spliced into the query text.

Header format
-------------
A saved query is a ``.rq`` file; its name is the file stem. The header is the first block of ``#``
lines, up to a bare ``#`` line or the first line that is not a comment. Each header line is
``# key: value``; a line of ``#`` followed by two or more spaces continues the previous value::

    # title: Timeline of an actor
    # description: Events an actor took part in (directly or through actors acting for it),
    #   between two dates, oldest first.
    # param: actor (actor, required) The actor: IRI, CURIE (actor:russia) or name.
    # param: from (date) Start of the range: YYYY, YYYY-MM or YYYY-MM-DD.
    # param: to (date-end) End of the range.
    # param: limit (integer, default=100) At most this many rows.
    # example: actor=actor:russia from=2021-07 to=2021-07
    #
    # Free comments for readers of the query may follow the bare '#' line.

Keys: ``title`` (required), ``description``, ``param`` (one per parameter) and ``example`` (values
in ``name=value`` form, shell-quoted when they contain spaces; used by the docs and the tests).
A parameter is ``name (type[, required | default=VALUE]) description``; the name is the SPARQL
variable it binds (``?actor``). Types:

- ``iri``: a full IRI, ``<IRI>`` or a CURIE with a known prefix (``event:...``), bound as an IRI.
- ``actor``: resolved by the caller's ``resolve_actor`` (names, CURIEs, IRIs); without one, as ``iri``.
- ``string``: a plain ``xsd:string`` literal, not language-tagged. The KB's labels are ``@en``, so
  compare with ``STR(?label) = ?name``.
- ``integer``: an ``xsd:integer`` literal; only ASCII digits with an optional sign are accepted.
- ``date`` / ``date-end``: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, bound as the ``xsd:date`` of the
  first (``date``) or last (``date-end``) day of that period, to compare with ``dip:earliestDay`` and
  ``dip:latestDay``.

pyoxigraph (0.5) binds values only to variables of the top-level ``SELECT`` projection, and reports
a bound parameter as unbound to ``BOUND()``; so every parameter must be projected, and an optional
one is tested with ``COALESCE(<test>, true)``, never ``BOUND(?param)``. Both rules are checked when
a query is loaded; queries/README.md explains them and how to keep queries fast.
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Store, Variable

from dipkb import sparql
from dipkb.errors import DipkbError, KBNotFoundError, ParameterError, QueryError
from dipkb.layout import display_path
from dipkb.namespaces import PREFIXES, XSD, expand
from dipkb.temporal import DateInputError, parse_partial_date

Term = NamedNode | Literal
ActorResolver = Callable[[str], str]
QUERY_SUFFIX = ".rq"
HEADER_KEYS = ("title", "description", "param", "example")

_FIELD = re.compile(r"^#\s?(?P<key>[A-Za-z][\w-]*):(?:\s+(?P<value>.*))?$")
_CONTINUATION = re.compile(r"^#\s{2,}(?P<value>\S.*)$")
_PARAM = re.compile(r"^(?P<name>[^\s(]+)\s*\((?P<spec>[^)]*)\)\s*(?P<description>.*)$")
_VARNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_SYNTAX_PLACE = re.compile(r"^error at (\d+):(\d+):\s*")
_NOT_PROJECTED = re.compile(r"variable \?(\w+)")
_QUERY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ParamType(Enum):
    IRI = "iri"
    ACTOR = "actor"
    STRING = "string"
    INTEGER = "integer"
    DATE = "date"
    DATE_END = "date-end"

    @property
    def expects(self) -> str:
        """What a value looks like, for error messages."""
        return _EXPECTS[self]


_EXPECTS = {
    ParamType.IRI: "an IRI, <IRI> or CURIE such as event:kabulov-taliban-meeting-2021-07",
    ParamType.ACTOR: "an actor's IRI, CURIE (actor:russia) or name",
    ParamType.STRING: "any text",
    ParamType.INTEGER: "a whole number such as 100",
    ParamType.DATE: "a date: YYYY, YYYY-MM or YYYY-MM-DD",
    ParamType.DATE_END: "a date: YYYY, YYYY-MM or YYYY-MM-DD",
}


@dataclass(frozen=True)
class Parameter:
    """One declared parameter; ``name`` is also the SPARQL variable it binds."""

    name: str
    type: ParamType
    description: str
    required: bool = False
    default: str | None = None

    def to_term(self, value: str, resolve_actor: ActorResolver | None = None) -> Term:
        """The RDF term for a user's value, or ParameterError saying what was expected."""
        kind = self.type
        if kind is ParamType.ACTOR and resolve_actor is not None:
            return self._named_node(resolve_actor(value), value)
        if kind in (ParamType.IRI, ParamType.ACTOR):
            return self._named_node(expand(value.strip()), value)
        if kind is ParamType.STRING:
            return Literal(value)
        if kind is ParamType.INTEGER:
            if not _INTEGER.match(value):
                raise self._invalid(value)
            return Literal(int(value))
        try:
            period = parse_partial_date(value.strip())
        except DateInputError:
            raise self._invalid(value) from None
        day = period.first_day if kind is ParamType.DATE else period.last_day
        return Literal(day.isoformat(), datatype=NamedNode(XSD + "date"))

    def _named_node(self, iri: str | None, value: str) -> NamedNode:
        # NamedNode validates the IRI, so text with spaces, '>' or quotes never becomes a term.
        if iri:
            try:
                return NamedNode(iri)
            except ValueError:
                pass
        raise self._invalid(value)

    def _invalid(self, value: str) -> ParameterError:
        return ParameterError(f"Parameter '{self.name}' must be {self.type.expects}; got {value!r}.")

    def signature(self) -> str:
        """The parameter as its header line declares it, for listings: ``actor (actor, required)``."""
        extra = ", required" if self.required else (f", default={self.default}" if self.default is not None else "")
        return f"{self.name} ({self.type.value}{extra})"


@dataclass(frozen=True)
class QueryHeader:
    """What a query's header declares."""

    title: str
    description: str
    parameters: tuple[Parameter, ...]
    example: tuple[tuple[str, str], ...] = ()


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
        by variable name, for ``KnowledgeBase.query(text, bindings)``. Optional parameters without a
        value or default are left out, so their variables stay unbound."""
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


# --- Parsing ------------------------------------------------------------------------------------


class _HeaderProblem(Exception):
    """A problem at a place in the file: a line number, or 'line:column' from the SPARQL parser."""

    def __init__(self, line: int | str, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class _Field:
    key: str
    value: str
    line: int


def parse_header(text: str, path: Path | str) -> QueryHeader:
    """Read the header of a saved query; QueryError naming ``file:line`` if it is malformed."""
    try:
        return _parse_header(text)[0]
    except _HeaderProblem as problem:
        raise QueryError(f"{_where(path)}:{problem.line}: {problem.message}") from None


def _header_fields(text: str) -> list[_Field]:
    fields: list[_Field] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped.startswith("#") or stripped == "#":
            break
        continued = _CONTINUATION.match(stripped)
        if continued:
            if not fields:
                raise _HeaderProblem(number, "a continuation line must follow a '# key: value' line.")
            fields[-1].value = f"{fields[-1].value} {continued['value'].strip()}".strip()
            continue
        field = _FIELD.match(stripped)
        if not field:
            raise _HeaderProblem(number, "expected '# key: value' in the query header "
                                 "(or a bare '#' line to end the header before free comments).")
        if field["key"].lower() not in HEADER_KEYS:
            raise _HeaderProblem(number, f"unknown header key '{field['key']}'; use one of: {', '.join(HEADER_KEYS)}.")
        fields.append(_Field(field["key"].lower(), (field["value"] or "").strip(), number))
    return fields


def _parse_header(text: str) -> tuple[QueryHeader, dict[str, int]]:
    """The header, and the line each parameter is declared on (for later messages)."""
    single: dict[str, _Field] = {}
    parameters: dict[str, Parameter] = {}
    lines: dict[str, int] = {}
    for field in _header_fields(text):
        if field.key == "param":
            parameter = _parse_param(field.value, field.line)
            if parameter.name in parameters:
                raise _HeaderProblem(field.line, f"parameter '{parameter.name}' is declared twice.")
            parameters[parameter.name], lines[parameter.name] = parameter, field.line
        elif field.key in single:
            raise _HeaderProblem(field.line, f"'{field.key}' is given twice.")
        else:
            single[field.key] = field
    if "title" not in single:
        raise _HeaderProblem(1, "the query has no '# title: ...' header line.")
    if not single["title"].value:
        raise _HeaderProblem(single["title"].line, "the title is empty.")
    example = _parse_example(single["example"], parameters) if "example" in single else ()
    description = single["description"].value if "description" in single else ""
    return QueryHeader(single["title"].value, description, tuple(parameters.values()), example), lines


def _parse_param(value: str, number: int) -> Parameter:
    match = _PARAM.match(value)
    if not match:
        raise _HeaderProblem(number, "expected '# param: name (type[, required | default=VALUE]) description'.")
    name = match["name"]
    if not _VARNAME.match(name):
        raise _HeaderProblem(number, f"parameter name '{name}' is not a SPARQL variable name (letters, digits, _).")
    options = [part.strip() for part in match["spec"].split(",")]
    try:
        kind = ParamType(options[0])
    except ValueError:
        types = ", ".join(t.value for t in ParamType)
        raise _HeaderProblem(number, f"unknown parameter type '{options[0]}'; use one of: {types}.") from None
    required, default = False, None
    for option in options[1:]:
        if option == "required":
            required = True
        elif option.startswith("default="):
            default = option[len("default="):].strip()
        else:
            raise _HeaderProblem(number, f"unknown parameter option '{option}'; use 'required' or 'default=VALUE'.")
    if required and default is not None:
        raise _HeaderProblem(number, f"parameter '{name}' cannot be both required and have a default.")
    parameter = Parameter(name, kind, match["description"].strip(), required, default)
    if default is not None and kind is not ParamType.ACTOR:  # an actor default may be a name to resolve
        _check_value(parameter, default, number)
    return parameter


def _parse_example(field: _Field, parameters: Mapping[str, Parameter]) -> tuple[tuple[str, str], ...]:
    number = field.line
    try:
        words = shlex.split(field.value)
    except ValueError as error:
        raise _HeaderProblem(number, f"cannot read the example ({error}).") from None
    pairs: dict[str, str] = {}
    for word in words:
        name, sep, given = word.partition("=")
        if not sep:
            raise _HeaderProblem(number, f"example value '{word}' is not in name=value form.")
        if name not in parameters:
            raise _HeaderProblem(number, f"example names unknown parameter '{name}'; declared: "
                                 f"{', '.join(parameters) or 'none'}.")
        if name in pairs:
            raise _HeaderProblem(number, f"example gives '{name}' twice.")
        if parameters[name].type is not ParamType.ACTOR:
            _check_value(parameters[name], given, number)
        pairs[name] = given
    missing = [p for p in parameters.values() if p.required and p.name not in pairs]
    if missing:
        raise _HeaderProblem(number, f"example lacks required parameter '{missing[0].name}'.")
    return tuple(pairs.items())


def _check_value(parameter: Parameter, value: str, number: int) -> None:
    try:
        parameter.to_term(value)
    except ParameterError as error:
        raise _HeaderProblem(number, str(error)) from None


def _check_body(text: str, header: QueryHeader, param_line: Mapping[str, int]) -> None:
    """The rules of the module docstring, checked on the query itself: it parses, uses and projects
    every parameter, and never tests a parameter with BOUND()."""
    lines = text.splitlines()
    code = sparql.code_only(text)
    for parameter in header.parameters:
        if not re.search(rf"[?$]{parameter.name}\b", code):
            raise _HeaderProblem(param_line.get(parameter.name, 1),
                                 f"parameter '{parameter.name}' is declared but the query never uses ?{parameter.name}.")
    for number, line in enumerate(lines, start=1):
        for parameter in header.parameters:
            if re.search(rf"\bBOUND\s*\(\s*[?$]{parameter.name}\s*\)", sparql.code_only(line), re.I):
                raise _HeaderProblem(number, f"BOUND(?{parameter.name}) is always false for a given parameter "
                                     "(pyoxigraph substitution); test it with COALESCE(<test>, true) instead.")
    try:
        safe = sparql.prepare(text, PREFIXES)
    except QueryError as error:
        raise _HeaderProblem(1, str(error)) from None
    dummies = {Variable(p.name): NamedNode("urn:dipkb:check") for p in header.parameters}
    try:
        # A dry run on an empty store: parses the query and makes pyoxigraph check the projection.
        # The guard's text, never the file's: even an unread SELECT sends its SERVICE requests.
        Store().query(safe.text, substitutions=dummies or None)
    except SyntaxError as error:
        message = " ".join(safe.locate(error.msg or str(error)).split())  # one line, as the CLI prints it
        place = _SYNTAX_PLACE.match(message)
        if place:
            raise _HeaderProblem(f"{place[1]}:{place[2]}", f"SPARQL syntax error: {message[place.end():]}") from None
        raise _HeaderProblem(1, f"SPARQL syntax error: {message}") from None
    except RuntimeError as error:
        variable = _NOT_PROJECTED.search(str(error))
        name = variable[1] if variable else "?"
        raise _HeaderProblem(param_line.get(name, 1), f"parameter '{name}' must be in the SELECT projection, "
                             "or pyoxigraph cannot bind it; add ?" + name + " to the selected variables.") from None


def load_query_file(path: Path) -> SavedQuery:
    """One saved query from its file; QueryError naming ``file:line`` if it is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise QueryError(f"{_where(path)}: not valid UTF-8 ({error.reason}).") from None
    except OSError as error:
        raise QueryError(f"{_where(path)}: cannot read the query ({error.strerror}).") from None
    try:
        header, param_lines = _parse_header(text)
        _check_body(text, header, param_lines)
    except _HeaderProblem as problem:
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
    queries, problems = [], []
    for path in _query_paths(Path(queries_dir)).values():
        try:
            queries.append(load_query_file(path))
        except DipkbError as error:
            problems.append(str(error))
    if problems:
        noun = "query" if len(problems) == 1 else "queries"
        raise QueryError("\n".join(problems + [f"{len(problems)} saved {noun} failed to load."]))
    return queries


def is_query_name(text: str) -> bool:
    """Whether ``text`` reads as the name of a saved query (``actor-timeline``, ``claims.rq``) rather
    than SPARQL text, which always has spaces or braces."""
    return bool(_QUERY_NAME.match(text))


def find_query(queries_dir: Path, name: str) -> SavedQuery:
    """The saved query called ``name`` (the file stem; a trailing ``.rq`` is allowed). Only that
    file is read, so one broken query does not stop the others from running."""
    stem = name[: -len(QUERY_SUFFIX)] if name.endswith(QUERY_SUFFIX) else name
    # Looked up among the listed files rather than joined to the directory, so a name such as
    # '../x' cannot reach a file outside it.
    paths = _query_paths(Path(queries_dir))
    if stem not in paths:
        available = ", ".join(paths) or "none"
        raise QueryError(f"No saved query named {name!r}. Available: {available}.")
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
        params[name.strip()] = value
    return params
