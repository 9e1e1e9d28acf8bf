"""The web face of dipkb: a Starlette application as thin as the CLI, over the same library.

Routes come from the modules that answer them: the SPARQL 1.1 Protocol (:mod:`.sparql_endpoint`), the
JSON API (:mod:`.api`) and the pages (:mod:`.pages`). Errors become responses in one place
(:mod:`.errors`). Every asset is served from the package: a page asks nothing of another host.
"""
from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware, parse_host_header
from starlette.responses import PlainTextResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dipkb.errors import DipkbError
from dipkb.store.layout import KBLayout
from dipkb.store.remote import RemoteEngine
from dipkb.web import api, errors, pages, sparql_endpoint, threads
from dipkb.web.live import LiveKB, RemoteKB, noting_stale

# QLever's default, half Oxigraph server's: long enough for an analyst's aggregate over a large KB,
# short enough that a runaway query does not hold a worker for minutes.
DEFAULT_TIMEOUT = 30.0
# datasette caps at 1,000 rows; a timeline-sized result here is a few thousand.
DEFAULT_MAX_ROWS = 10_000


def default_query_memory(workers: int = 2) -> int:
    """Bytes each query worker may take: together, half the machine's memory (2 x 5.8 GB on this 23 GB
    machine, 2 x 2 GB on an 8 GB laptop), at least 512 MB. The busiest saved queries take under 200 MB
    at a million events; a sort of every triple there takes over 1 GB."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(512 << 20, physical // 2 // workers)


# Nothing but this server, on every answer (pages, errors, assets): no other host's script, style,
# font or image, no frame, no plugin, no referrer sent with a followed source link.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'; object-src 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


# Set when the answer comes from the KB's files as they were before a change: one being read into the
# index, or one that does not load (LiveKB.stale, as it was when the request read the KB).
STALE_HEADER = "X-Dipkb-Stale"


def header_text(text: str, limit: int = 1000) -> str:
    """``text`` as one line of a header's latin-1, cut at ``limit`` characters: a hundred bad files
    would otherwise make a header proxies refuse."""
    line = " ".join(text.split()).encode("ascii", "backslashreplace").decode("ascii")
    return line if len(line) <= limit else line[:limit - 3] + "..."


class AnswerHeaders:
    """ASGI middleware adding to every response :data:`SECURITY_HEADERS`, where it sets none of its
    own, and :data:`STALE_HEADER` while it is true: an API or SPARQL client is told, as a page's
    reader is, that the answer comes from the files as they were."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        with noting_stale() as stale:
            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableHeaders(scope=message)
                    for name, value in SECURITY_HEADERS.items():
                        headers.setdefault(name, value)
                    if stale:
                        headers[STALE_HEADER] = header_text(stale[-1])
                await send(message)

            await self.app(scope, receive, sending)


class KnownHosts(TrustedHostMiddleware):
    """Starlette's check of the Host header (against DNS rebinding), whose refusal said only "Invalid
    host header", to the browser and to no log: a reverse proxy or a name on the network got that, with
    nothing to say --allow-host serves it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allow_any:
            named = parse_host_header(Headers(scope=scope).get("host"))
            host = named.host.lower() if named else ""
            names = self.allowed_hosts
            if not any(host == name or (name.startswith("*") and host.endswith(name[1:])) for name in names):
                message = (f"This server answers requests addressed to {', '.join(dict.fromkeys(names))}, not to "
                           f"{host or 'no name'!r}. To serve it under that name (behind a proxy, on a network), "
                           f"start it with --allow-host {host or 'NAME'}.")
                logging.getLogger("uvicorn.error").warning(message)
                await PlainTextResponse(message, status_code=400)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class OwnPagesOnly:
    """ASGI middleware refusing what a page on another site asks of this server in the background (an
    <img> or a script's fetch of /sparql?query=..., which a browser marks Sec-Fetch-Site: cross-site):
    unread without --cors, such requests still kept the two query workers busy, and everyone waited.
    A link followed from another site (a shared timeline or query) is a navigation, and is answered."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            if headers.get("sec-fetch-site") == "cross-site" and headers.get("sec-fetch-mode") != "navigate":
                message = ("A page on another site asked this server for a resource, in the background: refused. "
                           "Start dipkb serve with --cors to let other sites query it.")
                await PlainTextResponse(message, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class ServeConfig:
    layout: KBLayout
    timeout: float = DEFAULT_TIMEOUT  # seconds; a request may ask for less, never more
    max_rows: int = DEFAULT_MAX_ROWS
    cors: bool = False
    query_workers: int = 2
    query_memory: int = field(default_factory=default_query_memory)  # bytes, each worker
    endpoint: RemoteEngine | None = None  # answer from this SPARQL server instead of the local index
    # The names a request may be addressed to ("*": any). Loopback's only, by default: a page on another
    # site whose name a DNS rebinding points at 127.0.0.1 would otherwise read the KB and run queries.
    hosts: tuple[str, ...] = LOOPBACK_NAMES


def create_app(config: ServeConfig) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.config = config
        app.state.page_threads = threads.page_threads()
        app.state.live = LiveKB(config.layout) if config.endpoint is None else RemoteKB(config.layout, config.endpoint)
        try:
            async with sparql_endpoint.running(app):
                yield
        finally:
            app.state.live.close()

    middleware = [Middleware(AnswerHeaders), Middleware(KnownHosts, allowed_hosts=config.hosts)]
    if not config.cors:
        middleware.append(Middleware(OwnPagesOnly))
    else:
        # On every route and format, the errors included: a browser client must read a 400's message.
        middleware.append(Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"],
                                     allow_headers=["*"], expose_headers=[*sparql_endpoint.EXPOSED_HEADERS, api.UNLOADED_HEADER, api.NOTE_HEADER,
                                                                     STALE_HEADER]))
    routes = [*sparql_endpoint.routes(), *api.routes(), *pages.routes(),
              Mount("/static", StaticFiles(packages=[("dipkb.web", "static")]), name="static")]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                     exception_handlers={DipkbError: errors.handle, HTTPException: errors.handle_routing,
                                         RuntimeError: errors.handle_engine})
