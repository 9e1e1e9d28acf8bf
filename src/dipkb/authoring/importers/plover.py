"""PLOVER event records: a JSON array of objects, JSON lines (one object per line), or JSON objects
one after another, pretty-printed, as converters write them.

A record has ``id``, ``event`` (the PLOVER type), optional ``mode``, ``date`` (at any precision),
``source`` and ``target`` (lists of ``{"actorText", "code", "sector"}``) and ``eventLoc``
(``{"name": ...}``). In an array the "line" of a record is its position (1-based); otherwise the line
it starts on. ``dateCoded`` is kept as the record's own date (dct:created), never as a publication date."""
from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dipkb.authoring.importers.filters import RowFilter
from dipkb.authoring.importers.reading import (NotThisFormat, json_integer, member_name, numbered_lines, open_input,
                                               shown, shown_text, text_problem)
from dipkb.authoring.reconcile import slug
from dipkb.errors import ImportInputError
from dipkb.model.namespaces import KB
from dipkb.model.records import (ActorSpec, CodedRow, PlaceKind, PlaceSpec, Rejection, RowResult, Scheme,
                                     SourceRecord, row_result)
from dipkb.model.temporal import DateInputError, DateValue, date_value
from dipkb.util.paths import display_path

SOURCE_NS = KB + "source/"


def read(path: Path, row_filter: RowFilter) -> Iterator[RowResult]:
    source_name = member_name(path)
    for line, item, text in _records(path):
        if isinstance(item, Rejection):
            yield RowResult(line, text, rejection=item)
            continue
        yield row_result(line, text, _kept(item, row_filter), lambda: _row(line, item, source_name))


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any] | Rejection, str]]:
    with open_input(path) as stream:
        head = stream.read(4096)
        if not head.strip():
            raise ImportInputError(f"{display_path(path)} is empty: no PLOVER records to import.")
        if head.lstrip().startswith(b"["):
            yield from _array(path, head + stream.read())
            return
        first = True
        lines = numbered_lines(_Rewound(head, stream))
        for line, raw in lines:
            first, was_first = False, first
            if not raw.strip():
                yield line, Rejection("empty row", "the line is blank"), ""
                continue
            try:
                record = json.loads(raw.decode("utf-8"), parse_int=json_integer)
            except UnicodeDecodeError as error:
                where = f"byte 0x{raw[error.start]:02x} at column {error.start + 1}"
                yield line, Rejection("invalid UTF-8", where), shown(raw)
                continue
            except json.JSONDecodeError as error:
                if was_first and raw.lstrip().startswith(b"{"):  # an object over several lines
                    rest = b"\n".join([raw] + [more for _, more in lines])
                    yield from _concatenated(rest.decode("utf-8", "surrogateescape"), line)
                    return
                if was_first:
                    raise NotThisFormat(path, "PLOVER JSON", f"line 1 is not JSON ({error.msg})") from None
                yield line, Rejection("malformed record", f"not JSON: {error.msg} at column {error.colno}"), shown(raw)
                continue
            except RecursionError:
                yield line, _TOO_DEEP, shown(raw)
                continue
            yield line, _checked(record), shown(raw)


def _array(path: Path, data: bytes) -> Iterator[tuple[int, dict[str, Any] | Rejection, str]]:
    # Decoded leniently so one bad byte rejects only the record it is in, found below by re-encoding.
    text = data.decode("utf-8", "surrogateescape")
    try:
        records = json.loads(text, parse_int=json_integer)
    except RecursionError:
        raise ImportInputError(f"{display_path(path)} nests arrays or objects too deeply to read.") from None
    except json.JSONDecodeError as error:
        raise ImportInputError(f"{display_path(path)} is not valid JSON: line {error.lineno} column "
                               f"{error.colno}: {error.msg}.") from None
    if not isinstance(records, list):
        raise ImportInputError(f"{display_path(path)} holds a JSON {type(records).__name__}, not an array of records.")
    for position, record in enumerate(records, start=1):
        yield position, _checked(record), shown_text(json.dumps(record, ensure_ascii=False))


_SPACE = re.compile(r"\s*")
# Deeper than Python's parser goes (about a thousand levels); no PLOVER record nests beyond three.
_TOO_DEEP = Rejection("malformed record", "JSON nested too deeply to read")


def _concatenated(text: str, first_line: int) -> Iterator[tuple[int, dict[str, Any] | Rejection, str]]:
    """JSON values one after another, each starting on the line it is reported at. A value that does
    not parse is rejected up to the next line that starts with '{', and reading goes on from there."""
    decoder = json.JSONDecoder(parse_int=json_integer)
    at, line = 0, first_line
    while True:
        start = _SPACE.match(text, at).end()
        line += text.count("\n", at, start)
        if start >= len(text):
            return
        try:
            record, end = decoder.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError) as error:
            resume = text.find("\n{", start + 1)
            end = len(text) if resume < 0 else resume + 1
            why = _TOO_DEEP if isinstance(error, RecursionError) else Rejection(
                "malformed record", f"not JSON: {error.msg} at line {error.lineno - 1 + first_line} column {error.colno}")
            yield line, why, _shown_text(text[start:end])
        else:
            yield line, _checked(record), _shown_text(text[start:end])
        line += text.count("\n", start, end)
        at = end


def _shown_text(text: str) -> str:
    return shown_text(text.strip())


def _checked(record: Any) -> dict[str, Any] | Rejection:
    """The record, unless its text cannot become RDF: a byte that was not UTF-8 (the input is decoded
    leniently, so that only its record is rejected) or an escape of half a character."""
    return text_problem(record) or _object(record)


class _Rewound:
    """The stream with the bytes already read for sniffing put back in front."""

    def __init__(self, head: bytes, stream):
        self.head, self.stream = head, stream

    def __iter__(self):
        yield from io.BytesIO(self.head + self.stream.readline())
        yield from self.stream


def _object(record: Any) -> dict[str, Any] | Rejection:
    return record if isinstance(record, dict) else Rejection("malformed record", "not a JSON object")


def _kept(record: dict[str, Any], row_filter: RowFilter) -> bool:
    if not row_filter.active:
        return True
    actors = [a.get(key) for side in ("source", "target") for a in _actor_list(record.get(side))
              for key in ("code", "actorText")]
    date = record.get("date")
    return (row_filter.keeps_actors(actors) and row_filter.keeps_date(date if isinstance(date, str) else None)
            and row_filter.keeps_type(record.get("event") if isinstance(record.get("event"), str) else None))


def _actor_list(value: Any) -> list[dict[str, Any]]:
    return [a for a in value if isinstance(a, dict)] if isinstance(value, list) else []


def _text(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, (str, int)):
        raise Rejection("malformed record", f"'{key}' is not a string")
    return str(value).strip()


def _actors(value: Any, side: str) -> tuple[ActorSpec, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise Rejection("malformed record", f"'{side}' is not a list of actors")
    specs = []
    for actor in value:
        name, code, sector = (_text(actor, k) for k in ("actorText", "code", "sector"))
        sector = None if sector == "***" else sector  # PLOVER's "sector unknown"
        if code:
            # PLOVER splits the CAMEO actor code into country/group and sector: HUN + GOV is HUNGOV.
            specs.append(ActorSpec(name=name, code=code + (sector or ""), country=code,
                                   sectors=(sector,) if sector else ()))
        elif name:
            specs.append(ActorSpec(name=name, sectors=(sector,) if sector else ()))
    return tuple(specs)


def _date(text: str | None) -> DateValue:
    if text is None:
        raise Rejection("invalid date", "no date")
    try:
        return date_value(text)
    except DateInputError as error:
        raise Rejection("invalid date", error.detail) from None


def _row(line: int, record: dict[str, Any], source_name: str) -> CodedRow:
    record_id = _text(record, "id")
    if record_id is None:
        raise Rejection("missing field", "no 'id'")
    event = _text(record, "event")
    if event is None:
        raise Rejection("unknown PLOVER type", "no 'event'")
    if event == "DOCUMENT":
        raise Rejection("not an event record", "PLOVER 'DOCUMENT' records document the file")
    location = record.get("eventLoc")
    place_name = _text(location, "name") if isinstance(location, dict) else None
    coded = _text(record, "dateCoded")
    created = None  # when the record was coded: the record's own date, not the story's publication
    if coded:
        try:
            created = _date(coded)
        except Rejection:
            created = None  # not needed for the event; a bad value is left out
    return CodedRow(
        line=line,
        record=SourceRecord(iri=f"{SOURCE_NS}plover-{slug(record_id)}", label=f"PLOVER record {record_id}",
                            dataset=f"PLOVER event data ({source_name})", record_id=record_id,
                            coder=_text(record, "coder") or "the PLOVER data's coders",
                            created=created),
        scheme=Scheme.PLOVER, code=event, mode=_text(record, "mode"), date=_date(_text(record, "date")),
        sources=_actors(record.get("source"), "source"), targets=_actors(record.get("target"), "target"),
        place=PlaceSpec(PlaceKind.UNKNOWN, place_name) if place_name else None,
    )
