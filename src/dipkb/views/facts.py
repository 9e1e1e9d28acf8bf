"""One property value of a resource, as `dipkb show` lists it, in the order it lists them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    """One property value: ``predicate`` is a CURIE, ``value`` readable text, ``value_id`` set for resources."""

    predicate: str
    predicate_label: str
    value: str
    value_id: str | None = None
    language: str | None = None

    def as_dict(self) -> dict:
        return {"property": self.predicate, "label": self.predicate_label, "value": self.value,
                "id": self.value_id, "language": self.language}


_FIRST = {"rdf:type": 0, "rdfs:label": 1}


def predicate_rank(predicate: str) -> int:
    """Where a property's values come: the types, then the labels, then the rest."""
    return _FIRST.get(predicate, 2)


def fact_order(fact: Fact) -> tuple:
    # To the last field: facts come from a set, whose order changes with each process's string hashing,
    # and two events may share a label.
    return (predicate_rank(fact.predicate), fact.predicate, fact.value, fact.value_id or "", fact.language or "",
            fact.predicate_label)
