"""Terms that data uses and no vocabulary declares: of dipkb's own, those the ontology does not declare;
of the standard vocabularies dipkb reuses whose terms are all known (RDF, RDFS, OWL, Dublin Core terms,
PROV-O, SKOS, WGS84), those not among them.

A misspelt term is no SHACL finding: ``event:x dip:hots actor:y`` is a plain statement no shape
targets, and the actor silently drops out of the event; ``event:x a dip:Meting`` makes it no event at
all; ``place:x geo:lon 69.2`` leaves a place without its longitude. Core SHACL cannot say "every term
of this namespace is declared" without targeting every node of the KB, so dipkb checks it itself,
whichever engine runs the shapes, where the shapes have dsh:DeclaredTermShape
(ontology/shapes-required.ttl), and with its severity.

The terms in use are the distinct predicates and IRI objects of the data: a scan of the store, which
a big KB's validation in batches does anyway (dipkb.shacl.batches passes them in).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, WGS, DefinedNamespace

from dipkb.model.namespaces import DIP, KB, PREFIXES, SH, curie
from dipkb.shacl import originals as shacl_store
from dipkb.shacl.compiler import Scope
from dipkb.shacl.findings import Finding, Severity
from dipkb.shacl.originals import SubjectLocator, quiet_rdflib, rdflib_term
from dipkb.shacl.placement import ntriples_term, placed
from dipkb.store.layout import KBLayout

OWN_NAMESPACES = (DIP, PREFIXES["cameo"], PREFIXES["plover"])
# IRIs that look like dipkb's own terms: a prefix declared with http: or without the '#' makes every
# term of a file one that nothing reads.
_LOOKALIKES = ("https://w3id.org/dipkb/", "http://w3id.org/dipkb/")
# The KB's own nodes (actor:, event:...) and the shapes (a dataset may conform to them) are no terms.
_NOT_TERMS = (KB, "http" + KB.removeprefix("https"), PREFIXES["dsh"].removesuffix("#"))
SHAPE = PREFIXES["dsh"] + "DeclaredTermShape"
COMPONENT = PREFIXES["dsh"] + "DeclaredTermConstraintComponent"


@dataclass(frozen=True)
class ClosedVocabulary:
    """A standard vocabulary whose every term is known: rdflib's list of them (a DefinedNamespace that
    refuses other names), under the namespace IRI data uses."""

    name: str
    namespace: str
    defined: type[DefinedNamespace]
    newer: frozenset[str] = frozenset()  # terms the vocabulary gained after rdflib's list was made

    def declares(self, iri: str) -> bool:
        """Whether ``iri``, of this namespace and not among :meth:`terms`, is the namespace itself or one
        of the terms no list holds: rdf:_1, rdf:_2..."""
        local = iri[len(self.namespace):]
        return not local or local in self.defined

    def terms(self) -> list[str]:
        names = [str(term)[len(str(self.defined._NS)):] for term in dir(self.defined)]
        return [self.namespace + name for name in sorted({*names, *self.newer})]


CLOSED_VOCABULARIES = (
    ClosedVocabulary("RDF", PREFIXES["rdf"], RDF, frozenset({"reifies", "dirLangString"})),  # RDF 1.2
    ClosedVocabulary("RDF Schema", PREFIXES["rdfs"], RDFS),
    ClosedVocabulary("OWL", PREFIXES["owl"], OWL),
    ClosedVocabulary("the DCMI Metadata Terms", PREFIXES["dct"], DCTERMS),
    ClosedVocabulary("PROV-O", PREFIXES["prov"], PROV),
    ClosedVocabulary("SKOS", PREFIXES["skos"], SKOS),
    # rdflib names it with https:, which is not the namespace of the vocabulary's terms.
    ClosedVocabulary("the WGS84 vocabulary", PREFIXES["geo"], WGS),
)
_CLOSED_NAMESPACES = tuple(vocabulary.namespace for vocabulary in CLOSED_VOCABULARIES)
_CLOSED_TERMS = frozenset(term for vocabulary in CLOSED_VOCABULARIES for term in vocabulary.terms())


def _other_scheme(iri: str) -> str:
    scheme, rest = iri.split("://", 1)
    return ("https" if scheme == "http" else "http") + "://" + rest


# A closed vocabulary's namespace declared without its last '#' or '/', or with the other scheme:
# `@prefix geo: <http://www.w3.org/2003/01/geo/wgs84_pos>` makes geo:lat <...wgs84_poslat>, which
# nothing reads, and a place loses its coordinates without a word.
_CLOSED_LOOKALIKES = tuple(lookalike for ns in _CLOSED_NAMESPACES for lookalike in (ns[:-1], _other_scheme(ns[:-1])))


@dataclass(frozen=True)
class Misuse:
    """A triple using, as its predicate or object, a term the ontology does not declare."""

    focus: ox.NamedNode | ox.BlankNode
    path: str
    value: ox.NamedNode | ox.BlankNode | ox.Literal
    message: str


def checked_terms(iris: Iterable[str]) -> set[str]:
    """Those of ``iris`` this check is about: in dipkb's own namespaces, or that look as if they were
    meant to be, or in a closed vocabulary."""
    return {iri for iri in iris
            if iri.startswith(_LOOKALIKES) and not iri.startswith(_NOT_TERMS) or iri.startswith(_CLOSED_LOOKALIKES)}


def used_terms(store: ox.Store, graphs: Iterable[str]) -> set[str]:
    """The terms of dipkb's namespaces that ``graphs`` use as predicate or object."""
    names = " ".join(f"<{g}>" for g in graphs)
    if not names:
        return set()
    query = (f"SELECT DISTINCT ?t WHERE {{ VALUES ?g {{ {names} }} "
             f"GRAPH ?g {{ {{ ?s ?t ?o }} UNION {{ ?s ?p ?t FILTER(isIRI(?t)) }} }} }}")
    return checked_terms(row[0].value for row in store.query(query))


def misuses(store: ox.Store, graphs: Iterable[str], ontology_graphs: Iterable[str],
            used: set[str] | None = None) -> Iterator[Misuse]:
    """Each triple of ``graphs`` (but the ontology's) whose predicate or object is a term of dipkb's
    namespaces that ``ontology_graphs`` do not name. ``used``: the terms ``graphs`` use, if already
    known (a superset will do)."""
    ontology_graphs = list(ontology_graphs)
    graphs = set(graphs) - set(ontology_graphs)  # the ontology's own version IRIs are no terms
    used = used_terms(store, graphs) if used is None else checked_terms(used)
    if not used:
        return
    declared = _declared(store, ontology_graphs)
    for term in sorted(used - declared):
        closed = _closed_vocabulary(term)
        if closed is not None and closed.declares(term):
            continue
        if closed is None and term.startswith(_CLOSED_LOOKALIKES):
            meant = _closed_meant(term)
            if meant is None:  # another IRI of the vocabulary's site (a document's), no term of it
                continue
            closed = _closed_vocabulary(meant)
            suggestion = f"; did you mean {curie(meant)} ({curie(meant).split(':')[0]}: is <{closed.namespace}>)?"
        else:
            suggestion = _suggestion(term, declared)
        node = ox.NamedNode(term)
        message = f"{curie(term)} is not a term of {closed.name if closed else 'the dipkb ontology'}{suggestion or '.'}"
        for quad in store.quads_for_pattern(None, node, None):
            if _in(quad, graphs):
                yield Misuse(quad.subject, term, quad.object, message)
        for quad in store.quads_for_pattern(None, None, node):
            if _in(quad, graphs):
                yield Misuse(quad.subject, quad.predicate.value, node, message)


def _in(quad: ox.Quad, graphs: set[str]) -> bool:
    return isinstance(quad.graph_name, ox.NamedNode) and quad.graph_name.value in graphs \
        and not isinstance(quad.subject, ox.Triple)


def _declared(store: ox.Store, ontology_graphs: Iterable[str]) -> set[str]:
    """The IRIs the ontology names (its terms, its versions), dipkb's namespaces themselves, and the
    terms of the closed vocabularies."""
    names = " ".join(f"<{g}>" for g in ontology_graphs)
    if not names:
        return set(OWN_NAMESPACES) | _CLOSED_TERMS
    query = (f"SELECT DISTINCT ?t WHERE {{ VALUES ?g {{ {names} }} GRAPH ?g {{ {{ ?t ?p ?o }} UNION {{ ?s ?p ?t }} }}"
             f" FILTER(isIRI(?t)) }}")
    own = {term for term in checked_terms(row[0].value for row in store.query(query))
           if not term.startswith(_CLOSED_NAMESPACES)}  # the ontology cannot add terms to RDF
    return own | set(OWN_NAMESPACES) | _CLOSED_TERMS


def _closed_vocabulary(term: str) -> ClosedVocabulary | None:
    return next((vocabulary for vocabulary in CLOSED_VOCABULARIES if term.startswith(vocabulary.namespace)), None)


def _suggestion(term: str, declared: set[str]) -> str:
    """'; did you mean dip:host?' for dip:hots: the closest declared term of its namespace, case aside;
    for a term in a namespace that only looks like dipkb's, the term of that name in the real one."""
    namespace = next((ns for ns in OWN_NAMESPACES + _CLOSED_NAMESPACES if term.startswith(ns)), None)
    if namespace is None:
        meant = _meant(term)
        return f"; did you mean {curie(meant)} ({curie(meant).split(':')[0]}: is <{_namespace_of(meant)}>)?" \
            if meant in declared else ""
    typed = term[len(namespace):]
    best: tuple[tuple[float, bool], str] | None = None
    for iri in sorted(iri for iri in declared if iri.startswith(namespace) and iri != namespace):
        name = iri[len(namespace):]
        # Of names alike but for case (dip:Source, dip:source), the one of the typed term's kind: a
        # property starts in lower case, a class in upper case.
        likeness = difflib.SequenceMatcher(None, typed.lower(), name.lower()).ratio()
        key = (likeness, name[0].isupper() == typed[:1].isupper())
        if key[0] >= 0.75 and (best is None or key > best[0]):
            best = key, iri
    return f"; did you mean {curie(best[1])}?" if best else ""


def _closed_meant(term: str) -> str | None:
    """The term of a closed vocabulary that an IRI of a lookalike of its namespace was meant to be, if
    it has one of that name."""
    for namespace in _CLOSED_NAMESPACES:
        for lookalike in (namespace[:-1], _other_scheme(namespace[:-1])):
            if term.startswith(lookalike):
                meant = namespace + term[len(lookalike):].lstrip("#/")
                if meant in _CLOSED_TERMS and meant != namespace:
                    return meant
    return None


def _meant(term: str) -> str:
    """The term in dipkb's namespaces that a lookalike IRI was meant to be: https, and the ontology's '#'."""
    term = "https://" + term.split("://", 1)[1]
    ontology = DIP.removesuffix("#")
    if term.startswith(ontology) and not term.startswith(DIP):
        term = DIP + term[len(ontology):].lstrip("/")
    return term


def _namespace_of(term: str) -> str:
    return next(ns for ns in OWN_NAMESPACES if term.startswith(ns))


def findings(store: ox.Store, layout: KBLayout, scope: Scope | None, locator: SubjectLocator,
             by_graph: dict[str, Path], severity: str | None, used: set[str] | None = None) -> list[Finding]:
    """A finding of ``severity`` (dsh:DeclaredTermShape's; none without the shape) for each triple of
    the data in ``store`` using a term of dipkb's namespaces the ontology does not declare; with
    ``scope``, about its focus nodes. ``used``: as for :func:`misuses`."""
    if severity is None:
        return []
    ontology = [layout.graph_name(p) for p in layout.ontology_files()]
    graphs = [g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)]
    # As with the shapes, a scope names the focus nodes: what any file of the store says about them.
    focus_nodes = shacl_store.subjects(store, scope.graphs) if scope is not None and scope.graphs is not None \
        else None
    found = []
    with quiet_rdflib():
        for misuse in misuses(store, graphs, ontology, used):
            if focus_nodes is not None and misuse.focus not in focus_nodes:
                continue
            placement = placed(store, misuse.focus, locator, by_graph, misuse.path, misuse.value)
            found.append(Finding(focus=placement.focus, focus_label=placement.label, path=misuse.path,
                                 value=ntriples_term(rdflib_term(misuse.value)), message=misuse.message,
                                 severity=Severity(severity[len(SH):]), shape=SHAPE, constraint=COMPONENT,
                                 file=placement.file, line=placement.line, holder=placement.holder))
    return found
