"""The engine seam: the one small interface through which the knowledge base is read.

:class:`~dipkb.store.kb.KnowledgeBase` checks a query (the guard in :mod:`dipkb.sparql.guard`), works out its
dataset and asks an :class:`Engine` for solutions, triples or a yes/no. The views (timeline,
describe, stats, export's derived data, the query command) only talk to the KnowledgeBase, so they
do not know which engine answers. :class:`EmbeddedEngine`, the pyoxigraph store of the index or
of an in-memory load, is the first implementation; :class:`dipkb.store.remote.RemoteEngine`, a SPARQL
1.1 endpoint read over the protocol (``dipkb --endpoint``), is the second. Results are pyoxigraph's
result and term types, which a remote engine builds too
(``parse_query_results``, ``parse``): they are the data model, not the engine.

Not behind the seam, on purpose: building the index (loading, :mod:`dipkb.store.derivation`), the
shacl_* validation engine and the write-time checks of authoring and the importers work on the
embedded store itself (``KnowledgeBase.store``), at index, validation or write time, where only
the embedded engine exists.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple, Protocol

from pyoxigraph import Literal, NamedNode, QueryBoolean, QuerySolutions, RdfFormat, Store, Triple, Variable

Term = NamedNode | Literal


class Dataset(NamedTuple):  # not a dataclass: every command imports this, and a dataclass costs 0.8 ms
    """The RDF dataset a query reads (SPARQL 1.1 §13), by graph IRI.

    ``default_graphs`` None is the union of every graph, else the merge of the graphs named;
    ``named_graphs`` None is every named graph, else those named."""

    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None


class Engine(Protocol):
    """Answers checked, read-only SPARQL: ``query`` is the guard's text, ``bindings`` RDF terms
    substituted for variables of the projection. Errors: SyntaxError for a query the engine
    cannot parse, OSError when it fails to answer."""

    def solutions(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> QuerySolutions:
        """A SELECT query's solutions."""
        ...

    def triples(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> Iterable[Triple]:
        """A CONSTRUCT or DESCRIBE query's triples."""
        ...

    def ask(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> QueryBoolean:
        """An ASK query's answer."""
        ...

    def graphs(self) -> list[str]:
        """The IRIs of the named graphs."""
        ...

    def graph(self, iri: str) -> bytes:
        """One named graph's triples as N-Triples, as the Graph Store Protocol's GET gives them:
        a CONSTRUCT would take twice as long for the export's millions of derived triples."""
        ...


class EmbeddedEngine:
    """A pyoxigraph store in this process: the on-disk index, or an in-memory load."""

    def __init__(self, store: Store):
        self.store = store

    def solutions(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> QuerySolutions:
        return self._run(query, bindings, dataset)  # type: ignore[return-value]

    def triples(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> Iterable[Triple]:
        return self._run(query, bindings, dataset)  # type: ignore[return-value]

    def ask(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> QueryBoolean:
        return self._run(query, bindings, dataset)  # type: ignore[return-value]

    def graphs(self) -> list[str]:
        return [g.value for g in self.store.named_graphs() if isinstance(g, NamedNode)]

    def graph(self, iri: str) -> bytes:
        return self.store.dump(format=RdfFormat.N_TRIPLES, from_graph=NamedNode(iri))

    def _run(self, query: str, bindings: Mapping[str, Term], dataset: Dataset):
        substitutions = {Variable(name): term for name, term in bindings.items()}
        arguments: dict[str, object] = {}
        if dataset.default_graphs is None:
            arguments["use_default_graph_as_union"] = True
        else:
            arguments["default_graph"] = [NamedNode(g) for g in dataset.default_graphs]
        if dataset.named_graphs is not None:
            arguments["named_graphs"] = [NamedNode(g) for g in dataset.named_graphs]
        return self.store.query(query, substitutions=substitutions or None, **arguments)
