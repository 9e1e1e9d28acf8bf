"""What the index derives from each file graph: days, time buckets, participants, timeline rows and
tallies.

Derived triples computed from file graph G live in graph "urn:dipkb:derived:" + G, so that
replacing one file's graph can drop exactly its derived triples. Queries read the union of all
graphs and exports take file graphs only, so neither cares which derived graph a triple is in.
An event's days come from the file that dates it; a file naming participants of an event it does not
date files them under temporal.DATED_ELSEWHERE, for a date range to find them (facts.derive_graph).
"""
from __future__ import annotations

import inspect
import io
import sys
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from types import ModuleType

from pyoxigraph import NamedNode, Quad, RdfFormat, Store

from dipkb import errors
from dipkb.model import labels, namespaces
from dipkb.model import temporal
from dipkb.model.namespaces import DERIVED_GRAPH, DIP, FILE_GRAPH_PREFIX, RDFS
from dipkb.store import facts as facts_module
from dipkb.store import eventrows, tallies
from dipkb.store.facts import Derived, GraphFacts, derive_graph, read_facts


def derived_graph(file_graph: str) -> str:
    """The graph holding what is derived from the file graph named ``file_graph``."""
    return f"{DERIVED_GRAPH}:{file_graph}"


def is_derived_graph(graph: object) -> bool:
    """True for a graph of derived triples: never exported, never counted as authored data."""
    return isinstance(graph, NamedNode) and (graph.value == DERIVED_GRAPH
                                             or graph.value.startswith(DERIVED_GRAPH + ":"))


_ROLES_QUERY = f"SELECT ?role WHERE {{ ?role <{RDFS}subPropertyOf>+ <{DIP}participant> }}"
_TRIPLES_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <%s> { ?s ?p ?o } }"
_CITATIONS_QUERY = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <%s> {{ ?s <{DIP}source> ?o }} }}"
# Derived N-Quads are loaded in batches of this size: large enough for the bulk loader to pay off,
# small enough to keep a build's memory flat (batches of 128-256 MB made compaction longer and the
# build of a million events peak at 2.2-3.6 GB instead of 1.8).
_BATCH_BYTES = 32 << 20
_BULK_BYTES = 8 << 20  # of N-Quads, above which the bulk loader beats a transaction

# Not participant roles in the ontology (shapes and meeting counts leave them out: the alliance did
# not exist before its formation), but the formation belongs in the formed actor's timeline; and
# dip:participant itself, said when a source does not say in which role.
_FILED_UNDER = (DIP + "formedActor", DIP + "participant")


@dataclass(frozen=True)
class Vocabulary:
    """What the derivation reads from the ontology, or from a KB file that extends it: the
    participant roles, and the event classes with their subclasses. When it changes, the derived
    triples of any file may."""

    roles: frozenset[str]
    classes: tallies.EventClasses

    @classmethod
    def of(cls, store: Store) -> Vocabulary:
        roles = {row["role"].value for row in store.query(_ROLES_QUERY, use_default_graph_as_union=True)
                 if isinstance(row["role"], NamedNode)}
        classes = tallies.EventClasses.from_rows(
            (str(row["class"]), str(row["sub"]) if row["sub"] else None)
            for row in store.query(tallies.EventClasses.QUERY, use_default_graph_as_union=True))
        return cls(frozenset({*roles, *_FILED_UNDER}), classes)

    def listing(self) -> list[str]:
        """The vocabulary as lines of text, for the index's manifest to compare and
        :meth:`listed_classes` to read."""
        return sorted(self.roles) + sorted(f"{c} > {' '.join(sorted(subs))}" for c, subs in self.classes.below.items())

    @staticmethod
    def listed_classes(listing: list[str]) -> tallies.EventClasses | None:
        """The event classes of a :meth:`listing`, with plain IRIs (as the timeline names them); None
        for a listing without any."""
        below = {head.strip("<>"): frozenset(sub.strip("<>") for sub in subs.split())
                 for head, is_class, subs in (line.partition(" > ") for line in listing) if is_class}
        return tallies.EventClasses(below) if below else None


class Deriver:
    """Derives file graphs as they are loaded, from any number of threads, and loads what it
    derives in batches; :meth:`finish` loads the rest. A graph's triples come from the parser
    (:meth:`add_parsed`) or from the store (:meth:`add_stored`)."""

    def __init__(self, store: Store, vocabulary: Vocabulary):
        self.store, self.vocabulary = store, vocabulary
        self._lock, self._pending, self._from_store = threading.Lock(), io.BytesIO(), []
        # Whether a parsed file declares a subclass or a subproperty, or could not be read for one:
        # until one does, the files loaded leave the vocabulary as it was.
        self.parsed_declarations = False

    def add_parsed(self, graph: str, quads: Iterable[Quad]) -> None:
        """Derive file graph ``graph``, already loaded, from ``quads``, the file's triples as parsed.
        Should a derived triple name a blank node, or the file hold a term longer than the parser
        takes (MemoryError), the graph is derived from the store in :meth:`finish` instead."""
        try:
            facts = read_facts(quads, self.vocabulary.roles)
        except MemoryError:
            facts = None
        if facts is None or facts.declares_vocabulary:
            self.parsed_declarations = True
        if facts is None or facts.has_blank_nodes:
            with self._lock:
                self._from_store.append(graph)
            return
        self._load(self._derive(graph, facts))

    def add_stored(self, graph: str) -> None:
        """Derive file graph ``graph`` from its triples in the store."""
        self._load(self._derive(graph, read_facts(self.store.quads_for_pattern(None, None, None, NamedNode(graph)),
                                                  self.vocabulary.roles)))

    def finish(self) -> None:
        """Derive the graphs left for the store, and load everything derived."""
        for graph in self._from_store:
            self.add_stored(graph)
        self._from_store = []
        with self._lock:
            text, self._pending = self._pending.getvalue(), io.BytesIO()
        self._load_text(text)

    def _derive(self, graph: str, facts: GraphFacts) -> Derived:
        def count(query: str) -> int:
            return int(next(iter(self.store.query(query % graph)))["n"].value)
        # Counted in the store, which keeps a triple stated twice once.
        return derive_graph(facts, graph, derived_graph(graph), triples=count(_TRIPLES_QUERY),
                            citations=count(_CITATIONS_QUERY), classes=self.vocabulary.classes)

    def _load(self, derived: Derived) -> None:
        if derived.quads:
            self.store.extend(derived.quads)
        with self._lock:
            self._pending.write(derived.text)
            if self._pending.tell() < _BATCH_BYTES:
                return
            text, self._pending = self._pending.getvalue(), io.BytesIO()
        self._load_text(text)

    def _load_text(self, text: bytes) -> None:
        # The bulk loader writes table files directly: far faster for millions of quads (2M as one
        # transaction took minutes and 4 GB), slower for a few.
        if text:
            (self.store.bulk_load if len(text) > _BULK_BYTES else self.store.load)(input=text, format=RdfFormat.N_QUADS)


# This module and every dipkb module it builds on, whole: a list of functions was kept by hand, and a
# helper left off it meant an index that did not rebuild when the derivation changed. A change that
# derives nothing new (a comment) rebuilds the index too, which is only time. test_model_once checks
# that every dipkb module imported from here, directly or not, is listed.
DERIVATION_MODULES: tuple[ModuleType, ...] = (sys.modules[__name__], facts_module, eventrows, tallies,
                                               temporal, namespaces, labels, errors)


def source_text(modules: Iterable[ModuleType]) -> str:
    """The source of ``modules``, or the installed version of dipkb when no source was shipped."""
    try:
        return "".join(inspect.getsource(module) for module in modules)
    except OSError:
        import importlib.metadata  # here: it costs every command ~20 ms of start-up

        return importlib.metadata.version("dipkb")


def derivation_source() -> str:
    """The code that decides what is derived, so that the index can tell when it changed."""
    return source_text(DERIVATION_MODULES)


def file_graphs(store: Store) -> list[str]:
    """The names of the store's file graphs (KB and ontology files), sorted."""
    return sorted(g.value for g in store.named_graphs()
                  if isinstance(g, NamedNode) and g.value.startswith(FILE_GRAPH_PREFIX))


def derive(store: Store, graphs: Collection[str] | None = None) -> None:
    """Materialise what queries need to be simple and fast (facts.derive_graph) for the file graphs
    named ``graphs``, None for all of them, from their triples in the store. The index derives the
    files it loads from the parser instead, with a :class:`Deriver`."""
    if graphs is None:
        graphs = file_graphs(store)
        stale = [g for g in store.named_graphs() if is_derived_graph(g)]
    else:
        stale = [NamedNode(derived_graph(g)) for g in graphs]
    for graph in stale:
        store.remove_graph(graph)
    deriver = Deriver(store, Vocabulary.of(store))
    for graph in sorted(graphs):
        deriver.add_stored(graph)
    deriver.finish()
