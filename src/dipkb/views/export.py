"""Export the knowledge base as Turtle, N-Triples, N-Quads, TriG, JSON-LD or RDF/XML: faithful to
the files, deterministic and readable.

Faithful. The export is read from the files themselves (loading.read_quads), not from the index:
the store keeps typed literals in canonical form ("05"^^xsd:integer as "5", "1000"^^
xsd:nonNegativeInteger as "1000"^^xsd:integer), the files' parser keeps every literal's lexical form
and datatype as written. Language tags are the one exception: Oxigraph's parser writes them in lower
case ("en-GB" -> "en-gb"), as RDF 1.1 allows (tags compare case-insensitively) and RDF 1.2
recommends; BCP 47 gives the case no meaning.

Derived triples (``with_derived``): those the index computed from the exported files (graphs
``urn:dipkb:derived:<file graph>``: dip:participant, dip:earliestDay/latestDay, dip:timeBucket,
dip:tally*), so that a plain SPARQL 1.1 server answers the saved queries. Turtle, N-Triples,
JSON-LD and RDF/XML merge them into the one graph. N-Quads and TriG keep them in their graphs and
also write the union of every graph as the default graph: a SPARQL 1.1 server queries only the
default graph unless told otherwise (Oxigraph's ``--union-default-graph``, Fuseki's
``unionDefaultGraph``, each spelt differently), so data that answers with default settings everywhere
must be there. That doubles the size; the plain export writes the file graphs only.

Blank nodes are labelled by the W3C RDF Dataset Canonicalization (RDFC-1.0, ``_:c14n0``...), over
the whole exported dataset: labels depend only on the data, not on the source files' labels.

Order. N-Triples and N-Quads: lines in byte order, as ``LC_ALL=C sort -u`` would give them.
Turtle and TriG: subjects by IRI (code point order, IRIs before blank nodes), ``rdf:type`` first,
then predicates by IRI, then objects (literals, then IRIs, then blank nodes); TriG graphs by name,
the default graph first. Every format is built from Oxigraph's N-Triples output (fast, correctly
escaped), sorted as bytes and, for Turtle and TriG, regrouped here. Oxigraph's Turtle serializer is
not used: it declares every prefix it is given, used or not, in its hash map's order, and has no
blank line between subjects; and it is slower here, since it needs the triples as Python terms,
sorted (a 10k-event KB, 133k triples: 0.45 s, of which 0.25 s making terms, 0.14 s sorting them,
0.06 s writing; 0.32 s for this module's writer from the text).

Speed. Files are read with Oxigraph's stream parser and written back as N-Triples text without
going through a store: 0.8 s for that KB's Turtle, against 1.6 s when the export read the index.
Only the statements holding a blank node go through a Dataset of terms, to be canonicalised
(RDFC-1.0's worst case is exponential in symmetric blank-node structures).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from pyoxigraph import (BlankNode, CanonicalizationAlgorithm, Dataset, DefaultGraph, NamedNode, Quad, RdfFormat,
                        Triple, parse, serialize)

from dipkb.model.namespaces import PREFIXES, RDF
from dipkb.model.terms import prefixed
from dipkb.store.derivation import derived_graph
from dipkb.store.kb import KnowledgeBase
from dipkb.store.loading import read_quads


class ExportFormat(Enum):
    TURTLE = "turtle"
    NTRIPLES = "ntriples"
    NQUADS = "nquads"
    TRIG = "trig"
    JSONLD = "jsonld"
    RDFXML = "rdfxml"

    @property
    def keeps_graphs(self) -> bool:
        """N-Quads and TriG keep each file's graph; the others merge them into one graph."""
        return self in (ExportFormat.NQUADS, ExportFormat.TRIG)


@dataclass(frozen=True)
class ExportOptions:
    """What goes in besides the KB files: the ontology and shapes files, the index's derived triples."""

    with_ontology: bool = False
    with_derived: bool = False


Graph = NamedNode | DefaultGraph


@dataclass
class ExportedData:
    """What an export writes: each graph's triples as N-Triples text, graphs in writing order (the
    default graph first). A merged graph's text may repeat a line (a triple stated in two files):
    writers drop repeats."""

    graphs: list[Graph]
    texts: list[bytes]

    def triples(self) -> list[Triple]:
        """Every graph's triples, each once, for the writers that merge graphs (JSON-LD, RDF/XML)."""
        return list(dict.fromkeys(quad.triple for text in self.texts for quad in parse(text, RdfFormat.N_TRIPLES)))


def _files(kb: KnowledgeBase, with_ontology: bool) -> list[tuple[str, Path]]:
    """(graph name, path) of the files to export, sorted by graph name."""
    layout = kb.layout
    paths = layout.kb_files() + (layout.ontology_files() + layout.shapes_files() if with_ontology else [])
    return sorted((layout.graph_name(path), path) for path in paths)


def collect(kb: KnowledgeBase, fmt: ExportFormat, options: ExportOptions = ExportOptions()) -> ExportedData:
    """The graphs ``fmt`` writes: each file in its graph (N-Quads, TriG) or all merged into the
    default graph, derived triples as asked (see the module's docstring)."""
    texts: dict[str, list[bytes]] = {}
    blank: list[Quad] = []  # the statements with a blank node, in their file's graph
    for graph_name, path in _files(kb, options.with_ontology):
        quads = read_quads(path)
        text = serialize(quads, format=RdfFormat.N_TRIPLES)
        if b"_:" in text:  # maybe a blank node ("_:" may also sit in a literal)
            # Canonicalised in the graph they are written to: the file's, or the merged default graph.
            plain, with_blank = _blank_apart(quads, NamedNode(graph_name) if fmt.keeps_graphs else DefaultGraph())
            text, blank = serialize(plain, format=RdfFormat.N_TRIPLES), blank + with_blank
        texts.setdefault(graph_name, []).append(text)
        if options.with_derived:
            texts[derived_graph(graph_name)] = [derived_text(kb, derived_graph(graph_name))]
    if blank:
        for graph_name, text in _canonical_blank_nodes(blank):
            texts.setdefault(graph_name, []).append(text)
    named = sorted((name, b"".join(parts)) for name, parts in texts.items() if any(parts))
    union = b"".join(text for _, text in named)
    if not fmt.keeps_graphs:
        return ExportedData([DefaultGraph()], [union]) if union else ExportedData([], [])
    graphs: list[Graph] = [NamedNode(name) for name, _ in named]
    if options.with_derived and union:
        return ExportedData([DefaultGraph(), *graphs], [union, *(text for _, text in named)])
    return ExportedData(graphs, [text for _, text in named])


def _blank_apart(quads: list[Quad], graph: Graph) -> tuple[list[Quad], list[Quad]]:
    """A file's statements without and with a blank node, the latter in ``graph``. A blank-node
    label names a node of its own file only, so each file's are renamed apart (the parser keeps
    ``_:x`` as ``x``)."""
    plain, with_blank, fresh = [], [], {}
    for quad in quads:
        subject, obj = quad.subject, quad.object
        if type(subject) is not BlankNode and type(obj) is not BlankNode:
            plain.append(quad)
            continue
        if type(subject) is BlankNode:
            subject = fresh.setdefault(subject, BlankNode())
        if type(obj) is BlankNode:
            obj = fresh.setdefault(obj, BlankNode())
        with_blank.append(Quad(subject, quad.predicate, obj, graph))
    return plain, with_blank


def derived_text(kb: KnowledgeBase, graph: str) -> bytes:
    """What the index derived from one file, as N-Triples. Triples about a blank node are left
    out: the index's blank nodes are not the files' (each parse names them afresh)."""
    text = kb.graph_ntriples(graph)
    if b"_:" not in text:
        return text
    return serialize([quad.triple for quad in parse(text, RdfFormat.N_TRIPLES)
                      if type(quad.subject) is not BlankNode and type(quad.object) is not BlankNode],
                     format=RdfFormat.N_TRIPLES)


def _canonical_blank_nodes(quads: list[Quad]) -> list[tuple[str, bytes]]:
    """The statements holding a blank node, labelled by RDFC-1.0, as N-Triples text per graph name
    ("" for the default graph, where merged formats put everything).
    RDFC-1.0 labels a node from the statements that mention blank nodes alone, so the others
    need not go through the (slower) Dataset of terms; graphs take part, so that a node keeps one
    label across graphs."""
    dataset = Dataset(quads)
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    graphs = sorted({quad.graph_name for quad in quads}, key=str)
    return [(graph.value if isinstance(graph, NamedNode) else "",
             serialize([quad.triple for quad in dataset.quads_for_graph_name(graph)], format=RdfFormat.N_TRIPLES))
            for graph in graphs]


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


def _with_graph(text: bytes, graph: Graph) -> bytes:
    """N-Triples text as N-Quads in ``graph``. Every line ends with " .\n" and a literal cannot hold
    a raw newline, so the replacement touches line ends only."""
    if isinstance(graph, DefaultGraph):
        return text
    return text.replace(b" .\n", b" <" + graph.value.encode() + b"> .\n")


def _sorted_lines(text: bytes, *, turtle_order: bool) -> list[bytes]:
    """N-Triples or N-Quads text as sorted lines without repeats: in plain byte order, or
    (``turtle_order``) in the Turtle order and sort-key form."""
    if turtle_order:
        text = _sort_key_text(text)
    lines = text.split(b"\n")
    lines.pop()  # the text ends with a newline
    lines.sort()
    # Repeats are adjacent once sorted: a triple stated in two files is written once when merged.
    return [line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1]]


def export(kb: KnowledgeBase, fmt: ExportFormat, out: BinaryIO, *, with_ontology: bool = False,
           with_derived: bool = False) -> int:
    """Write the KB's files to ``out`` in ``fmt``; return the number of triples (or quads) written.

    ``with_ontology`` adds the ontology and shapes files, ``with_derived`` the triples the index
    derived from the exported files (see the module's docstring). The same KB always gives the same bytes.
    """
    data = collect(kb, fmt, ExportOptions(with_ontology=with_ontology, with_derived=with_derived))
    if fmt is ExportFormat.JSONLD:
        from dipkb.views.jsonld import write_jsonld

        return write_jsonld(data.triples(), out)
    if fmt is ExportFormat.RDFXML:
        from dipkb.views.jsonld import write_rdfxml

        return write_rdfxml(data.triples(), out)
    texts = data.texts
    if fmt is ExportFormat.TRIG:
        return _write_trig(data.graphs, texts, out)
    if fmt is ExportFormat.TURTLE:
        turtle, count = _turtle(b"".join(texts))
        out.write(turtle)
        return count
    text = b"".join(_with_graph(text, graph) for text, graph in zip(texts, data.graphs))
    lines = _sorted_lines(text, turtle_order=False)
    if lines:
        out.write(b"\n".join(lines))
        out.write(b"\n")
    return len(lines)


def turtle_from_ntriples(text: bytes) -> bytes:
    """Readable, deterministic Turtle for N-Triples text, e.g. a CONSTRUCT result: same layout as export."""
    return _turtle(text)[0]


def _turtle(text: bytes) -> tuple[bytes, int]:
    lines = _sorted_lines(text, turtle_order=True)
    writer = _TurtleWriter()
    body = writer.statements(lines, indent=b"")
    return writer.prefix_header() + _undo_sort_key_text(body), len(lines)


def _write_trig(graphs: list[Graph], texts: list[bytes], out: BinaryIO) -> int:
    """One block per non-empty graph, the default graph first, under one prefix header."""
    writer = _TurtleWriter()
    blocks, count = [], 0
    for graph, text in zip(graphs, texts):
        lines = _sorted_lines(text, turtle_order=True)
        if lines:
            count += len(lines)
            body = writer.statements(lines, indent=b"    ")
            name = b"" if isinstance(graph, DefaultGraph) else b"<" + graph.value.encode() + b"> "
            blocks.append(name + b"{\n" + body + b"}\n")
    out.write(writer.prefix_header() + _undo_sort_key_text(b"\n".join(blocks)))
    return count


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
        found = prefixed(iri)
        if found is None:
            return None
        self.used.add(found[0])
        return f"{found[0]}:{found[1]}".encode()
