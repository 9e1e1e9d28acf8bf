"""Terms of dipkb's own vocabularies that data uses and the ontology does not declare.

A misspelt term is no SHACL finding: ``event:x dip:hots actor:y`` is a plain statement no shape
targets, and the actor silently drops out of the event; ``event:x a dip:Meting`` makes it no event at
all. Core SHACL cannot say "every term of this namespace is declared" without targeting every node
of the KB, so dipkb checks it itself, whichever engine runs the shapes, where the shapes have
dsh:DeclaredTermShape (ontology/shapes-required.ttl), and with its severity.

The terms in use are the distinct predicates and IRI objects of the data: a scan of the store, which
a big KB's validation in batches does anyway (dipkb.shacl.batches passes them in).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox

from dipkb.model.namespaces import DIP, KB, PREFIXES, curie

OWN_NAMESPACES = (DIP, PREFIXES["cameo"], PREFIXES["plover"])
# IRIs that look like dipkb's own terms: a prefix declared with http: or without the '#' makes every
# term of a file one that nothing reads.
_LOOKALIKES = ("https://w3id.org/dipkb/", "http://w3id.org/dipkb/")
# The KB's own nodes (actor:, event:...) and the shapes (a dataset may conform to them) are no terms.
_NOT_TERMS = (KB, "http" + KB.removeprefix("https"), PREFIXES["dsh"].removesuffix("#"))
SHAPE = PREFIXES["dsh"] + "DeclaredTermShape"
COMPONENT = PREFIXES["dsh"] + "DeclaredTermConstraintComponent"
_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


@dataclass(frozen=True)
class Misuse:
    """A triple using ``term``, which the ontology does not declare, as its predicate or object."""

    focus: ox.NamedNode | ox.BlankNode
    path: str
    value: ox.NamedNode | ox.BlankNode | ox.Literal
    term: str
    message: str


def own_terms(iris: Iterable[str]) -> set[str]:
    """Those of ``iris`` in dipkb's own namespaces, or that look as if they were meant to be."""
    return {iri for iri in iris if iri.startswith(_LOOKALIKES) and not iri.startswith(_NOT_TERMS)}


def used_terms(store: ox.Store, graphs: Iterable[str]) -> set[str]:
    """The terms of dipkb's namespaces that ``graphs`` use as predicate or object."""
    names = " ".join(f"<{g}>" for g in graphs)
    if not names:
        return set()
    query = (f"SELECT DISTINCT ?t WHERE {{ VALUES ?g {{ {names} }} "
             f"GRAPH ?g {{ {{ ?s ?t ?o }} UNION {{ ?s ?p ?t FILTER(isIRI(?t)) }} }} }}")
    return own_terms(row[0].value for row in store.query(query))


def misuses(store: ox.Store, graphs: Iterable[str], ontology_graphs: Iterable[str],
            used: set[str] | None = None) -> Iterator[Misuse]:
    """Each triple of ``graphs`` (but the ontology's) whose predicate or object is a term of dipkb's
    namespaces that no triple of ``ontology_graphs`` describes. ``used``: the terms ``graphs`` use, if already known
    (a superset will do)."""
    ontology_graphs = list(ontology_graphs)
    graphs = set(graphs) - set(ontology_graphs)  # the ontology's own version IRIs are no terms
    used = used_terms(store, graphs) if used is None else own_terms(used)
    if not used:
        return
    declared = _declared(store, ontology_graphs)
    for term in sorted(used - declared):
        node = ox.NamedNode(term)
        message = f"{curie(term)} is not a term of the dipkb ontology{_suggestion(term, declared) or '.'}"
        for quad in store.quads_for_pattern(None, node, None):
            if _in(quad, graphs):
                yield Misuse(quad.subject, term, quad.object, term, message)
        for quad in store.quads_for_pattern(None, None, node):
            if _in(quad, graphs):
                yield Misuse(quad.subject, quad.predicate.value, node, term, message)


def _in(quad: ox.Quad, graphs: set[str]) -> bool:
    return isinstance(quad.graph_name, ox.NamedNode) and quad.graph_name.value in graphs \
        and not isinstance(quad.subject, ox.Triple)


def _declared(store: ox.Store, ontology_graphs: Iterable[str]) -> set[str]:
    """The IRIs the ontology names (its terms, its versions), and the namespaces themselves."""
    names = " ".join(f"<{g}>" for g in ontology_graphs)
    if not names:
        return set(OWN_NAMESPACES)
    query = (f"SELECT DISTINCT ?t WHERE {{ VALUES ?g {{ {names} }} GRAPH ?g {{ {{ ?t ?p ?o }} UNION {{ ?s ?p ?t }} }}"
             f" FILTER(isIRI(?t)) }}")
    return own_terms(row[0].value for row in store.query(query)) | set(OWN_NAMESPACES)


def _suggestion(term: str, declared: set[str]) -> str:
    """'; did you mean dip:host?' for dip:hots: the closest declared term of its namespace, case aside;
    for a term in a namespace that only looks like dipkb's, the term of that name in the real one."""
    namespace = next((ns for ns in OWN_NAMESPACES if term.startswith(ns)), None)
    if namespace is None:
        meant = _meant(term)
        return f"; did you mean {curie(meant)} ({curie(meant).split(':')[0]}: is <{_namespace_of(meant)}>)?" \
            if meant in declared else ""
    typed = term[len(namespace):]
    best: tuple[tuple[float, bool], str] | None = None
    for iri in sorted(declared):
        name = iri[len(namespace):]
        if not iri.startswith(namespace) or not name:
            continue
        # Of names alike but for case (dip:Source, dip:source), the one of the typed term's kind: a
        # property starts in lower case, a class in upper case.
        key = (difflib.SequenceMatcher(None, typed.lower(), name.lower()).ratio(), name[0].isupper() == typed[:1].isupper())
        if key[0] >= 0.75 and (best is None or key > best[0]):
            best = key, iri
    return f"; did you mean {curie(best[1])}?" if best else ""


def _meant(term: str) -> str:
    """The term in dipkb's namespaces that a lookalike IRI was meant to be: https, and the ontology's '#'."""
    term = "https" + term.removeprefix("http").removeprefix("s")
    ontology = DIP.removesuffix("#")
    if term.startswith(ontology) and not term.startswith(DIP):
        term = DIP + term[len(ontology):].lstrip("/")
    return term


def _namespace_of(term: str) -> str:
    return next(ns for ns in OWN_NAMESPACES if term.startswith(ns))
