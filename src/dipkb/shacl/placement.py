"""Where a finding is: its focus node's label, and the file and line of the triple at fault."""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pyoxigraph
import rdflib

from dipkb.model import terms
from dipkb.model.namespaces import XSD
from dipkb.shacl import originals as shacl_store
from dipkb.shacl.findings import Finding, Holder
from dipkb.shacl.originals import SubjectLocator, rdflib_term
from dipkb.store.written_forms import triple_graphs
from dipkb.util.paths import display_path

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


@dataclass(frozen=True)
class Placement:
    """Where a finding's focus node is, and what it is called."""

    focus: str
    label: str | None
    file: str | None
    line: int | None
    holder: Holder | None = None


# How many blank nodes deep a blank focus node's holder is looked for.
_HOLDER_DEPTH = 8


def holder(node: Hashable, referrers: Callable[[Hashable], Iterable[tuple[Hashable, str]]],
           iri_of: Callable[[Hashable], str | None]) -> Holder | None:
    """The IRI nearest to a blank ``node`` among those whose descriptions hold it, through other blank
    nodes: the first by path, then IRI, among the nearest, so that both engines, whose blank nodes are
    named differently, find the same. ``referrers`` gives a node's (subject, predicate) pairs."""
    level: list[tuple[Hashable, tuple[str, ...]]] = [(node, ())]
    seen = {node}
    for _ in range(_HOLDER_DEPTH):
        found, following = [], []
        for current, path in sorted(level, key=lambda item: item[1]):
            for subject, predicate in referrers(current):
                iri = iri_of(subject)
                if iri is not None:
                    found.append(Holder(iri, (predicate, *path)))
                elif subject not in seen:
                    seen.add(subject)
                    following.append((subject, (predicate, *path)))
        if found or not following:
            return min(found, key=lambda h: (h.path, h.iri), default=None)
        level = following
    return None


def placed(store: pyoxigraph.Store, node: pyoxigraph.NamedNode | pyoxigraph.BlankNode, locator: SubjectLocator,
           by_graph: dict[str, Path], path: str | None = None, value: Term | None = None) -> Placement:
    """A focus node's id and label, and the file and line that describe it: of the files stating the
    triple at fault (``path``, ``value``) if the store holds it as found, a triple about a place added in
    another file being that file's mistake. A blank node is placed where its holder is described, or
    in its file alone when no IRI holds it."""
    if isinstance(node, pyoxigraph.BlankNode):
        # A blank node is its file's alone: what the index derives from the file may refer to it too.
        graphs = shacl_store.subject_graphs(store, node)
        own = {pyoxigraph.NamedNode(g) for g in graphs}

        def referrers(current):
            return [(q.subject, q.predicate.value) for q in store.quads_for_pattern(None, None, current)
                    if q.graph_name in own]
        found = holder(node, referrers, lambda n: n.value if isinstance(n, pyoxigraph.NamedNode) else None)
        files = [by_graph[g] for g in graphs if g in by_graph]
        file, line = _blank_place(store, found, locator, by_graph, display_path(files[0]) if files else None)
        return Placement(f"_:{node.value}", shacl_store.label(store, node), file, line, found)
    graphs = shacl_store.subject_graphs(store, node)
    if path is not None and value is not None:
        graphs = triple_graphs(store, node, pyoxigraph.NamedNode(path), value) or graphs
    file, line = locator.locate(node.value, [by_graph[g] for g in graphs if g in by_graph])
    return Placement(node.value, shacl_store.label(store, node), file, line)


def _blank_place(store: pyoxigraph.Store, found: Holder | None, locator: SubjectLocator, by_graph: dict[str, Path],
                 own_file: str | None) -> tuple[str | None, int | None]:
    if found is None:
        return own_file, None
    placement = placed(store, pyoxigraph.NamedNode(found.iri), locator, by_graph)
    return placement.file, placement.line


def placed_finding(store: pyoxigraph.Store, finding: Finding, locator: SubjectLocator,
                   by_graph: dict[str, Path]) -> Finding:
    """pyshacl's finding placed as the SPARQL engine's are (:func:`placed`). A blank node of the
    store is not pyshacl's: pyshacl's finding names its holder and its file (reference.pyshacl_findings)."""
    if finding.focus.startswith("_:"):
        file, line = _blank_place(store, finding.holder, locator, by_graph, finding.file)
        return replace(finding, file=file, line=line)
    node = pyoxigraph.NamedNode(finding.focus)
    value = None
    if finding.path is not None and finding.value is not None:
        value = next((q.object for q in store.quads_for_pattern(node, pyoxigraph.NamedNode(finding.path), None)
                      if ntriples_term(rdflib_term(q.object)) == finding.value), None)
    placement = placed(store, node, locator, by_graph, finding.path, value)
    return replace(finding, file=placement.file, line=placement.line)
