"""Where a finding is: its focus node's label, and the file and line of the triple at fault."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyoxigraph
import rdflib

from dipkb.model import terms
from dipkb.model.namespaces import XSD
from dipkb.shacl import originals as shacl_store
from dipkb.shacl.findings import Finding
from dipkb.shacl.originals import SubjectLocator, rdflib_term

Term = pyoxigraph.NamedNode | pyoxigraph.BlankNode | pyoxigraph.Literal


def ntriples_term(node: rdflib.term.Node) -> str:
    """An RDF term in N-Triples syntax, always on one line."""
    if isinstance(node, rdflib.Literal):
        text = terms.string(str(node))
        if node.language:
            return f"{text}@{node.language}"
        if node.datatype and str(node.datatype) != XSD + "string":
            return f"{text}^^<{node.datatype}>"
        return text
    if isinstance(node, rdflib.BNode):
        return f"_:{node}"
    return f"<{node}>"


def placed(store: pyoxigraph.Store, node: pyoxigraph.NamedNode | pyoxigraph.BlankNode, locator: SubjectLocator,
           by_graph: dict[str, Path], path: str | None = None, value: Term | None = None,
           ) -> tuple[str, str | None, str | None, int | None]:
    """A focus node's id and label, and the file and line that describe it: of the files stating the
    triple at fault (``path``, ``value``) if the store holds it as found, a triple about a place added in
    another file being that file's mistake."""
    focus = f"_:{node.value}" if isinstance(node, pyoxigraph.BlankNode) else node.value
    graphs = shacl_store.subject_graphs(store, node)
    if path is not None and value is not None:
        graphs = shacl_store.triple_graphs(store, node, pyoxigraph.NamedNode(path), value) or graphs
    file, line = locator.locate(focus, [by_graph[g] for g in graphs if g in by_graph])
    return focus, shacl_store.label(store, node), file, line


def placed_finding(store: pyoxigraph.Store, finding: Finding, locator: SubjectLocator,
                   by_graph: dict[str, Path]) -> Finding:
    """pyshacl's finding placed as the SPARQL engine's are (:func:`placed`). A blank node of the
    store is not pyshacl's, so it is placed by its first description."""
    if finding.focus.startswith("_:"):
        file, line = locator.locate(finding.focus)
        return replace(finding, file=file, line=line)
    node = pyoxigraph.NamedNode(finding.focus)
    value = None
    if finding.path is not None and finding.value is not None:
        value = next((q.object for q in store.quads_for_pattern(node, pyoxigraph.NamedNode(finding.path), None)
                      if ntriples_term(rdflib_term(q.object)) == finding.value), None)
    *_, file, line = placed(store, node, locator, by_graph, finding.path, value)
    return replace(finding, file=file, line=line)
