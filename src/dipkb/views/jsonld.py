"""The export as JSON-LD (for web developers) and RDF/XML (for the tools that still want it).

JSON-LD is written here, not by a JSON-LD processor: compact form against ontology/context.jsonld,
which goes inline into every document, so that reading it never fetches anything. The context
declares dipkb's prefixes and one term per dip: property, keyed by its CURIE ("dip:place"), not a
bare name: bare names would collide with the prefixes (``place``, ``source`` are both). Object
properties coerce their values to IRIs (``"dip:place": "place:kabul"``), datatype properties with
one XSD range to that type. Every node of the graph is one object of ``@graph``, its properties by
IRI, each value written so that it reads back to the very literal: a string stays a string, a
value whose datatype the term does not coerce to says its ``@type``, and no value becomes a JSON
number or boolean (JSON would turn "1.50" into 1.5). Subjects, properties and values are in the
Turtle export's order, so the same KB always gives the same bytes.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

from dipkb.errors import DipkbError
from dipkb.model.namespaces import PREFIXES, RDF, XSD
from dipkb.store.layout import bundled_root

CONTEXT_FILE = "context.jsonld"
_TYPE = RDF + "type"


class ExportSyntaxError(DipkbError):
    """The KB holds something the chosen syntax cannot write (RDF/XML needs every predicate to end
    in an XML name)."""


def context_path() -> Path:
    """ontology/context.jsonld as shipped with dipkb: it describes dipkb's vocabulary, whichever KB."""
    return bundled_root() / "ontology" / CONTEXT_FILE


@functools.cache
def load_context() -> dict:
    """The shipped context's ``@context`` object."""
    return json.loads(context_path().read_text(encoding="utf-8"))["@context"]


def _order(triple: Triple) -> tuple:
    """The Turtle export's order: subjects by IRI (before blank nodes), rdf:type first, then objects
    as their N-Triples text sorts (literals, IRIs, blank nodes)."""
    subject, predicate = triple.subject, triple.predicate.value
    return (type(subject) is BlankNode, subject.value, predicate != _TYPE, predicate, str(triple.object))


class _Compactor:
    """IRIs as CURIEs of the context's prefixes, and values as the context's terms read them."""

    def __init__(self, context: dict):
        self._namespaces = {ns: prefix for prefix, ns in context.items() if isinstance(ns, str)}
        # The type each term coerces to, as a full IRI ("@id" for IRIs), by property IRI.
        self._coerced = {self.expand(definition["@id"]): self._coercion(definition.get("@type"))
                         for definition in context.values() if isinstance(definition, dict)}

    def _coercion(self, coerced: str | None) -> str | None:
        return coerced if coerced in (None, "@id") else self.expand(coerced)

    def expand(self, curie: str) -> str:
        prefix, _, local = curie.partition(":")
        return PREFIXES[prefix] + local if prefix in PREFIXES else curie

    def iri(self, node: NamedNode | BlankNode) -> str:
        if type(node) is BlankNode:
            return f"_:{node.value}"
        iri = node.value
        cut = max(iri.rfind("/"), iri.rfind("#")) + 1
        prefix = self._namespaces.get(iri[:cut])
        # A local part starting with "//" would read as an absolute IRI, not a CURIE.
        return f"{prefix}:{iri[cut:]}" if prefix and iri[cut:] and not iri[cut:].startswith("//") else iri

    def value(self, predicate: str, term) -> object:
        coerced = self._coerced.get(predicate)
        if type(term) is not Literal:
            return self.iri(term) if coerced == "@id" else {"@id": self.iri(term)}
        if term.language:
            return {"@value": term.value, "@language": term.language}
        datatype = term.datatype.value
        if datatype == coerced or (datatype == XSD + "string" and coerced is None):
            return term.value
        if datatype == XSD + "string":
            return {"@value": term.value}
        return {"@value": term.value, "@type": self.iri(term.datatype)}


def _nodes(triples: list[Triple], compactor: _Compactor) -> Iterator[dict]:
    node: dict | None = None
    subject = None
    for triple in sorted(triples, key=_order):
        if triple.subject != subject:
            if node is not None:
                yield _collapse(node)
            subject, node = triple.subject, {"@id": compactor.iri(triple.subject)}
        predicate, obj = triple.predicate.value, triple.object
        if predicate == _TYPE and type(obj) is NamedNode:
            node.setdefault("@type", []).append(compactor.iri(obj))
        else:
            node.setdefault(compactor.iri(triple.predicate), []).append(compactor.value(predicate, obj))
    if node is not None:
        yield _collapse(node)


def _collapse(node: dict) -> dict:
    """A property with one value holds it directly, not in a list of one."""
    return {key: values[0] if isinstance(values, list) and len(values) == 1 else values
            for key, values in node.items()}


def write_jsonld(triples: list[Triple], out: BinaryIO) -> int:
    """The triples as compact JSON-LD with the context inline; their number."""
    context = load_context()
    document = {"@context": context, "@graph": list(_nodes(triples, _Compactor(context)))}
    out.write(json.dumps(document, ensure_ascii=False, indent=2).encode() + b"\n")
    return len(triples)


def write_rdfxml(triples: list[Triple], out: BinaryIO) -> int:
    """The triples as RDF/XML by Oxigraph's serializer, in the Turtle export's order (it writes each
    run of one subject's triples as one rdf:Description), with dipkb's prefixes."""
    triples = sorted(triples, key=_order)
    try:
        out.write(serialize(triples, format=RdfFormat.RDF_XML, prefixes=_used_prefixes(triples)))
    except ValueError as error:
        raise ExportSyntaxError(f"The KB cannot be written as RDF/XML ({error}); export Turtle instead.") from None
    return len(triples)


def _used_prefixes(triples: list[Triple]) -> dict[str, str]:
    """The dipkb prefixes of the predicates and types, sorted: RDF/XML declares each as an XML namespace."""
    iris = {t.predicate.value for t in triples} | {t.object.value for t in triples
                                                   if t.predicate.value == _TYPE and type(t.object) is NamedNode}
    used = {prefix: ns for prefix, ns in PREFIXES.items()
            if any(iri.startswith(ns) and "/" not in iri[len(ns):] and "#" not in iri[len(ns):] for iri in iris)}
    return dict(sorted(used.items()))
