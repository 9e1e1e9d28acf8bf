"""Killable query workers: the server's SPARQL runs in processes it can stop.

pyoxigraph cannot interrupt a running query, and a thread cannot be killed, so a time limit that
really stops a query needs a process. A small pool of worker processes answers the queries; one that
overruns its limit is killed (SIGKILL) and replaced, and the request gets QueryTimeoutError.

A worker opens the index generation that the request's KB holds, read-only under a lease of its own
(so a writer cannot delete it meanwhile), and keeps it open until a request brings another, or a
commit replaces it while the worker is idle. It runs ``KnowledgeBase.query``, so the guard applies
exactly as in the CLI, and serialises the answer in the negotiated format before sending it back:
the pipe carries bytes, not terms.

Workers are forked from a fork server that has imported this module (and so pyoxigraph) once: a
replacement is ready in milliseconds, and nothing of the server's threads or event loop is copied.
"""
from __future__ import annotations

import json
import multiprocessing
import multiprocessing.util
import os
import queue
import resource
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from enum import Enum
from itertools import islice
from multiprocessing.connection import Connection
from pathlib import Path

import anyio
from anyio import to_thread
from pyoxigraph import (BlankNode, Literal, NamedNode, QueryBoolean, QueryResultsFormat, QuerySolutions, Triple,
                        parse_query_results)

from dipkb.errors import (DipkbError, IndexDamagedError, IndexUnavailableError, InternalError, NotAcceptableError,
                          QueryError, QueryMemoryError, QueryTimeoutError)
from dipkb.model.namespaces import XSD
from dipkb.store import generations
from dipkb.store.engine import Dataset, EmbeddedEngine
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.views import render
from dipkb.views.jsonld import checked_xml_results
from dipkb.views.written import as_written
from dipkb.web.live import LiveKB, RemoteKB


class ResultFormat(Enum):
    """What a query's answer is written as, by media type."""

    SPARQL_JSON = "application/sparql-results+json"
    SPARQL_XML = "application/sparql-results+xml"
    CSV = "text/csv"
    TSV = "text/tab-separated-values"
    TURTLE = "text/turtle"
    NTRIPLES = "application/n-triples"
    JSONLD = "application/ld+json"
    RDFXML = "application/rdf+xml"  # not asked for, but what SPARQLWrapper requests by default

    @property
    def content_type(self) -> str:
        return f"{self.value}; charset=utf-8"


# The default first: it answers */*, text/html and a missing Accept header.
SOLUTION_FORMATS = (ResultFormat.SPARQL_JSON, ResultFormat.SPARQL_XML, ResultFormat.CSV, ResultFormat.TSV)
GRAPH_FORMATS = (ResultFormat.TURTLE, ResultFormat.NTRIPLES, ResultFormat.JSONLD, ResultFormat.RDFXML)
_RESULTS_FORMATS = {ResultFormat.SPARQL_JSON: QueryResultsFormat.JSON, ResultFormat.SPARQL_XML: QueryResultsFormat.XML,
                    ResultFormat.CSV: QueryResultsFormat.CSV, ResultFormat.TSV: QueryResultsFormat.TSV}
_GRAPH_OUTPUT = {ResultFormat.TURTLE: render.OutputFormat.TURTLE, ResultFormat.NTRIPLES: render.OutputFormat.NTRIPLES,
                 ResultFormat.JSONLD: render.OutputFormat.JSONLD, ResultFormat.RDFXML: render.OutputFormat.RDFXML}
# Seconds between an idle worker's looks at the manifest, to let go of a generation a commit replaced.
_IDLE_CHECK = 1.0
# Past this many failed attempts to open the generation a request holds, the index's files are
# damaged or gone: the request fails rather than try forever.
_ATTEMPTS = 3


@dataclass(frozen=True)
class Query:
    """One request's query: its text, the dataset the protocol's parameters name (None: the
    query's own), the format wanted for each kind of answer (None: the client accepts none) and the
    row cap of a SELECT."""

    text: str
    dataset: Dataset | None
    solution_format: ResultFormat | None
    graph_format: ResultFormat | None
    max_rows: int


@dataclass(frozen=True)
class Answer:
    """A query's answer, serialised. ``truncated`` is None for answers that are not rows."""

    body: bytes
    format: ResultFormat
    truncated: bool | None


@dataclass(frozen=True)
class _Task:
    query: Query
    layout: KBLayout
    index_dir: Path
    generation: int


class _Stale:
    """The worker could not open the generation the request holds."""


@dataclass(frozen=True)
class _Failure:
    error: DipkbError


class _Worker:
    def __init__(self, context: multiprocessing.context.BaseContext, memory: int):
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_work, args=(child, memory), name="dipkb-query-worker", daemon=True)
        self.process.start()
        child.close()

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


# An AF_UNIX socket's path holds at most 107 bytes on Linux (103 on macOS and the BSDs), and the fork
# server listens on $TMPDIR/pymp-XXXXXXXX/listener-XXXXXXXX: under a $TMPDIR of more than 75 characters
# (a test runner's, a CI job's) the server failed to start. Python 3.14 falls back to the system's
# temporary directory there; so does dipkb, on the versions before it.
_SOCKET_PATH_MAX = 107 if sys.platform.startswith("linux") else 103
_FORK_SERVER_SOCKET = len("/pymp-XXXXXXXX/listener-XXXXXXXX")


@contextmanager
def _socket_sized_tempdir() -> Iterator[None]:
    """The temporary directory, or a system one while it is too long to hold the fork server's socket."""
    saved = tempfile.tempdir
    if len(tempfile.gettempdir()) + _FORK_SERVER_SOCKET > _SOCKET_PATH_MAX:
        tempfile.tempdir = next((d for d in ("/tmp", "/var/tmp", "/usr/tmp") if os.access(d, os.W_OK | os.X_OK)), saved)
    try:
        yield
    finally:
        tempfile.tempdir = saved


class QueryWorkers:
    """A pool of ``size`` worker processes. :meth:`answer` is called from the event loop; the
    blocking wait for a worker runs on a thread, one per worker at most."""

    def __init__(self, size: int, memory: int):
        self.size, self.memory = size, memory
        context = multiprocessing.get_context("forkserver")
        # Imported once by the fork server, so that a worker, or its replacement, starts with dipkb and
        # pyoxigraph imported; and not the default, the server's __main__, which is the CLI.
        context.set_forkserver_preload([__name__])
        self._context = context
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._closed = False
        self._slots = anyio.Semaphore(size)  # created on the event loop, which it belongs to

    def start(self) -> None:
        with _socket_sized_tempdir():
            multiprocessing.util.get_temp_dir()  # made once a process: where the fork server's socket goes
        for _ in range(self.size):
            self._add()

    def _add(self) -> None:
        worker = _Worker(self._context, self.memory)
        with self._lock:
            self._all.add(worker)
        self._idle.put(worker)

    def _drop(self, worker: _Worker) -> None:
        """Stop a worker that overran or died, and put a fresh one in its place."""
        with self._lock:
            self._all.discard(worker)
            replace = not self._closed
        worker.stop(kill=True)
        if replace:
            self._add()

    async def answer(self, live: LiveKB, query: Query, limit: float) -> Answer:
        """Run ``query`` on the KB's current generation within ``limit`` seconds of a worker's time.
        Waiting for a free worker is bounded by the same limit."""
        with anyio.move_on_after(limit) as waiting:
            await self._slots.acquire()
        if waiting.cancelled_caught:
            raise QueryTimeoutError(f"All {self.size} query workers stayed busy for {limit:g} s; try again later.")
        try:
            return await to_thread.run_sync(self._answer, live, query, limit)
        finally:
            self._slots.release()

    def _answer(self, live: LiveKB, query: Query, limit: float) -> Answer:
        for _ in range(_ATTEMPTS):
            with live.reading() as kb:  # holds the generation, and its lease, until the worker is done
                if kb.index is None:
                    raise InternalError("the server's knowledge base has no index")
                outcome = self._run(_Task(query, kb.layout, kb.index.report.location, kb.index.generation), limit)
            if isinstance(outcome, _Failure):
                raise outcome.error
            if isinstance(outcome, Answer):
                return outcome
        raise IndexUnavailableError("The index kept changing while the query started; try again.")

    def _run(self, task: _Task, limit: float) -> Answer | _Failure | _Stale:
        worker = self._idle.get()  # one is free: answer() holds a slot
        try:
            worker.connection.send(task)
            if not worker.connection.poll(limit):
                self._drop(worker)
                raise QueryTimeoutError(f"The query ran past its {limit:g} s limit and was stopped. Make it more "
                                        "selective (narrower patterns, a LIMIT), or run it with `dipkb query`, "
                                        "which has no time limit.")
            outcome = worker.connection.recv()
        except (EOFError, OSError):
            worker.process.join(1)
            code = worker.process.exitcode
            self._drop(worker)
            if code == -signal.SIGABRT:  # how the engine ends when an allocation fails
                raise out_of_memory(self.memory) from None
            cause = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            raise InternalError(f"the query worker died ({cause}) while answering this query") from None
        self._idle.put(worker)
        return outcome

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.stop()


def out_of_memory(memory: int) -> QueryMemoryError:
    return QueryMemoryError(f"The query needed more than the {memory >> 20:,} MB a query may take here and was stopped. "
                            "Make it more selective (narrower patterns, a LIMIT, no ORDER BY over everything), or run "
                            "it with `dipkb query`, which has no such limit.")


@asynccontextmanager
async def pool(size: int, memory: int) -> AsyncIterator[QueryWorkers]:
    """The workers, started (off the event loop: the fork server takes a few hundred ms to import
    dipkb), and stopped on exit; each may take ``memory`` bytes."""
    workers = QueryWorkers(size, memory)
    try:
        await to_thread.run_sync(workers.start)
        yield workers
    finally:
        await to_thread.run_sync(workers.close)


def _work(connection: Connection, memory: int) -> None:
    """A worker's life: answer tasks until the server closes the pipe or stops it. Past ``memory``
    bytes of data an allocation fails: the engine's aborts the worker, Python's raises MemoryError.
    Without it, one short query (a string doubled 30 times, a sorted cross product) took gigabytes
    of the machine's memory within its time limit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal: the server stops us in order
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    held: dict[tuple[Path, int], generations.Lease] = {}
    while True:
        try:
            if not connection.poll(_IDLE_CHECK):
                _let_go_of_replaced(held)
                continue
            task = connection.recv()
        except (EOFError, OSError):
            return
        try:
            outcome: Answer | _Failure | _Stale = _answer(task, held)
        except DipkbError as error:
            outcome = _Failure(error)
        except MemoryError:
            outcome = _Failure(out_of_memory(memory))
        except Exception as error:  # a bug, unless the index is damaged: the traceback to the server's log
            damaged = IndexDamagedError.of(error)
            if damaged is None:
                traceback.print_exc()
            outcome = _Failure(damaged or InternalError(f"the query worker failed: {type(error).__name__}: {error}"))
        connection.send(outcome)


def _let_go_of_replaced(held: dict[tuple[Path, int], generations.Lease]) -> None:
    """Release the generations a commit replaced, and delete them if no one else reads them: a worker
    kept the last one it answered from until its next query, and it stayed on disk until the next
    refresh after that."""
    for (directory, generation), lease in list(held.items()):
        if generations.Manifest.current_generation(directory) != generation:
            lease.handle.close()
            del held[directory, generation]
            try:
                generations.collect_if_idle(directory)
            except OSError:  # the next writer deletes it
                pass


def _answer(task: _Task, held: dict[tuple[Path, int], generations.Lease]) -> Answer | _Stale:
    key = (task.index_dir, task.generation)
    if key not in held:
        # The server holds the generation (LiveKB.reading), current or not: after a refresh that
        # failed, it answers from one a command's commit replaced, and the SPARQL endpoint was a 500.
        lease = generations.lease(task.index_dir, task.generation, held=True)
        if lease is None:
            return _Stale()
        for old in held.values():  # newer than what it held: the older ones are done with
            old.handle.close()
        held.clear()
        held[key] = lease
    kb = KnowledgeBase(task.layout, EmbeddedEngine(held[key].store))
    result = as_written(kb, kb.query(task.query.text, dataset=task.query.dataset))
    try:
        return serialise(result, task.query)
    except OSError as error:  # the engine evaluates lazily: a failure can come with the rows
        raise QueryError(f"Query failed: {error}") from None


def answer_remotely(live: RemoteKB, query: Query, limit: float) -> Answer:
    """``query`` answered by the SPARQL server of ``serve --endpoint``, through the same guard and
    writers as locally. No worker: the server runs the query, and this thread stops waiting for it
    when a read of its answer takes longer than ``limit`` seconds (the server decides whether the
    query itself stops)."""
    with live.reading(timeout=limit) as kb:
        return serialise(kb.query(query.text, dataset=query.dataset), query)


def serialise(result, query: Query) -> Answer:
    """The answer of ``kb.query`` in the format the query asked for, a SELECT cut at ``max_rows``."""
    if isinstance(result, QuerySolutions):
        fmt = _chosen(query.solution_format, SOLUTION_FORMATS, "SELECT")
        variables = [v.value for v in result.variables]
        rows = list(islice(result, query.max_rows + 1))
        truncated = len(rows) > query.max_rows
        return Answer(solutions(variables, rows[:query.max_rows], fmt, truncated), fmt, truncated)
    if isinstance(result, QueryBoolean):
        fmt = _chosen(query.solution_format, SOLUTION_FORMATS, "ASK")
        return Answer(result.serialize(format=_RESULTS_FORMATS[fmt]), fmt, None)
    fmt = _chosen(query.graph_format, GRAPH_FORMATS, "CONSTRUCT and DESCRIBE")
    return Answer(render.query_result(result, _GRAPH_OUTPUT[fmt]), fmt, None)


def _chosen(fmt: ResultFormat | None, offered: tuple[ResultFormat, ...], form: str) -> ResultFormat:
    if fmt is None:
        raise NotAcceptableError(f"{form} answers come as {', '.join(f.value for f in offered)}; the request's "
                                 "Accept header takes none of them.")
    return fmt


def solutions(variables: list[str], rows: list, fmt: ResultFormat, truncated: bool) -> bytes:
    """Rows of a SELECT in a W3C results format: pyoxigraph serialises only whole results, so the rows are
    written as JSON results here (as pyoxigraph does: tests/test_serve_sparql.py), which it reads back
    to write XML and TSV; CSV as the CLI writes it. A cut result's JSON says ``"truncated": true``."""
    if fmt is ResultFormat.CSV:
        return "".join(render.csv_results(variables, rows)).encode()
    bindings = [{name: _json_term(term) for name, term in zip(variables, row) if term is not None} for row in rows]
    document = {"head": {"vars": variables}, "results": {"bindings": bindings}}
    if fmt is ResultFormat.SPARQL_JSON:
        return _json({"truncated": True, **document} if truncated else document)
    written = parse_query_results(_json(document), QueryResultsFormat.JSON).serialize(format=_RESULTS_FORMATS[fmt])
    return checked_xml_results(written) if fmt is ResultFormat.SPARQL_XML else written


def _json(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _json_term(term) -> dict:
    """One RDF term as SPARQL 1.1 JSON results write it (with RDF 1.2's triple terms)."""
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        written = {"type": "literal", "value": term.value}
        if term.language:
            written |= {"xml:lang": term.language, **({"its:dir": str(term.direction)} if term.direction else {})}
        elif term.datatype.value != XSD + "string":
            written["datatype"] = term.datatype.value
        return written
    if isinstance(term, Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject), "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    raise InternalError(f"a query returned a term of unknown kind {type(term).__name__}")
