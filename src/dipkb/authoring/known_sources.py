"""The KB's sources as a draft names them: by IRI, by title or by URL, each looked up when a draft asks
(and remembered), not read whole first. A million events come with 370,000 sources, whose reading took
`dipkb add` 20 of its 40 s, for one event naming one source.

A new source reuses a source of the KB with the same URL, else one with the same exact title (in the
draft's language, or with none) and no other URL. Dataset records (dip:DatasetRecord) are never
reused: a record is one coded row, and many rows carry the URL of the same article, so the article
itself is a source of its own.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable

from pyoxigraph import Literal, NamedNode

from dipkb.model.namespaces import DIP, XSD
from dipkb.model.terms import iri_node, is_language_tag
from dipkb.store.engine import Term
from dipkb.store.kb import KnowledgeBase

_SOURCE_CLASSES = "SELECT ?c WHERE { ?c rdfs:subClassOf* dip:Source }"
_CLASSES = "SELECT ?s ?c WHERE { VALUES ?s { %s } ?s a ?c }"
# Plain patterns with the object bound: the engine answers from its object index.
_TITLED = "SELECT ?s ?title WHERE { { ?s dct:title ?title } UNION { ?s rdfs:label ?title } }"
_URL = "SELECT ?s ?url WHERE { ?s dip:url|schema:url ?url }"
# A name in no usual spelling: the first is looked for among every title and label of the KB by the
# engine (3.7 s at a million events); from the second on, every title of a source is read once (6 s)
# and each is looked up in Python, so that a file naming many unknown sources pays for that once.
_TITLED_IN_ANY_CASE = """SELECT ?s ?needle WHERE {
  { ?s dct:title ?title } UNION { ?s rdfs:label ?title } FILTER(LCASE(STR(?title)) = ?needle) }"""
_TITLES = "SELECT ?s ?title WHERE { { ?s dct:title ?title } UNION { VALUES ?c { %s } ?s a ?c ; rdfs:label ?title } }"
_ISSUED = "SELECT ?s ?d WHERE { ?s dct:issued ?d }"
_RECORD = DIP + "DatasetRecord"


class KnownSources:
    """Look-ups of the KB's sources for the drafts of one command."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.source_classes = frozenset(row["c"].value for row in kb.select(_SOURCE_CLASSES))
        self._classes: dict[str, frozenset[str]] = {}
        self._looked_in_any_case = False
        self.titled = functools.cache(self._titled)
        self.with_url = functools.cache(self._with_url)
        self.with_title = functools.cache(self._with_title)
        self.urls_of = functools.cache(self._urls_of)
        self.issued_of = functools.cache(self._issued_of)

    def _issued_of(self, iri: str) -> tuple[tuple[str, str], ...]:
        """When the KB's source ``iri`` was published: (lexical form, datatype) of each dct:issued."""
        return tuple((row["d"].value, row["d"].datatype.value) for row in self.kb.select(_ISSUED, {"s": NamedNode(iri)})
                     if isinstance(row["d"], Literal))

    def is_source(self, iri: str) -> bool:
        # Text a user typed: not an IRI at all, it names no source of the KB.
        return iri_node(iri) is not None and bool(self._sources({iri}, records=True))

    def _titled(self, text: str, language: str) -> frozenset[str]:
        """Sources, dataset records included, with ``text`` as their title or label in any case: looked
        up as typed and in its usual casings, in ``language``, English or none, and only when none of
        those matches, among every title."""
        text = text.strip()
        spellings = {text, text.lower(), text.title(), text.capitalize(), text.upper()}
        found = self._subjects(_TITLED, "title", _literals(spellings, {language, "en"})) or self._in_any_case(text)
        return frozenset(self._sources(found, records=True))

    def _in_any_case(self, text: str) -> set[str]:
        needle = text.lower()
        if not self._looked_in_any_case:
            self._looked_in_any_case = True
            return {row["s"].value for row in self.kb.select(_TITLED_IN_ANY_CASE, {"needle": Literal(needle)})}
        return self._every_title.get(needle, set())

    @functools.cached_property
    def _every_title(self) -> dict[str, set[str]]:
        """The titles, and the labels of sources, lower-cased, with what has them."""
        titles: dict[str, set[str]] = {}
        classes = [(NamedNode(c),) for c in sorted(self.source_classes)]
        for subject, title in self.kb.select_values(_TITLES, classes, chunk=len(classes)):
            if isinstance(subject, NamedNode):
                titles.setdefault(title.value.lower(), set()).add(subject.value)
        return titles

    def _with_url(self, url: str) -> frozenset[str]:
        """Sources, not records, with ``url`` as their dip:url or schema:url, whichever way it is written."""
        values: list[Term] = [Literal(url, datatype=NamedNode(XSD + "anyURI")), Literal(url)]
        if (node := iri_node(url)) is not None:  # else no schema:url of the KB is this URL either
            values.append(node)
        return frozenset(self._sources(self._subjects(_URL, "url", values), records=False))

    def _with_title(self, title: str, language: str) -> frozenset[str]:
        """Sources, not records, with exactly ``title`` as their title or label, in ``language`` or none."""
        return frozenset(self._sources(self._subjects(_TITLED, "title", _literals({title}, {language})),
                                       records=False))

    def _urls_of(self, iri: str) -> frozenset[str]:
        return frozenset(row["url"].value.strip() for row in self.kb.select(_URL, {"s": NamedNode(iri)}))

    def reusable(self, title: str | None, url: str | None, language: str) -> set[str]:
        """The sources of the KB a new source with ``title`` and ``url`` is: by URL first, else by exact
        title when the source has no other URL (two pages may share a headline)."""
        if url and self.with_url(url):
            return set(self.with_url(url))
        found = set(self.with_title(title, language)) if title else set()
        if url:
            found = {iri for iri in found if not self.urls_of(iri) - {url}}
        return found

    def _subjects(self, query: str, variable: str, values: Iterable[Term]) -> set[str]:
        return {row["s"].value for value in values for row in self.kb.select(query, {variable: value})
                if isinstance(row["s"], NamedNode)}

    def _sources(self, iris: set[str], *, records: bool) -> set[str]:
        """Those of ``iris`` typed as sources; dataset records only with ``records``."""
        unknown = sorted(iris - self._classes.keys())
        for iri in unknown:
            self._classes[iri] = frozenset()
        for row in self.kb.select_for_each(_CLASSES, unknown):
            self._classes[row["s"].value] |= {row["c"].value}
        return {iri for iri in iris if self._classes[iri] & self.source_classes
                and (records or _RECORD not in self._classes[iri])}


def _literals(texts: Iterable[str], languages: Iterable[str]) -> list[Literal]:
    """Each text as a plain literal and in each of ``languages`` that is a language tag (a draft's
    invalid one is reported by add.resolve_draft, not here)."""
    tags = [tag for tag in languages if is_language_tag(tag)]
    return [literal for text in texts for literal in (Literal(text), *(Literal(text, language=tag) for tag in tags))]
