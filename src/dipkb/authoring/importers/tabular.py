"""Events written by people in simple tables: CSV with a header, or YAML, one event per row.

Columns (see examples/README.md): label, type, participants (``host=actor:russia; visitor=Taliban
representatives``), date, start, end, earliest, latest, place, origin, destination, modality, sources
(``;``-separated), quote, content, purpose, time_expression, note, language. Every name must resolve to
something the KB has; a row that would be a second copy of an event (same identity key) only adds its
sources to the first.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml
from pyoxigraph import NamedNode

from dipkb.authoring.add import (EventDraft, Participant, ResolvedEvent, Vocabulary, event_key, event_turtle, in_kb,
                                 iri_for, parse_participants, resolve_draft)
from dipkb.authoring.codes import CodeBook
from dipkb.authoring.dedup import ExistingEvents, IdentityKey
from dipkb.authoring.importers.filters import RowFilter
from dipkb.authoring.importers.reading import csv_records, open_input, shown_text, text_problem
from dipkb.authoring.reconcile import Reconciler
from dipkb.errors import EventDraftError, ImportInputError
from dipkb.model import terms
from dipkb.model.namespaces import DIP, curie
from dipkb.model.temporal import BEGINNING_FIELDS, is_before, period_of
from dipkb.model.records import ImportReport, Outcome, Rejection
from dipkb.store.kb import KnowledgeBase
from dipkb.util.paths import display_path

_SOURCE = NamedNode(DIP + "source")
_DRAFT_FIELDS = {f.name for f in fields(EventDraft)}
# Not the new actors, places and sources `add` takes by option: a row names those of the KB.
COLUMNS = sorted((_DRAFT_FIELDS - {"event_type", "new_actors", "new_places", "new_sources"}) | {"type"})


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _draft(record: dict[str, Any]) -> EventDraft:
    """A row (CSV cells or a YAML mapping) as a draft; raises EventDraftError for malformed cells."""
    participants = record.get("participants")
    if isinstance(participants, dict):
        parsed = tuple(Participant(str(role), str(actor)) for role, actors in participants.items()
                       if role not in ("__line__", "__twice__")
                       for actor in (actors if isinstance(actors, list) else [actors]))
    elif isinstance(participants, list):
        parsed = sum((parse_participants(str(p)) for p in participants), ())
    else:
        parsed = parse_participants(_cell(participants) or "")
    sources = record.get("sources")
    if isinstance(sources, list):
        source_list = tuple(str(s).strip() for s in sources if str(s).strip())
    else:
        source_list = tuple(s.strip() for s in (_cell(sources) or "").split(";") if s.strip())
    values = {name: _cell(record.get(name)) for name in set(COLUMNS) - {"participants", "sources", "type"}}
    values = {name: value for name, value in values.items() if value is not None}
    return EventDraft(event_type=_cell(record.get("type")) or "", participants=parsed, sources=source_list,
                      **{"label": "", **values})


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | Rejection, str]]:
    records = csv_records(path)
    first = next(records, None)
    header = first[1] if first else None
    if not isinstance(header, list) or not any(h.strip() for h in header):
        raise ImportInputError(f"{display_path(path)} is empty: a CSV of events starts with a header row.")
    header = [h.strip().casefold() for h in header]  # a spreadsheet's "Label" is the column label
    unknown = [h for h in header if h not in COLUMNS]
    missing = [h for h in ("label", "type") if h not in header]
    twice = sorted({h for h in header if header.count(h) > 1})
    if unknown or missing or twice:
        problem = (f"unknown column(s) {', '.join(unknown)}" if unknown else
                   f"no column {' or '.join(repr(h) for h in missing)}" if missing else
                   f"the column(s) {', '.join(twice)} twice (which cell would count?)")
        raise ImportInputError(f"{display_path(path)}: {problem}; a CSV of events needs 'label' and 'type' and may "
                               f"have: {', '.join(COLUMNS)}.")
    for start, cells, shown in records:
        if isinstance(cells, Rejection):
            yield start, cells, shown
        elif len(cells) != len(header):
            yield start, Rejection("wrong column count", f"{len(cells)} cells, the header has {len(header)}"), shown
        else:
            yield start, dict(zip(header, cells)), shown


class _LineLoader(yaml.SafeLoader):
    """Records the line each mapping starts on, so rejected YAML events say where they are; keeps
    every value as written, each field being text: YAML 1.1 read ``type: 020`` as the octal number 16
    (CAMEO 16, another type), ``quote: on`` as True, ``language: no`` as False, and
    ``2021-07-13T10:00:00`` as ``2021-07-13 10:00:00``, refused as a date."""

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        # A key given twice keeps its last value, silently: the row is rejected for it instead.
        keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
        if twice := sorted({key for key in keys if keys.count(key) > 1}):
            mapping["__twice__"] = twice
        return mapping


for _tag in ("timestamp", "int", "float", "bool"):
    _LineLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _LineLoader.construct_scalar)


def _yaml_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | Rejection, str]]:
    with open_input(path) as stream:
        data = stream.read()
    try:
        document = yaml.load(data.decode("utf-8"), Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError as error:
        raise ImportInputError(f"{display_path(path)} is not valid UTF-8 (byte {error.start}).") from None
    except yaml.MarkedYAMLError as error:  # its own text spans lines, quoting the line under a caret
        mark, context = error.problem_mark, f" ({error.context})" if error.context else ""
        raise ImportInputError(f"{display_path(path)}:{mark.line + 1}:{mark.column + 1}: not valid YAML: "
                               f"{error.problem}{context}") from None
    except yaml.YAMLError as error:
        raise ImportInputError(f"{display_path(path)} is not valid YAML: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise ImportInputError(f"{display_path(path)} nests lists or mappings too deeply to read.") from None
    # Without aliases a document holds fewer values than bytes; with them, a few lines can stand for
    # billions ("billion laughs"), which writing the rows out would build.
    most = len(data) + _MORE_VALUES_BY_ALIASES
    if _values_written_out(document, most) > most:
        raise ImportInputError(f"{display_path(path)} holds more than {most:,} values once its aliases (*name) "
                               "are written out, or an alias inside what it names: write the events out in full.")
    if isinstance(document, dict) and isinstance(document.get("events"), list):
        document = document["events"]
    if document is None:
        raise ImportInputError(f"{display_path(path)} is empty: no events to import.")
    if not isinstance(document, list):
        raise ImportInputError(f"{display_path(path)} must hold a list of events (or 'events:' with a list).")
    for position, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            yield position, Rejection("malformed record", "an event must be a mapping of fields"), repr(item)
            continue
        line = item.pop("__line__", position)
        unknown = sorted(set(item) - set(COLUMNS) - {"__twice__"})
        problem = text_problem(item) or _given_twice(item)
        if unknown or problem:
            yield line, problem or Rejection("unknown field", ", ".join(unknown)), shown_text(repr(_plain(item)))
        else:
            yield line, item, yaml.safe_dump(_plain(item), allow_unicode=True, sort_keys=False).strip()


_MORE_VALUES_BY_ALIASES = 1_000_000


def _values_written_out(document: Any, most: int) -> float:
    """How many values ``document`` holds with every alias written out in full (infinity for an
    alias inside what it names), counted without writing them out; past ``most``, any number above it."""
    sizes: dict[int, float] = {}
    opened: set[int] = set()
    pending = [document]
    while pending:
        value = pending[-1]
        if not isinstance(value, dict | list) or id(value) in sizes:
            pending.pop()
            continue
        children = [child for child in (value.values() if isinstance(value, dict) else value)
                    if isinstance(child, dict | list)]
        if id(value) not in opened:
            opened.add(id(value))
            if any(id(child) in opened and id(child) not in sizes for child in children):
                return math.inf  # an ancestor: only ancestors are opened and not yet counted
            pending.extend(children)
            continue
        sizes[id(value)] = 1 + len(value) - len(children) + sum(sizes[id(child)] for child in children)
        if sizes[id(value)] > most:
            return sizes[id(value)]
        pending.pop()
    return sizes.get(id(document), 1)


def _given_twice(item: dict[str, Any]) -> Rejection | None:
    """The fields, and the roles of its participants, that the event gives twice."""
    participants = item.get("participants")
    twice = item.get("__twice__", []) + (participants.get("__twice__", []) if isinstance(participants, dict) else [])
    return Rejection("field given twice", f"{', '.join(twice)} given twice: which one counts?") if twice else None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("__line__", "__twice__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _kept(draft: EventDraft, row_filter: RowFilter) -> bool:
    when = draft.date or draft.start or draft.earliest or draft.latest
    return (row_filter.keeps_actors([p.actor for p in draft.participants]) and row_filter.keeps_date(when)
            and row_filter.keeps_code(draft.event_type))


def _cites(kb: KnowledgeBase, event: str, source: str) -> bool:
    return any(True for _ in kb.store.quads_for_pattern(NamedNode(event), _SOURCE, NamedNode(source)))


_UNDER_WAY = (DIP + "Occurred", DIP + "Ongoing")


def _against_its_sources(event: ResolvedEvent, vocab: Vocabulary) -> Rejection | None:
    """A row that occurred or was under way dated after a source that reports it was published, or an
    ongoing one ended before the earliest of them, as EventNotAfterSourceShape and
    OngoingNotOverBeforeSourceShape find it: an import validates one event of each form, and such a
    row was written when another of its form was not."""
    if event.modality not in _UNDER_WAY:
        return None
    planned = {s.iri: ((s.issued.lexical, s.issued.datatype),) for s in event.new_sources if s.issued}
    published = [(source, period) for source in event.sources
                 for lexical, datatype in planned.get(source) or vocab.known_sources.issued_of(source)
                 if (period := period_of(lexical, datatype))]
    begins = [(prop, period) for prop, value in event.times
              if prop in BEGINNING_FIELDS and (period := period_of(value.lexical, value.datatype))]
    for source, issued in published:
        late = next(((prop, began) for prop, began in begins if is_before(issued, began)), None)
        if late:
            return Rejection("dated after its source", f"dip:{late[0]} {late[1].text} is after {curie(source)} "
                             f"was published ({issued.text}); give the event a modality such as planned "
                             "or claimed, or correct the date")
    ends = [period for prop, value in event.times
            if prop == "endDate" and (period := period_of(value.lexical, value.datatype))]
    if event.modality == DIP + "Ongoing" and ends and published \
            and all(is_before(ends[0], issued) for _, issued in published):
        source, issued = next(p for p in published if not any(is_before(q[1], p[1]) for q in published))  # the first
        return Rejection("over before its source", f"dip:endDate {ends[0].text} is before {curie(source)} was "
                         f"published ({issued.text}), which reports the event under way; give it the modality "
                         "occurred, or correct the date")
    return None


def run(kb: KnowledgeBase, path: Path, kind: str, row_filter: RowFilter, codebook: CodeBook, reconciler: Reconciler,
        existing: ExistingEvents, heading: str) -> tuple[ImportReport, str]:
    """Every row to a new event, a merge into an event of the same identity, or a rejection."""
    vocab = Vocabulary(kb, codebook, reconciler)
    report, blocks, extra_sources = ImportReport(), [], {}
    made: dict[IdentityKey, str] = {}
    taken: set[str] = set()
    rows = _csv_rows(path) if kind == "csv" else _yaml_rows(path)
    for line, item, text in rows:
        if isinstance(item, Rejection):
            report.reject(line, item, text)
            continue
        try:
            draft = _draft(item)
            if row_filter.active and not _kept(draft, row_filter):
                report.count(Outcome.FILTERED)
                continue
            event = resolve_draft(draft, vocab, can_declare_actors=False)
        except EventDraftError as error:
            (reason, detail), *more = error.problems
            report.reject(line, Rejection(reason, "; ".join([detail] + [f"{r}: {d}" for r, d in more])), text)
            continue
        if late := _against_its_sources(event, vocab):
            report.reject(line, late, text)
            continue
        key = event_key(codebook, event)
        same = (existing.event_with(key) or made.get(key)) if key else None
        if same:
            extra_sources.setdefault(same, []).extend(event.sources)
            report.count(Outcome.MERGED)
            if same not in made.values() and same not in taken:
                report.events_extended += 1
                taken.add(same)
            continue
        iri = iri_for(event, lambda candidate: candidate in taken or in_kb(kb, candidate))
        taken.add(iri)
        if key:
            made[key] = iri
        blocks.append((iri, event))
        report.count(Outcome.IMPORTED)
        report.events_created += 1
    parts = [event_turtle(event, iri) + "\n" for iri, event in blocks]
    # Sources of merged rows: on the event of this file itself, or added to the event of the KB
    # (only those it does not cite yet).
    for iri, sources in extra_sources.items():
        new = [s for s in dict.fromkeys(sources) if not _cites(kb, iri, s)]
        if new:
            parts.append(terms.block(iri, [("dip:source", terms.term(s)) for s in new]) + "\n")
    text = heading + terms.prefix_block() + "\n" + "".join(parts) if parts else ""
    return report, text
