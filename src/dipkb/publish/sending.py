"""How one graph reaches a server: SPARQL 1.1 Update or the Graph Store Protocol, never half-written.

With Update, a graph is replaced by one request, ``DROP SILENT GRAPH <g> ; INSERT DATA { GRAPH <g>
{ ... } } ; ...``: one transaction on Oxigraph, which readers see whole or not at all, and on
Virtuoso, which rolls it back whole if it fails. The data is split into INSERT DATA operations of
2,000 triples (Virtuoso's SPARQL parser runs out of memory near 5,000 in one); triples about blank
nodes go in one ``INSERT { ... } WHERE {}``, which keeps them one node per label (Virtuoso refuses
blank nodes in INSERT DATA). A graph too large for one request is loaded into a temporary graph
over several, then moved in place with ``MOVE``, one request again.

With the Graph Store Protocol alone, a graph is one PUT of N-Triples. Oxigraph clears the graph,
then loads it, in two steps: a reader can see it empty, and a failed load leaves it cleared. Given an
update endpoint too, a graph the server does not have yet (a HEAD answers 404) is one POST of
N-Triples, one transaction that readers see whole or not at all, and faster than Update's parser
(a new 100k-event KB on Oxigraph: 39.6 s against 46.7 s); a graph it has is replaced through Update.

A temporary graph is visible in the union default graph while it loads. Requests are sent as
``application/sparql-update`` (Virtuoso 7.2.5 hangs on POST ``application/sparql-query``, not on this).
"""
from __future__ import annotations

import hashlib
import urllib.parse
from dataclasses import dataclass

from pyoxigraph import BlankNode, NamedNode, RdfFormat, parse

from dipkb.errors import EndpointError, UsageError
from dipkb.store.remote import Connection, find_credentials, split_credentials

OPERATION_TRIPLES = 2000
REQUEST_BYTES = 8 << 20
_UPDATE = "application/sparql-update"
_NTRIPLES = "application/n-triples"
DIPKB_GRAPHS = b"urn:dipkb:"  # every graph a push writes: files, derived, temporary
TEMPORARY_PREFIX = "urn:dipkb:pushing:"


def temporary_graph(graph: str) -> str:
    """Where ``graph`` is loaded before being moved in place; always the same for one graph, so
    that what a killed push left there is dropped by the next one."""
    return TEMPORARY_PREFIX + hashlib.sha256(graph.encode()).hexdigest()[:24]


def _iri(graph: str) -> bytes:
    return str(NamedNode(graph)).encode()


def _apart(text: bytes) -> tuple[list[bytes], list[bytes]]:
    """The N-Triples lines without and with a blank node. Only lines holding ``_:`` are parsed
    (it may also sit in a literal)."""
    plain, blank = [], []
    for line in text.split(b"\n"):
        if not line:
            continue
        if b"_:" in line:
            (quad,) = parse(line, RdfFormat.N_TRIPLES)
            if isinstance(quad.subject, BlankNode) or isinstance(quad.object, BlankNode):
                blank.append(line)
                continue
        plain.append(line)
    return plain, blank


def _operations(target: bytes, plain: list[bytes], blank: list[bytes]) -> list[bytes]:
    head = b"INSERT DATA { GRAPH " + target + b" {\n"
    operations = [head + b"\n".join(plain[at:at + OPERATION_TRIPLES]) + b"\n} }"
                  for at in range(0, len(plain), OPERATION_TRIPLES)]
    if blank:
        operations.append(b"INSERT { GRAPH " + target + b" {\n" + b"\n".join(blank) + b"\n} } WHERE {}")
    return operations


def update_requests(graph: str, text: bytes, limit: int = REQUEST_BYTES) -> list[bytes]:
    """The SPARQL Update requests that replace ``graph`` with the N-Triples ``text``, in order; see
    the module's docstring."""
    target = _iri(graph)
    drop = b"DROP SILENT GRAPH " + target
    plain, blank = _apart(text)
    operations = _operations(target, plain, blank)
    if sum(len(op) + 3 for op in operations) <= limit:
        return [b" ;\n".join([drop, *operations])]
    temporary = _iri(temporary_graph(graph))
    requests, batch, size = [b"DROP SILENT GRAPH " + temporary], [], 0
    for operation in _operations(temporary, plain, blank):
        if batch and size + len(operation) > limit:
            requests.append(b" ;\n".join(batch))
            batch, size = [], 0
        batch.append(operation)
        size += len(operation) + 3
    requests.append(b" ;\n".join(batch))
    return requests + [b"MOVE " + temporary + b" TO " + target]


@dataclass(frozen=True)
class Step:
    """One HTTP request of a graph's replacement or removal."""

    method: str
    url: str
    body: bytes | None = None
    content_type: str | None = None
    missing_ok: bool = False  # a 404 means the graph is already gone: done


class UpdateWriter:
    """Writes graphs through a SPARQL 1.1 Update endpoint."""

    atomic = True

    def __init__(self, url: str, limit: int = REQUEST_BYTES):
        self.url = url
        self.limit = limit  # bytes of one request; a larger graph goes through a temporary graph

    def absent(self, connection: Connection, graph: str) -> bool:
        return False  # unknown over Update: every graph is replaced

    def steps(self, graph: str, text: bytes, absent: bool = False) -> list[Step]:
        return [self._post(request) for request in update_requests(graph, text, self.limit)]

    def drop_steps(self, graph: str) -> list[Step]:
        return [self._post(b"DROP SILENT GRAPH " + _iri(graph) + b" ;\nDROP SILENT GRAPH "
                           + _iri(temporary_graph(graph)))]

    def prune_steps(self, keep: list[str]) -> list[Step]:
        """Empty every dipkb graph on the server but ``keep``: those of files removed while no record
        of the pushes was kept (kb/.dipkb deleted). The graphs are found by reading every triple once
        (Virtuoso 7.2.5 lists none for ``GRAPH ?g {}``); the LIMIT, larger than any count of graphs,
        keeps Oxigraph from testing ``NOT IN`` on every triple (a million triples: 27 s, not 0.4 s).
        MINUS and NOT EXISTS fail on one server or the other (a Virtuoso compiler error, 163 s)."""
        kept = b", ".join(_iri(graph) for graph in keep)
        ours = b"FILTER(STRSTARTS(STR(?g), \"" + DIPKB_GRAPHS + b"\"))"
        return [self._post(b"DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { { SELECT DISTINCT ?g WHERE { "
                           b"GRAPH ?g { ?s0 ?p0 ?o0 } " + ours + b" } LIMIT 1000000000 } "
                           b"FILTER(?g NOT IN (" + kept + b")) GRAPH ?g { ?s ?p ?o } }")]

    def _post(self, request: bytes) -> Step:
        return Step("POST", self.url, request, _UPDATE)


class StoreWriter:
    """Writes graphs through a Graph Store Protocol endpoint; atomically when given ``update``."""

    def __init__(self, url: str, update: UpdateWriter | None):
        self.url = url
        self.update = update

    @property
    def atomic(self) -> bool:
        return self.update is not None

    def absent(self, connection: Connection, graph: str) -> bool:
        """Whether the server has no ``graph``, when that changes how it is written (see the module)."""
        if self.update is None:
            return False
        try:
            connection.send("HEAD", self._graph_url(graph))
        except EndpointError as error:
            if error.status == 404:
                return True
            raise
        return False

    def steps(self, graph: str, text: bytes, absent: bool = False) -> list[Step]:
        """The requests that make ``graph`` hold ``text``; ``absent``: the server has no such graph."""
        if not text:
            return self.drop_steps(graph)
        if self.update is None:
            return [Step("PUT", self._graph_url(graph), text, _NTRIPLES)]
        if absent:
            return [Step("POST", self._graph_url(graph), text, _NTRIPLES)]
        return self.update.steps(graph, text)

    def drop_steps(self, graph: str) -> list[Step]:
        return [Step("DELETE", self._graph_url(graph), missing_ok=True)]

    def prune_steps(self, keep: list[str]) -> list[Step]:
        return self.update.prune_steps(keep) if self.update else []  # the protocol cannot list graphs

    def _graph_url(self, graph: str) -> str:
        return f"{self.url}{'&' if '?' in self.url else '?'}{urllib.parse.urlencode({'graph': graph})}"


def send(connection: Connection, step: Step) -> None:
    try:
        connection.send(step.method, step.url, body=step.body, content_type=step.content_type)
    except EndpointError as error:
        if not (step.missing_ok and error.status == 404):
            raise


@dataclass(frozen=True)
class Destination:
    """Where a push goes: the writer, its connection, and the URL that names the server in the
    record and the messages (without credentials)."""

    writer: UpdateWriter | StoreWriter
    connection: Connection
    name: str


def destination(update_url: str | None, store_url: str | None, *, user: str | None = None,
                password: str | None = None, timeout: float = 300.0) -> Destination:
    """The destination for the endpoints given; credentials from a URL's ``user:password@``, else
    as :func:`dipkb.store.remote.find_credentials` finds them."""
    if not update_url and not store_url:
        raise UsageError("Say where to push: --update URL (SPARQL 1.1 Update) or --store URL (Graph Store Protocol).")
    update, in_update = split_credentials(update_url) if update_url else (None, None)
    store, in_store = split_credentials(store_url) if store_url else (None, None)
    name = store or update
    credentials = in_update or in_store or find_credentials(name, user, password)
    updater = UpdateWriter(update) if update else None
    writer = StoreWriter(store, updater) if store else updater
    return Destination(writer, Connection(credentials, timeout), name)
