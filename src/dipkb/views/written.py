"""A CONSTRUCT or DESCRIBE answer with its literals as the KB's files write them.

The store keeps a literal of a type it knows in canonical form ("05"^^xsd:integer as "5",
"2021-07-09T10:30:00.000+00:00" as "2021-07-09T10:30:00Z"), and a graph answer comes from the store.
A triple the files state is given back as they write it, as the export gives it: the files of its
subject are read for the literals the store rewrote (:class:`dipkb.store.written_forms.WrittenForms`).
A triple only the query makes (a CONSTRUCT template's own predicate) keeps the store's form: no file
wrote it. A blank node's literals too: the store renamed the node, so it cannot be matched.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from pyoxigraph import NamedNode, QueryBoolean, QuerySolutions, Triple

from dipkb.store.engine import EmbeddedEngine
from dipkb.store.kb import KnowledgeBase
from dipkb.store.written_forms import Canonical, WrittenForms, may_be_rewritten, maybe_typed, triple_graphs

# Triples looked up at a time: their subjects' files are read once, for all of them.
BATCH = 10_000

_GRAPHS_OF_SUBJECTS = "SELECT DISTINCT ?g WHERE { VALUES ?s { %s } GRAPH ?g { ?s ?p ?o } }"


def as_written(kb: KnowledgeBase, answer: QuerySolutions | QueryBoolean | Iterable[Triple]):
    """A graph answer's triples, each stated with a literal the files write in another form given in
    each form written; a SELECT or ASK answer as it is (a value bound in a solution may come from any
    triple, or none). A remote engine's answer too: the server holds what was pushed to it, from
    these files or others."""
    if isinstance(answer, (QuerySolutions, QueryBoolean)) or not isinstance(kb.engine, EmbeddedEngine):
        return answer
    return _written(kb, answer)


def _written(kb: KnowledgeBase, triples: Iterable[Triple]) -> Iterator[Triple]:
    files = {kb.layout.graph_name(path): path for path in kb.layout.ontology_files() + kb.layout.kb_files()}
    canonical, forms, read = Canonical(), WrittenForms({}, {}, set()), set()
    triples = iter(triples)
    while batch := list(islice(triples, BATCH)):
        subjects = sorted({t.subject.value for t in batch if may_be_rewritten(t) and type(t.subject) is NamedNode})
        for graph in sorted({row["g"].value for row in kb.select_for_each(_GRAPHS_OF_SUBJECTS, subjects)} - read):
            read.add(graph)
            if graph in files:  # not a graph the index derived
                forms.add(graph, maybe_typed(files[graph]), canonical)
        for triple in batch:
            key = (triple.subject, triple.predicate.value, triple.object)
            if key not in forms.written:
                yield triple
                continue
            holding = set(triple_graphs(kb.engine.store, triple.subject, triple.predicate, triple.object))
            for form in forms.forms(key, holding):
                yield Triple(triple.subject, triple.predicate, form)
