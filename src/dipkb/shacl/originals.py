"""The SPARQL engine's side of the store: what the files wrote, and which files hold what.

Literals. Oxigraph stores a valid literal of a type it knows in canonical form: "05"^^xsd:integer as
"5", "1.50"^^xsd:decimal as "1.5", "5"^^xsd:nonNegativeInteger as "5"^^xsd:integer. pyshacl sees the
file's form, and sh:datatype, sh:pattern and the reported sh:value depend on it, so :class:`Originals`
gives it back. An ill-typed literal ("2021-02-31"^^xsd:date) is stored as written. Each file is parsed
again to find them: about 1 µs per triple, faster than scanning the text with regular expressions
(tried: 20 ms per 1,000-event file against 10 ms for the parse).

Files. A finding is placed in a file that describes its focus node; incremental validation reads the
files around the subjects of the files it validates (:func:`context_graphs`).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pyoxigraph as ox
import rdflib

from dipkb.model.labels import label_order
from dipkb.model.namespaces import KB_BASE, RDF, RDFS, XSD
from dipkb.store.loading import rdf_format, read_quads
from dipkb.util.paths import display_path

_PLAIN = {XSD + "string", RDF + "langString"}
_LABEL = ox.NamedNode(RDFS + "label")

Term = ox.NamedNode | ox.BlankNode | ox.Literal


@contextmanager
def quiet_rdflib() -> Iterator[None]:
    """rdflib logs a traceback for every ill-typed literal it builds; the shapes report them instead."""
    logger = logging.getLogger("rdflib.term")
    was_disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = was_disabled


def rdflib_term(term: Term) -> rdflib.term.Node:
    """The rdflib term dipkb.shacl.reference gives pyshacl for a pyoxigraph term (xsd:string left untyped)."""
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    # rdflib's own parser leaves a plain string untyped; do the same so the terms compare equal.
    # normalize=False, not the global default: pyshacl.validate() sets rdflib.NORMALIZE_LITERALS back
    # to True when it returns, after which "05"^^xsd:integer would silently become "5".
    return rdflib.Literal(term.value, datatype=None if datatype == XSD + "string" else rdflib.URIRef(datatype),
                          normalize=False)


class Canonical:
    """Oxigraph's canonical form of literals, asked of Oxigraph itself (a VALUES block is stored the
    same way as loaded data), cached."""

    def __init__(self) -> None:
        self._known: dict[ox.Literal, ox.Literal] = {}
        self._store = ox.Store()

    def resolve(self, literals: Iterable[ox.Literal]) -> None:
        todo = sorted({lit for lit in literals if lit not in self._known}, key=str)
        store = self._store
        for start in range(0, len(todo), 2000):
            chunk = todo[start:start + 2000]
            rows = " ".join(f"({i} {lit})" for i, lit in enumerate(chunk))
            for row in store.query(f"SELECT ?i ?x WHERE {{ VALUES (?i ?x) {{ {rows} }} }}"):
                self._known[chunk[int(row["i"].value)]] = row["x"]

    def __getitem__(self, literal: ox.Literal) -> ox.Literal:
        if literal not in self._known:
            self.resolve([literal])
        return self._known[literal]

    def rewritten(self, literal: ox.Literal) -> bool:
        return literal.datatype.value not in _PLAIN and self[literal] != literal


class Originals:
    """(subject, predicate IRI, stored term) -> the terms the files wrote for it, where they differ."""

    def __init__(self, written: dict[tuple[Term, str, Term], list[Term]] | None = None):
        self._written = written or {}
        self._by_predicate: dict[str, set] = {}
        self._subjects: dict[str, set] = {}
        for subject, predicate, stored in self._written:
            self._by_predicate.setdefault(predicate, set()).add(stored)
            self._subjects.setdefault(predicate, set()).add(subject)

    def __len__(self) -> int:
        return len(self._written)

    def of(self, subject: Term, predicate: str, stored: Term) -> list[Term]:
        """The written forms of the stored triple's object (the stored term itself when unchanged)."""
        return self._written.get((subject, predicate, stored), [stored])

    def terms(self, predicate: str) -> set:
        """Stored objects of ``predicate`` that some file wrote in another form."""
        return self._by_predicate.get(predicate, set())

    def subjects(self, predicate: str) -> set:
        return self._subjects.get(predicate, set())

    @classmethod
    def scan(cls, store: ox.Store, files: Iterable[Path], graph_name: Callable[[Path], str],
             canonical: Canonical | None = None) -> Originals:
        """Every literal of ``files`` (loaded in ``store``, each in its graph) that the store holds in
        another form."""
        return WrittenForms.read(files, graph_name, canonical).originals(store)


def maybe_typed(path: Path) -> list[ox.Quad]:
    """The triples of a file that may have a typed literal for object: of an N-Triples file, those of
    the lines with "^^" (a tenth of them at 1M events: a third of the time of parsing them all); of a
    Turtle file, all of them (a number needs no "^^")."""
    if rdf_format(path) is not ox.RdfFormat.N_TRIPLES:
        return read_quads(path)
    try:
        lines = b"\n".join(_lines_with(path.read_bytes(), b"^^"))
        return list(ox.parse(input=lines, format=ox.RdfFormat.N_TRIPLES, base_iri=KB_BASE))
    except (SyntaxError, MemoryError, UnicodeDecodeError):  # read_quads says where, or copes
        return read_quads(path)


def _lines_with(data: bytes, needle: bytes) -> Iterator[bytes]:
    """The lines of ``data`` holding ``needle``, found in C rather than by testing every line."""
    at = data.find(needle)
    while at >= 0:
        end = data.find(b"\n", at)
        end = len(data) if end < 0 else end
        yield data[data.rfind(b"\n", 0, at) + 1:end]
        at = data.find(needle, end)


@dataclass
class WrittenForms:
    """The literals files wrote in a form the store rewrites, found without the store: so they can be
    read (in Python) while the store loads them (in Oxigraph, without the GIL). :meth:`originals`
    finishes the job with the store."""

    written: dict[tuple[Term, str, Term], list[Term]]
    rewritten_in: dict[tuple[Term, str, Term], set[str]]  # the graphs that wrote another form
    also_as_stored: set[tuple[Term, str, Term]]  # ... and that wrote the stored form too

    @classmethod
    def read(cls, files: Iterable[Path], graph_name: Callable[[Path], str],
             canonical: Canonical | None = None) -> WrittenForms:
        canonical = canonical or Canonical()
        forms = cls({}, {}, set())
        for path in files:
            forms.add(graph_name(path), maybe_typed(path), canonical)
        return forms

    def add(self, graph: str, triples: Iterable[ox.Triple | ox.Quad], canonical: Canonical) -> None:
        """The forms ``triples``, stated in ``graph``, wrote."""
        # Plain and language-tagged strings are stored as written; a blank node is renamed by the
        # store, so its literals cannot be matched (dipkb's data has no blank nodes).
        triples = [t for t in triples
                   if type(t.object) is ox.Literal and t.object.datatype.value not in _PLAIN
                   and type(t.subject) is not ox.BlankNode]
        canonical.resolve(t.object for t in triples)
        if not any(canonical.rewritten(t.object) for t in triples):
            return
        as_stored, other = set(), {}
        for t in triples:
            stored = canonical[t.object]
            key = (t.subject, t.predicate.value, stored)
            (as_stored.add(key) if stored == t.object else other.setdefault(key, []).append(t.object))
        for key, written in other.items():
            known = self.written.setdefault(key, [])
            known += [f for f in dict.fromkeys(written) if f not in known]
            self.rewritten_in.setdefault(key, set()).add(graph)
            if key in as_stored:
                self.also_as_stored.add(key)

    def forms(self, key: tuple[Term, str, Term], holding: set[str]) -> list[Term]:
        """The forms written of a stored triple (subject, predicate IRI, stored object) that some file
        wrote in another form, given the graphs ``holding`` it."""
        forms = list(self.written[key])
        # The stored form was written too if a file wrote both, or another file holds the triple
        # (a file that wrote another form holds the triple only because of it).
        if key in self.also_as_stored or holding - self.rewritten_in[key]:
            forms.append(key[2])
        return sorted(forms, key=str)

    def originals(self, store: ox.Store) -> Originals:
        """The written forms, given the store holding the files read."""
        return Originals({key: self.forms(key, set(triple_graphs(store, key[0], ox.NamedNode(key[1]), key[2])))
                          for key in self.written})


# --- The files around some subjects -------------------------------------------------------------


def subject_graphs(store: ox.Store, node: ox.NamedNode | ox.BlankNode) -> list[str]:
    """The named graphs holding triples about ``node``."""
    return sorted({q.graph_name.value for q in store.quads_for_pattern(node, None, None)
                   if isinstance(q.graph_name, ox.NamedNode)})


def triple_graphs(store: ox.Store, subject: ox.NamedNode | ox.BlankNode, predicate: ox.NamedNode, obj: Term) -> list[str]:
    """The named graphs holding the triple."""
    return sorted({q.graph_name.value for q in store.quads_for_pattern(subject, predicate, obj)
                   if isinstance(q.graph_name, ox.NamedNode)})


def subjects(store: ox.Store, graphs: Iterable[str]) -> set:
    """The subjects of the triples in ``graphs``."""
    names = " ".join(f"<{g}>" for g in graphs)
    return {row["s"] for row in store.query(f"SELECT DISTINCT ?s WHERE {{ VALUES ?g {{ {names} }} GRAPH ?g {{ ?s ?p ?o }} }}")}


def graphs_about(store: ox.Store, nodes: Iterable) -> set[str]:
    """The named graphs holding triples about any of ``nodes``."""
    return {g for node in nodes for g in subject_graphs(store, node)}


def context_graphs(store: ox.Store, graphs: Iterable[str], is_data: Callable[[str], bool],
                   everywhere: Iterable[str]) -> list[str]:
    """The data graphs (those ``is_data`` accepts) that validating the subjects of ``graphs`` may read:
    ``graphs`` themselves, every graph describing a node one triple away from those subjects (an
    object, or a predicate), and every graph holding a triple of a predicate in ``everywhere``.

    That is every triple shapes read when dipkb.shacl.reach finds them local, with ``everywhere``
    the predicates it names (dipkb's shapes: its type, an event's modality, a source's publication
    date, and rdfs:subClassOf, rdfs:subPropertyOf and rdfs:range anywhere)."""
    graphs = list(graphs)
    found = set(graphs)
    focus = subjects(store, graphs)
    nodes = set(focus)
    for subject in focus:
        for quad in store.quads_for_pattern(subject, None, None):
            if isinstance(quad.graph_name, ox.NamedNode) and is_data(quad.graph_name.value):
                nodes.add(quad.predicate)
                if not isinstance(quad.object, ox.Literal):
                    nodes.add(quad.object)
    found |= graphs_about(store, nodes)
    for predicate in everywhere:
        found.update(q.graph_name.value for q in store.quads_for_pattern(None, ox.NamedNode(predicate), None)
                     if isinstance(q.graph_name, ox.NamedNode))
    return sorted(g for g in found if is_data(g))


def label(store: ox.Store, node: ox.NamedNode | ox.BlankNode) -> str | None:
    """The rdfs:label a finding shows of a node (dipkb.model.labels)."""
    found = {q.object for q in store.quads_for_pattern(node, _LABEL, None) if isinstance(q.object, ox.Literal)}
    return min(found, key=lambda lit: label_order(lit.value, lit.language)).value if found else None


_PREFIX_LINE = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.I)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_BASE_LINE = re.compile(r"^\s*(?:@base|BASE)\s+<([^>]*)>", re.I)
_SUBJECT_START = re.compile(r"^(?:<([^>\s]*)>|([A-Za-z][\w.-]*)?:((?:[\w\-%:]|\.(?=[\w\-%:]))*))(?=[\s;,.]|$)")


def _absolute(iri: str, base: str = KB_BASE) -> str:
    """A relative IRI as the parsers resolve it: against the KB's base, or the file's @base."""
    return iri if _SCHEME.match(iri) else urljoin(base, iri)


class SubjectLocator:
    """Where an IRI is defined: the first line, in the first file, that starts with it as a subject,
    written either as a CURIE of that file's own prefixes or as a full <IRI>.

    Files are read when first needed: the SPARQL engine names the few files that hold a focus node
    as a subject, and reading all of a million-event KB's files would take longer than validating it."""

    def __init__(self, files: Iterable[Path]):
        self._files = list(files)
        self._read: dict[Path, dict[str, int]] = {}

    def _subjects_of(self, path: Path) -> dict[str, int]:
        if path not in self._read:
            found: dict[str, int] = {}
            for iri, line in self._subjects(path):
                found.setdefault(iri, line)
            self._read[path] = found
        return self._read[path]

    @staticmethod
    def _subjects(path: Path) -> Iterator[tuple[str, int]]:
        prefixes: dict[str, str] = {}
        base = KB_BASE
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            declared = _PREFIX_LINE.match(line)
            if declared:
                prefixes[declared.group(1) or ""] = _absolute(declared.group(2), base)
                continue
            if based := _BASE_LINE.match(line):  # relative IRIs after it are resolved against it
                base = _absolute(based.group(1), base)
                continue
            start = _SUBJECT_START.match(line)
            if not start:
                continue
            if start.group(1) is not None:
                yield _absolute(start.group(1), base), number
            elif (start.group(2) or "") in prefixes:
                yield prefixes[start.group(2) or ""] + start.group(3), number

    def locate(self, iri: str, candidates: Iterable[Path] | None = None) -> tuple[str | None, int | None]:
        """The display path and line where ``iri`` is first a subject, or (None, None).

        With ``candidates`` (the files whose triples have ``iri`` as subject), only those are read,
        in this locator's order; all files are read if none of them has such a line."""
        wanted = set(candidates) if candidates is not None else None
        for files in ([p for p in self._files if p in wanted], self._files) if wanted else (self._files,):
            for path in files:
                line = self._subjects_of(path).get(iri)
                if line is not None:
                    return display_path(path), line
        return None, None
