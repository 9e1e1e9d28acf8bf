"""SHACL validation of the knowledge base: syntax first, then the shapes; every finding has a place."""
from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from pathlib import Path

import pyoxigraph
import rdflib

from dipkb.errors import KBNotFoundError, KBSyntaxError, SyntaxProblem
from dipkb.model.namespaces import FILE_GRAPH_PREFIX, SH
from dipkb.shacl import batches, compiler, vocabulary
from dipkb.shacl import originals as shacl_store
from dipkb.shacl.findings import Finding, Severity, ValidationReport, sort_key
from dipkb.shacl.originals import SubjectLocator, quiet_rdflib, rdflib_term
from dipkb.store.written_forms import Originals, WrittenForms
from dipkb.shacl.placement import ntriples_term, placed, placed_finding
from dipkb.shacl.reach import reach
from dipkb.shacl.reference import parsed_files, pyshacl_findings
from dipkb.shacl.shapes import ShapeSet, UnsupportedShapeError
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import DATA_SUFFIXES, KBLayout
from dipkb.store.loading import load_files
from dipkb.util import forked
from dipkb.util.paths import display_path, file_stamps

_SH = rdflib.Namespace(SH)


class Engine(Enum):
    """How the shapes are run. Both give the same findings; SPARQL is the fast one, pyshacl the reference."""

    AUTO = "auto"  # SPARQL
    PYSHACL = "pyshacl"  # pyshacl over an rdflib graph: ~11 ms per event
    SPARQL = "sparql"  # each constraint one query over every focus node (dipkb.shacl.compiler)


# --- The shapes --------------------------------------------------------------------------------


def load_shapes(layout: KBLayout) -> rdflib.Graph:
    """The shapes, as a new graph: pyshacl adds triples to the one it is given."""
    return parsed_files(_shapes_files(layout))


def shape_set(layout: KBLayout) -> ShapeSet:
    """The shapes of the SPARQL engine, read once in a process while their files stay as they are (an
    import checks its rows in many batches; a golden test validates hundreds of KBs): 75 ms a time."""
    files = _shapes_files(layout)
    return _shape_set(tuple(files), file_stamps(files))


@functools.lru_cache(maxsize=4)
def _shape_set(files: tuple[Path, ...], stamps: tuple) -> ShapeSet:
    return ShapeSet(parsed_files(files))


def _shapes_files(layout: KBLayout) -> list[Path]:
    if not layout.shapes_files():  # validating against no shapes would pass anything
        raise KBNotFoundError(f"No SHACL shapes (shapes*.ttl) in {display_path(layout.ontology_dir)}.")
    return layout.shapes_files()


# --- Validating a knowledge base ----------------------------------------------------------------


# The SPARQL engine runs the shapes on two threads from a KB this big (~20k events). Threads, not
# forked processes: as fast (20k and 100k events, 2 cores), and a forked worker copies pages of the
# store it shares with its parent (100k events: 1.1 GB in all against 0.5 GB on threads).
_THREADS_QUADS = 200_000
# From this many bytes of data files, the SPARQL engine loads the KB in a child process that ends
# without freeing the store (dipkb.util.forked): about 0.5 µs a quad, 5-8 s at 1M events.
_CHILD_BYTES = 8 << 20


def validate(layout: KBLayout, paths: Sequence[Path] | None = None, *,
             engine: Engine = Engine.AUTO) -> ValidationReport:
    """Check every file's syntax, then the whole KB against the shapes.

    With ``paths``, those files are validated in the context of the whole KB (a file outside it is
    added to it) and only findings whose focus node is defined in them are reported; files of a KB
    with an on-disk index are validated against it, with :func:`validate_changed`.
    Raises KBSyntaxError listing every file that does not parse, KBNotFoundError for a missing path,
    UnsupportedShapeError when the SPARQL engine meets a SHACL feature it does not implement.

    From _CHILD_BYTES of data files, the SPARQL engine loads and checks the KB in a forked child
    process (dipkb.util.forked), so call this from a process with no other threads running; from
    twice dipkb.shacl.batches.BATCH_BYTES, the whole KB in batches of files (each in a child of that
    child), where the shapes allow it."""
    kb_files = layout.kb_files()
    chosen = [_existing(Path(p)) for p in paths] if paths is not None else None
    known = {p.resolve() for p in kb_files}
    extra = [p for p in dict.fromkeys(chosen or []) if p not in known]
    data_files = kb_files + extra
    for path in extra:
        if path.suffix not in DATA_SUFFIXES:
            raise KBSyntaxError([SyntaxProblem(display_path(path), None, None,
                                               "not a Turtle (.ttl) or N-Triples (.nt) file")])
    if engine is not Engine.PYSHACL and chosen is not None and not extra and _has_index(layout):
        # The index has the KB loaded already: read only what the files touch (validate_changed).
        load_files(pyoxigraph.Store(), layout, layout.shapes_files())  # their syntax, as below
        with KnowledgeBase.open(layout=layout) as kb:  # refreshes the index first, checking changed files
            return validate_changed(kb, chosen)
    if engine is not Engine.PYSHACL and forked.can_fork() \
            and sum(p.stat().st_size for p in data_files) >= _CHILD_BYTES:
        findings = forked.in_child(functools.partial(_loaded_findings, layout, data_files, chosen, engine,
                                                     in_child=True))
    else:
        findings = _loaded_findings(layout, data_files, chosen, engine)
    return ValidationReport(sorted(findings, key=sort_key),
                            files_checked=len(chosen) if chosen is not None else len(kb_files))


def _loaded_findings(layout: KBLayout, data_files: list[Path], chosen: list[Path] | None, engine: Engine, *,
                     in_child: bool = False) -> list[Finding]:
    """The findings of a store holding the whole KB, or of batches of it; ``in_child``: the store is
    left to the exit of the child process this runs in."""
    if engine is not Engine.PYSHACL and chosen is None \
            and sum(p.stat().st_size for p in data_files) >= 2 * batches.BATCH_BYTES:
        found = _batched_findings(layout, data_files)
        if found is not None:
            return found
    store = pyoxigraph.Store()
    files = layout.ontology_files() + data_files
    with ThreadPoolExecutor(1) as pool:
        # The whole KB: the literals the files wrote are read (Python) while Oxigraph loads the files
        # without the GIL (1M events: ~35 s each, overlapped). A scoped run reads only a few files.
        forms = pool.submit(WrittenForms.read, files, layout.graph_name) \
            if engine is not Engine.PYSHACL and chosen is None else None
        try:
            load_files(store, layout, layout.ontology_files() + layout.shapes_files() + data_files)
        except KBSyntaxError:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    # The files asked for come first, so a node they share with another file is placed in them.
    locator = SubjectLocator(list(dict.fromkeys((chosen or []) + data_files + layout.ontology_files())))
    for path in layout.shapes_files():  # the data graph is the union of the store's graphs
        store.remove_graph(pyoxigraph.NamedNode(layout.graph_name(path)))
    scope = compiler.Scope(tuple(layout.graph_name(p) for p in chosen)) if chosen is not None else None
    if engine is Engine.PYSHACL:  # the reference engine: the store only places its findings
        by_graph = {layout.graph_name(p): p for p in files}
        shapes = load_shapes(layout)
        declared = shapes.value(rdflib.URIRef(vocabulary.SHAPE), _SH.severity)
        return vocabulary.findings(store, layout, scope, locator, by_graph, declared and str(declared)) + [
            placed_finding(store, f, locator, by_graph) for f in pyshacl_findings(layout, shapes, data_files, chosen)]
    threads = min(2, os.cpu_count() or 1) if len(store) > _THREADS_QUADS else 1  # len() walks every quad
    originals = forms.result().originals(store) if forms is not None else None
    findings = sparql_findings(store, layout, files, locator, scope, threads=threads, originals=originals)
    if in_child:
        forked.keep_until_exit(store)
    return findings


def _batched_findings(layout: KBLayout, data_files: list[Path], *,
                      batch_bytes: int | None = None) -> list[Finding] | None:
    """The whole KB's findings from batches of files (dipkb.shacl.batches), or None where batches
    cannot give them: shapes that read too far, batches that would fetch more than the KB again, or
    a problem in the shapes, which the whole KB's load reports after the files' syntax."""
    try:
        shapes = shape_set(layout)
    except (KBSyntaxError, UnsupportedShapeError):
        return None
    reads = reach(shapes)
    if not reads.local:
        return None

    def check(store: pyoxigraph.Store, files: list[Path], originals: Originals, used: set[str]) -> list[Finding]:
        return sparql_findings(store, layout, files, SubjectLocator(files), shapes=shapes, originals=originals,
                               used_terms=used)
    return batches.findings(layout, data_files, reads, check, batch_bytes=batch_bytes or batches.BATCH_BYTES,
                            workers=min(2, os.cpu_count() or 1))


def validate_changed(kb: KnowledgeBase, paths: Sequence[Path] | None = None) -> ValidationReport:
    """Validate files of an open KB in the context of the whole KB, with the SPARQL engine, reading
    only what they touch: about a second for a 1,000-event file whatever the size of the KB, where
    :func:`validate` loads it all. Without ``paths``: the KB files the index refreshed when the KB was
    opened (all of them if an ontology file changed; none for an in-memory KB).

    The files' own subjects are the focus nodes, as with ``validate(layout, paths)``. ``kb.store``
    finds the files that describe what those subjects refer to; they and the ontology are loaded
    into a fresh store, because the KB's store also holds derived triples (dip:participant for every
    role...) that are not data and that the shapes must not see. The findings are validate()'s: where
    the shapes read further than those files hold (dipkb.shacl.reach), the whole KB is loaded instead.
    Raises KBNotFoundError for a path that is not a file of the KB."""
    layout = kb.layout
    by_graph = {layout.graph_name(p): p for p in layout.kb_files() + layout.ontology_files()}
    if paths is None:
        paths = _refreshed(kb, by_graph)
    chosen = [_existing(Path(p)) for p in paths]
    graphs = [layout.graph_name(p) for p in chosen]
    for path, graph in zip(chosen, graphs):
        if graph not in by_graph or not kb.store.contains_named_graph(pyoxigraph.NamedNode(graph)):
            raise KBNotFoundError(f"Not a file of the open knowledge base: {display_path(path)}; "
                                  f"validate it with validate(layout, paths) instead.")
    shapes = shape_set(layout)
    reads = reach(shapes)
    if not reads.local:
        findings = _loaded_findings(layout, layout.kb_files(), chosen, Engine.SPARQL)
        return ValidationReport(sorted(findings, key=sort_key), files_checked=len(chosen))
    needed = shacl_store.context_graphs(kb.store, graphs, by_graph.__contains__, reads.everywhere)
    files = [p for p in dict.fromkeys(chosen + layout.kb_files() + layout.ontology_files())
             if layout.graph_name(p) in needed]
    store = pyoxigraph.Store()
    load_files(store, layout, files)
    locator = SubjectLocator(files)
    findings = sparql_findings(store, layout, files, locator, compiler.Scope(tuple(graphs)), shapes=shapes)
    return ValidationReport(sorted(findings, key=sort_key), files_checked=len(chosen))


def _has_index(layout: KBLayout) -> bool:
    """Whether the KB has an on-disk index beside it (dipkb.store.index; its fallback location in a cache
    directory is not looked for)."""
    return (layout.index_dir / "manifest.json").is_file()


def _refreshed(kb: KnowledgeBase, by_graph: dict[str, Path]) -> list[Path]:
    if kb.index is None:
        return []
    report = kb.index.report
    names = [FILE_GRAPH_PREFIX + name for name in report.added + report.changed]
    if report.rebuilt or any(name.startswith(FILE_GRAPH_PREFIX + "ontology/") for name in names):
        return kb.layout.kb_files()  # targets and classes may have moved under every file
    return [by_graph[name] for name in names if name in by_graph]


def sparql_findings(store: pyoxigraph.Store, layout: KBLayout, files: list[Path], locator: SubjectLocator,
                    scope: compiler.Scope | None = None, threads: int = 1,
                    originals: Originals | None = None, shapes: ShapeSet | None = None,
                    used_terms: set[str] | None = None) -> list[Finding]:
    """The SPARQL engine's findings, and the undeclared terms of dipkb's namespaces, placed by
    ``locator``: ``store`` holds ``files``, each in its graph (layout.graph_name), and nothing else;
    ``scope`` limits the focus nodes to some of those graphs. ``originals``: those of the files
    scanned, if already found; ``shapes``: the layout's, if loaded; ``used_terms``: the IRIs the
    data uses as predicate or object, if known (dipkb.shacl.vocabulary)."""
    scope = scope or compiler.Scope()
    shapes = shapes or shape_set(layout)
    by_graph = {layout.graph_name(p): p for p in files}
    if originals is None:
        # Only the files holding triples about the focus nodes can hold the values findings name.
        scanned = files if scope.graphs is None else [
            by_graph[g] for g in sorted(shacl_store.graphs_about(store, shacl_store.subjects(store, scope.graphs)))
            if g in by_graph]
        originals = Originals.scan(store, scanned, layout.graph_name)
    rows = compiler.run(shapes, store, originals, scope, threads=threads)
    with quiet_rdflib():  # an ill-typed value becomes an rdflib literal again, for ntriples_term
        found = [_sparql_finding(store, row, locator, by_graph) for row in rows]
    declared = shapes.shapes.get(vocabulary.SHAPE)
    return found + vocabulary.findings(store, layout, scope, locator, by_graph, declared and declared.severity,
                                       used_terms)


def _sparql_finding(store: pyoxigraph.Store, row: compiler.Row, locator: SubjectLocator,
                    by_graph: dict[str, Path]) -> Finding:
    placement = placed(store, row.focus, locator, by_graph, row.path, row.value)
    return Finding(
        focus=placement.focus, focus_label=placement.label, path=row.path,
        value=ntriples_term(rdflib_term(row.value)) if row.value is not None else None,
        message=" ".join(sorted(str(m) for m in set(row.messages))),
        severity=Severity(row.shape.severity[len(SH):]), shape=row.shape.iri, constraint=row.component,
        file=placement.file, line=placement.line, holder=placement.holder)


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise KBNotFoundError(f"File not found: {path}")
    return path.resolve()
