"""Saved-query headers: the comment block at the top of a ``.rq`` file and its typed parameters.

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
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from pyoxigraph import Literal, NamedNode

from dipkb.errors import ParameterError
from dipkb.model.modality import MODALITIES, modality_iri, modality_name
from dipkb.model.namespaces import XSD, expand
from dipkb.model.temporal import XSD_DATE, DateInputError, parse_partial_date

Term = NamedNode | Literal
ActorResolver = Callable[[str], str]
HEADER_KEYS = ("title", "description", "param", "example")

_FIELD = re.compile(r"^#\s?(?P<key>[A-Za-z][\w-]*):(?:\s+(?P<value>.*))?$")
_CONTINUATION = re.compile(r"^#\s{2,}(?P<value>\S.*)$")
_PARAM = re.compile(r"^(?P<name>[^\s(]+)\s*\((?P<spec>[^)]*)\)\s*(?P<description>.*)$")
_VARNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")


class ParamType(Enum):
    IRI = "iri"
    ACTOR = "actor"
    STRING = "string"
    INTEGER = "integer"
    DATE = "date"
    DATE_END = "date-end"
    MODALITY = "modality"

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
    ParamType.MODALITY: f"a modality: {', '.join(MODALITIES)} (or dip:Planned...)",
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
        if kind is ParamType.MODALITY:
            name = modality_name(value)
            if name is None:
                raise self._invalid(value)
            return NamedNode(modality_iri(name))
        if kind is ParamType.INTEGER:
            if not _INTEGER.fullmatch(value):
                raise self._invalid(value)
            # Its canonical form without int(), which refuses past 4,300 digits: xsd:integer has no bound.
            digits = value.lstrip("+-").lstrip("0") or "0"
            sign = "-" if value.startswith("-") and digits != "0" else ""
            return Literal(sign + digits, datatype=NamedNode(XSD + "integer"))
        try:
            period = parse_partial_date(value.strip())
        except DateInputError:
            raise self._invalid(value) from None
        day = period.first_day if kind is ParamType.DATE else period.last_day
        return Literal(day.isoformat(), datatype=NamedNode(XSD_DATE))

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


class HeaderProblem(Exception):
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


def _header_fields(text: str) -> list[_Field]:
    fields: list[_Field] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped.startswith("#") or stripped == "#":
            break
        continued = _CONTINUATION.match(stripped)
        if continued:
            if not fields:
                raise HeaderProblem(number, "a continuation line must follow a '# key: value' line.")
            fields[-1].value = f"{fields[-1].value} {continued['value'].strip()}".strip()
            continue
        field = _FIELD.match(stripped)
        if not field:
            raise HeaderProblem(number, "expected '# key: value' in the query header "
                                 "(or a bare '#' line to end the header before free comments).")
        if field["key"].lower() not in HEADER_KEYS:
            raise HeaderProblem(number, f"unknown header key '{field['key']}'; use one of: {', '.join(HEADER_KEYS)}.")
        fields.append(_Field(field["key"].lower(), (field["value"] or "").strip(), number))
    return fields


def has_header(text: str) -> bool:
    """Whether ``text`` starts with a header line (``# title: ...``, ``# param: ...``)."""
    field = _FIELD.match(text.lstrip().split("\n", 1)[0].strip())
    return field is not None and field["key"].lower() in HEADER_KEYS


def read_header(text: str) -> tuple[QueryHeader, dict[str, int]]:
    """The header, and the line each parameter is declared on (for later messages)."""
    single: dict[str, _Field] = {}
    parameters: dict[str, Parameter] = {}
    lines: dict[str, int] = {}
    for field in _header_fields(text):
        if field.key == "param":
            parameter = _parse_param(field.value, field.line)
            if parameter.name in parameters:
                raise HeaderProblem(field.line, f"parameter '{parameter.name}' is declared twice.")
            parameters[parameter.name], lines[parameter.name] = parameter, field.line
        elif field.key in single:
            raise HeaderProblem(field.line, f"'{field.key}' is given twice.")
        else:
            single[field.key] = field
    if "title" not in single:
        raise HeaderProblem(1, "the query has no '# title: ...' header line.")
    if not single["title"].value:
        raise HeaderProblem(single["title"].line, "the title is empty.")
    example = _parse_example(single["example"], parameters) if "example" in single else ()
    description = single["description"].value if "description" in single else ""
    return QueryHeader(single["title"].value, description, tuple(parameters.values()), example), lines


def _parse_param(value: str, number: int) -> Parameter:
    match = _PARAM.match(value)
    if not match:
        raise HeaderProblem(number, "expected '# param: name (type[, required | default=VALUE]) description'.")
    name = match["name"]
    if not _VARNAME.match(name):
        raise HeaderProblem(number, f"parameter name '{name}' is not a SPARQL variable name (letters, digits, _).")
    options = [part.strip() for part in match["spec"].split(",")]
    try:
        kind = ParamType(options[0])
    except ValueError:
        types = ", ".join(t.value for t in ParamType)
        raise HeaderProblem(number, f"unknown parameter type '{options[0]}'; use one of: {types}.") from None
    required, default = False, None
    for option in options[1:]:
        if option == "required":
            required = True
        elif option.startswith("default="):
            default = option[len("default="):].strip()
        else:
            raise HeaderProblem(number, f"unknown parameter option '{option}'; use 'required' or 'default=VALUE'.")
    if required and default is not None:
        raise HeaderProblem(number, f"parameter '{name}' cannot be both required and have a default.")
    parameter = Parameter(name, kind, match["description"].strip(), required, default)
    if default is not None and kind is not ParamType.ACTOR:  # an actor default may be a name to resolve
        _check_value(parameter, default, number)
    return parameter


def _parse_example(field: _Field, parameters: Mapping[str, Parameter]) -> tuple[tuple[str, str], ...]:
    number = field.line
    try:
        words = shlex.split(field.value)
    except ValueError as error:
        raise HeaderProblem(number, f"cannot read the example ({error}).") from None
    pairs: dict[str, str] = {}
    for word in words:
        name, sep, given = word.partition("=")
        if not sep:
            raise HeaderProblem(number, f"example value '{word}' is not in name=value form.")
        if name not in parameters:
            raise HeaderProblem(number, f"example names unknown parameter '{name}'; declared: "
                                 f"{', '.join(parameters) or 'none'}.")
        if name in pairs:
            raise HeaderProblem(number, f"example gives '{name}' twice.")
        if parameters[name].type is not ParamType.ACTOR:
            _check_value(parameters[name], given, number)
        pairs[name] = given
    missing = [p for p in parameters.values() if p.required and p.name not in pairs]
    if missing:
        raise HeaderProblem(number, f"example lacks required parameter '{missing[0].name}'.")
    return tuple(pairs.items())


def _check_value(parameter: Parameter, value: str, number: int) -> None:
    try:
        parameter.to_term(value)
    except ParameterError as error:
        raise HeaderProblem(number, str(error)) from None
