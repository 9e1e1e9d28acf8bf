"""The pages of `dipkb serve`: the timeline at /, a page per event, actor, place, source and position,
and the SPARQL editor. Each page has a machine-readable twin, as datasette's do: /timeline.json is
`dipkb timeline -f json` for the same filters, /event/NAME.json is `dipkb show event:NAME -f json`.

Handlers are thin: the filters are read by :func:`dipkb.views.timeline.typed_filter`, the pages
drawn by the templates and script that also draw `dipkb export -f html` (:mod:`dipkb.web.html`).
Errors are raised, and become pages in :mod:`dipkb.web.errors`. The plain handlers run in
Starlette's thread pool, so a long timeline does not hold the event loop.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from dipkb.errors import AmbiguousNameError, DipkbError, ParameterError, UnknownNameError
from dipkb.model.modality import MODALITIES
from dipkb.model.namespaces import DIP, PREFIXES, curie, expand
from dipkb.model.terms import iri_node
from dipkb.sparql.saved import SavedQuery, read_catalogue
from dipkb.store.kb import KnowledgeBase
from dipkb.views.describe import describe
from dipkb.web.api import counting_number, show_json, timeline_api
from dipkb.web.html import PER_PAGE, TimelineForm, environment, event_data, script_json, single_values
from dipkb.views.names import NAMED_ONLY_QUERY, bound_saved_query, named_like, named_only
from dipkb.views.paging import timeline_window
from dipkb.views.timeline import TimelineEntry, empty_actor_notes
from dipkb.web.live import LiveKB, stale_notes
from dipkb.web.threads import on_page_threads

# The kinds of resource with a page, by the CURIE prefix that names them.
KINDS = ("event", "actor", "place", "source", "position")


def _live(request: Request) -> LiveKB:
    return request.app.state.live


def _page(template: str, status_code: int = 200, **context) -> HTMLResponse:
    notes = stale_notes()
    html = environment().get_template(template).render(static=False, stale=notes[-1] if notes else None, **context)
    return HTMLResponse(html, status_code=status_code)


@dataclass(frozen=True)
class Window:
    """The events one page shows: ``page`` (from 1) of ``total`` events, PER_PAGE at a time."""

    total: int
    page: int

    @staticmethod
    def requested(params: QueryParams) -> int:
        return counting_number(params, "page") or 1

    @classmethod
    def of(cls, page: int, total: int) -> Window:
        pages = max(1, math.ceil(total / PER_PAGE))
        if page > pages:
            raise ParameterError(f"No page {page}: there {'is 1 page' if pages == 1 else f'are {pages} pages'} "
                                 f"of {PER_PAGE} events for these filters.")
        return cls(total, page)

    @property
    def start(self) -> int:
        return (self.page - 1) * PER_PAGE

    def data(self, shown: list[TimelineEntry]) -> dict:
        """What the script draws: this window's events, and where they sit in the whole."""
        return {"mode": "served", "events": event_data(shown), "total": self.total, "offset": self.start,
                "per_page": PER_PAGE}


# What sites add to the links they pass on (Facebook's fbclid, a newsletter's utm_source): a page
# refuses a parameter it does not know, since a misspelt filter would widen the answer, but a link
# someone shared must still show what it showed them. The JSON API, read by programs, takes none.
_TRACKING = frozenset({"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
                       "mc_cid", "mc_eid", "ref_src"})


def _untracked(params: QueryParams) -> list[tuple[str, str]]:
    """A page's query parameters without those sites add to links for tracking."""
    return [(k, v) for k, v in params.multi_items() if k not in _TRACKING and not k.startswith("utm_")]


def _twin(path: str, params: QueryParams) -> str:
    """The JSON twin of a page: the same filters, all events (no page)."""
    kept = urlencode([(k, v) for k, v in _untracked(params) if k != "page"])
    return f"{path}?{kept}" if kept else path


# What a person can get wrong in the filters: an unknown or ambiguous name, a malformed date, a page
# past the end.
_INPUT_ERRORS = (ParameterError, UnknownNameError, AmbiguousNameError)


def timeline_page(request: Request) -> Response:
    params = request.query_params
    try:
        form, wrong = TimelineForm.read(_untracked(params), also=("page",)), None
    except ParameterError as error:  # an unknown filter, one given twice: said above an empty form
        form, wrong = TimelineForm(), error
    page = functools.partial(_page, "timeline.html", title=_timeline_title(form), form=form, modalities=MODALITIES,
                             alternate=_twin("/timeline.json", params))

    def refused(error: Exception) -> Response:
        # Shown above the form, still filled in, to be corrected there; not the error page.
        return page(notes=[], error=str(error), data=script_json(Window(0, 1).data([])), status_code=400)

    if wrong is not None:
        return refused(wrong)
    with _live(request).reading() as kb:
        try:
            filt = form.resolve(kb)
            page_number = Window.requested(params)
            shown, total = timeline_window(kb, filt, (page_number - 1) * PER_PAGE, PER_PAGE)
            window = Window.of(page_number, total)
        except _INPUT_ERRORS as error:
            return refused(error)
        notes = empty_actor_notes(kb, filt, total > 0)
        data = window.data(shown)
    return page(notes=notes, error=None, data=script_json(data))


def page_of(name: str) -> str | None:
    """The page of a CURIE that has one: actor:russia is at /actor/russia."""
    prefix, _, local = name.partition(":")
    return f"/{prefix}/{quote(local)}" if prefix in KINDS and local else None


def _timeline_title(form: TimelineForm) -> str:
    """The filters as typed, so that tabs and the history tell one view from another."""
    return " · ".join(form.in_words() + ["dipkb timeline"])


def description_page(request: Request) -> Response:
    kind, local = request.url.path.split("/")[1], request.path_params["local"]
    single_values(_untracked(request.query_params), allowed=("page",))
    page = Window.requested(request.query_params)
    with _live(request).reading() as kb:
        # A page lists what one page holds: a million-event actor's whole description took 48 s and 1.5 GB.
        try:
            description = describe(kb, f"{kind}:{local}", limit=PER_PAGE, first_event=(page - 1) * PER_PAGE)
        except UnknownNameError:  # said for `dipkb show`, whose advice (a label) a page's address cannot take
            raise _no_page(kb, kind, local) from None
        window = Window.of(page, description.timeline_count)
        data = window.data(list(description.timeline))
    return _page("entity.html", title=description.label, description=description, id=curie(description.id),
                 href=page_of, twin=f"/{kind}/{quote(local)}.json", data=script_json(data), alternate=None)


def _no_page(kb: KnowledgeBase, kind: str, local: str, suffix: str = "") -> UnknownNameError:
    """What a page's address that names nothing is: the pages of every kind whose names hold its words;
    or, for a node the KB names without describing it, that."""
    node = iri_node(expand(f"{kind}:{local}") or "")
    if node is not None and kb.ask(NAMED_ONLY_QUERY, {"thing": node}):
        return UnknownNameError(named_only(f"{kind}:{local}"))
    words = local.replace("-", " ")
    found = named_like(kb, words, [DIP + kind.title()]) + named_like(kb, words, [DIP + k.title() for k in KINDS if k != kind])
    like = tuple((path, label) for iri, label in found[:5] if (path := page_of(curie(iri))))  # its own kind first
    return UnknownNameError(f"No {kind} has the page /{kind}/{local}{suffix}: a page is named by the end of the {kind}'s "
                            f"IRI (/{kind}/NAME for {kind}:NAME).", like)


def description_json(request: Request) -> Response:
    kind, local = request.url.path.split("/")[1], request.path_params["local"]
    return show_json(_live(request), f"{kind}:{local}", request.query_params,
                     unknown=lambda kb: _no_page(kb, kind, local, ".json"))


@dataclass(frozen=True)
class _Example:
    """A saved query as the editor offers it: its text with the example's parameters bound."""

    name: str
    title: str
    description: str
    example: str
    text: str
    needs: str = ""  # the parameters a person must bind first, where the example names nothing of this KB


def _ready(kb: KnowledgeBase, query: SavedQuery) -> _Example:
    example = " ".join(f"{k}={v}" for k, v in query.example)
    try:
        return _Example(query.name, query.title, query.description, example,
                        bound_saved_query(kb, query, query.example_values))
    except DipkbError:  # no example, or one naming what this KB does not hold (actor:russia)
        # Run unbound, a required parameter's variable matches anything (every event): the person binds it.
        needs = " ".join(f"{p.name}=…" for p in query.parameters if p.required)
        if needs:
            return _Example(query.name, query.title, query.description, "", query.text, needs)
        return _Example(query.name, query.title, query.description, "", query.with_values({}))


def _examples(live: LiveKB) -> tuple[list[_Example], list[str]]:
    """The saved queries ready to run, and what is wrong with those that do not load: one bad file
    or one example this KB cannot bind made the whole editor an error page."""
    with live.reading() as kb:
        queries, problems = read_catalogue(kb.layout.queries_dir)
        return [_ready(kb, q) for q in queries], problems


_FIRST_QUERY = "SELECT ?event ?label WHERE {\n  ?event a dip:Meeting ; rdfs:label ?label\n}\nORDER BY ?event\n"


async def sparql_editor(request: Request, query: str | None = None) -> Response:
    """The page /sparql shows a browser: a query form, and the saved queries one click away; with
    ``query`` (a link someone shared, /sparql?query=...), that query in the form, run."""
    examples, problems = await run_in_threadpool(_examples, _live(request))
    return _page("sparql.html", title="dipkb SPARQL", queries=examples, problems=problems,
                 initial=_FIRST_QUERY if query is None else query, run=query is not None,
                 prefixes=script_json(PREFIXES), alternate=None)


def routes() -> list:
    # The .json twins first, or a page's route would read NAME.json as a name.
    return [
        Route("/", on_page_threads(timeline_page), methods=["GET"]),
        Route("/timeline.json", on_page_threads(timeline_api), methods=["GET"]),
        *(Route(f"/{kind}/{{local}}.json", on_page_threads(description_json), methods=["GET"]) for kind in KINDS),
        *(Route(f"/{kind}/{{local}}", on_page_threads(description_page), methods=["GET"]) for kind in KINDS),
    ]
