"""What a timeline row shows of an event, derived by the index as one literal per event and file.

At a million events, reading an event's dozen triples for its row cost a 6,000-event timeline
0.3 s of store look-ups and 0.1 s of sorting them out in Python; read with the event's selection,
the rows cost it a few hundredths of a second. A row holds the event's own statements only, never
another thing's name (an actor's name may change in another file, which would leave this file's row
stale): the timeline looks names up.

The text is JSON: an object from the predicate's short name to its values, IRIs under
https://w3id.org/dipkb/ written after that base and any other in ``<>``, time values as
[lexical form, XSD datatype's local name]. An event stated in two files has a row from each: the
timeline merges them (views/eventrow.py, which is not part of the derivation: reading a row another
way rebuilds no index).
"""
from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field

import orjson
from pyoxigraph import BlankNode, Literal, NamedNode

from dipkb.model.labels import is_english
from dipkb.model.namespaces import DIP, RDF, RDFS, XSD
from dipkb.model.temporal import TIME_FIELDS

ROW = DIP + "timelineRow"
_BASE = "https://w3id.org/dipkb/"
_TYPE = RDF + "type"
# What a row holds besides types and roles: each a list of values under its name.
_IRIS = {DIP + name: name for name in ("place", "origin", "destination", "source", "contextFor", "modality")}
_LITERALS = {RDFS + "label": "label", DIP + "quote": "quote", DIP + "content": "content"}
_TIME = {DIP + name: name for name in TIME_FIELDS}
_MODALITY = DIP + "modality"
SHOWN = frozenset({_TYPE, *_IRIS, *_LITERALS, *_TIME})  # and the roles


def _short(iri: str) -> str:
    return iri[len(_BASE):] if iri.startswith(_BASE) else f"<{iri}>"


def full_iri(text: str) -> str:
    """The IRI a row writes as ``text``."""
    return text[1:-1] if text.startswith("<") else _BASE + text


def full_term(text: str) -> str:
    """The IRI a row writes as ``text``, or what it writes as itself: a literal, in N-Triples, or
    ``[]`` for a blank node."""
    return text if text.startswith(('"', "[")) else full_iri(text)


@dataclass(slots=True)
class RowBuilder:
    """The shown statements of one subject in one file, as the parser or the store hands them over."""

    types: list[str] = field(default_factory=list)
    values: dict[str, list] = field(default_factory=dict)

    def add(self, predicate: str, obj: NamedNode | BlankNode | Literal, is_role: bool) -> None:
        """One statement. A blank node is left out where an IRI is shown: the parser and the store
        name it differently, and the timeline looks up its things by IRI."""
        if isinstance(obj, BlankNode):
            if predicate == _MODALITY:  # a modality the timeline must not show as none (Occurred)
                self.values.setdefault("modality", []).append("[]")
        elif isinstance(obj, NamedNode):
            if predicate == _TYPE:
                self.types.append(obj.value)
            elif is_role:
                self.values.setdefault("role", []).append([_short(predicate), _short(obj.value)])
            elif (name := _IRIS.get(predicate)) is not None:
                self.values.setdefault(name, []).append(_short(obj.value))
        elif isinstance(obj, Literal):
            if (name := _LITERALS.get(predicate)) is not None:
                # A label in another language is shown only where there is none in English.
                if name == "label" and not is_english(obj.language):
                    name = "otherLabel"
                self.values.setdefault(name, []).append(obj.value)
            elif (name := _TIME.get(predicate)) is not None and (datatype := obj.datatype.value).startswith(XSD):
                self.values.setdefault(name, []).append([obj.value, datatype[len(XSD):]])
            elif predicate == _MODALITY:  # no modality, but the timeline must not show it as none (Occurred)
                self.values.setdefault("modality", []).append(str(obj))

    def is_event_row(self, event_classes: Container[str]) -> bool:
        """Whether the subject needs a row: the file types it with an event class (plain IRIs), or
        states what a row shows of it (an event's source or label added in another file), but for
        a label of a thing it types otherwise (an actor, a place, a source)."""
        if any(t in event_classes for t in self.types):
            return True
        return bool(self.values) and not (self.types and self.values.keys() <= {"label", "otherLabel"})

    def text(self) -> str:
        """The row as JSON, its keys and lists sorted: the same text whatever order the statements
        came in (the parser's and the store's differ, and the index must derive what the store does)."""
        values = {name: sorted(found) for name, found in self.values.items()}
        if self.types:
            values["type"] = sorted(map(_short, self.types))
        # The text json.dumps(values, ensure_ascii=False, separators=(",", ":"), sort_keys=True) writes,
        # in a fourteenth of the time: 3 µs an event of the index's build.
        return orjson.dumps(values, option=orjson.OPT_SORT_KEYS).decode()
