"""An event's timeline row, read from the texts the index derives for it (store/eventrows.py)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from dipkb.model.namespaces import XSD
from dipkb.model.temporal import TIME_FIELDS
from dipkb.store.eventrows import full_iri, full_term


@dataclass
class EventRow:
    """An event's row, from the rows of every file that states it. Where one value is shown and
    several are stated, the greatest counts, as the index's days take the greatest time value."""

    types: set[str] = field(default_factory=set)
    label: str = ""
    times: dict[str, tuple[str, str]] = field(default_factory=dict)  # time property's name -> (lexical, datatype)
    modality: str | None = None  # an IRI; a literal in N-Triples or [] for a blank node (no modality, but stated)
    roles: list[tuple[str, str]] = field(default_factory=list)  # (role, actor)
    place: str | None = None
    origin: str | None = None  # a movement's, as dip:place is another event's
    destination: str | None = None
    sources: list[str] = field(default_factory=list)
    context: bool = False
    quotes: list[str] = field(default_factory=list)
    contents: list[str] = field(default_factory=list)

    @classmethod
    def merged(cls, texts: Sequence[str]) -> EventRow:
        # Nearly always one text: its lists are used as they are.
        values = _decoded(texts[0]) if len(texts) == 1 else _concatenated(texts)
        get = values.get
        return cls(
            types={full_iri(t) for t in get("type", ())},
            label=min(get("label") or get("otherLabel") or ("",)),  # dipkb.model.labels' choice
            times={name: max((value, XSD + datatype) for value, datatype in found)
                   for name in TIME_FIELDS if (found := get(name))},
            modality=max(map(full_term, get("modality", ())), default=None),
            roles=[(full_iri(role), full_iri(actor)) for role, actor in get("role", ())],
            place=max(map(full_iri, get("place", ())), default=None),
            origin=max(map(full_iri, get("origin", ())), default=None),
            destination=max(map(full_iri, get("destination", ())), default=None),
            sources=list(map(full_iri, get("source", ()))),
            context="contextFor" in values,
            quotes=get("quote", []),
            contents=get("content", []),
        )


# The names whose values are pairs of texts; every other name's are texts.
_PAIRS = frozenset({"role", *TIME_FIELDS})


def _decoded(text: str) -> dict[str, list]:
    """The row ``text`` states, or nothing for a text the index did not write: dip:timelineRow is
    derived, but a KB file can state one too, and a timeline must not fail on it. orjson reads rows
    in about half the time the standard library takes (the dependency is there for writing JSON)."""
    try:
        values = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return values if _well_formed(values) else {}


def _well_formed(values: object) -> bool:
    """Whether ``values`` is a row's shape. Loops, not nested all(): this runs for every event of a
    timeline (the generator expressions took 12 ms of the busiest 6,051-event timeline at a million
    events, the loops 3.6 ms)."""
    if not isinstance(values, dict):
        return False
    for name, found in values.items():
        if not isinstance(found, list):
            return False
        if name in _PAIRS:
            for value in found:
                if not (isinstance(value, list) and len(value) == 2
                        and isinstance(value[0], str) and isinstance(value[1], str)):
                    return False
        else:
            for value in found:
                if not isinstance(value, str):
                    return False
    return True


def _concatenated(texts: Sequence[str]) -> dict[str, list]:
    values: dict[str, list] = {}
    for text in texts:
        for name, found in _decoded(text).items():
            values.setdefault(name, []).extend(found)
    return values
