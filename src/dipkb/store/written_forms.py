"""What the files wrote of the literals the store keeps in another form.

Oxigraph stores a valid literal of a type it knows in canonical form: "05"^^xsd:integer as "5",
"1.50"^^xsd:decimal as "1.5", "5"^^xsd:nonNegativeInteger as "5"^^xsd:integer. What must stay as
written comes from the files: the shapes judge and report literals as written (dipkb.shacl), and a
CONSTRUCT or DESCRIBE answer gives them back so (dipkb.views.written). An ill-typed literal
("2021-02-31"^^xsd:date) is stored as written. Each file is parsed again to find them: about 1 µs per
triple, faster than scanning the text with regular expressions (tried: 20 ms per 1,000-event file
against 10 ms for the parse). No rdflib here: `dipkb query` reads this, and rdflib costs it 80 ms.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from dipkb.model.namespaces import KB_BASE, RDF, XSD
from dipkb.store.loading import rdf_format, read_quads

_PLAIN = {XSD + "string", RDF + "langString"}


def may_be_rewritten(triple: ox.Triple | ox.Quad) -> bool:
    """Whether the store may keep the triple's object in another form than written: a typed literal,
    about a named node (plain and language-tagged strings are stored as written; a blank node is
    renamed by the store, so its literals cannot be matched)."""
    return type(triple.object) is ox.Literal and triple.object.datatype.value not in _PLAIN \
        and type(triple.subject) is not ox.BlankNode

Term = ox.NamedNode | ox.BlankNode | ox.Literal


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
        triples = [t for t in triples if may_be_rewritten(t)]
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


def triple_graphs(store: ox.Store, subject: ox.NamedNode | ox.BlankNode, predicate: ox.NamedNode,
                  obj: Term) -> list[str]:
    """The named graphs holding the triple."""
    return sorted({q.graph_name.value for q in store.quads_for_pattern(subject, predicate, obj)
                   if isinstance(q.graph_name, ox.NamedNode)})
