"""The one place where a library error becomes an HTTP response: its status and one plain message.

The CLI's counterpart is :class:`dipkb.cli.base.DipkbGroup`. A SPARQL client gets text/plain (the
protocol's convention, and what SPARQLWrapper shows), the JSON API a JSON object, a page an HTML page.
"""
from __future__ import annotations

import html

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from dipkb import errors

# Most specific first: ForbiddenQueryError is a QueryError.
_STATUS: tuple[tuple[type[errors.DipkbError], int], ...] = (
    (errors.ForbiddenQueryError, 400),
    (errors.QueryTimeoutError, 503),  # a QueryError too
    (errors.QueryMemoryError, 503),  # a QueryError too
    (errors.UnknownQueryError, 404),  # a QueryError too
    (errors.QueryTooLargeError, 413),  # a QueryError too
    (errors.QueryError, 400),
    (errors.NotAcceptableError, 406),
    (errors.ParameterError, 400),
    (errors.UnknownNameError, 404),
    (errors.AmbiguousNameError, 400),
    (errors.IndexLockedError, 503),
    (errors.KBLockedError, 503),
    (errors.IndexDamagedError, 503),
    (errors.EndpointError, 502),  # serve --endpoint: the SPARQL server behind this one failed
)


def http_status(error: errors.DipkbError) -> int:
    """The HTTP status of a library error: 4xx for what the request got wrong, 503 for a KB or a
    query that cannot answer now, 502 for the SPARQL server answering for it, 500 for the rest (the
    KB's files, the index)."""
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 500)


def error_response(request: Request, error: errors.DipkbError, headers: dict[str, str] | None = None) -> Response:
    suggested = isinstance(error, errors.UnknownNameError) and error.suggestions
    return _response(request, http_status(error), str(error), headers, _suggestions(error) if suggested else None)


def _suggestions(error: errors.UnknownNameError) -> str:
    """A page's account of an unknown name: the message, then what it may have meant, as links."""
    listed = "".join(f"<li><a href=\"{html.escape(address)}\">{html.escape(label)}</a> <code>{html.escape(address)}</code>"
                     for address, label in error.suggestions)
    return f"<p class=error>{html.escape(error.message)}</p><p>Did you mean:</p><ul class=suggestions>{listed}</ul>"


def _response(request: Request, status: int, message: str, headers: dict[str, str] | None = None,
              said: str | None = None) -> Response:
    """``said``: a page's HTML for the message, where it is more than the message."""
    path = request.url.path
    if path.startswith("/sparql"):
        return PlainTextResponse(message + "\n", status_code=status, headers=headers)
    if path.startswith("/api/") or path.endswith(".json"):
        return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)
    said = said or f"<p class=error>{html.escape(message)}</p>"
    page = (f"<!doctype html><meta charset=utf-8><title>dipkb: error {status}</title>"
            f"<link rel=stylesheet href=/static/dipkb.css><main><h1>Error {status}</h1>"
            f"{said}<p><a href=/>Back to the timeline</a></p></main>")
    return HTMLResponse(page, status_code=status, headers=headers)


async def handle(request: Request, error: Exception) -> Response:
    if not isinstance(error, errors.DipkbError):  # registered for DipkbError only
        raise error
    return error_response(request, error)


async def handle_engine(request: Request, error: Exception) -> Response:
    """An engine's RuntimeError: a damaged index is said as such (503), anything else is a bug."""
    damaged = errors.IndexDamagedError.of(error)
    if damaged is None:
        raise error
    return error_response(request, damaged)


async def handle_routing(request: Request, error: Exception) -> Response:
    """A path no route answers, or a method it does not take: the same page, JSON or text as the
    library's errors, rather than the framework's bare "Not Found"."""
    if not isinstance(error, HTTPException):  # registered for HTTPException only
        raise error
    message = error.detail
    if error.status_code == 404:
        message = (f"Nothing at {request.url.path}: the timeline is at /, the SPARQL endpoint at /sparql, and "
                   "each event, actor, place, source and position has a page such as /actor/russia.")
    return _response(request, error.status_code, message, error.headers)
