"""The JSON API: what the CLI prints as JSON, over HTTP, from the same library calls.

``/api/timeline`` is ``dipkb timeline -f json`` (``format=timelinejs|geojson`` as ``-f``),
``/api/queries`` the saved-query catalogue, ``/api/queries/NAME?param=value`` ``dipkb query NAME -p ...
-f json`` (values typed by the query's header and bound, never spliced), ``/api/show/ID`` ``dipkb show
ID -f json`` (``limit=N`` as ``--limit N``). Errors are raised as DipkbErrors; :mod:`dipkb.web.errors` answers them.

The handlers are plain functions: Starlette runs them in its thread pool, off the event loop, as the
library's calls block.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Generator, Iterator
from urllib.parse import urlencode

from anyio import to_thread
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from dipkb.errors import DipkbError, ParameterError, UnknownNameError
from dipkb.store.kb import KnowledgeBase
from dipkb.sparql import saved
from dipkb.util.numbers import whole_number
from dipkb.views import describe, geojson, timeline, timelinejs
from dipkb.views.long_selection import select_all
from dipkb.views.names import bound_saved_query
from dipkb.views.render import OutputFormat, json_array, json_text
from dipkb.web.answering import answered
from dipkb.web.html import TimelineForm, single_values
from dipkb.web.live import LiveKB, RemoteKB
from dipkb.web.query_workers import Query, ResultFormat
from dipkb.web.threads import on_page_threads

_TIMELINE_FORMATS = (OutputFormat.JSON, OutputFormat.TIMELINEJS, OutputFormat.GEOJSON)
# What the CLI says on stderr beside an answer: the saved queries that did not load, the events a
# timeline's format cannot show. One line, in ASCII (a header is Latin-1).
UNLOADED_HEADER = "X-Dipkb-Unloaded"
NOTE_HEADER = "X-Dipkb-Note"


def _header_text(text: str) -> str:
    return " ".join(text.split()).encode("ascii", "backslashreplace").decode()


def cli_json(data: object, media_type: str = "application/json") -> Response:
    """JSON as the CLI prints it (`-f json`): the same bytes for the same answer."""
    return Response(json_text(data), media_type=media_type)


def _format(value: str | None) -> OutputFormat:
    names = [f.value for f in _TIMELINE_FORMATS]
    if value is None or value == "":
        return OutputFormat.JSON
    if value not in names:
        raise ParameterError(f"Unknown format {value!r}: use one of {', '.join(names)}.")
    return OutputFormat(value)


def timeline_api(request: Request) -> Response:
    """GET /api/timeline?actor=&type=&place=&from=&to=&modality=&direct=&format=, and /timeline.json,
    the timeline page's twin: all the events for the filters, not one page; as JSON, sent as the
    entries are made."""
    form = TimelineForm.read(request.query_params.multi_items(), also=("format",))
    fmt = _format(request.query_params.get("format"))
    if fmt is OutputFormat.JSON:
        return _streamed(request.app.state.live, lambda kb: json_array(
            entry.as_dict() for entry in timeline.timeline_entries(kb, select_all(kb, form.resolve(kb)))))
    with request.app.state.live.reading() as kb:
        entries = timeline.timeline(kb, form.resolve(kb))
        if fmt is OutputFormat.TIMELINEJS:
            shared, media_type = timelinejs.timelinejs(entries), "application/json"
        else:
            shared, media_type = geojson.feature_collection(kb, entries), "application/geo+json"
    response = cli_json(shared.document, media_type=media_type)
    if note := shared.note:  # what the CLI says on stderr: the events the format cannot show
        response.headers[NOTE_HEADER] = _header_text(note)
    return response


def _streamed(live: LiveKB | RemoteKB, pieces_of: Callable[[KnowledgeBase], Iterator[str]]) -> StreamingResponse:
    """JSON sent in pieces (``pieces_of`` the KB), once its first piece is made: what the request names
    is resolved and selected by then, so that a mistake gets its error, not a cut 200. The index
    generation read stays held until the last piece is sent, or the response ends otherwise."""
    body = _pieces(live, pieces_of)
    first = next(body)
    return _ClosingStream(itertools.chain([first], body), body)


class _ClosingStream(StreamingResponse):
    """A stream whose pieces' generator is closed however the response ends: a HEAD request that sends
    none, or a client gone away mid-stream, left it open, and the generation it read stayed leased,
    one more on disk for each change to the files."""

    def __init__(self, content: Iterator[str], pieces: Generator[str, None, None]):
        super().__init__(content, media_type="application/json")
        self._pieces = pieces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await run_in_threadpool(self._close)

    def _close(self) -> None:
        for _ in range(500):
            try:
                self._pieces.close()
                return
            except ValueError:  # still making a piece in the thread a cut stream left it in
                time.sleep(0.01)


def _pieces(live: LiveKB | RemoteKB, pieces_of: Callable[[KnowledgeBase], Iterator[str]]) -> Generator[str, None, None]:
    with live.reading() as kb:
        yield from pieces_of(kb)


def queries_api(request: Request) -> Response:
    """GET /api/queries: the catalogue, each query with its typed parameters and its example; the
    files that do not load are said in X-Dipkb-Unloaded (one bad file made the whole catalogue an error)."""
    with request.app.state.live.reading() as kb:
        catalogue, problems = saved.read_catalogue(kb.layout.queries_dir)
    response = cli_json([_catalogue_entry(query) for query in catalogue])
    if problems:
        # The first few: 400 bad files made a 51 KB header, more than a browser's fetch reads.
        response.headers[UNLOADED_HEADER] = _header_text(saved.unloaded(problems, most=3))
    return response


def _catalogue_entry(query: saved.SavedQuery) -> dict:
    example = query.example_values
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "parameters": [{"name": p.name, "type": p.type.value, "required": p.required, "default": p.default,
                        "description": p.description, "signature": p.signature()} for p in query.parameters],
        "example": example,
        "example_url": f"/api/queries/{query.name}" + (f"?{urlencode(example)}" if example else ""),
    }


async def query_api(request: Request) -> Response:
    """GET /api/queries/NAME?param=value: the saved query run with its parameters bound, as
    `dipkb query NAME -p ... -f json` prints it (a CONSTRUCT query's graph as Turtle), in a query
    worker as /sparql runs it: within the server's time limit, a SELECT cut at its row cap."""
    values = single_values(request.query_params.multi_items())

    def bound() -> str:
        with request.app.state.live.reading() as kb:
            return bound_saved_query(kb, saved.find_query(kb.layout.queries_dir, request.path_params["name"]), values)
    text = await to_thread.run_sync(bound, limiter=request.app.state.page_threads)  # names looked up in the KB
    query = Query(text, None, ResultFormat.SPARQL_JSON, ResultFormat.TURTLE, request.app.state.config.max_rows)
    return await answered(request, query, None, {})


def counting_number(params: QueryParams, name: str) -> int | None:
    """The parameter ``name`` as a whole number from 1 (a page, a limit), or None when it is absent."""
    text = params.get(name)
    if text is None:
        return None
    number = whole_number(text)
    if number is None or number < 1:
        raise ParameterError(f"No {name} {text!r}: give a whole number from 1.")
    return number


def show_api(request: Request) -> Response:
    """GET /api/show/ID: `dipkb show ID -f json` (``limit`` as --limit); ID is a CURIE (event:...), an IRI or a name."""
    return show_json(request.app.state.live, request.path_params["id"], request.query_params)


def show_json(live: LiveKB | RemoteKB, name: str, params: QueryParams,
              unknown: Callable[[KnowledgeBase], DipkbError] | None = None) -> Response:
    """`dipkb show NAME -f json` (``limit`` as --limit), sent as the timeline's entries are made;
    ``unknown`` says what a name that is nothing of the KB is, where `show`'s message would not do."""
    single_values(list(params.multi_items()), allowed=("limit",))  # limit=1&limit=2 took the last, bogus=1 nothing

    def pieces(kb: KnowledgeBase) -> Iterator[str]:
        try:
            described = describe.describe(kb, name, limit=counting_number(params, "limit"))
        except UnknownNameError:
            if unknown is None:
                raise
            raise unknown(kb) from None
        return described.json_pieces()
    return _streamed(live, pieces)


def routes() -> list[Route]:
    return [
        Route("/api/timeline", on_page_threads(timeline_api), methods=["GET"]),
        Route("/api/queries", on_page_threads(queries_api), methods=["GET"]),
        Route("/api/queries/{name}", query_api, methods=["GET"]),
        Route("/api/show/{id:path}", on_page_threads(show_api), methods=["GET"]),
    ]
