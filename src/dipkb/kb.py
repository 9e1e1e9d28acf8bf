"""The knowledge base: its files loaded into a pyoxigraph store, one named graph per file."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode, Quad, QuerySolutions, Store, Variable

from dipkb import sparql
from dipkb.derivation import derive, derived_graph, is_derived_graph
from dipkb.errors import QueryError
from dipkb.layout import KBLayout
from dipkb.loading import load_files
from dipkb.namespaces import FILE_GRAPH_PREFIX, PREFIXES

if TYPE_CHECKING:
    from dipkb.index import OpenIndex

Term = NamedNode | Literal


class KnowledgeBase:
    """A loaded knowledge base. Use :meth:`open`; query with :meth:`query` or :meth:`select`.

    ``index`` is the on-disk index the store comes from (its refresh report, its lease on the
    store's files), None for an in-memory store."""

    def __init__(self, layout: KBLayout, store: Store, index: OpenIndex | None = None):
        self.layout = layout
        self.store = store
        self.index = index

    @classmethod
    def open(cls, kb: str | Path | None = None, *, layout: KBLayout | None = None, index: bool = True,
             progress: bool | None = None) -> KnowledgeBase:
        """Open the KB for querying.

        With ``index`` (the default) the store is the on-disk index beside the KB, refreshed first
        for the files that changed, and opened read-only; ``progress`` shows the refresh on stderr
        (None: when stderr is a terminal). Without it, the ontology and KB files are loaded into a
        fresh in-memory store, which the caller may change."""
        layout = layout or KBLayout.locate(kb)
        if index:
            # Imported here: the index module builds on this one's loading and derivation.
            from dipkb.index import open_index

            opened = open_index(layout, progress=progress)
            return cls(layout, opened.store, opened)
        store = Store()
        load_files(store, layout, layout.ontology_files() + layout.kb_files())
        derive(store)
        return cls(layout, store)

    def query(self, text: str, bindings: Mapping[str, Term] | None = None, *, with_derived: bool = False):
        """Run a read-only SPARQL query, with ``bindings`` substituted as RDF terms (never spliced
        into the text). The engine runs the guard's rebuilt text, never ``text`` itself (see
        :mod:`dipkb.sparql`).

        The dataset is the query's own when it has FROM or FROM NAMED clauses (SPARQL 1.1 §13.2).
        Otherwise SELECT and ASK read the union of every graph, derived triples included (the saved
        queries need them); CONSTRUCT and DESCRIBE, which return triples, read the union of the KB
        and ontology files without them, unless ``with_derived``."""
        safe = sparql.prepare(text, PREFIXES)
        dataset = self._dataset(sparql.outline(safe), with_derived)
        substitutions = {Variable(name): term for name, term in (bindings or {}).items()}
        try:
            return self.store.query(safe.text, substitutions=substitutions or None, **dataset)
        except SyntaxError as error:
            message = " ".join(safe.locate(error.msg or str(error)).split())  # the engine's spans several lines
            raise QueryError(f"SPARQL syntax error: {_shorten(message)}") from None
        except OSError as error:
            raise QueryError(f"Query failed: {error}") from None

    def _dataset(self, outline: sparql.Outline, with_derived: bool) -> dict[str, object]:
        """``Store.query``'s dataset arguments for a query of this outline."""
        if outline.names_dataset:
            if with_derived:
                named = outline.from_graphs + outline.from_named_graphs
                example = next((g for g in named if g.startswith(FILE_GRAPH_PREFIX)), FILE_GRAPH_PREFIX + "kb/FILE.ttl")
                raise QueryError("--with-derived applies to queries without FROM: a query with FROM or FROM NAMED "
                                 "reads the graphs it names. Name the derived ones too: "
                                 f"FROM <{derived_graph(example)}>.")
            # The union flag would make the engine ignore FROM (pyoxigraph 0.5.13); the clauses'
            # graphs as arguments give §13.2's dataset, an empty list an empty graph.
            return {"default_graph": [NamedNode(g) for g in outline.from_graphs],
                    "named_graphs": [NamedNode(g) for g in outline.from_named_graphs]}
        if outline.form in (sparql.QueryForm.CONSTRUCT, sparql.QueryForm.DESCRIBE) and not with_derived:
            files = [g for g in self.store.named_graphs() if not is_derived_graph(g)]
            return {"default_graph": files, "named_graphs": files}
        return {"use_default_graph_as_union": True}

    def select(self, text: str, bindings: Mapping[str, Term] | None = None) -> list[dict[str, Term]]:
        """A SELECT query's rows as dicts of bound variables (unbound ones are left out)."""
        solutions = self.query(text, bindings)
        if not isinstance(solutions, QuerySolutions):
            raise QueryError("Expected a SELECT query.")
        names = [v.value for v in solutions.variables]
        return [{n: v for n, v in zip(names, row) if v is not None} for row in solutions]

    def data_quads(self) -> list[Quad]:
        """The KB's own triples: every file graph of kb/, without ontology or derived triples."""
        prefix = self.layout.graph_name(self.layout.kb_dir / "x")[: -len("x")]
        # Graph by graph: a scan of the whole store would also walk the ontology and derived graphs.
        graphs = sorted((g for g in self.store.named_graphs()
                         if isinstance(g, NamedNode) and g.value.startswith(prefix)), key=lambda g: g.value)
        return [q for g in graphs for q in self.store.quads_for_pattern(None, None, None, g)]


def _shorten(message: str) -> str:
    """Oxigraph lists every token it would accept; the first few say enough."""
    head, sep, alternatives = message.partition("expected one of ")
    if not sep:
        return message
    options = alternatives.split(", ")
    return head + sep + ", ".join(options[:6]) + (f", ... ({len(options) - 6} more)" if len(options) > 6 else "")
