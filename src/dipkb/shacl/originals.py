"""The SPARQL engine's side of the store: terms as pyshacl reads them, and which files hold what.

Literals as written: the store keeps canonical forms, and pyshacl sees the file's, on which
sh:datatype, sh:pattern and the reported sh:value depend; :class:`dipkb.store.written_forms.Originals`
gives them back.

Files. A finding is placed in a file that describes its focus node; incremental validation reads the
files around the subjects of the files it validates (:func:`context_graphs`).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import pyoxigraph as ox
import rdflib

from dipkb.model.labels import label_order
from dipkb.model.namespaces import KB_BASE, RDFS, XSD
from dipkb.store.written_forms import Term
from dipkb.util.paths import display_path

_LABEL = ox.NamedNode(RDFS + "label")


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


# --- The files around some subjects -------------------------------------------------------------


def subject_graphs(store: ox.Store, node: ox.NamedNode | ox.BlankNode) -> list[str]:
    """The named graphs holding triples about ``node``."""
    return sorted({q.graph_name.value for q in store.quads_for_pattern(node, None, None)
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
