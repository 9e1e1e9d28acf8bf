"""The exported blank nodes' labels: RDFC-1.0's where it finishes in bounded time, the files' order
where it would not.

RDFC-1.0 labels most blank nodes from their own statements (its first-degree hash). Nodes that
their own statements do not tell apart, and that are linked to one another, go through its deep
comparison (Hash N-Degree Quads), whose work grows steeply (exponentially at worst) with the size
of such a cluster: the "poison" datasets of the specification's security considerations.
pyoxigraph 0.5.13 has no limit to set: it took 90 s for a chain of 1,000 alike nested blank nodes,
and a list of 1,000 equal items crashed the process (SIGSEGV). Other implementations bound the work (rdf-canonize's
``maxDeepIterations``, RDF.ex's call limit) and fail past it; an export should not fail, so here
the nodes of each cluster larger than :data:`LARGEST_CLUSTER` are labelled in the order in which
they first appear in the files (``_:b0``, ``_:b1``...), and stand as constants while RDFC-1.0
labels every other blank node. Labels still depend only on the files, so the same files give the
same bytes; those clusters' labels change if their files are written in another order.

Per blank node, RDFC-1.0 took 0.03 ms in clusters of three alike nodes each linked to the others,
0.12 ms in clusters of four, 0.64 ms of five, 4.8 ms of six and 400 ms of eight (2,000, 2,000, 500,
50 and one such clusters), against 0.03 ms for the alike but unlinked time instants of 100,000
events (``[ a ex:Instant ; ex:date "2021-07-01" ]``, 28 days). Looking for the clusters first adds
about a tenth: 1.4 s to those events' 14 s.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from pyoxigraph import (BlankNode, CanonicalizationAlgorithm, Dataset, DefaultGraph, Literal, NamedNode, Quad,
                        RdfFormat, Triple, serialize)

LARGEST_CLUSTER = 4

# A statement's terms, read once: pyoxigraph makes a new object at each read of a Quad's term.
Statement = tuple[NamedNode | BlankNode | Triple, NamedNode, NamedNode | BlankNode | Literal | Triple,
                  NamedNode | DefaultGraph]
_ITSELF, _ANOTHER = "_:a", "_:z"  # a statement's blank nodes, as the first-degree hash writes them

# Stands for a node labelled in the files' order while RDFC-1.0 runs (lengthened until no IRI of the
# statements starts with it); never written out.
STAND_IN = "urn:dipkb:blank-node-in-file-order:"


@dataclass(frozen=True)
class LabelledBlankNodes:
    """The statements holding a blank node, as N-Triples text per graph name ("" for the default
    graph), and how many of their nodes were labelled in the files' order."""

    texts: list[tuple[str, bytes]]
    in_file_order: int


def label_blank_nodes(statements: list[Statement]) -> LabelledBlankNodes:
    """``statements`` (each holding a blank node, in the files' order) with their blank nodes
    labelled. RDFC-1.0 labels a node from the statements that mention blank nodes alone, so the
    others need not be given; graphs take part, so that a node keeps one label across graphs."""
    in_file_order = _in_file_order(statements)
    prefix = _unused_prefix(statements) if in_file_order else STAND_IN
    stand_ins = {node: NamedNode(f"{prefix}{number}") for number, node in enumerate(in_file_order)}
    dataset = Dataset([Quad(stand_ins.get(subject, subject), predicate, stand_ins.get(obj, obj), graph)
                       for subject, predicate, obj, graph in statements])
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    labels = {stand_in: BlankNode(f"b{number}") for number, stand_in in enumerate(stand_ins.values())}
    graphs = sorted({graph for *_, graph in statements}, key=str)
    texts = [(graph.value if isinstance(graph, NamedNode) else "",
              serialize(_relabelled(dataset.quads_for_graph_name(graph), labels), format=RdfFormat.N_TRIPLES))
             for graph in graphs]
    return LabelledBlankNodes(texts, len(in_file_order))


def _in_file_order(statements: list[Statement]) -> list[BlankNode]:
    """The nodes of every cluster larger than LARGEST_CLUSTER, in the order they first appear. A
    cluster: nodes whose statements are alike (the same once the node itself and every other blank
    node are written as RDFC-1.0's first-degree hash writes them), linked by statements."""
    mentions: dict[BlankNode, list[Statement]] = {}
    for statement in statements:
        subject, _, obj, _ = statement
        if type(subject) is BlankNode:
            mentions.setdefault(subject, []).append(statement)
        if type(obj) is BlankNode and obj != subject:
            mentions.setdefault(obj, []).append(statement)
    signature = {node: frozenset(_first_degree(statement, node) for statement in its)
                 for node, its in mentions.items()}
    counts = Counter(signature.values())
    alike = {node for node, written in signature.items() if counts[written] > 1}
    clusters = _Clusters()
    for subject, _, obj, _ in statements:
        if subject in alike and obj in alike:
            clusters.join(subject, obj)
    return [node for node in mentions if node in alike and clusters.size(node) > LARGEST_CLUSTER]


def _unused_prefix(statements: list[Statement]) -> str:
    iris = {term.value for subject, _, obj, _ in statements for term in (subject, obj) if type(term) is NamedNode}
    prefix = STAND_IN
    while any(iri.startswith(prefix) for iri in iris):
        prefix += "-"
    return prefix


def _first_degree(statement: Statement, node: BlankNode) -> Statement:
    """A statement as RDFC-1.0's first-degree hash of ``node`` writes it (as a set: so does a Dataset)."""
    subject, predicate, obj, graph = statement
    return (subject if type(subject) is not BlankNode else _ITSELF if subject == node else _ANOTHER, predicate,
            obj if type(obj) is not BlankNode else _ITSELF if obj == node else _ANOTHER, graph)


class _Clusters:
    """Union-find over blank nodes: which nodes are linked, and how many each cluster holds."""

    def __init__(self) -> None:
        self._parent: dict[BlankNode, BlankNode] = {}
        self._size: dict[BlankNode, int] = {}

    def _root(self, node: BlankNode) -> BlankNode:
        while (parent := self._parent.setdefault(node, node)) != node:
            grandparent = self._parent[parent]
            self._parent[node] = grandparent  # path halving keeps the trees shallow
            node = grandparent
        return node

    def join(self, one: BlankNode, other: BlankNode) -> None:
        one, other = self._root(one), self._root(other)
        if one == other:
            return
        if self._size.get(one, 1) < self._size.get(other, 1):
            one, other = other, one
        self._parent[other] = one
        self._size[one] = self._size.get(one, 1) + self._size.pop(other, 1)

    def size(self, node: BlankNode) -> int:
        return self._size.get(self._root(node), 1)


def _relabelled(quads: Iterator[Quad], labels: dict[NamedNode, BlankNode]) -> Iterator[Triple]:
    for quad in quads:
        yield (Triple(labels.get(quad.subject, quad.subject), quad.predicate, labels.get(quad.object, quad.object))
               if labels else quad.triple)
