"""`dipkb push`: the KB on a SPARQL server, graph by graph, so that the saved queries and
``dipkb --endpoint`` answer there as they do locally.

What is sent is what the index reads, as the portable export defines it: each KB and ontology file
in its graph (``urn:dipkb:file:...``), its triples as the file writes them, and beside it the
graph of what the index derives from it (``urn:dipkb:derived:...``: participants, days, time
buckets, tallies). The shapes are not sent: no query reads them.

Incremental. Each graph is sent with a key: the file's hash as the index recorded it, and for a
derived graph also the derivation code's fingerprint, the ontology files' hashes and the roles and
event classes the KB declares (they decide what is derived from every file). The keys pushed to a
target are kept in the index directory (``pushed-<hash of the URL>.json``, replaced atomically every
few seconds and at the end), so a second push sends only the graphs whose key changed and drops the
graphs of removed files, with no file read and no server asked. A push killed or failed half-way
resumes where it stopped. :mod:`dipkb.publish.sending` says how each graph is replaced without ever
being half-written.

Failures: a 5xx or a timeout is retried with backoff; a graph that still fails is reported and
the others are sent; a server that cannot be reached, or an answer no graph would get past
(:data:`EVERY_GRAPH_WOULD_FAIL`), stops the push. A server emptied or
restored behind dipkb's back, or a record lost with the index, needs ``--all``: the record says what
was sent, not what is there. ``--all`` sends every graph, and with an Update endpoint also empties
every other dipkb graph there.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import RdfFormat, serialize

from dipkb.errors import DipkbError, EndpointError, IndexUnavailableError, UsageError
from dipkb.model.namespaces import FILE_GRAPH_PREFIX
from dipkb.publish.sending import Destination, Step, send
from dipkb.store.derivation import derived_graph
from dipkb.store.generations import Manifest
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.loading import read_quads
from dipkb.store.remote import Connection
from dipkb.util.durable import try_lock, write_atomically
from dipkb.util.progress import StatusLine
from dipkb.views.export import derived_text

PUSH_FORMAT = 1  # bump when what is sent for the same files changes: every graph is sent again
# The key of a graph that may be on the server in an unknown state: sent again, or dropped.
UNCONFIRMED = ""
RETRIES = (0.5, 1.0, 2.0)  # seconds before each new try of a request that failed with a 5xx or a timeout
SAVE_EVERY = 2.0  # seconds between two writes of the record during a push
# Graphs sent at a time, by default. Oxigraph loaded a 10k-event KB in 5.5 s one by one, 3.7 s two at
# a time, 3.1 s four at a time (2 cores); but Virtuoso 7.2.5, given language-tagged literals by two
# requests at once, then failed queries with "Unknown language in DB.DBA.RDF_LANGUAGE_OF_OBJ".
WORKERS = 1
# Answers that say the push cannot work at all, whichever graph: the credentials (401, 403), or an
# address that is not a graph store or update service (404 and 405 where none is expected, 415: the
# query service given for the update one). The push stops at the first rather than trying every graph.
EVERY_GRAPH_WOULD_FAIL = (401, 403, 404, 405, 415)


@dataclass(frozen=True)
class Graph:
    """A graph to have on the server: its name, its key, and how to read its triples."""

    name: str
    key: str
    path: Path
    derived: bool


@dataclass
class PushReport:
    target: str
    sent: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (graph, why)
    not_tried: int = 0  # graphs left when the server could no longer be reached
    triples: int = 0
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_tried

    def summary(self) -> str:
        text = (f"Pushed {len(self.sent)} graphs ({self.triples:,} triples, {self.bytes / 1e6:.1f} MB) to "
                f"{self.target}: {self.unchanged} unchanged, {len(self.dropped)} removed")
        if self.failed or self.not_tried:
            text += f", {len(self.failed)} failed" + (f", {self.not_tried} not tried" if self.not_tried else "")
        return text + "."


class PushRecord:
    """What was pushed to one target: graph name -> key. Read and written by the one push that holds
    the target's lock file (see :func:`push`)."""

    def __init__(self, directory: Path, target: str):
        self.path = record_path(directory, target)
        self.target = target
        self.graphs: dict[str, str] = {}
        try:
            data = json.loads(self.path.read_text())
            if data.get("format") == PUSH_FORMAT and data.get("target") == target:
                self.graphs = dict(data["graphs"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # none yet, or unreadable: everything is sent again

    def save(self) -> None:
        data = {"format": PUSH_FORMAT, "target": self.target, "graphs": dict(sorted(self.graphs.items()))}
        write_atomically(self.path, json.dumps(data, indent=0).encode())


def record_path(directory: Path, target: str) -> Path:
    """The record of the pushes to ``target``, in the index directory ``directory``."""
    return directory / f"pushed-{hashlib.sha256(target.encode()).hexdigest()[:16]}.json"


def _key(*parts: str) -> str:
    return hashlib.blake2b("\0".join((str(PUSH_FORMAT), *parts)).encode(), digest_size=16).hexdigest()


def planned_graphs(kb: KnowledgeBase, manifest: Manifest) -> list[Graph]:
    """Every graph the server should hold, file graph then derived graph, in the order of their names.
    A file whose hash the index could not record (it changed while loaded) is always sent."""
    layout = kb.layout
    paths = {layout.graph_name(p): p for p in layout.ontology_files() + layout.kb_files()}
    ontology = sorted(state.digest for g, state in manifest.files.items()
                      if g.startswith(FILE_GRAPH_PREFIX + "ontology/"))
    vocabulary = ["vocabulary", *manifest.vocabulary]  # roles and event classes a KB file may declare
    graphs = []
    for name in sorted(paths.keys() & manifest.files.keys()):
        digest = manifest.files[name].digest or f"unknown {time.time()}"
        graphs.append(Graph(name, _key("file", digest), paths[name], False))
        graphs.append(Graph(derived_graph(name), _key("derived", digest, manifest.fingerprint, *ontology, *vocabulary),
                            paths[name], True))
    return graphs


def graph_text(kb: KnowledgeBase, graph: Graph) -> bytes:
    """The graph's triples as N-Triples: the file's as written, or what the index derived from it."""
    if graph.derived:
        return derived_text(kb, graph.name)
    return serialize(read_quads(graph.path), format=RdfFormat.N_TRIPLES)


def open_for_push(layout: KBLayout, progress: bool | None) -> tuple[KnowledgeBase, Manifest]:
    """The KB's index, refreshed, with the manifest of the very generation opened: a refresh by
    another process in between would pair keys with the other generation's derived triples."""
    for _ in range(5):
        kb = KnowledgeBase.open(layout=layout, progress=progress)
        manifest = Manifest.load(kb.index.report.location)
        if manifest is not None and manifest.generation == kb.index.generation:
            return kb, manifest
        kb.close()
    raise IndexUnavailableError("The index kept changing while dipkb push opened it; run the push again.")


def _with_retries(connection: Connection, step: Step, stopping: threading.Event) -> None:
    """Send ``step``, again after a pause when the server failed (5xx) or did not answer; the last
    failure is raised, at once when the push is ``stopping``. Every step is safe to repeat."""
    for pause in (*RETRIES, None):
        try:
            send(connection, step)
            return
        except EndpointError as error:
            # Not a refused connection: a server down stays down for the seconds the retries wait.
            retry = error.connected and (error.status is None or error.status >= 500)
            if not retry or pause is None or stopping.wait(pause):
                raise


def push(layout: KBLayout, to: Destination, *, everything: bool = False, progress: bool | None = None,
         workers: int = WORKERS) -> PushReport:
    """Bring the server ``to`` up to date with the KB; see the module's docstring. ``workers``
    graphs are read and sent at a time."""
    kb, manifest = open_for_push(layout, progress)
    directory = kb.index.report.location
    with kb, open(record_path(directory, to.name).with_suffix(".lock"), "a+b") as lock:
        if not try_lock(lock):
            raise UsageError(f"Another dipkb push to {to.name} is running; wait for it to finish.")
        run = _Run(kb, to, PushRecord(directory, to.name), PushReport(to.name), StatusLine(progress))
        graphs = planned_graphs(kb, manifest)
        to_send = [g for g in graphs if everything or run.record.graphs.get(g.name) != g.key]
        to_drop = sorted(set(run.record.graphs) - {g.name for g in graphs})
        run.report.unchanged = len(graphs) - len(to_send)
        run.pushed_before = frozenset(run.record.graphs)
        # Unconfirmed until sent: a push killed after changing a graph on the server, before its record
        # was saved, kept the old key, and a file then put back as it was looked unchanged for good.
        # Still recorded, for a file removed before the next push must have its graphs dropped.
        for graph in to_send:
            run.record.graphs[graph.name] = UNCONFIRMED
        run.record.save()
        try:
            if run.send_all(to_send, workers):
                run.drop_all(to_drop)
                if everything:
                    run.prune([g.name for g in graphs])
            else:
                run.report.not_tried += len(to_drop)
        finally:
            run.record.save()
            run.show.clear()
    return run.report


@dataclass
class _Run:
    """One push under way: what it sends through, what it records and reports."""

    kb: KnowledgeBase
    to: Destination
    record: PushRecord
    report: PushReport
    show: StatusLine
    stopping: threading.Event = field(default_factory=threading.Event)
    pushed_before: frozenset[str] = frozenset()  # the graphs the record held when this push began
    saved: float = field(default_factory=time.monotonic)

    def send_all(self, graphs: list[Graph], workers: int) -> bool:
        """Send ``graphs``, ``workers`` at a time (the server works on one while the next is read);
        False when the server stopped answering and the rest was left."""
        pool = ThreadPoolExecutor(workers)
        try:
            futures = {pool.submit(self._send, graph): graph for graph in graphs}
            for done, future in enumerate(as_completed(futures), 1):
                graph = futures[future]
                self.show.note(f"Pushing {done}/{len(graphs)} graphs, {self.report.bytes / 1e6:.1f} MB sent: "
                               f"{graph.name.removeprefix(FILE_GRAPH_PREFIX)}")
                try:
                    text = future.result()
                except EndpointError as error:
                    # No connection for the first graph (a server down, a wrong port): one line, as
                    # --endpoint says it, not a report of every graph failed or not tried.
                    unreached = not error.connected and not self.report.sent and not self.report.failed
                    if error.status in EVERY_GRAPH_WOULD_FAIL or unreached:
                        raise
                    self._failed(graph.name, error)
                    if error.status is None:  # no answer even after the retries: the others would get none
                        self.stopping.set()
                        self.report.not_tried += len(graphs) - len(self.report.sent) - len(self.report.failed)
                        return False
                    continue
                except (DipkbError, OSError) as error:  # the file changed or vanished since the index read it
                    self._failed(graph.name, error)
                    continue
                self.record.graphs[graph.name] = graph.key
                self.report.sent.append(graph.name)
                self.report.triples += text.count(b"\n")
                self.report.bytes += len(text)
                if time.monotonic() - self.saved > SAVE_EVERY:
                    self.record.save()
                    self.saved = time.monotonic()
            return True
        finally:
            pool.shutdown(cancel_futures=True)

    def _send(self, graph: Graph) -> bytes:
        text = graph_text(self.kb, graph)
        # Only a graph never pushed can be new there; asking costs a request, so the others are not asked.
        absent = graph.name not in self.pushed_before and self.to.writer.absent(self.to.connection, graph.name)
        for step in self.to.writer.steps(graph.name, text, absent):
            if self.stopping.is_set():  # not sent: the push is over
                raise EndpointError("The push stopped before this graph.")
            _with_retries(self.to.connection, step, self.stopping)
        return text

    def _failed(self, graph: str, error: Exception) -> None:
        self.report.failed.append((graph, str(error)))
        self.record.graphs[graph] = UNCONFIRMED

    def prune(self, keep: list[str]) -> None:
        self.show.note("Removing the graphs of files the KB no longer has")
        for step in self.to.writer.prune_steps(keep):
            _with_retries(self.to.connection, step, self.stopping)

    def drop_all(self, graphs: list[str]) -> None:
        for graph in graphs:
            self.show.note(f"Removing {graph.removeprefix(FILE_GRAPH_PREFIX)}")
            try:
                for step in self.to.writer.drop_steps(graph):
                    _with_retries(self.to.connection, step, self.stopping)
            except EndpointError as error:
                if error.status in EVERY_GRAPH_WOULD_FAIL:
                    raise
                self.report.failed.append((graph, str(error)))
                continue
            del self.record.graphs[graph]
            self.report.dropped.append(graph)
