"""The SPARQL 1.1 Protocol at /sparql: read-only queries, content negotiation, a time limit that
stops the query and a row cap that says so.

Requests (https://www.w3.org/TR/sparql11-protocol/#query-operation): GET ``?query=``, POST
``application/x-www-form-urlencoded`` with ``query=``, POST ``application/sparql-query`` with the
query as the body. ``default-graph-uri`` and ``named-graph-uri`` (repeatable) replace the query's
own dataset. Updates are refused, by the protocol's two forms here and by the guard for the rest.
The queries run in :mod:`.query_workers`, or on the SPARQL server of ``serve --endpoint``; this
module reads the request and writes the response.
"""
from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl

from pyoxigraph import NamedNode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dipkb.errors import ForbiddenQueryError, NotAcceptableError, ParameterError, QueryError, QueryTooLargeError
from dipkb.sparql.guard import MAX_QUERY_BYTES
from dipkb.store.engine import Dataset
from dipkb.web import query_workers
from dipkb.web.answering import TIMEOUT_ASKED_HEADER, TIMEOUT_HEADER, TRUNCATED_HEADER, answered
from dipkb.web.live import RemoteKB
from dipkb.web.query_workers import GRAPH_FORMATS, SOLUTION_FORMATS, Query, ResultFormat

# As serve's --timeout: below it, 1e-07 said that both workers "stayed busy" while they were idle,
# and 0.001 killed and forked a worker on every request.
MIN_TIMEOUT = 0.1
# What a browser script on another site may read of an answer, with --cors.
EXPOSED_HEADERS = (TRUNCATED_HEADER, TIMEOUT_HEADER, TIMEOUT_ASKED_HEADER)
# Media types clients send for the results formats (SPARQLWrapper's JSON asks for application/json too;
# older clients ask for XML results as text/xml).
_ALIASES = {"application/json": ResultFormat.SPARQL_JSON, "application/xml": ResultFormat.SPARQL_XML,
            "text/xml": ResultFormat.SPARQL_XML}
_READ_ONLY = ("This endpoint is read-only: SPARQL updates are refused. The Turtle files in kb/ are the source of "
              "truth; edit them or use 'dipkb add'.")
# A form-encoded query of 1 MiB takes up to three times as many bytes.
_MAX_BODY = 3 * MAX_QUERY_BYTES + 4096


def routes() -> list:
    return [Route("/sparql", sparql, methods=["GET", "POST"])]


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[None]:
    """The query workers, for as long as the application runs; none for a KB on a SPARQL server,
    which runs the queries itself."""
    size = 0 if isinstance(app.state.live, RemoteKB) else app.state.config.query_workers
    async with query_workers.pool(size, app.state.config.query_memory) as workers:
        app.state.query_workers = workers
        yield


async def sparql(request: Request) -> Response:
    asked = await read_request(request)
    # A header sent on several lines is one list (RFC 9110, 5.3): curl -H twice, some proxies.
    accept = ", ".join(request.headers.getlist("accept")) or None
    if request.method in ("GET", "HEAD") and asked.dataset is None and prefers_html(accept):
        from dipkb.web import pages  # a person with a browser: the query editor, running a shared query

        editor = await pages.sparql_editor(request, asked.query or None)
        editor.headers["Vary"] = "Accept"  # the same address answers a tool with results or a description
        return editor
    if asked.query is None:
        if request.method in ("GET", "HEAD") and (described := _named_graph_format(accept)) is not None:
            from dipkb.web.service_description import service_description  # a tool asking what this is

            body = service_description(str(request.url.replace(query="", fragment="")), described)
            return Response(body, headers={"Vary": "Accept"}, media_type=described.content_type)
        raise ParameterError("No query: pass it as query= (GET, or a form POST), or POST it as "
                             "application/sparql-query.")
    solution_format, graph_format = negotiate(accept, SOLUTION_FORMATS), negotiate(accept, GRAPH_FORMATS)
    if solution_format is None and graph_format is None:
        offered = ", ".join(f.value for f in SOLUTION_FORMATS + GRAPH_FORMATS)
        shown = accept if len(accept or "") <= 200 else accept[:199] + "…"  # a 19 KB header made a 19 KB message
        raise NotAcceptableError(f"This endpoint answers in {offered}; the request's Accept header ({shown}) "
                                 "takes none of them.")
    query = Query(asked.query, asked.dataset, solution_format, graph_format, request.app.state.config.max_rows)
    return await answered(request, query, asked.timeout, {"Vary": "Accept"})


@dataclass(frozen=True)
class ProtocolRequest:
    """What a request asks: the query (None: none given), the dataset its parameters name (None:
    the query's own) and the time limit it asks for (None: the server's)."""

    query: str | None
    dataset: Dataset | None
    timeout: float | None


async def read_request(request: Request) -> ProtocolRequest:
    # Not Starlette's query_params, which read bytes that are not UTF-8 as U+FFFD: "caf%E9" (Latin-1)
    # would be answered, for "caf\ufffd", as if nothing matched.
    params = _form(request.scope["query_string"], "the URL's query")
    queries: list[str] = []
    if request.method == "POST":
        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind == "application/sparql-update":
            raise ForbiddenQueryError(_READ_ONLY)
        if kind == "application/x-www-form-urlencoded":
            params += _form(await _body(request), "the form")
        elif kind == "application/sparql-query":
            queries.append(_text(await _body(request, MAX_QUERY_BYTES)))
        else:
            raise ParameterError(f"A POST to /sparql is application/x-www-form-urlencoded (query=...) or "
                                 f"application/sparql-query (the query as the body), not {kind or 'untyped'}.")
    names = {name for name, _ in params}
    if "update" in names:
        raise ForbiddenQueryError(_READ_ONLY)
    queries += [value for name, value in params if name == "query"]
    if len(queries) > 1:
        raise ParameterError(f"One query per request, not {len(queries)}.")
    defaults = [_graph(value) for name, value in params if name == "default-graph-uri"]
    named = [_graph(value) for name, value in params if name == "named-graph-uri"]
    dataset = Dataset(tuple(defaults), tuple(named)) if defaults or named else None
    timeouts = [value for name, value in params if name == "timeout"]
    if len(timeouts) > 1:
        raise ParameterError("Give timeout= once.")
    # An empty query is no query: what a browser sends from an empty editor.
    query = queries[0] if queries and queries[0].strip() else None
    return ProtocolRequest(query, dataset, _seconds(timeouts[0]) if timeouts else None)


async def _body(request: Request, most: int = _MAX_BODY) -> bytes:
    """The body, refused past ``most`` bytes, what the guard would accept anyway, rather than read
    whole: a query's own body at its limit, a form's with room for its percent-escapes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > most:
            raise QueryTooLargeError(f"The request body is over {most:,} bytes; dipkb accepts queries up to "
                                     f"{MAX_QUERY_BYTES:,} bytes (1 MiB).")
        chunks.append(chunk)
    return b"".join(chunks)


def _form(encoded: bytes, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(encoded.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:  # raw, or a %-escape of bytes that are not UTF-8: %FF
        raise QueryError(f"The values of {what} are not UTF-8 text, which the SPARQL protocol requires.") from None


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise QueryError("The request body is not UTF-8 text, which the SPARQL protocol requires.") from None


def _graph(value: str) -> str:
    try:
        return NamedNode(value).value
    except ValueError:
        raise ParameterError(f"default-graph-uri and named-graph-uri take absolute IRIs; {value!r} is not one.") from None


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= MIN_TIMEOUT):
        raise ParameterError(f"timeout= is a number of seconds from {MIN_TIMEOUT:g}, not {value[:40]!r}.")
    return seconds


@dataclass(frozen=True)
class _Range:
    """One media range of an Accept header."""

    name: str  # type/subtype, lower case
    quality: float

    def specificity(self, fmt: ResultFormat) -> int | None:
        """How closely the range names ``fmt``: 2 exactly (or by an alias), 1 by type/*, 0 by */*;
        None when it does not match. text/html counts as */*: a browser that asks for a page takes
        the default format rather than nothing."""
        kind, _, subtype = self.name.partition("/")
        if self.name == fmt.value or _ALIASES.get(self.name) is fmt:
            return 2
        if subtype == "*" and kind == fmt.value.partition("/")[0]:
            return 1
        return 0 if self.name in ("*/*", "text/html") else None


def accepted(header: str | None) -> list[_Range]:
    """The media ranges of an Accept header with their q-values; malformed ones are left out."""
    ranges = []
    for item in (header or "").split(","):
        media, *parameters = [part.strip() for part in item.split(";")]
        kind, slash, subtype = media.lower().partition("/")
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = math.nan
        if slash and kind and subtype and 0 <= quality <= 1:
            ranges.append(_Range(f"{kind}/{subtype}", quality))
    return ranges


def negotiate(header: str | None, offered: tuple[ResultFormat, ...]) -> ResultFormat | None:
    """The format of ``offered`` the Accept header prefers (RFC 9110 §12.5.1: each format takes the
    q-value of the most specific range naming it); on a tie, or without a header, the first
    offered. None when the header accepts none of them."""
    ranges = accepted(header)
    if not ranges:
        return offered[0]
    best, best_quality = None, 0.0
    for fmt in offered:
        matches = [(found, r.quality) for r in ranges if (found := r.specificity(fmt)) is not None]
        if matches:
            closest = max(found for found, _ in matches)
            quality = max(q for found, q in matches if found == closest)
            if quality > best_quality:
                best, best_quality = fmt, quality
    return best


def _named_graph_format(header: str | None) -> ResultFormat | None:
    """The RDF format a request without a query asks for by name (text/turtle), if it names one: a
    browser or curl's */* gets the page or the usage message instead."""
    if any(r.quality > 0 and r.specificity(f) == 2 for r in accepted(header) for f in GRAPH_FORMATS):
        return negotiate(header, GRAPH_FORMATS)
    return None


def prefers_html(header: str | None) -> bool:
    """Whether a request without a query comes from a browser: its Accept header names text/html
    at least as high as any format it names exactly."""
    ranges = accepted(header)
    html = max((r.quality for r in ranges if r.name == "text/html"), default=0.0)
    named = max((r.quality for r in ranges for f in SOLUTION_FORMATS + GRAPH_FORMATS if r.specificity(f) == 2),
                default=0.0)
    return html > 0 and html >= named
