"""The on-disk index: the KB's files in a pyoxigraph store beside them, refreshed file by file.

The index directory (``kb/.dipkb``, or a cache directory when kb/ cannot be written) holds:

- ``manifest.json``: the current generation and, per file graph, the size, mtime and hash of the
  file it was loaded from;
- ``store-<N>/``: generation N of the store, one named graph per file plus its derived graph;
- ``store-<N>.lock``: readers of generation N hold a shared flock on it;
- ``write.lock``: the one writer holds an exclusive flock on it.

A refresh never touches the current generation. It checkpoints it into a new directory (RocksDB
hard-links its immutable table files: milliseconds, whatever the size), applies the changes there,
closes it, and commits by replacing ``manifest.json`` atomically. A crash or a kill at any point
leaves the old manifest naming the old, untouched generation, and the next writer deletes the
half-built one: an uncommitted generation is the "refresh in progress" marker. Readers open a
committed generation read-only, which RocksDB allows only while no process writes it; after its
commit none does. A generation is deleted only once no reader holds its lock.
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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import pyoxigraph
from pyoxigraph import NamedNode, Store

from dipkb.errors import IndexLockedError, KBSyntaxError, SyntaxProblem
from dipkb.kb import derive, derived_graph, participant_roles, rdf_format, syntax_problem
from dipkb.layout import KBLayout, display_path
from dipkb.namespaces import FILE_GRAPH_PREFIX

INDEX_FORMAT = 1  # bump when what the index stores changes; the derivation code is fingerprinted
MANIFEST = "manifest.json"
LOCK_TIMEOUT = 600.0
# Oxigraph's bulk loader writes table files directly: 3x faster than a transaction for a 1.6 MB
# file, 4x slower for the 20 kB ones a hand-written KB is made of.
BULK_LOAD_BYTES = 512 << 10
# Files this large are bulk loaded one at a time (the loader buffers ~1 GB per 1.6 GB of
# N-Triples) and hashed on a second thread; smaller ones are read once, hashed and loaded by
# parallel workers, so the hash is always that of the text loaded.
LARGE_FILE_BYTES = 64 << 20
WORKERS = min(4, os.cpu_count() or 1)
# Reloading more than this rebuilds: deleting a big graph quad by quad costs more than a bulk load.
REBUILD_SHARE, REBUILD_MIN_BYTES = 0.25, 64 << 20
# Refreshes add small table files; compact once this many bytes have been reloaded since the last time.
OPTIMIZE_AFTER_BYTES = 64 << 20
_GENERATION = re.compile(r"store-(\d+)(?:\.lock)?")


@dataclass(frozen=True)
class FileState:
    """What the index knows of one source file."""

    size: int
    mtime_ns: int
    digest: str  # blake2b of the text loaded; "" when the file changed while it was loaded


@dataclass
class Manifest:
    """The committed state of the index; replaced atomically, never edited in place."""

    generation: int
    files: dict[str, FileState]
    fingerprint: str
    roles: list[str] = field(default_factory=list)  # what derive() took as dip:participant roles
    bytes_since_optimize: int = 0

    @classmethod
    def load(cls, directory: Path) -> Manifest | None:
        """The manifest, or None when there is none or it is unreadable (a rebuild follows)."""
        try:
            data = json.loads((directory / MANIFEST).read_text())
            data["files"] = {graph: FileState(**state) for graph, state in data["files"].items()}
            return cls(**data)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def save(self, directory: Path) -> None:
        temporary = directory / f"{MANIFEST}.{os.getpid()}.tmp"
        with open(temporary, "w") as handle:
            json.dump(asdict(self), handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / MANIFEST)
        _fsync(directory)


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
    """The index's current store, opened read-only, and the report of the refresh before. The
    lease (a shared lock on the store's generation) keeps writers from deleting the store's files."""

    store: Store
    report: RefreshReport
    generation: int
    lease: BinaryIO = field(repr=False)


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
    """``kb/.dipkb``, or when that cannot be written (a KB inside site-packages, a read-only mount)
    ``$XDG_CACHE_HOME/dipkb/<hash of the KB directory>``."""
    try:
        layout.index_dir.mkdir(exist_ok=True)
        with open(layout.index_dir / "write.lock", "ab"):
            return layout.index_dir
    except OSError:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        directory = cache / "dipkb" / hashlib.sha256(str(layout.kb_dir.resolve()).encode()).hexdigest()[:16]
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
    directory, sources, hashes = index_location(layout), _sources(layout), {}
    for _ in range(5):  # a writer may commit between our reading the manifest and leasing its store
        manifest = Manifest.load(directory)
        if manifest is None or manifest.fingerprint != _fingerprint():
            break
        plan = _plan(manifest, sources, hashes)
        if refresh and (plan.load or plan.removed or plan.touched):
            break
        if (opened := _open_generation(directory, manifest.generation)) is not None:
            return OpenIndex(opened[0], _report(plan, False, started, directory), manifest.generation, opened[1])
    show = _Progress(progress)
    with _write_lock(directory, show, lock_timeout):
        return _refresh(directory, sources, hashes, show, started, force=False)


def rebuild(layout: KBLayout, *, progress: bool | None = None, lock_timeout: float = LOCK_TIMEOUT) -> RefreshReport:
    """Build the index again from scratch, whatever its state."""
    started, directory, show = time.monotonic(), index_location(layout), _Progress(progress)
    with _write_lock(directory, show, lock_timeout):
        opened = _refresh(directory, _sources(layout), {}, show, started, force=True)
    opened.lease.close()
    return opened.report


def _refresh(directory: Path, sources: dict[str, Path], hashes: dict[tuple, str], show: _Progress,
             started: float, *, force: bool) -> OpenIndex:
    """Under the write lock: bring the index up to date, commit, open the result."""
    manifest = Manifest.load(directory)  # again: another writer may have refreshed while we waited
    usable = (manifest is not None and manifest.fingerprint == _fingerprint()
              and _opens(directory / f"store-{manifest.generation}"))
    old = manifest if usable else Manifest(0, {}, _fingerprint())
    plan = _plan(old, sources, hashes)
    generation = 1 + max([old.generation] + _generations(directory))
    # The ontology says which properties are roles: when it changes, any graph's derivation may.
    ontology = any(g.startswith(FILE_GRAPH_PREFIX + "ontology/") for g in plan.changed + plan.added + plan.removed)
    reload = plan.reload_bytes(old)
    total = sum(state.size for state in old.files.values())
    rebuilt = force or not usable or ontology or reload > max(REBUILD_SHARE * total, REBUILD_MIN_BYTES)
    if rebuilt:
        states, roles = _in_new_directory(directory, generation, lambda target: _build(target, sources, hashes, show))
        committed = Manifest(generation, states, _fingerprint(), roles)
    elif plan.load or plan.removed:
        optimize = old.bytes_since_optimize + reload > OPTIMIZE_AFTER_BYTES
        states, roles = _in_new_directory(directory, generation, lambda target: _update(
            directory / f"store-{old.generation}", target, plan, old.roles, hashes, optimize))
        since = 0 if optimize else old.bytes_since_optimize + reload
        committed = Manifest(generation, {**plan.states, **states}, _fingerprint(), roles, since)
    else:
        committed = Manifest(old.generation, plan.states, old.fingerprint, old.roles, old.bytes_since_optimize)
    if committed != manifest:
        committed.save(directory)
    _collect_garbage(directory, committed.generation)
    opened = _open_generation(directory, committed.generation)
    if opened is None:  # we hold the write lock: nobody can have replaced what we just committed
        raise OSError(f"The index in {display_path(directory)} cannot be opened after its refresh.")
    report = _report(plan, rebuilt, started, directory)
    if report.refreshed:
        show.note(f"Index {'built' if rebuilt else 'refreshed'} in {report.seconds:.1f} s\n")
    return OpenIndex(opened[0], report, committed.generation, opened[1])


def _in_new_directory(directory: Path, generation: int, fill: Callable[[Path], tuple]) -> tuple:
    """Run ``fill`` on a new generation's directory and make it durable; remove it if anything fails."""
    target = directory / f"store-{generation}"
    try:
        result = fill(target)
        for path in target.iterdir():  # on disk before the manifest names it
            if path.is_file():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        _fsync(target)
        return result
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _build(target: Path, sources: dict[str, Path], hashes: dict[tuple, str],
           show: _Progress) -> tuple[dict[str, FileState], list[str]]:
    store = Store(str(target))
    states, problems = _load(store, sources, hashes, show)
    if problems:
        del store  # closed before its directory is removed
        raise KBSyntaxError(problems)
    with show.ticking(lambda: "Deriving dates and participants"):
        derive(store, workers=WORKERS)
    with show.ticking(lambda: "Compacting the index"):
        store.optimize()  # measured: an uncompacted store answers 8-10x slower
    store.flush()
    return states, participant_roles(store)


def _update(source: Path, target: Path, plan: _Plan, roles: list[str], hashes: dict[tuple, str],
            optimize: bool) -> tuple[dict[str, FileState], list[str]]:
    Store.read_only(str(source)).backup(str(target))
    store = Store(str(target))
    for graph in plan.changed + plan.removed:
        store.remove_graph(NamedNode(graph))
        store.remove_graph(NamedNode(derived_graph(graph)))
    states, problems = _load(store, plan.load, hashes, _Progress(False))
    if problems:
        del store  # closed before its directory is removed
        raise KBSyntaxError(problems)
    now = participant_roles(store)
    derive(store, list(plan.load) if now == roles else None)  # a KB file may declare a new role
    if optimize:
        store.optimize()
    store.flush()
    return states, now


def _load(store: Store, files: dict[str, Path], hashes: dict[tuple, str],
          show: _Progress) -> tuple[dict[str, FileState], list[SyntaxProblem]]:
    """Load each file into its graph; try them all, returning the syntax problem of every bad one."""
    sizes = {graph: path.stat().st_size for graph, path in files.items()}
    states: dict[str, FileState] = {}
    problems: list[SyntaxProblem] = []
    loaded = [0, 0]  # files, bytes

    def load(graph: str, path: Path, text: bytes | None) -> None:
        bulk = sizes[graph] >= BULK_LOAD_BYTES
        source = {"path": str(path)} if text is None else {"input": text}
        try:
            (store.bulk_load if bulk else store.load)(**source, format=rdf_format(path), to_graph=NamedNode(graph))
        except (SyntaxError, UnicodeDecodeError) as error:
            problems.append(syntax_problem(path, error))
        loaded[0], loaded[1] = loaded[0] + 1, loaded[1] + sizes[graph]

    def load_small(graph: str) -> None:
        path = files[graph]
        before, text = path.stat(), path.read_bytes()
        states[graph] = FileState(len(text), before.st_mtime_ns, hashlib.blake2b(text, digest_size=20).hexdigest())
        load(graph, path, text)

    total = sum(sizes.values())
    status = lambda: f"Indexing {loaded[0]}/{len(files)} files, {loaded[1] / 1e6:.0f}/{total / 1e6:.0f} MB"  # noqa: E731
    large = [g for g in sorted(files) if sizes[g] >= LARGE_FILE_BYTES]
    with show.ticking(status), ThreadPoolExecutor(1) as hasher, ThreadPoolExecutor(WORKERS) as workers:
        for graph in large:
            path, before = files[graph], files[graph].stat()
            digest = hasher.submit(_digest, path, hashes)
            load(graph, path, None)
            unchanged = path.stat().st_mtime_ns == before.st_mtime_ns  # not edited while loaded and hashed
            states[graph] = FileState(before.st_size, before.st_mtime_ns, digest.result() if unchanged else "")
        list(workers.map(load_small, [g for g in sorted(files) if sizes[g] < LARGE_FILE_BYTES]))
    return states, sorted(problems, key=lambda p: p.path)


def _plan(manifest: Manifest, sources: dict[str, Path], hashes: dict[tuple, str]) -> _Plan:
    plan = _Plan({}, {}, [], [], sorted(set(manifest.files) - set(sources)))
    for graph, path in sources.items():
        stat, known = path.stat(), manifest.files.get(graph)
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
    return {layout.graph_name(p): p for p in layout.ontology_files() + layout.kb_files()}


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
    digest = hashlib.sha256(f"{INDEX_FORMAT} {pyoxigraph.__version__}".encode())
    for module in ("kb.py", "temporal.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    return digest.hexdigest()[:16]


def _generations(directory: Path) -> list[int]:
    return [int(m[1]) for p in directory.iterdir() if (m := _GENERATION.fullmatch(p.name))]


def _opens(store: Path) -> bool:
    """Whether a generation opens: a missing or damaged one makes the refresh a rebuild."""
    try:
        Store.read_only(str(store))
        return True
    except OSError:
        return False


def _open_generation(directory: Path, generation: int) -> tuple[Store, BinaryIO] | None:
    """Lease generation ``generation`` and open it read-only; None if it stopped being current first."""
    lease = open(directory / f"store-{generation}.lock", "a+b")
    fcntl.flock(lease.fileno(), fcntl.LOCK_SH)
    manifest = Manifest.load(directory)
    try:
        if manifest is not None and manifest.generation == generation:
            return Store.read_only(str(directory / f"store-{generation}")), lease
    except OSError:
        pass
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
                continue  # a reader still has it open; a later refresh deletes it
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


def _fsync(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Progress:
    """One status line on stderr, rewritten in place; silent unless asked or stderr is a terminal."""

    def __init__(self, enabled: bool | None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.shown = ""

    def note(self, text: str) -> None:
        if self.enabled and text != self.shown:
            self.shown = text
            sys.stderr.write(f"\r\x1b[K{text}")
            sys.stderr.flush()

    @contextmanager
    def ticking(self, status: Callable[[], str]) -> Iterator[None]:
        """Show ``status()`` and the seconds spent, every half second while the block runs."""
        if not self.enabled:
            yield
            return
        started, stop = time.monotonic(), threading.Event()

        def tick() -> None:
            while True:
                self.note(f"{status()} ({time.monotonic() - started:.0f} s)")
                if stop.wait(0.5):
                    return
        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()
            self.note(f"{status()} ({time.monotonic() - started:.0f} s)")
