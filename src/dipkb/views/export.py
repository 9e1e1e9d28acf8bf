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
each participant under its event's bucket, dip:tally*), so that a plain SPARQL 1.1 server answers
the saved queries. Turtle, N-Triples and JSON-LD merge them into the one graph; RDF/XML refuses them,
as it cannot name a property by a time bucket's IRI (views/jsonld.py). N-Quads and
TriG keep them in their graphs and also write the union of every graph as the default graph: a
SPARQL 1.1 server queries only the default graph unless told otherwise (Oxigraph's
``--union-default-graph``, Fuseki's ``unionDefaultGraph``, each spelt differently), so data that
answers with default settings everywhere must be there. That doubles the size; the plain export
writes the file graphs only.

Blank nodes are labelled by the W3C RDF Dataset Canonicalization (RDFC-1.0, ``_:c14n0``...), over
the whole exported dataset: labels depend only on the data, not on the source files' labels. The
exception: large clusters of blank nodes alike and linked, on which RDFC-1.0 would run for hours,
are labelled in the files' order (``_:b0``...; views/blank_labels.py).

Order. N-Triples and N-Quads: lines in byte order, as ``LC_ALL=C sort -u`` would give them.
Turtle, TriG, JSON-LD and RDF/XML: subjects by IRI (code point order, IRIs before blank nodes),
``rdf:type`` first, then predicates by IRI, then objects (literals, then IRIs, then blank nodes);
TriG graphs by name, the default graph first. Every format is built from Oxigraph's N-Triples output (fast, correctly
escaped), sorted as bytes and, for Turtle and TriG, regrouped here. Oxigraph's Turtle serializer is
not used: it declares every prefix it is given, used or not, in its hash map's order, and has no
blank line between subjects; and it is slower here, since it needs the triples as Python terms,
sorted (a 10k-event KB, 133k triples: 0.45 s, of which 0.25 s making terms, 0.14 s sorting them,
0.06 s writing; 0.32 s for this module's writer from the text).

Speed. Files are read with Oxigraph's stream parser and written back as N-Triples text without
going through a store: 0.8 s for that KB's Turtle, against 1.6 s when the export read the index.
From 32 MB of files, two worker processes do that while this one sorts and writes (1M events:
47 s -> 36 s; the parser and serializer hold the GIL, so threads would not help).
Only the statements holding a blank node go through a Dataset of terms, to be canonicalised; they
are few, and canonicalised together once every file has been read.

Memory. A file's lines go to a LineSorter (views/sorting.py), which sorts them in memory up to a
bound and spills sorted runs to temporary files past it; the writers read the runs' merge line by
line, so memory does not grow with the KB (generated 100k-event KB, 1.17M triples: 185 MB where
sorting everything in memory took 750 MB). Sorted lines keep a subject's statements together (and
in TriG a graph's, its name before each line), so Turtle and TriG are grouped from the stream; their
body goes to a temporary file first, as the prefix header names the prefixes the body used. JSON-LD
and RDF/XML take the Turtle export's lines too, parsed back into triples as they are read, and write
a subject at a time (views/jsonld.py).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pyoxigraph import BlankNode, DefaultGraph, NamedNode, Quad, RdfFormat, Triple, parse, serialize

from dipkb.model.namespaces import KB_BASE
from dipkb.store.derivation import derived_graph
from dipkb.store.kb import KnowledgeBase
from dipkb.store.loading import rdf_format, read_quads
from dipkb.util.ahead import in_order
from dipkb.util.forked import exit_with
from dipkb.views.blank_labels import Statement, label_blank_nodes
from dipkb.views.sorting import LineSorter
from dipkb.views.turtle_writing import BATCH, sort_key_text, with_graph_key, write_trig, write_turtle

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor


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

    @property
    def sorts_as_turtle(self) -> bool:
        """Written in the Turtle export's order, from sort-key lines (turtle_writing); the line
        formats are in plain byte order."""
        return self in (ExportFormat.TURTLE, ExportFormat.JSONLD, ExportFormat.RDFXML)


@dataclass(frozen=True)
class ExportOptions:
    """What goes in besides the KB files: the ontology and shapes files, the index's derived triples."""

    with_ontology: bool = False
    with_derived: bool = False


@dataclass
class Exported:
    """What an export wrote: how many statements, and how many of their blank nodes are labelled in
    the files' order because RDFC-1.0 would not finish on them in bounded time (views/blank_labels.py)."""

    statements: int = 0
    blank_nodes_in_file_order: int = 0


Graph = NamedNode | DefaultGraph


def _files(kb: KnowledgeBase, with_ontology: bool) -> list[tuple[str, Path]]:
    """(graph name, path) of the files to export, sorted by graph name."""
    layout = kb.layout
    paths = layout.kb_files() + (layout.ontology_files() + layout.shapes_files() if with_ontology else [])
    return sorted((layout.graph_name(path), path) for path in paths)


def _pieces(kb: KnowledgeBase, fmt: ExportFormat, options: ExportOptions, exported: Exported
            ) -> Iterator[tuple[str, bytes]]:
    """The exported statements as (graph name, N-Triples text), a file at a time, derived triples
    as asked (see the module's docstring), and last the statements with a blank node, labelled
    together (views/blank_labels.py; how many nodes in the files' order goes to ``exported``). The
    graph name is "" for the default graph, where merged formats put everything."""
    blank: list[Statement] = []  # the statements with a blank node, in the graph they are written to
    files = _files(kb, options.with_ontology)
    for (graph_name, path), text in zip(files, _file_texts([path for _, path in files])):
        if b"_:" in text:  # maybe a blank node ("_:" may also sit in a literal)
            plain, with_blank = _blank_apart(read_quads(path),
                                             NamedNode(graph_name) if fmt.keeps_graphs else DefaultGraph())
            text = serialize(plain, format=RdfFormat.N_TRIPLES)
            blank += with_blank
        yield (graph_name if fmt.keeps_graphs else ""), text
        if options.with_derived:
            derived = derived_graph(graph_name)
            yield (derived if fmt.keeps_graphs else ""), derived_text(kb, derived)
    if blank:
        labelled = label_blank_nodes(blank)
        exported.blank_nodes_in_file_order = labelled.in_file_order
        yield from labelled.texts


# From this many bytes of files, they are converted to N-Triples in worker processes while this one
# sorts and writes: the parser and serializer hold the GIL, so threads would take turns (100k events,
# 200 files, 120 MB: 1.8 s of the export's 5 s).
_PARALLEL_BYTES = 32 << 20
_WORKERS = 2  # at most, fewer on fewer cores: this process sorts and writes meanwhile


def _file_texts(paths: list[Path]) -> Iterator[bytes]:
    """Each file's statements as N-Triples (:func:`_ntriples`), in order; a few files ahead of the
    caller at most, so memory stays flat."""
    workers = min(_WORKERS, os.cpu_count() or 1)
    if workers < 2 or sum(path.stat().st_size for path in paths) < _PARALLEL_BYTES:
        yield from map(_ntriples, paths)
        return
    with converters(workers) as pool:
        for path, text in zip(paths, in_order(pool, _converted, paths, 2 * workers)):
            yield text if text is not None else _ntriples(path)


def converters(workers: int) -> ProcessPoolExecutor:
    """The worker processes that convert files: spawned, not forked, since this process has the
    index open and RocksDB's threads do not survive a fork; each exits when this process does, even
    killed, rather than wait for work forever."""
    import multiprocessing  # here: they cost start-up, and a small KB needs neither
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=exit_with, initargs=(os.getpid(),))


def _converted(path: Path) -> bytes | None:
    """In a worker: :func:`_ntriples` of a file that parses, None for one that does not, which the
    caller reads again to raise its error (an exception's own fields do not all cross processes)."""
    try:
        return _streamed(path)
    except (SyntaxError, UnicodeDecodeError, MemoryError):
        return None


def _streamed(path: Path) -> bytes:
    return serialize(parse(path=str(path), format=rdf_format(path), base_iri=KB_BASE), format=RdfFormat.N_TRIPLES)


def _ntriples(path: Path) -> bytes:
    """A file's statements as N-Triples, streamed from the parser to the serializer (10-20% faster
    than through a list of quads). On any failure read_quads reads it again, to report the error
    as it does, or to read a term too large for the stream parser."""
    try:
        return _streamed(path)
    except (SyntaxError, UnicodeDecodeError, MemoryError):
        return serialize(read_quads(path), format=RdfFormat.N_TRIPLES)


def _sort_lines(sorter: LineSorter, fmt: ExportFormat, graph_name: str, text: bytes, union: bool) -> None:
    """Add one graph's N-Triples text to ``sorter`` in the form whose byte order is ``fmt``'s
    writing order; ``union``: also to the default graph (N-Quads and TriG with derived triples)."""
    if fmt is ExportFormat.NQUADS:
        sorter.add(_with_graph(text, graph_name))
        if union and graph_name:
            sorter.add(text)
    elif fmt is ExportFormat.TRIG:
        text = sort_key_text(text)
        sorter.add(with_graph_key(text, graph_name))
        if union and graph_name:
            sorter.add(with_graph_key(text, ""))
    elif fmt.sorts_as_turtle:
        sorter.add(sort_key_text(text))
    else:
        sorter.add(text)


def _blank_apart(quads: list[Quad], graph: Graph) -> tuple[list[Quad], list[Statement]]:
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
        with_blank.append((subject, quad.predicate, obj, graph))
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


def _with_graph(text: bytes, graph_name: str) -> bytes:
    """N-Triples text as N-Quads in the named graph (unchanged for the default graph, ""). Every line
    ends with " .\n" and a literal cannot hold a raw newline, so the replacement touches line ends only."""
    if not graph_name:
        return text
    return text.replace(b" .\n", b" <" + graph_name.encode() + b"> .\n")


def export(kb: KnowledgeBase, fmt: ExportFormat, out: BinaryIO, *, with_ontology: bool = False,
           with_derived: bool = False) -> Exported:
    """Write the KB's files to ``out`` in ``fmt``; return how many triples (or quads) were written,
    and how many blank nodes are labelled in the files' order rather than by RDFC-1.0.

    ``with_ontology`` adds the ontology and shapes files, ``with_derived`` the triples the index
    derived from the exported files (see the module's docstring). The same KB always gives the same
    bytes. Memory stays within the sorter's bound (sorting.MEMORY_BOUND) whatever the KB's size.
    """
    options = ExportOptions(with_ontology=with_ontology, with_derived=with_derived)
    union = with_derived and fmt.keeps_graphs
    exported = Exported()
    with LineSorter() as sorter:
        for graph_name, text in _pieces(kb, fmt, options, exported):
            _sort_lines(sorter, fmt, graph_name, text, union)
        exported.statements = _write_lines(sorter.lines(), fmt, out)
    return exported


def write_graph(triples: Iterable[Triple], fmt: ExportFormat, out: BinaryIO) -> int:
    """``triples`` (a CONSTRUCT or DESCRIBE answer) written as the export writes a merged graph:
    sorted, each once, in memory bounded as the export's; return how many were written."""
    with sorted_graph(triples, fmt) as lines:
        return _write_lines(lines, fmt, out)


@contextmanager
def sorted_graph(triples: Iterable[Triple], fmt: ExportFormat) -> Iterator[Iterator[bytes]]:
    """``triples`` as the lines :func:`write_graph` writes in ``fmt``, each once, in its order."""
    if fmt.keeps_graphs:
        raise ValueError(f"{fmt.value} writes a dataset, not one graph")
    triples = iter(triples)
    with LineSorter() as sorter:
        while batch := list(islice(triples, BATCH)):
            _sort_lines(sorter, fmt, "", serialize(batch, format=RdfFormat.N_TRIPLES), False)
        yield sorter.lines()


def _write_lines(lines: Iterator[bytes], fmt: ExportFormat, out: BinaryIO) -> int:
    """Sorted lines (:func:`_sort_lines`) written in ``fmt``; their number."""
    if fmt is ExportFormat.TURTLE:
        return write_turtle(lines, out)
    if fmt is ExportFormat.TRIG:
        return write_trig(lines, out)
    if fmt in (ExportFormat.JSONLD, ExportFormat.RDFXML):
        from dipkb.views.jsonld import write_jsonld, write_rdfxml

        return (write_jsonld if fmt is ExportFormat.JSONLD else write_rdfxml)(lines, out)
    count = 0
    while batch := list(islice(lines, BATCH)):
        out.write(b"".join(batch))
        count += len(batch)
    return count
