"""The on-disk index: the KB's files in a pyoxigraph store beside them, refreshed file by file.

The index lives in ``kb/.dipkb``, or in the user's cache directory for the example inside an
installed package and when kb/ cannot be written. Each KB and ontology file is a named graph, with
its derived triples in a graph of their own, so that a refresh reloads only the files whose size
and mtime, then content hash, changed: edits, additions, deletions and renames (when those are most of
the KB, it is built again instead: REBUILD_SHARE). generations.py
makes a refresh invisible until it is whole, whatever happens to the process, and lets any number
of processes read while one writes.
"""
from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pyoxigraph
from pyoxigraph import NamedNode, Store

from dipkb.errors import IndexUnavailableError, KBFileError, KBSyntaxError, SyntaxProblem
from dipkb.model.namespaces import FILE_GRAPH_PREFIX
from dipkb.store import generations
from dipkb.store.derivation import Deriver, Vocabulary, derivation_source, derive, derived_graph
from dipkb.store.generations import FileState, Manifest
from dipkb.store.layout import KBLayout, cache_dir
from dipkb.store.loading import BULK_LOAD_BYTES, load_file, parsed
from dipkb.store.writing import remove_leftovers_if_idle
from dipkb.util.paths import display_path, reporting_write_errors
from dipkb.util.progress import StatusLine

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

INDEX_FORMAT = 1  # bump when what the index stores changes; the derivation code is fingerprinted
LOCK_TIMEOUT = 600.0
# A refresh bulk loads (loading.BULK_LOAD_BYTES) only from a larger size: each bulk load adds ~10
# table files, and RocksDB compacting them made every eighth one-file refresh at a million events
# take 3-5 s instead of 0.9 s (every twentieth with transactions).
REFRESH_BULK_LOAD_BYTES = 8 << 20
# Files this large are bulk loaded one at a time (the loader buffers ~1 GB per 1.6 GB of
# N-Triples) and hashed on a second thread; smaller ones are read once, hashed and loaded by
# parallel workers, so the hash is always that of the text loaded.
LARGE_FILE_BYTES = 64 << 20
WORKERS = min(4, os.cpu_count() or 1)
_WAITING = "Waiting for another dipkb process to finish updating the index"
# A refresh whose files to reload (their bytes before and after) weigh more than this share of the
# KB rebuilds it: deleting a graph quad by quad costs more than loading it. Measured (bench/NOTES.md),
# a rebuild and a refresh cost the same at 0.65-0.8 of the KB, at 3,000 and at 100,000 events; a KB
# of one 33 MB file took 32 s to refresh after a line was added to it, and 12.6 s to rebuild.
REBUILD_SHARE = 0.6


@dataclass(frozen=True)
class RefreshReport:
    """What opening the index did. Files are named as in their graph: ``kb/actors.ttl``."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    rebuilt: bool
    seconds: float
    location: Path

    @property
    def refreshed(self) -> bool:
        return self.rebuilt or bool(self.added or self.changed or self.removed)

    def summary(self) -> str:
        where = display_path(self.location)
        if not self.refreshed:
            return f"Up to date: {where}, {self.unchanged} files unchanged."
        if self.rebuilt:  # every file read, whatever changed since the build it replaced
            files = len(self.added) + len(self.changed) + self.unchanged
            return f"Rebuilt {where} from {files} files in {self.seconds:.2f} s."
        return (f"Refreshed {where} in {self.seconds:.2f} s: {len(self.added)} added, {len(self.changed)} changed, "
                f"{len(self.removed)} removed, {self.unchanged} unchanged.")


@dataclass
class OpenIndex:
    """The index's current store, opened read-only, and the report of the refresh before. The
    lease (a shared lock on the store's generation) keeps writers from deleting the store's files."""

    store: Store
    report: RefreshReport
    generation: int
    lease: BinaryIO = field(repr=False)
    vocabulary: list[str] = field(default_factory=list)  # the manifest's: Vocabulary.listing()


@dataclass
class _Plan:
    """How the files on disk differ from a manifest."""

    load: dict[str, Path]
    states: dict[str, FileState]  # of the files kept as they are
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int = 0
    touched: bool = False  # an mtime moved but the content did not: only the manifest is rewritten

    def reload_bytes(self, old: Manifest) -> int:
        return sum(old.files[g].size for g in self.changed + self.removed) + sum(
            p.stat().st_size for p in self.load.values())


def index_location(layout: KBLayout) -> Path:
    """``layout.index_dir``: ``kb/.dipkb``, or for the example inside an installed package
    ``$XDG_CACHE_HOME/dipkb/<hash of the KB directory>``. That is decided by what the KB is, not
    by a write test: run as root, site-packages is writable. A kb/ that cannot be written (a
    read-only mount) also gets its index in the cache."""
    if not layout.is_installed_example:
        try:
            layout.index_dir.mkdir(exist_ok=True)
            with open(layout.index_dir / "write.lock", "ab"):
                return layout.index_dir
        except OSError:
            pass
    directory = cache_dir(layout.kb_dir)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def open_index(layout: KBLayout, *, progress: bool | None = None, refresh: bool = True,
               lock_timeout: float = LOCK_TIMEOUT) -> OpenIndex:
    """Open the index read-only, first bringing it up to date with the files unless ``refresh`` is
    False (a stale index is then used as it is; a missing one is still built). ``progress`` shows
    the work on stderr; None shows it when stderr is a terminal.

    Raises KBSyntaxError listing every changed file that does not parse, leaving the index as it
    was, and IndexLockedError when another process keeps the write lock beyond ``lock_timeout``."""
    started = time.monotonic()
    directory, sources, hashes = _tidy_location(layout), _sources(layout), {}
    for _ in range(5):  # a writer may commit between our reading the manifest and leasing its store
        manifest = Manifest.load(directory)
        if manifest is None or manifest.fingerprint != _fingerprint():
            break
        plan = _plan(manifest, sources, hashes)
        if refresh and (plan.load or plan.removed or plan.touched):
            break
        if (leased := generations.lease(directory, manifest.generation)) is not None:
            return OpenIndex(leased.store, _report(plan, False, started, directory), manifest.generation, leased.handle,
                             manifest.vocabulary)
    show = StatusLine(progress)
    with generations.write_lock(directory, lock_timeout, lambda: show.note(_WAITING)):
        return _refresh(directory, sources, hashes, show, started, force=False)


def is_current(layout: KBLayout, generation: int) -> bool:
    """Whether ``generation`` is still the index's current one and no file changed since (stat calls,
    and a hash only for a file whose mtime moved): a server's check before each request, much cheaper
    than opening the store again."""
    manifest = Manifest.load(index_location(layout))
    if manifest is None or manifest.generation != generation or manifest.fingerprint != _fingerprint():
        return False
    plan = _plan(manifest, _sources(layout), {})
    return not (plan.load or plan.removed or plan.touched)


def rebuild(layout: KBLayout, *, progress: bool | None = None, lock_timeout: float = LOCK_TIMEOUT) -> RefreshReport:
    """Build the index again from scratch, whatever its state."""
    started, directory, show = time.monotonic(), _tidy_location(layout), StatusLine(progress)
    with generations.write_lock(directory, lock_timeout, lambda: show.note(_WAITING)):
        opened = _refresh(directory, _sources(layout), {}, show, started, force=True)
    opened.lease.close()
    return opened.report


def _tidy_location(layout: KBLayout) -> Path:
    """The index directory, once what killed writers left there and in kb/ is deleted, unless a
    writer is at work: readers clean too, or a killed rebuild's store stays until the KB changes."""
    with reporting_write_errors(layout.kb_dir, "dipkb keeps its index in kb/.dipkb or, when kb/ is read-only, "
                                "in $XDG_CACHE_HOME/dipkb: point XDG_CACHE_HOME to a writable directory"):
        directory = index_location(layout)
    generations.collect_if_idle(directory)
    remove_leftovers_if_idle(layout)
    return directory


def _refresh(directory: Path, sources: dict[str, Path], hashes: dict[tuple, str], show: StatusLine,
             started: float, *, force: bool) -> OpenIndex:
    """Under the write lock: bring the index up to date, commit, open the result."""
    manifest = Manifest.load(directory)  # again: another writer may have refreshed while we waited
    # A killed writer's store can be as large as ours: free the disk before filling it again.
    generations.collect_garbage(directory, manifest.generation if manifest else 0)
    usable = (manifest is not None and manifest.fingerprint == _fingerprint()
              and generations.opens(directory, manifest.generation))
    old = manifest if usable else Manifest(0, {}, _fingerprint())
    plan = _plan(old, sources, hashes)
    generation = generations.next_generation(directory, old.generation)
    # The ontology says which properties are roles and which classes are events: when it changes, any
    # graph's derivation may.
    ontology = any(g.startswith(FILE_GRAPH_PREFIX + "ontology/") for g in plan.changed + plan.added + plan.removed)
    reload = plan.reload_bytes(old)
    total = sum(state.size for state in old.files.values())
    rebuilt = force or not usable or ontology or reload > REBUILD_SHARE * total
    if rebuilt:
        states, vocabulary = generations.fill_new(directory, generation, lambda target: _build(
            target, sources, hashes, show))
        committed = Manifest(generation, states, _fingerprint(), vocabulary)
    elif plan.load or plan.removed:
        try:
            states = generations.fill_new(directory, generation, lambda target: _update(
                generations.store_path(directory, old.generation), target, plan, old.vocabulary, hashes))
            committed = Manifest(generation, {**plan.states, **states}, _fingerprint(), old.vocabulary)
        except _VocabularyChanged:  # a KB file declares a role or event class: any graph's derivation may change
            return _refresh(directory, sources, hashes, show, started, force=True)
    else:
        committed = Manifest(old.generation, plan.states, old.fingerprint, old.vocabulary)
    if committed != manifest:
        committed.save(directory)
    generations.collect_garbage(directory, committed.generation)
    leased = generations.lease(directory, committed.generation)
    if leased is None:  # we hold the write lock: nobody can have replaced what we just committed
        raise IndexUnavailableError(f"The index in {display_path(directory)} cannot be opened after its refresh.")
    report = _report(plan, rebuilt, started, directory)
    if report.refreshed:
        show.note(f"Index {'built' if rebuilt else 'refreshed'} in {report.seconds:.1f} s\n")
    return OpenIndex(leased.store, report, committed.generation, leased.handle, committed.vocabulary)


def _build(target: Path, sources: dict[str, Path], hashes: dict[tuple, str],
           show: StatusLine) -> tuple[dict[str, FileState], list[str]]:
    store = Store(str(target))
    # The ontology first: it says which properties are roles and which classes are events, which
    # the derivation of each KB file reads as the file is loaded.
    ontology = {g: p for g, p in sources.items() if g.startswith(FILE_GRAPH_PREFIX + "ontology/")}
    states, problems = _load(store, ontology, hashes, StatusLine(False), BULK_LOAD_BYTES)
    vocabulary = Vocabulary.of(store)
    deriver = Deriver(store, vocabulary)
    # Read back while the store holds nothing else: after the KB's bulk loads, before compaction, the
    # 100k KB's cameo.ttl took 0.86 s to read back, against 0.02 s here.
    for graph in ontology:
        deriver.add_stored(graph)
    kb_files = {g: p for g, p in sources.items() if g not in ontology}
    kb_states, kb_problems = _load(store, kb_files, hashes, show, BULK_LOAD_BYTES, deriver)
    if problems or kb_problems:
        del store, deriver  # the store closed before its directory is removed
        raise KBSyntaxError(sorted(problems + kb_problems, key=lambda p: p.path))
    with show.ticking(lambda: "Deriving dates and participants"):
        # Asked of the store only when a KB file may have changed it: before compaction the question
        # took 0.4-0.65 s of a 16 s build of 100k events.
        final = Vocabulary.of(store) if deriver.parsed_declarations else vocabulary
        if final == vocabulary:
            deriver.finish()
        else:  # a KB file declares a role or an event class: derive every file again with them
            derive(store)
    with show.ticking(lambda: "Compacting the index"):
        store.optimize()  # an uncompacted store of a million events answered 1.3-4x slower here
    store.flush()
    return {**states, **kb_states}, final.listing()


class _VocabularyChanged(Exception):
    """The files loaded by a refresh change the roles or event classes derivation reads."""


def _update(source: Path, target: Path, plan: _Plan, vocabulary: list[str],
            hashes: dict[tuple, str]) -> dict[str, FileState]:
    """Apply ``plan`` to a checkpoint of ``source``. No optimize() here: it rewrites the whole store
    (35 s at a million events) and, measured over 60 one-file refreshes at that size, RocksDB's own
    background compaction kept the table files at ~1,100 and queries within ~20% of a fresh build."""
    Store.read_only(str(source)).backup(str(target))
    store = Store(str(target))
    for graph in plan.changed + plan.removed:
        store.remove_graph(NamedNode(graph))
        store.remove_graph(NamedNode(derived_graph(graph)))
    deriver = Deriver(store, Vocabulary.of(store))
    states, problems = _load(store, plan.load, hashes, StatusLine(False), REFRESH_BULK_LOAD_BYTES, deriver)
    if problems:
        del store, deriver  # the store closed before its directory is removed
        raise KBSyntaxError(problems)
    if Vocabulary.of(store).listing() != vocabulary:
        del store, deriver
        raise _VocabularyChanged
    deriver.finish()
    store.flush()
    return states


def _load(store: Store, files: dict[str, Path], hashes: dict[tuple, str], show: StatusLine,
          bulk_bytes: int, deriver: Deriver | None = None) -> tuple[dict[str, FileState], list[SyntaxProblem]]:
    """Load each file into its graph, with the bulk loader from ``bulk_bytes``, and derive it with
    ``deriver``; try them all, returning the syntax problem of every bad one."""
    try:
        return _load_each(store, files, hashes, show, bulk_bytes, deriver)
    except FileNotFoundError as error:  # the generation being filled is removed, as on any error
        removed = display_path(Path(error.filename)) if error.filename else "A file of the KB"
        raise KBFileError(f"{removed} was removed while the index was built from it: run the command again.") from None


def _load_each(store: Store, files: dict[str, Path], hashes: dict[tuple, str], show: StatusLine,
               bulk_bytes: int, deriver: Deriver | None) -> tuple[dict[str, FileState], list[SyntaxProblem]]:
    sizes = {graph: path.stat().st_size for graph, path in files.items()}
    states: dict[str, FileState] = {}
    problems: list[SyntaxProblem] = []
    loaded = [0, 0]  # files, bytes

    def load(graph: str, path: Path, text: bytes | None) -> None:
        problem = load_file(store, path, NamedNode(graph), text=text, bulk=sizes[graph] >= bulk_bytes)
        if problem is not None:
            problems.append(problem)
        elif deriver is not None:
            # Parsed again beside the loading threads, which run without the GIL: cheaper than
            # reading the triples back out of the store.
            deriver.add_parsed(graph, parsed(path, text))
        loaded[0], loaded[1] = loaded[0] + 1, loaded[1] + sizes[graph]

    def load_small(graph: str) -> None:
        path = files[graph]
        before, text = path.stat(), path.read_bytes()
        states[graph] = FileState(len(text), before.st_mtime_ns, hashlib.blake2b(text, digest_size=20).hexdigest())
        load(graph, path, text)

    total = sum(sizes.values())
    status = lambda: f"Indexing {loaded[0]}/{len(files)} files, {loaded[1] / 1e6:.0f}/{total / 1e6:.0f} MB"  # noqa: E731
    large = [g for g in sorted(files) if sizes[g] >= LARGE_FILE_BYTES]
    with show.ticking(status), _pool(1) as hasher, _pool(WORKERS) as workers:
        small = [workers.submit(load_small, g) for g in sorted(files) if sizes[g] < LARGE_FILE_BYTES]
        for graph in large:
            path, before = files[graph], files[graph].stat()
            digest = hasher.submit(_digest, path, hashes)
            load(graph, path, None)
            unchanged = path.stat().st_mtime_ns == before.st_mtime_ns  # not edited while loaded and hashed
            states[graph] = FileState(before.st_size, before.st_mtime_ns, digest.result() if unchanged else "")
        for future in small:
            future.result()
    return states, sorted(problems, key=lambda p: p.path)


@contextmanager
def _pool(size: int) -> Iterator[ThreadPoolExecutor]:
    """Worker threads that, on an error or Ctrl-C, drop the work not yet started rather than do it first."""
    from concurrent.futures import ThreadPoolExecutor  # here: only a refresh needs it, and it costs start-up

    pool = ThreadPoolExecutor(size)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


def _plan(manifest: Manifest, sources: dict[str, Path], hashes: dict[tuple, str]) -> _Plan:
    plan = _Plan({}, {}, [], [], sorted(set(manifest.files) - set(sources)))
    for graph, path in sources.items():
        known = manifest.files.get(graph)
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed since the listing (`mv` meanwhile): as if not listed
            plan.removed += [graph] if known is not None else []
            continue
        if known is not None and stat.st_size == known.size and (
                stat.st_mtime_ns == known.mtime_ns or _digest(path, hashes) == known.digest):
            plan.touched |= stat.st_mtime_ns != known.mtime_ns
            plan.states[graph] = FileState(stat.st_size, stat.st_mtime_ns, known.digest)
            plan.unchanged += 1
        else:
            (plan.added if known is None else plan.changed).append(graph)
            plan.load[graph] = path
    return plan


def _report(plan: _Plan, rebuilt: bool, started: float, directory: Path) -> RefreshReport:
    def names(graphs: list[str]) -> tuple[str, ...]:
        return tuple(sorted(g.removeprefix(FILE_GRAPH_PREFIX) for g in graphs))
    return RefreshReport(names(plan.added), names(plan.changed), names(plan.removed), plan.unchanged,
                         rebuilt, time.monotonic() - started, directory)


def _sources(layout: KBLayout) -> dict[str, Path]:
    return layout.file_graphs()


def _digest(path: Path, cache: dict[tuple, str]) -> str:
    """The file's blake2b, once per process for a given size and mtime (faster than sha256 here)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in cache:
        with open(path, "rb") as handle:
            cache[key] = hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=20)).hexdigest()
    return cache[key]


@functools.cache
def _fingerprint() -> str:
    """The index format, Oxigraph's version and the code that decides what is derived: a change to
    any of them rebuilds the index rather than mix triples derived by two rules."""
    return hashlib.sha256(f"{INDEX_FORMAT} {pyoxigraph.__version__} {derivation_source()}".encode()).hexdigest()[:16]
