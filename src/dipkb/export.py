"""Export the knowledge base as Turtle, N-Triples, N-Quads or TriG: deterministic and readable.

Every format is built from Oxigraph's own N-Triples output (fast, and correctly escaped), sorted
as bytes and, for Turtle and TriG, regrouped by subject and predicate. Oxigraph's Turtle serializer
is not used: it writes its ``@prefix`` lines in hash-map order, which changes from one process to
the next, and it writes every prefix it is given, used or not.

Order. N-Triples and N-Quads: lines in byte order, as ``LC_ALL=C sort -u`` would give them.
Turtle and TriG: subjects by IRI (code point order, IRIs before blank nodes), ``rdf:type`` first,
then predicates by IRI, then objects (literals, then IRIs, then blank nodes); TriG graphs by name.
Triples the index derives (``urn:dipkb:derived``) are never exported.

Blank nodes: the shipped KB has none. Where a file has some, Oxigraph gives them random labels, so
the export relabels them from their surroundings (see :func:`_canonical_blank_labels`); the labels
are stable across runs but are not the labels of the source file, and they change when the node's
neighbourhood changes. They round-trip as blank nodes, which is all RDF promises.
"""
from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from pyoxigraph import NamedNode, RdfFormat, Store

from dipkb.kb import KnowledgeBase
from dipkb.loading import load_files
from dipkb.namespaces import PREFIXES, RDF


class ExportFormat(Enum):
    TURTLE = "turtle"
    NTRIPLES = "ntriples"
    NQUADS = "nquads"
    TRIG = "trig"

    @property
    def keeps_graphs(self) -> bool:
        """N-Quads and TriG keep each file's graph; Turtle and N-Triples merge them into one graph."""
        return self in (ExportFormat.NQUADS, ExportFormat.TRIG)


_SUFFIXES = {".ttl": ExportFormat.TURTLE, ".nt": ExportFormat.NTRIPLES,
             ".nq": ExportFormat.NQUADS, ".trig": ExportFormat.TRIG}


def format_for_path(path: str | os.PathLike[str]) -> ExportFormat | None:
    """The format a file name asks for by its extension (.ttl .nt .nq .trig), else None."""
    return _SUFFIXES.get(os.path.splitext(os.fspath(path))[1].lower())


@dataclass(frozen=True)
class _Graph:
    """One named graph to export and the store holding it (the shapes live in a store of their own)."""

    store: Store
    name: NamedNode


def _graphs(kb: KnowledgeBase, with_ontology: bool) -> list[_Graph]:
    """The KB's file graphs, plus the ontology's and the shapes' when asked, sorted by graph name."""
    wanted = [_graph_prefix(kb, kb.layout.kb_dir)]
    if with_ontology:
        wanted.append(_graph_prefix(kb, kb.layout.ontology_dir))
    graphs = [_Graph(kb.store, name) for name in kb.store.named_graphs()
              if isinstance(name, NamedNode) and name.value.startswith(tuple(wanted))]
    if with_ontology:
        # Shapes are not part of the query store (they would show up in query results), so they
        # are loaded here, into graphs named as they would be in the store.
        shapes = Store()
        load_files(shapes, kb.layout, kb.layout.shapes_files())
        graphs += [_Graph(shapes, name) for name in shapes.named_graphs() if isinstance(name, NamedNode)]
    return sorted(graphs, key=lambda graph: graph.name.value)


def _graph_prefix(kb: KnowledgeBase, directory: os.PathLike[str]) -> str:
    """The graph-name prefix of every file under ``directory``, as KBLayout.graph_name builds it."""
    return kb.layout.graph_name(Path(directory) / "x")[:-1]


# Sorting tricks, applied to the whole N-Triples text before it is split into lines so that a plain
# bytes sort gives the documented order, and undone on the way out. Both bytes can only come from
# here: Oxigraph escapes every control character in literals (as \u0000, \u0001) and IRIs cannot
# hold them. '>' -> NUL makes an IRI sort before any longer IRI it is a prefix of; the rdf:type
# predicate -> SOH makes it sort before every other predicate of its subject.
_IRI_END, _IRI_END_KEY = b">", b"\x00"
_TYPE = b"<" + (RDF + "type").encode() + b">"
_TYPE_KEY = b"\x01"


def _sort_key_text(text: bytes) -> bytes:
    return text.replace(b" " + _TYPE + b" ", b" " + _TYPE_KEY + b" ").replace(_IRI_END, _IRI_END_KEY)


def _undo_sort_key_text(text: bytes) -> bytes:
    return text.replace(_IRI_END_KEY, _IRI_END).replace(_TYPE_KEY, _TYPE)


def _graph_texts(graphs: list[_Graph], *, keep_graphs: bool) -> list[bytes]:
    """Each graph as N-Triples text, blank nodes relabelled over all of them at once (a blank node
    may occur in several graphs, and two graphs' nodes must not end up with the same label)."""
    # Two threads: Oxigraph reads without the GIL, and reading the on-disk index is most of an
    # export's time (6.2 s alone for 1.2M triples at 100k events, 3.6 s on two threads).
    with ThreadPoolExecutor(2) as pool:
        texts = list(pool.map(lambda graph: graph.store.dump(format=RdfFormat.N_TRIPLES, from_graph=graph.name), graphs))
    if any(b"_:" in text for text in texts):
        names = [b"<" + graph.name.value.encode() + b">" if keep_graphs else b"" for graph in graphs]
        texts = _relabel_blank_nodes(texts, names)
    return texts


def _with_graph(text: bytes, graph: _Graph) -> bytes:
    """N-Triples text as N-Quads in ``graph``. Every line ends with " .\n" and a literal cannot hold
    a raw newline, so the replacement touches line ends only."""
    return text.replace(b" .\n", b" <" + graph.name.value.encode() + b"> .\n")


def _sorted_lines(text: bytes, *, turtle_order: bool, unique: bool) -> list[bytes]:
    """N-Triples or N-Quads text as sorted lines: in plain byte order, or (``turtle_order``) in the
    Turtle order and sort-key form. ``unique`` drops repeated lines; a store holds each quad once,
    so only merging graphs can repeat a triple."""
    if turtle_order:
        text = _sort_key_text(text)
    lines = text.split(b"\n")
    lines.pop()  # the text ends with a newline
    lines.sort()
    if unique:  # duplicates are adjacent once sorted: a triple stated in two files is written once
        lines = [line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1]]
    return lines


def export(kb: KnowledgeBase, fmt: ExportFormat, out: BinaryIO, *, with_ontology: bool = False) -> int:
    """Write the KB's own triples to ``out`` in ``fmt``; return the number of triples (or quads) written.

    ``with_ontology`` adds the ontology and shapes files: as their own graphs in N-Quads and TriG,
    merged into the one graph in Turtle and N-Triples. The same KB always gives the same bytes.
    """
    graphs = _graphs(kb, with_ontology)
    texts = _graph_texts(graphs, keep_graphs=fmt.keeps_graphs)
    if fmt is ExportFormat.TRIG:
        return _write_trig(graphs, texts, out)
    if fmt is ExportFormat.TURTLE:
        turtle, count = _turtle(b"".join(texts), unique=len(texts) > 1)
        out.write(turtle)
        return count
    if fmt is ExportFormat.NQUADS:
        text = b"".join(_with_graph(text, graph) for text, graph in zip(texts, graphs))
        lines = _sorted_lines(text, turtle_order=False, unique=False)
    else:
        lines = _sorted_lines(b"".join(texts), turtle_order=False, unique=len(texts) > 1)
    if lines:
        out.write(b"\n".join(lines))
        out.write(b"\n")
    return len(lines)


def turtle_from_ntriples(text: bytes) -> bytes:
    """Readable, deterministic Turtle for N-Triples text, e.g. a CONSTRUCT result: same layout as export."""
    return _turtle(text, unique=True)[0]


def _turtle(text: bytes, *, unique: bool) -> tuple[bytes, int]:
    lines = _sorted_lines(text, turtle_order=True, unique=unique)
    writer = _TurtleWriter()
    body = writer.statements(lines, indent=b"")
    return writer.prefix_header() + _undo_sort_key_text(body), len(lines)


def _write_trig(graphs: list[_Graph], texts: list[bytes], out: BinaryIO) -> int:
    """One block per non-empty graph, in graph-name order, under one prefix header."""
    writer = _TurtleWriter()
    blocks, count = [], 0
    for graph, text in zip(graphs, texts):
        lines = _sorted_lines(text, turtle_order=True, unique=False)
        if lines:
            count += len(lines)
            body = writer.statements(lines, indent=b"    ")
            blocks.append(b"<" + graph.name.value.encode() + b"> {\n" + body + b"}\n")
    out.write(writer.prefix_header() + _undo_sort_key_text(b"\n".join(blocks)))
    return count


# A conservative PN_LOCAL: what every Turtle parser accepts without escapes. Other IRIs stay <...>.
_LOCAL_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?")
_NAMESPACES = {namespace: prefix for prefix, namespace in PREFIXES.items()}


class _TurtleWriter:
    """Turns sorted sort-key N-Triples lines into grouped Turtle, remembering which prefixes it used.

    Terms are rendered once each and cached: a KB repeats its predicates, classes and actors often.
    """

    def __init__(self) -> None:
        self.used: set[str] = set()
        # rdf:type's sort key only ever stands for rdf:type, which Turtle writes 'a' as a predicate;
        # as an object (rare, e.g. a property of rdf:type itself) it is written as an IRI.
        self._terms: dict[bytes, bytes] = {_TYPE_KEY: b"a"}

    def prefix_header(self) -> bytes:
        if not self.used:
            return b""
        lines = [f"@prefix {prefix}: <{PREFIXES[prefix]}> .\n" for prefix in sorted(self.used)]
        return "".join(lines).encode() + b"\n"

    def statements(self, lines: list[bytes], indent: bytes) -> bytes:
        """Subjects grouped with ';', objects with ',', a blank line between subjects.

        The hot loop of a large export (a million lines): plain literals skip every lookup, and
        subjects, predicates and IRI objects come from the cache after their first use.
        """
        chunks: list[bytes] = []
        append = chunks.append
        cached, term, obj = self._terms.get, self._term, self._object
        next_predicate = b" ;\n" + indent + b"    "
        previous_subject = previous_predicate = None
        for line in lines:
            subject, predicate, rest = line.split(b" ", 2)
            # rest is the object and " ."; a literal without datatype is written as it is.
            if rest[0] == 0x22 and rest[-3] != 0:
                rendered = rest[:-2]
            else:
                rendered = obj(rest[:-2])
            if subject != previous_subject:
                if previous_subject is not None:
                    append(b" .\n\n")
                append(indent + (cached(subject) or term(subject)) + b" " + (cached(predicate) or term(predicate))
                       + b" " + rendered)
                previous_subject, previous_predicate = subject, predicate
            elif predicate != previous_predicate:
                append(next_predicate + (cached(predicate) or term(predicate)) + b" " + rendered)
                previous_predicate = predicate
            else:
                append(b", " + rendered)
        if previous_subject is not None:
            append(b" .\n")
        return b"".join(chunks)

    def _object(self, token: bytes) -> bytes:
        if token == _TYPE_KEY:
            return _TYPE
        if token[:1] != b'"':
            return self._terms.get(token) or self._term(token)
        if token[-1:] != _IRI_END_KEY:
            return token  # plain or language-tagged literal: N-Triples syntax is Turtle syntax
        at = token.rfind(b"^^<")
        return token[: at + 2] + self._term(token[at + 2:])

    def _term(self, token: bytes) -> bytes:
        """An IRI (in sort-key form) as a CURIE when a known prefix fits, else unchanged; blank nodes unchanged."""
        cached = self._terms.get(token)
        if cached is not None:
            return cached
        rendered = token
        if token[:1] == b"<":
            rendered = self._curie(token[1:-1].decode()) or token
        self._terms[token] = rendered
        return rendered

    def _curie(self, iri: str) -> bytes | None:
        cut = max(iri.rfind("/"), iri.rfind("#")) + 1
        prefix = _NAMESPACES.get(iri[:cut])
        if prefix is None or not _LOCAL_NAME.fullmatch(iri[cut:]):
            return None
        self.used.add(prefix)
        return f"{prefix}:{iri[cut:]}".encode()


# ---------------------------------------------------------------------------------------------
# Blank nodes


def _relabel_blank_nodes(texts: list[bytes], graph_names: list[bytes]) -> list[bytes]:
    """Replace Oxigraph's random blank-node labels with labels computed from each node's surroundings.

    ``graph_names`` (empty when graphs are merged) take part in the surroundings, so that a node keeps
    one label across graphs and nodes of different graphs are told apart.
    """
    all_lines = [text.split(b"\n") for text in texts]
    statements: dict[tuple[int, int], list[bytes]] = {}
    for g, lines in enumerate(all_lines):
        for i, line in enumerate(lines):
            if b"_:" in line:
                terms = _split_statement(line)
                if any(t.startswith(b"_:") for t in terms):
                    statements[g, i] = terms
    labels = _canonical_blank_labels([terms + [graph_names[g]] for (g, _), terms in statements.items()])
    for (g, i), terms in statements.items():
        all_lines[g][i] = b" ".join(labels.get(t, t) for t in terms) + b" ."
    return [b"\n".join(lines) for lines in all_lines]


def _split_statement(line: bytes) -> list[bytes]:
    """An N-Triples line as [subject, predicate, object]; the object may be a literal with spaces."""
    subject, predicate, rest = line[:-2].split(b" ", 2)
    return [subject, predicate, rest]


def _canonical_blank_labels(statements: list[list[bytes]]) -> dict[bytes, bytes]:
    """Map each blank node to a label that depends only on the data around it, not on its old label.

    Per connected group of blank nodes (a shape's property tree, a list): colour refinement
    (1-dimensional Weisfeiler-Leman) gives each node the hash of the statements it occurs in, with
    itself as '*' and other blank nodes as their colours, until the colours stop splitting; nodes
    that still share a colour are told apart by singling one out and refining again. A node's label
    is its colour mixed with its group's; identical groups (the same structure stated twice) are
    numbered. Where a choice is made between nodes that are symmetric, every choice gives the same
    output; only contrived structures that refinement cannot tell apart could make labels vary.
    Cost: statements with blank nodes x refinement rounds, rounds growing with the longest chain.
    """
    occurrences: dict[bytes, list[list[bytes]]] = {}
    group_of: dict[bytes, bytes] = {}

    def find(node: bytes) -> bytes:
        while group_of[node] != node:
            group_of[node] = group_of[group_of[node]]
            node = group_of[node]
        return node

    for terms in statements:
        nodes = sorted({t for t in terms if t.startswith(b"_:")})
        for node in nodes:
            group_of.setdefault(node, node)
            occurrences.setdefault(node, []).append(terms)
            group_of[find(node)] = find(nodes[0])
    groups: dict[bytes, list[bytes]] = {}
    for node in occurrences:
        groups.setdefault(find(node), []).append(node)

    labelled: list[tuple[bytes, bytes, dict[bytes, bytes]]] = []
    for nodes in groups.values():
        colours = _refine(dict.fromkeys(nodes, b""), occurrences)
        while len(set(colours.values())) < len(nodes):
            counts: dict[bytes, int] = {}
            for colour in colours.values():
                counts[colour] = counts.get(colour, 0) + 1
            tied = min(colour for colour, n in counts.items() if n > 1)
            chosen = min(node for node in nodes if colours[node] == tied)
            colours[chosen] = _hash(tied + b"!")
            colours = _refine(colours, occurrences)
        signature = _hash(b"".join(sorted(colours.values())))
        labelled.append((signature, min(nodes), colours))

    labels: dict[bytes, bytes] = {}
    copies: dict[bytes, int] = {}
    for signature, _, colours in sorted(labelled):
        copy = copies[signature] = copies.get(signature, 0) + 1
        suffix = b"" if copy == 1 else b"x" + str(copy).encode()
        for node, colour in colours.items():
            labels[node] = b"_:b" + _hash(signature + colour)[:16] + suffix
    if len(set(labels.values())) < len(labels):  # a 64-bit prefix collision: use the whole hash
        for signature, _, colours in sorted(labelled):
            for node, colour in colours.items():
                labels[node] = b"_:b" + _hash(signature + colour) + labels[node][19:]
    return labels


def _refine(colours: dict[bytes, bytes], occurrences: dict[bytes, list[list[bytes]]]) -> dict[bytes, bytes]:
    """Refine colours until the number of distinct colours stops growing."""
    distinct = len(set(colours.values()))
    while True:
        refined = {}
        for node in colours:
            shapes = sorted(b" ".join(b"*" if t == node else colours.get(t, t) for t in terms)
                            for terms in occurrences[node])
            refined[node] = _hash(colours[node] + b"\n" + b"\n".join(shapes))
        count = len(set(refined.values()))
        if count <= distinct:
            return refined
        colours, distinct = refined, count


def _hash(data: bytes) -> bytes:
    return hashlib.sha256(data).hexdigest().encode()
