"""Export the knowledge base as Turtle, N-Triples, N-Quads or TriG: deterministic and readable.

Every format is built from Oxigraph's own N-Triples/N-Quads output (fast, and correctly escaped),
sorted as bytes and, for Turtle and TriG, regrouped by subject and predicate. Oxigraph's Turtle
serializer is not used: it writes its ``@prefix`` lines in hash-map order, which changes from one
process to the next, and it writes every prefix it is given, used or not.

Order, the same in every format: subjects by IRI (code point order, IRIs before blank nodes), then
``rdf:type`` first, then predicates by IRI, then objects (literals before IRIs before blank nodes).
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
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from pyoxigraph import NamedNode, RdfFormat, Store

from dipkb.kb import KnowledgeBase, load_files
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


def _sorted_lines(graphs: list[_Graph], *, quads: bool) -> list[bytes]:
    """The graphs' statements as sorted N-Triples (or N-Quads) lines in sort-key form, without duplicates."""
    text = b"".join(_dump_quads(graph) if quads else graph.store.dump(format=RdfFormat.N_TRIPLES, from_graph=graph.name)
                    for graph in graphs)
    if b"_:" in text:
        text = _relabel_blank_nodes(text)
    lines = _sort_key_text(text).split(b"\n")
    lines.pop()  # the text ends with a newline
    lines.sort()
    # Duplicates are adjacent once sorted: a triple stated in two files is written once.
    return [line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1]]


def _dump_quads(graph: _Graph) -> bytes:
    """One graph as N-Quads; dumping the graph alone keeps other graphs (and the derived one) out."""
    triples = graph.store.dump(format=RdfFormat.N_TRIPLES, from_graph=graph.name)
    # Every line ends with " .\n" and no literal can hold a raw newline, so this split is exact.
    suffix = b" <" + graph.name.value.encode() + b"> .\n"
    return triples.replace(b" .\n", suffix)


def export(kb: KnowledgeBase, fmt: ExportFormat, out: BinaryIO, *, with_ontology: bool = False) -> int:
    """Write the KB's own triples to ``out`` in ``fmt``; return the number of triples (or quads) written.

    ``with_ontology`` adds the ontology and shapes files: as their own graphs in N-Quads and TriG,
    merged into the one graph in Turtle and N-Triples. The same KB always gives the same bytes.
    """
    graphs = _graphs(kb, with_ontology)
    if fmt is ExportFormat.TRIG:
        return _write_trig(graphs, out)
    lines = _sorted_lines(graphs, quads=fmt is ExportFormat.NQUADS)
    if fmt is ExportFormat.TURTLE:
        writer = _TurtleWriter()
        body = writer.statements(lines, indent=b"")
        out.write(writer.prefix_header() + _undo_sort_key_text(body))
    elif lines:
        out.write(_undo_sort_key_text(b"\n".join(lines)) + b"\n")
    return len(lines)


def _write_trig(graphs: list[_Graph], out: BinaryIO) -> int:
    writer = _TurtleWriter()
    blocks, count = [], 0
    for graph in graphs:
        lines = _sorted_lines([graph], quads=False)
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
        self._terms: dict[bytes, bytes] = {}

    def prefix_header(self) -> bytes:
        if not self.used:
            return b""
        lines = [f"@prefix {prefix}: <{PREFIXES[prefix]}> .\n" for prefix in sorted(self.used)]
        return "".join(lines).encode() + b"\n"

    def statements(self, lines: list[bytes], indent: bytes) -> bytes:
        """Subjects grouped with ';', objects with ',', a blank line between subjects."""
        chunks: list[bytes] = []
        append = chunks.append
        term, obj = self._term, self._object
        next_predicate = b" ;\n" + indent + b"    "
        previous_subject = previous_predicate = None
        for line in lines:
            subject, predicate, rest = line.split(b" ", 2)
            rendered = obj(rest[:-2])  # drop the final " ."
            if subject != previous_subject:
                if previous_subject is not None:
                    append(b" .\n\n")
                append(indent)
                append(term(subject))
                append(b" ")
                append(b"a" if predicate == _TYPE_KEY else term(predicate))
                previous_subject, previous_predicate = subject, predicate
            elif predicate != previous_predicate:
                append(next_predicate)
                append(b"a" if predicate == _TYPE_KEY else term(predicate))
                previous_predicate = predicate
            else:
                append(b",")
            append(b" ")
            append(rendered)
        if previous_subject is not None:
            append(b" .\n")
        return b"".join(chunks)

    def _object(self, token: bytes) -> bytes:
        if token[:1] != b'"':
            return self._term(token)
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
        if token == _TYPE_KEY:
            rendered = self._curie(RDF + "type") or token
        elif token[:1] == b"<":
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


def _relabel_blank_nodes(text: bytes) -> bytes:
    """Replace Oxigraph's random blank-node labels with labels computed from each node's surroundings."""
    lines = text.split(b"\n")
    statements: dict[int, list[bytes]] = {}
    for i, line in enumerate(lines):
        if b"_:" in line:
            terms = _split_statement(line)
            if any(t.startswith(b"_:") for t in terms):
                statements[i] = terms
    labels = _canonical_blank_labels(list(statements.values()))
    for i, terms in statements.items():
        lines[i] = b" ".join(labels.get(t, t) for t in terms) + b" ."
    return b"\n".join(lines)


def _split_statement(line: bytes) -> list[bytes]:
    """An N-Triples/N-Quads line as [subject, predicate, object(, graph)]; literals may hold spaces."""
    subject, predicate, rest = line[:-2].split(b" ", 2)
    if rest[:1] == b'"':
        end = rest.rfind(b'"')
        tail = rest[end + 1:]
        space = tail.find(b" ")
        if space < 0:
            return [subject, predicate, rest]
        return [subject, predicate, rest[: end + 1 + space], tail[space + 1:]]
    return [subject, predicate, *rest.split(b" ", 1)]


def _canonical_blank_labels(statements: list[list[bytes]]) -> dict[bytes, bytes]:
    """Map each blank node to a label that depends only on the graph around it, not on its old label.

    Colour refinement (1-dimensional Weisfeiler-Leman): a node's colour is the hash of the statements
    it occurs in, with itself as '*' and other blank nodes as their colours; repeat until the number
    of colours stops growing. Nodes that still share a colour are in practice interchangeable
    (e.g. two identical members of a list), and are numbered in the order of their old labels.
    Cost: statements with blank nodes x rounds, where rounds is at most the longest chain (list).
    """
    occurrences: dict[bytes, list[list[bytes]]] = {}
    for terms in statements:
        for term in set(terms):
            if term.startswith(b"_:"):
                occurrences.setdefault(term, []).append(terms)
    colours = {node: b"" for node in occurrences}
    distinct = 1
    while True:
        refined = {}
        for node, found in occurrences.items():
            shapes = sorted(b" ".join(b"*" if t == node else colours[t] if t in colours else t for t in terms)
                            for terms in found)
            refined[node] = hashlib.sha256(colours[node] + b"\n" + b"\n".join(shapes)).hexdigest().encode()
        colours = refined
        count = len(set(colours.values()))
        if count <= distinct:
            break
        distinct = count
    labels: dict[bytes, bytes] = {}
    taken: dict[bytes, int] = {}
    for node in sorted(occurrences, key=lambda n: (colours[n], n)):
        label = b"_:b" + colours[node][:16]
        seen = taken.get(label, 0)
        taken[label] = seen + 1
        labels[node] = label if not seen else label + b"x" + str(seen + 1).encode()
    return labels
