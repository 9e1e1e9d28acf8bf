"""One property value of a resource, as `dipkb show` lists it, in the order it lists them."""
from __future__ import annotations

from dataclasses import dataclass

from dipkb.model.namespaces import DCT, RDF, RDFS, SKOS, curie

_GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"
_PROV = "http://www.w3.org/ns/prov#"
_OWL = "http://www.w3.org/2002/07/owl#"

# The names a reader knows the standard properties by; dipkb's own have theirs in the ontology (an
# rdfs:label). `show` and the pages said "rdf:type", "skos:altLabel" and "dct:issued" to journalists.
_STANDARD_NAMES = {
    RDF + "type": "type", RDFS + "label": "name", RDFS + "comment": "comment", RDFS + "seeAlso": "see also",
    SKOS + "prefLabel": "name", SKOS + "altLabel": "also known as", SKOS + "notation": "code",
    DCT + "title": "title", DCT + "issued": "published", DCT + "created": "created", DCT + "modified": "modified",
    DCT + "publisher": "publisher", DCT + "creator": "author", DCT + "description": "description",
    DCT + "language": "language", _GEO + "lat": "latitude", _GEO + "long": "longitude",
    _PROV + "wasAttributedTo": "attributed to", _PROV + "wasDerivedFrom": "derived from", _OWL + "sameAs": "same as",
}


def property_name(iri: str, label: str | None = None) -> str:
    """What a property is called where one is shown: its label in the KB, else a standard property's
    usual name, else its CURIE."""
    return label or _STANDARD_NAMES.get(iri) or curie(iri)


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
