"""A query answered over HTTP: by a query worker, within the server's time limit, a SELECT cut at its
row cap; for /sparql and the saved queries of /api/queries alike."""
from __future__ import annotations

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response

from dipkb.errors import QueryError
from dipkb.web import query_workers
from dipkb.web.errors import error_response
from dipkb.web.live import RemoteKB
from dipkb.web.query_workers import Query

TRUNCATED_HEADER = "X-Dipkb-Truncated"  # "true" when a SELECT had more rows than the cap
# The limit the query ran under, in seconds; and, when the request asked for more than the server
# allows, what it asked for.
TIMEOUT_HEADER = "X-Dipkb-Timeout"
TIMEOUT_ASKED_HEADER = "X-Dipkb-Timeout-Requested"


async def answered(request: Request, query: Query, timeout: float | None, headers: dict[str, str]) -> Response:
    """The response to ``query``, run by a query worker (or the server of ``serve --endpoint``) within
    the server's time limit, or the ``timeout`` asked for when less: for /sparql and the saved queries
    of /api/queries alike, which ran with no limit or row cap on a page's thread."""
    config, state = request.app.state.config, request.app.state
    limit = config.timeout if timeout is None else min(timeout, config.timeout)
    headers = {**headers, TIMEOUT_HEADER: f"{limit:g}"}
    if timeout is not None and timeout > config.timeout:
        headers[TIMEOUT_ASKED_HEADER] = f"{timeout:g}"
    try:
        if isinstance(state.live, RemoteKB):
            answer = await to_thread.run_sync(query_workers.answer_remotely, state.live, query, limit)
        else:
            answer = await state.query_workers.answer(state.live, query, limit)
    except QueryError as error:  # a 503 for the time limit says which limit held, as an answer does
        return error_response(request, error, headers)
    if answer.truncated is not None:
        headers[TRUNCATED_HEADER] = "true" if answer.truncated else "false"
    return Response(answer.body, headers=headers, media_type=answer.format.content_type)
