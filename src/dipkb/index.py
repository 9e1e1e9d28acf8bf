"""The on-disk index: the KB's files in a pyoxigraph store beside them, refreshed file by file.

The index directory (``kb/.dipkb``, or a cache directory when kb/ is not writable) holds:

- ``manifest.json``: the current generation and, per file graph, the size, mtime and sha256 of the
  file it was loaded from;
- ``store-<N>/``: generation N of the store, one named graph per file plus its derived graph;
- ``store-<N>.lock``: readers of generation N hold a shared flock on it;
- ``write.lock``: the one writer holds an exclusive flock on it.

A refresh never touches the current generation. It checkpoints it into a new directory (RocksDB
hard-links its immutable table files: milliseconds, whatever the size), applies the changes there,
closes it, and commits by replacing ``manifest.json`` atomically. A crash or a kill at any point
leaves the old manifest naming the old, untouched generation; the next writer deletes the half-built
one. Readers open a committed generation read-only, which RocksDB allows only while no process
writes it, and after its commit none ever does. So no "refresh in progress" marker is needed: an
uncommitted generation is one. A generation is deleted only when no reader holds its lock.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import pyoxigraph
from pyoxigraph import NamedNode, Store

from dipkb.errors import IndexLockedError, KBSyntaxError, SyntaxProblem
from dipkb.kb import derive, derived_graph, rdf_format, syntax_problem
from dipkb.layout import KBLayout, display_path
from dipkb.namespaces import FILE_GRAPH_PREFIX

# Bump when what the index stores changes; the derivation code is fingerprinted on its own.
INDEX_FORMAT = 1
MANIFEST = "manifest.json"
LOCK_TIMEOUT = 600.0
# Oxigraph's bulk loader writes table files directly: 3x faster than a transaction for a 1.6 MB
# file, 4x slower for the 20 kB ones the KB is mostly made of.
BULK_LOAD_BYTES = 512 << 10
# A refresh that reloads more than this share of the KB rebuilds it: deleting a large graph one
# quad at a time in a transaction is slower than bulk loading everything again.
REBUILD_SHARE, REBUILD_MIN_BYTES = 0.25, 64 << 20
# Incremental refreshes add small table files; compact once this many bytes have been reloaded.
OPTIMIZE_AFTER_BYTES = 64 << 20
_GENERATION = re.compile(r"store-(\d+)(?:\.lock)?")


@dataclass(frozen=True)
class FileState:
    """What the index knows of one source file."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass
class Manifest:
    """The committed state of the index; replaced atomically, never edited in place."""

    generation: int
    files: dict[str, FileState]
    fingerprint: str
    bytes_since_optimize: int = 0

    @classmethod
    def load(cls, directory: Path) -> Manifest | None:
        """The manifest, or None when there is none or it is unreadable (a rebuild follows)."""
        try:
            data = json.loads((directory / MANIFEST).read_text())
            files = {graph: FileState(**state) for graph, state in data["files"].items()}
            return cls(data["generation"], files, data["fingerprint"], data["bytes_since_optimize"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, directory: Path) -> None:
        temporary = directory / f"{MANIFEST}.{os.getpid()}.tmp"
        with open(temporary, "w") as handle:
            json.dump({**asdict(self), "files": {g: asdict(s) for g, s in sorted(self.files.items())}}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / MANIFEST)
        _fsync_directory(directory)


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


@dataclass
class OpenIndex:
    """The index's current store, opened read-only, and the report of the refresh that preceded.
    The lease (a shared lock on the store's generation) keeps writers from deleting its files."""

    store: Store
    report: RefreshReport
    generation: int
    lease: BinaryIO = field(repr=False)


@dataclass
class _Plan:
    """How the files on disk differ from a manifest."""

    load: dict[str, Path]
    states: dict[str, FileState]
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    touched: bool  # a file's mtime moved but its content did not: only the manifest needs writing

    def reload_bytes(self, old: Manifest) -> int:
        return sum(old.files[g].size for g in self.changed + self.removed) + sum(
            p.stat().st_size for p in self.load.values())


def index_location(layout: KBLayout) -> Path:
    """``kb/.dipkb``, or when that cannot be written (a KB inside site-packages, a read-only mount)
    ``$XDG_CACHE_HOME/dipkb/<hash of the KB directory>``."""
    try:
        layout.index_dir.mkdir(exist_ok=True)
        with open(layout.index_dir / "write.lock", "ab"):
            return layout.index_dir
    except OSError:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        key = hashlib.sha256(str(layout.kb_dir.resolve()).encode()).hexdigest()[:16]
        directory = cache / "dipkb" / key
        directory.mkdir(parents=True, exist_ok=True)
        return directory


def open_index(layout: KBLayout, *, progress: bool | None = None, refresh: bool = True,
               lock_timeout: float = LOCK_TIMEOUT) -> OpenIndex:
    """Open the index read-only, first bringing it up to date with the files unless ``refresh`` is
    False (a stale index is then used as is; a missing one is still built).

    Raises KBSyntaxError listing every changed file that does not parse, leaving the index as it
    was, and IndexLockedError when another process keeps the write lock beyond ``lock_timeout``."""
    started = time.monotonic()
    directory = index_location(layout)
    sources = _sources(layout)
    hashes: dict[tuple, str] = {}
    for _ in range(5):  # a writer may commit between reading the manifest and locking its generation
        manifest = Manifest.load(directory)
        if manifest is None or manifest.fingerprint != _fingerprint():
            break
        plan = _plan(manifest, sources, hashes)
        if refresh and (plan.load or plan.removed or plan.touched):
            break
        opened = _open_generation(directory, manifest.generation)
        if opened is not None:
            store, lease = opened
            report = _report(plan, False, started, directory)
            return OpenIndex(store, report, manifest.generation, lease)
    show = _Progress(progress)
    with _write_lock(directory, show, lock_timeout):
        return _refresh(directory, sources, hashes, show, started, force=False)


def rebuild(layout: KBLayout, *, progress: bool | None = None, lock_timeout: float = LOCK_TIMEOUT) -> RefreshReport:
    """Build the index again from scratch, whatever its state."""
    started = time.monotonic()
    directory = index_location(layout)
    show = _Progress(progress)
    with _write_lock(directory, show, lock_timeout):
        opened = _refresh(directory, _sources(layout), {}, show, started, force=True)
    opened.lease.close()
    return opened.report


def _refresh(directory: Path, sources: dict[str, Path], hashes: dict[tuple, str],
             show: _Progress, started: float, *, force: bool) -> OpenIndex:
    """Under the write lock: bring the index up to date, commit, open the result."""
    manifest = Manifest.load(directory)  # again: another writer may have refreshed while we waited
    usable = (manifest is not None and manifest.fingerprint == _fingerprint()
              and _opens(directory / f"store-{manifest.generation}"))
    old = manifest if usable else Manifest(0, {}, _fingerprint())
    plan = _plan(old, sources, hashes)
    generation = 1 + max([old.generation] + _generations(directory))
    total = sum(s.size for s in old.files.values())
    # The ontology says which properties are roles: when it changes, every graph's derivation may.
    ontology_changed = any(g.startswith(FILE_GRAPH_PREFIX + "ontology/") for g in plan.changed + plan.added + plan.removed)
    rebuild_all = (force or not usable or ontology_changed
                   or plan.reload_bytes(old) > max(REBUILD_SHARE * total, REBUILD_MIN_BYTES))
    if rebuild_all:
        states = _in_new_directory(directory, generation, lambda target: _build(target, sources, hashes, show))
        committed = Manifest(generation, states, _fingerprint())
    elif plan.load or plan.removed:
        optimize = old.bytes_since_optimize + plan.reload_bytes(old) > OPTIMIZE_AFTER_BYTES
        states = _in_new_directory(directory, generation, lambda target: _update(
            directory / f"store-{old.generation}", target, plan, hashes, show, optimize))
        since = 0 if optimize else old.bytes_since_optimize + plan.reload_bytes(old)
        committed = Manifest(generation, {**plan.states, **states}, _fingerprint(), since)
    else:
        committed = Manifest(old.generation, plan.states, old.fingerprint, old.bytes_since_optimize)
    if committed != manifest:
        committed.save(directory)
    _collect_garbage(directory, committed.generation)
    opened = _open_generation(directory, committed.generation)
    if opened is None:  # we hold the write lock: nobody can have replaced what we just committed
        raise OSError(f"The index in {display_path(directory)} could not be opened after its refresh.")
    report = _report(plan, rebuild_all, started, directory)
    if report.refreshed:
        show.note(f"Index {'built' if rebuild_all else 'refreshed'} in {report.seconds:.1f} s\n")
    return OpenIndex(opened[0], report, committed.generation, opened[1])


def _in_new_directory(directory: Path, generation: int, fill) -> dict[str, FileState]:
    """Run ``fill`` on a new generation's directory; remove it again if anything goes wrong."""
    target = directory / f"store-{generation}"
    try:
        states = fill(target)
        for path in target.iterdir():  # durable before the manifest names it
            if path.is_file():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        _fsync_directory(target)
        return states
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _build(target: Path, sources: dict[str, Path], hashes: dict[tuple, str], show: _Progress) -> dict[str, FileState]:
    store = Store(str(target))
    # Hash on a second thread while Oxigraph loads: both release the GIL, and hashing 1.6 GB alone
    # takes seconds.
    with ThreadPoolExecutor(1) as hasher:
        states, problems = _load(store, sources, hashes, hasher, show)
    if problems:
        del store  # closed before its directory is removed
        raise KBSyntaxError(problems)
    with show.ticking("Deriving dates and participants"):
        derive(store)
    with show.ticking("Compacting the index"):
        store.optimize()  # measured: an uncompacted store answers 8-10x slower
    store.flush()
    return states


def _update(source: Path, target: Path, plan: _Plan, hashes: dict[tuple, str], show: _Progress,
            optimize: bool) -> dict[str, FileState]:
    Store.read_only(str(source)).backup(str(target))
    store = Store(str(target))
    for graph in plan.changed + plan.removed:
        store.remove_graph(NamedNode(graph))
        store.remove_graph(NamedNode(derived_graph(graph)))
    with ThreadPoolExecutor(1) as hasher:
        states, problems = _load(store, plan.load, hashes, hasher, show)
    if problems:
        del store  # closed before its directory is removed
        raise KBSyntaxError(problems)
    derive(store, list(plan.load))
    if optimize:
        with show.ticking("Compacting the index"):
            store.optimize()
    store.flush()
    return states


def _load(store: Store, files: dict[str, Path], hashes: dict[tuple, str], hasher: ThreadPoolExecutor,
          show: _Progress) -> tuple[dict[str, FileState], list[SyntaxProblem]]:
    """Load each file into its graph; try them all, returning the syntax problem of every bad one."""
    problems, pending = [], {}
    total, done = sum(p.stat().st_size for p in files.values()), 0
    for number, (graph, path) in enumerate(sorted(files.items()), 1):
        before = path.stat()
        pending[graph] = (before, hasher.submit(_sha256, path, hashes))
        bulk = before.st_size >= BULK_LOAD_BYTES
        with show.ticking(f"Indexing {number}/{len(files)} files, {done / 1e6:.0f}/{total / 1e6:.0f} MB: "
                          f"{display_path(path)}", quiet=not bulk):
            try:
                (store.bulk_load if bulk else store.load)(path=str(path), format=rdf_format(path),
                                                          to_graph=NamedNode(graph))
            except (SyntaxError, UnicodeDecodeError) as error:
                problems.append(syntax_problem(path, error))
        done += before.st_size
        if path.stat().st_mtime_ns != before.st_mtime_ns:  # edited while loading: reload next time
            pending[graph] = (before, _done(""))
    return {graph: FileState(st.st_size, st.st_mtime_ns, digest.result())
            for graph, (st, digest) in pending.items()}, problems


def _plan(manifest: Manifest, sources: dict[str, Path], hashes: dict[tuple, str]) -> _Plan:
    plan = _Plan({}, {}, [], [], sorted(set(manifest.files) - set(sources)), 0, False)
    for graph, path in sources.items():
        stat, known = path.stat(), manifest.files.get(graph)
        if known is None:
            plan.added.append(graph)
        elif (stat.st_size, stat.st_mtime_ns) == (known.size, known.mtime_ns):
            plan.states[graph], plan.unchanged = known, plan.unchanged + 1
            continue
        elif stat.st_size == known.size and _sha256(path, hashes) == known.sha256:
            plan.states[graph] = FileState(stat.st_size, stat.st_mtime_ns, known.sha256)
            plan.unchanged, plan.touched = plan.unchanged + 1, True
            continue
        else:
            plan.changed.append(graph)
        plan.load[graph] = path
    return plan


def _report(plan: _Plan, rebuilt: bool, started: float, directory: Path) -> RefreshReport:
    def names(graphs: list[str]) -> tuple[str, ...]:
        return tuple(sorted(g.removeprefix(FILE_GRAPH_PREFIX) for g in graphs))
    return RefreshReport(names(plan.added), names(plan.changed), names(plan.removed), plan.unchanged,
                         rebuilt, time.monotonic() - started, directory)


def _sources(layout: KBLayout) -> dict[str, Path]:
    return {layout.graph_name(p): p for p in layout.ontology_files() + layout.kb_files()}


def _sha256(path: Path, cache: dict[tuple, str]) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in cache:
        with open(path, "rb") as handle:
            cache[key] = hashlib.file_digest(handle, "sha256").hexdigest()
    return cache[key]


@functools.cache
def _fingerprint() -> str:
    """Format version, Oxigraph version and the code that decides what is derived: a change to any
    of them makes the index rebuild rather than mix triples derived by two rules."""
    digest = hashlib.sha256(f"{INDEX_FORMAT} {pyoxigraph.__version__}".encode())
    for module in ("kb.py", "temporal.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    return digest.hexdigest()[:16]


def _done(value: str) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def _opens(store: Path) -> bool:
    """Whether a generation opens: a missing or damaged one makes the next refresh a rebuild."""
    try:
        Store.read_only(str(store))
        return True
    except OSError:
        return False


def _generations(directory: Path) -> list[int]:
    return [int(m[1]) for p in directory.iterdir() if (m := _GENERATION.fullmatch(p.name))]


def _open_generation(directory: Path, generation: int) -> tuple[Store, BinaryIO] | None:
    """Lease generation ``generation`` and open it read-only; None if it stopped being current first."""
    lease = open(directory / f"store-{generation}.lock", "a+b")
    fcntl.flock(lease.fileno(), fcntl.LOCK_SH)
    manifest = Manifest.load(directory)
    if manifest is None or manifest.generation != generation:
        lease.close()
        return None
    try:
        return Store.read_only(str(directory / f"store-{generation}")), lease
    except OSError:
        lease.close()
        return None


def _collect_garbage(directory: Path, keep: int) -> None:
    """Delete every generation but ``keep`` that no reader holds: old ones and crashed refreshes."""
    for generation in set(_generations(directory)) - {keep}:
        lock = directory / f"store-{generation}.lock"
        with open(lock, "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a reader still uses it; a later refresh will delete it
            shutil.rmtree(directory / f"store-{generation}", ignore_errors=True)
            lock.unlink(missing_ok=True)


@contextmanager
def _write_lock(directory: Path, show: _Progress, timeout: float) -> Iterator[None]:
    with open(directory / "write.lock", "a+b") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexLockedError(
                        f"Another dipkb process has been updating the index in {display_path(directory)} "
                        f"for more than {timeout:.0f} s; wait for it to finish, or stop it.") from None
                show.note("Waiting for another dipkb process to finish updating the index")
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Progress:
    """One status line on stderr, rewritten in place; silent unless stderr is a terminal or asked."""

    def __init__(self, enabled: bool | None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.shown = ""

    def note(self, text: str) -> None:
        if self.enabled and text != self.shown:
            self.shown = text
            sys.stderr.write(f"\r\x1b[K{text}")
            sys.stderr.flush()

    @contextmanager
    def ticking(self, text: str, *, quiet: bool = False) -> Iterator[None]:
        """Show ``text``, with the seconds spent on it updated while the block runs unless ``quiet``."""
        if not self.enabled or quiet:
            self.note(text)
            yield
            return
        started, stop = time.monotonic(), threading.Event()

        def tick() -> None:
            while not stop.wait(0.5):
                self.note(f"{text} ({time.monotonic() - started:.0f} s)")
        self.note(text)
        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()
