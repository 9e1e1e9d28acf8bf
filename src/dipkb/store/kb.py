"""The knowledge base: its files loaded into a pyoxigraph store, one named graph per file."""
from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pyoxigraph import NamedNode, Quad, QueryBoolean, QuerySolution, QuerySolutions, RdfFormat, Store, parse

from dipkb.errors import QueryError
from dipkb.model.namespaces import FILE_GRAPH_PREFIX, PREFIXES
from dipkb.sparql import guard
from dipkb.sparql.tokens import escaped
from dipkb.store.derivation import Vocabulary, derive, derived_graph, is_derived_graph
from dipkb.store.engine import Dataset, EmbeddedEngine, Engine, Term
from dipkb.store.layout import KBLayout
from dipkb.store.loading import load_files
from dipkb.store.tallies import EventClasses
from dipkb.util.ahead import in_order

if TYPE_CHECKING:
    from dipkb.store.index import OpenIndex


# What a KB keeps of what views worked out from it (KnowledgeBase.remembered): a page's counts are a
# few thousand numbers.
REMEMBERED = 64
T = TypeVar("T")


class KnowledgeBase:
    """A loaded knowledge base. Use :meth:`open`, as a context manager (``with KnowledgeBase.open()
    as kb:``) or with :meth:`close`; query with :meth:`query`, :meth:`select` or :meth:`ask`.

    ``engine`` answers the queries (see :mod:`dipkb.store.engine`). ``index`` is the on-disk index the
    store comes from (its refresh report, its lease on the store's files), None otherwise."""

    def __init__(self, layout: KBLayout, engine: Engine, index: OpenIndex | None = None):
        self.layout = layout
        self.engine = engine
        self.index = index
        self._remembered: OrderedDict[Hashable, object] = OrderedDict()
        self._remembering = threading.Lock()

    def remembered(self, key: Hashable, work: Callable[[], T]) -> T:
        """What ``work()`` returns, worked out once for ``key`` while an index generation is open: its
        data cannot change (a refresh commits a new one), and a server answers every request of that
        generation with this KB. The last REMEMBERED keys are kept; without an index, nothing is."""
        if self.index is None:
            return work()
        with self._remembering:
            if key in self._remembered:
                self._remembered.move_to_end(key)
                return self._remembered[key]  # type: ignore[return-value]
        value = work()  # outside the lock: two requests may work the same out, as they would without it
        with self._remembering:
            self._remembered[key] = value
            while len(self._remembered) > REMEMBERED:
                self._remembered.popitem(last=False)
        return value

    @property
    def store(self) -> Store:
        """The embedded engine's store, for the write-time code that works on it (validation of
        changed files, authoring, the importers' checks); the views never use it."""
        if not isinstance(self.engine, EmbeddedEngine):
            raise TypeError("This knowledge base is not answered by an embedded store.")
        return self.engine.store

    def close(self) -> None:
        """Release the index lease, so that a writer may replace the store's files; idempotent."""
        if self.index is not None:
            self.index.lease.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
            from dipkb.store.index import open_index

            opened = open_index(layout, progress=progress)
            return cls(layout, EmbeddedEngine(opened.store), opened)
        store = Store()
        load_files(store, layout, layout.ontology_files() + layout.kb_files())
        derive(store)
        return cls(layout, EmbeddedEngine(store))

    def query(self, text: str, bindings: Mapping[str, Term] | None = None, *, with_derived: bool = False,
              dataset: Dataset | None = None):
        """Run a read-only SPARQL query, with ``bindings`` substituted as RDF terms (never spliced
        into the text). The engine runs the guard's rebuilt text, never ``text`` itself (see
        :mod:`dipkb.sparql.guard`).

        The dataset is ``dataset`` when given, else the query's own when it has FROM or FROM NAMED
        clauses (SPARQL 1.1 §13.2). Otherwise SELECT and ASK read the union of every graph, derived
        triples included (the saved queries need them); CONSTRUCT and DESCRIBE, which return
        triples, read the union of the KB and ontology files without them, unless ``with_derived``."""
        safe, outline = _checked(text) if len(text) <= _CACHED_LENGTH else _check(text)
        try:
            return self._answer(safe.text, outline, bindings or {}, dataset, with_derived)
        except SyntaxError as error:
            message = " ".join(safe.locate(error.msg or str(error)).split())  # the engine's spans several lines
            raise QueryError(f"SPARQL syntax error: {guard.shorten_syntax_error(message)}") from None

    def _answer(self, text: str, outline: guard.Outline, bindings: Mapping[str, Term], dataset: Dataset | None,
                with_derived: bool):
        """The engine's answer to ``text``, a query the guard rebuilt, of the form and clauses ``outline``."""
        if dataset is None:
            dataset = self._dataset(outline, with_derived)
        # CONSTRUCT and DESCRIBE give triples; so does a query without a form, for the engine to refuse.
        answer = {guard.QueryForm.SELECT: self.engine.solutions,
                  guard.QueryForm.ASK: self.engine.ask}.get(outline.form, self.engine.triples)
        try:
            return answer(text, bindings, dataset)
        except OSError as error:
            raise QueryError(f"Query failed: {error}") from None

    def _dataset(self, outline: guard.Outline, with_derived: bool) -> Dataset:
        """The dataset a query of this outline reads when the caller names none."""
        if outline.names_dataset:
            if with_derived:
                named = outline.from_graphs + outline.from_named_graphs
                example = next((g for g in named if g.startswith(FILE_GRAPH_PREFIX)), FILE_GRAPH_PREFIX + "kb/FILE.ttl")
                raise QueryError("--with-derived applies to queries without FROM: a query with FROM or FROM NAMED "
                                 "reads the graphs it names. Name the derived ones too: "
                                 f"FROM <{derived_graph(example)}>.")
            # The union flag would make the engine ignore FROM (pyoxigraph 0.5.13); the clauses'
            # graphs as arguments give §13.2's dataset, an empty list an empty graph.
            return Dataset(tuple(outline.from_graphs), tuple(outline.from_named_graphs))
        if outline.form in (guard.QueryForm.CONSTRUCT, guard.QueryForm.DESCRIBE) and not with_derived:
            files = self._file_graphs()
            return Dataset(files, files)
        return Dataset()

    @functools.cached_property
    def event_classes(self) -> EventClasses:
        """dip:Event and its subclasses, as plain IRIs: as the index read them when it last derived
        (a query of the ontology cost a bundled timeline 30 ms of its 200), else from the store."""
        listed = Vocabulary.listed_classes(self.index.vocabulary) if self.index is not None else None
        return listed or EventClasses.from_rows((r["class"].value, r["sub"].value if "sub" in r else None)
                                                for r in self.select(EventClasses.QUERY))

    @functools.cached_property
    def dated_count(self) -> int:
        """How many dated things the index files under a time bucket (dip:timeBucket): one scan, a third
        of a second at a million events."""
        (row,) = self.select("SELECT (COUNT(*) AS ?n) WHERE { ?thing dip:timeBucket ?bucket }")
        return int(row["n"].value)

    def select(self, text: str, bindings: Mapping[str, Term] | None = None, *,
               dataset: Dataset | None = None) -> list[dict[str, Term]]:
        """A SELECT query's rows as dicts of bound variables (unbound ones are left out)."""
        return _rows(self.query(text, bindings, dataset=dataset))

    def select_for_each(self, text: str, iris: Sequence[str], chunk: int = 1000) -> list[dict[str, Term]]:
        """The rows of ``text`` whose ``%s`` is a VALUES block's list, filled with ``iris`` a thousand at a
        time: a look-up over thousands of things the store itself returned (see :meth:`select_values`)."""
        chunks = self._for_each(text, [(NamedNode(iri),) for iri in iris], chunk, {})
        return [row for names, rows in chunks for row in _as_dicts(names, rows)]

    def numbered_for_each(self, text: str, iris: Sequence[str], chunk: int = 1000) -> Iterator[QuerySolution]:
        """The solutions of ``text`` whose ``%s`` is the data of a ``VALUES (?x ?n)`` block: each of
        ``iris`` with its position in ``iris``. A query that projects ?n rather than ?x says which IRI a
        row is about without the engine looking the IRI up, a few microseconds a row at a million events."""
        rows = [(NamedNode(iri), n) for n, iri in enumerate(iris)]
        for _, solutions in self._for_each(text, rows, chunk, {}):
            yield from solutions

    def select_values(self, text: str, rows: Sequence[tuple[NamedNode | int, ...]],
                      bindings: Mapping[str, Term] | None = None, chunk: int = 1000) -> Iterator[QuerySolution]:
        """The solutions of ``text`` whose ``%s`` is a VALUES block's data, filled with ``rows`` (IRIs the
        store or the code made, numbers), ``chunk`` rows at a time, in order; ``bindings`` as in
        :meth:`query`. Only pyoxigraph's writing of a NamedNode (checked, escaped) or of an int goes in
        the block, after the guard has checked ``text``: tokenizing a thousand IRIs a chunk took 0.9 s of
        a 6,000-event timeline at a million events."""
        for _, solutions in self._for_each(text, rows, chunk, bindings or {}):
            yield from solutions

    def _for_each(self, text: str, rows: Sequence[tuple[NamedNode | int, ...]], chunk: int,
                  bindings: Mapping[str, Term]) -> Iterator[tuple[list[str], list[QuerySolution]]]:
        if not rows:
            return
        # The guard checks ``text`` once, with a placeholder row in the block, and the rows replace it
        # in the guard's text: a data block of IRIs and numbers holds nothing the engine could read
        # another way.
        placeholder = _values_row(tuple(0 if isinstance(term, int) else NamedNode(_PLACEHOLDER) for term in rows[0]))
        safe, outline = _checked(text % placeholder)
        guarded = placeholder.replace(_PLACEHOLDER, escaped(_PLACEHOLDER))
        before, found, after = safe.text.partition(guarded)
        if not found or guarded in after:
            raise ValueError(f"Expected one %s, as a VALUES block's data, in {text!r}.")

        def answer(start: int) -> tuple[list[str], list[QuerySolution]]:
            values = " ".join(_values_row(row) for row in rows[start:start + chunk])
            solutions = self._answer(before + values + after, outline, bindings, None, False)
            if not isinstance(solutions, QuerySolutions):
                raise QueryError("Expected a SELECT query.")
            return [v.value for v in solutions.variables], list(solutions)

        starts = range(0, len(rows), chunk)
        if len(starts) == 1:
            yield answer(0)
            return
        # The engine answers without the GIL: on two cores, two chunks at a time read the details of a
        # 6,000-event timeline at a million events in 0.26 s instead of 0.49, while the caller reads
        # the rows of the chunk before. A few chunks ahead at most, so that memory stays flat.
        from concurrent.futures import ThreadPoolExecutor  # here: it costs start-up, and one chunk needs none

        readers = min(_READERS, os.cpu_count() or 1)
        with ThreadPoolExecutor(readers) as pool:
            yield from in_order(pool, answer, starts, readers)

    def ask(self, text: str, bindings: Mapping[str, Term] | None = None) -> bool:
        """An ASK query's answer."""
        answer = self.query(text, bindings)
        if not isinstance(answer, QueryBoolean):
            raise QueryError("Expected an ASK query.")
        return bool(answer)

    def graph_ntriples(self, graph: str) -> bytes:
        """One named graph's triples as N-Triples, as stored."""
        return self.engine.graph(graph)

    def files_dataset(self) -> Dataset:
        """The files' graphs (the KB's and the ontology's) as the named graphs, and no default graph:
        for a query whose ``GRAPH ?g`` is to read what the files state, none of the derived graphs.
        The engine then reads each file's graph by name: counting what refers to the busiest actor by
        property at a million events took 0.09 s so, against 0.73 s reading every graph (the
        derived ones hold more than half of the quads that name an actor) and testing each
        quad's graph name."""
        return Dataset((), self._file_graphs())

    def _file_graphs(self) -> tuple[str, ...]:
        """The graphs of the KB's and the ontology's files: every graph but the derived ones."""
        return tuple(g for g in self.engine.graphs() if not is_derived_graph(NamedNode(g)))

    def kb_graphs(self) -> list[str]:
        """The file graphs of kb/ (not the ontology's, not the derived ones), sorted."""
        prefix = self.layout.graph_name(self.layout.kb_dir / "x")[: -len("x")]
        return sorted(g for g in self.engine.graphs() if g.startswith(prefix))

    def data_quads(self) -> list[Quad]:
        """The KB's own triples: every file graph of kb/, without ontology or derived triples."""
        # Graph by graph: a scan of the whole store would also walk the ontology and derived graphs.
        return [Quad(q.subject, q.predicate, q.object, NamedNode(g)) for g in self.kb_graphs()
                for q in parse(self.graph_ntriples(g), RdfFormat.N_TRIPLES)]


def _check(text: str) -> tuple[guard.SafeQuery, guard.Outline]:
    """The guard's text for the engine, and the query's form and dataset clauses."""
    safe = guard.prepare(text, PREFIXES)
    return safe, guard.outline(safe)


# The views run a few short texts many times with other bindings (a name look-up runs one per
# spelling), and the guard takes four times as long as the store to answer them. Long texts, such
# as VALUES of a thousand IRIs, are seldom repeated and would hold memory.
_CACHED_LENGTH = 2000
_checked = functools.lru_cache(maxsize=256)(_check)
_READERS = 4  # threads answering the chunks of a look-up at most, fewer on fewer cores
_PLACEHOLDER = "urn:dipkb:values"  # where select_values's IRIs go


def _values_row(row: tuple[NamedNode | int, ...]) -> str:
    """One row of a VALUES block's data: ``<a>`` for one variable, ``(<a> 1)`` for several."""
    terms = [str(term) if type(term) is int or type(term) is NamedNode else _not_a_value(term) for term in row]
    return terms[0] if len(terms) == 1 else "(" + " ".join(terms) + ")"


def _not_a_value(term: object) -> str:
    # Text, even a str subclass or a bool, would be spliced as written: only the two types above are safe.
    raise TypeError(f"A VALUES row holds NamedNodes and ints, not {type(term).__name__}: {term!r}")


def _rows(solutions: object) -> list[dict[str, Term]]:
    if not isinstance(solutions, QuerySolutions):
        raise QueryError("Expected a SELECT query.")
    return _as_dicts([v.value for v in solutions.variables], solutions)


def _as_dicts(names: list[str], solutions: Iterable[QuerySolution]) -> list[dict[str, Term]]:
    return [{n: v for n, v in zip(names, row) if v is not None} for row in solutions]
