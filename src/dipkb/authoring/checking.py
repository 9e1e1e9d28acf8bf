"""SHACL validation of Turtle that is about to be written, in the context of the KB it joins.

The data graph holds the ontology, the new triples, and only as much of the KB as the shapes look at:
the type, label, publication date and modality of every KB node the new triples mention, and the full
description of KB nodes the new triples add to (an event that gains records). Validating the whole KB
again for every import would grow with the KB; this grows with the import. Only findings about the new
subjects are returned: the KB's own state is `dipkb validate`'s business.

The shapes run as `dipkb validate` runs them, as SPARQL on an in-memory Oxigraph store
(dipkb.shacl.compiler), which gives pyshacl's findings (tests/test_validation_differential.py):
GDELT's 15-minute file (2,111 rows) is checked in 0.35 s, against pyshacl's 3.4 s, which ran its
SHACL-SPARQL constraints once per node. Imported data is made from a few templates, so by default
one node of each *form* is validated: the same types, the same properties with values of the same
datatypes, language tags and object types, each property once or several times (every node of that
file: 1.3 s). The importers check every value the shapes compare (real dates, the event not after
its record, coordinates in range, two different participants in a meeting) before a row is accepted.
``sample=False`` validates every node.
"""
from __future__ import annotations

import re
from collections import defaultdict

import rdflib
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Store, Triple, parse

from dipkb.errors import KBSyntaxError, SyntaxProblem
from dipkb.model.namespaces import DCT, DIP, KB_BASE, RDF, RDFS, SH
from dipkb.shacl import validation
from dipkb.shacl.compiler import Scope
from dipkb.shacl.findings import Finding, Severity
from dipkb.shacl.originals import SubjectLocator
from dipkb.store.written_forms import Canonical, WrittenForms
from dipkb.store.derivation import is_derived_graph
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.loading import load_files
from dipkb.util.paths import file_stamps

rdflib.NORMALIZE_LITERALS = False
_TYPE = NamedNode(RDF + "type")
_CONTEXT_PREDICATES = {_TYPE, NamedNode(RDFS + "label"), NamedNode(DCT + "issued"), NamedNode(DIP + "modality")}
_SH_SELECT, _SH_PATH, _SH_MAX_COUNT = (rdflib.URIRef(SH + name) for name in ("select", "path", "maxCount"))
_SUBCLASS_OF = NamedNode(RDFS + "subClassOf")
_NEW, _CONTEXT = NamedNode("urn:dipkb:check:new"), NamedNode("urn:dipkb:check:context")
_views: dict[tuple, _ShapeView] = {}  # by the stamps of the shapes and ontology files they were read from


class _ShapeView:
    """What the shapes can tell apart: the classes they name (an object typed dip:GovernmentBody looks
    like any other dip:Actor to them) and the properties they count up to a maximum."""

    def __init__(self, layout: KBLayout, ontology: Store):
        shapes = validation.shape_set(layout).graph
        self.classes: set[str] = {str(o) for o in shapes.objects() if isinstance(o, rdflib.URIRef)}
        for query in shapes.objects(None, _SH_SELECT):
            self.classes |= {DIP + name for name in re.findall(r"\bdip:(\w+)", str(query))}
        self.counted = {str(shapes.value(s, _SH_PATH)) for s in shapes.subjects(_SH_MAX_COUNT, None)}
        parents: defaultdict[str, set[str]] = defaultdict(set)
        for quad in ontology.quads_for_pattern(None, _SUBCLASS_OF, None):
            parents[quad.subject.value].add(quad.object.value)
        self.ancestors: dict[str, set[str]] = {}  # each class with its superclasses, itself included
        for cls in parents:
            found, todo = {cls}, [cls]
            while todo:
                for parent in parents.get(todo.pop(), ()):
                    if parent not in found:
                        found.add(parent)
                        todo.append(parent)
            self.ancestors[cls] = found

    def seen(self, types: set[str]) -> frozenset[str]:
        return frozenset(c for t in types for c in self.ancestors.get(t, {t}) if c in self.classes)

    def form(self, triples: list[Triple], types: dict) -> frozenset:
        """What a node looks like to the shapes, values aside."""
        counts: defaultdict[tuple, int] = defaultdict(int)
        for t in triples:
            o = t.object
            if isinstance(o, Literal):
                kind = ("literal", o.datatype.value, o.language)
            elif t.predicate == _TYPE:
                kind = ("class", o.value)
            else:
                kind = ("node", self.seen(types.get(o, set())))
            counts[(t.predicate.value, kind)] += 1
        return frozenset((key, min(n, 2) if key[0] in self.counted else 1) for key, n in counts.items())


def check_text(kb: KnowledgeBase, text: str, source: str = "<new data>", *,
               sample: bool = True) -> list[Finding]:
    """Findings (violations and warnings) about the subjects of ``text``, a Turtle document."""
    try:
        # The text goes into a KB file, where relative IRIs resolve against the KB's base.
        triples = list(parse(text, format=RdfFormat.TURTLE, base_iri=KB_BASE))
    except SyntaxError as error:  # our own writer made it, so this is a bug, reported with its place
        raise KBSyntaxError([SyntaxProblem(source, error.lineno, error.offset, error.msg or str(error))]) from None
    by_subject: defaultdict = defaultdict(list)
    for t in triples:
        by_subject[t.subject].append(t)
    types: defaultdict = defaultdict(set)
    for t in triples:
        if t.predicate == _TYPE:
            types[t.subject].add(t.object.value)
    for node in {t.object for t in triples if isinstance(t.object, NamedNode)} - set(by_subject):
        types[node] = {q.object.value for q in kb.store.quads_for_pattern(node, _TYPE, None)}
    store = Store()  # the ontology, then what the shapes look at
    load_files(store, kb.layout, kb.layout.ontology_files())
    chosen = list(by_subject)
    if sample:
        stamps = file_stamps(kb.layout.shapes_files() + kb.layout.ontology_files())
        view = _views.get(stamps) or _views.setdefault(stamps, _ShapeView(kb.layout, store))
        forms: dict[frozenset, object] = {}
        for subject, own in by_subject.items():
            forms.setdefault(view.form(own, types), subject)
        chosen = list(forms.values())

    # The shapes' focus nodes are the subjects of the new graph; the rest is their context.
    new = [Quad(t.subject, t.predicate, t.object, _NEW) for subject in chosen for t in by_subject[subject]]
    context = []
    mentioned = {t.object for s in chosen for t in by_subject[s] if isinstance(t.object, NamedNode)}
    for node in chosen:  # KB nodes the new triples add to: their whole description
        for quad in kb.store.quads_for_pattern(node, None, None):
            if not is_derived_graph(quad.graph_name):
                context.append(quad)
                if isinstance(quad.object, NamedNode):
                    mentioned.add(quad.object)
    for node in mentioned - set(chosen):
        context += [t for t in by_subject.get(node, ()) if t.predicate in _CONTEXT_PREDICATES]
        context += [q for q in kb.store.quads_for_pattern(node, None, None)
                    if q.predicate in _CONTEXT_PREDICATES and not is_derived_graph(q.graph_name)]
    store.extend(new)
    store.extend(Quad(t.subject, t.predicate, t.object, _CONTEXT) for t in context)
    # The store keeps literals in canonical form ("5"^^xsd:nonNegativeInteger as an xsd:integer):
    # the shapes must see what the text wrote. The KB's own terms come canonical from its index.
    written = WrittenForms({}, {}, set())
    written.add(_NEW.value, new, Canonical())
    findings = validation.sparql_findings(store, kb.layout, [], SubjectLocator([]), Scope((_NEW.value,)),
                                          originals=written.originals(store), shapes=validation.shape_set(kb.layout))
    wanted = {s.value if isinstance(s, NamedNode) else f"_:{s.value}" for s in chosen}
    return [f for f in findings if f.focus in wanted]


def violations(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.VIOLATION]
