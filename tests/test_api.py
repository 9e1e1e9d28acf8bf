"""The JSON API of `dipkb serve` against a real server process: each route answers what the CLI prints
as JSON for the same KB and the same filter, parameters are bound (never spliced), and a request's
mistakes are 400s and 404s with a message."""
from __future__ import annotations

import inspect
import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

import pytest
from click.testing import CliRunner

from dipkb.cli import cli
from dipkb.errors import UnknownNameError
from dipkb.store.layout import KBLayout
from dipkb.views import describe, timeline
from dipkb.web import api
from dipkb.web.live import LiveKB

from conftest import copy_shipped_kb, serving


def cli_json(root, *args: str):
    result = CliRunner().invoke(cli, ["--kb", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def get(served, path: str, params: list[tuple[str, str]] | None = None) -> tuple[int, str, object]:
    """Status, content type and parsed body of a GET, errors included."""
    url = served.url + path + (f"?{urlencode(params)}" if params else "")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers["Content-Type"], json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], json.loads(error.read())


# (query-string pairs, the same filter as `dipkb timeline` options)
TIMELINE_FILTERS = [
    ([], []),
    ([("actor", "Russia"), ("from", "2021-07"), ("to", "2021-07")], ["--actor", "Russia", "--from", "2021-07", "--to", "2021-07"]),
    ([("actor", "Russia"), ("direct", "true")], ["--actor", "Russia", "--direct"]),
    ([("actor", "actor:india"), ("actor", "Iran")], ["--actor", "actor:india", "--actor", "Iran"]),
    ([("type", "042")], ["--type", "042"]),
    ([("type", "Meeting"), ("place", "Russia")], ["--type", "Meeting", "--place", "Russia"]),
    ([("modality", "planned"), ("modality", "possible")], ["--modality", "planned", "--modality", "possible"]),
    ([("from", "1996"), ("to", "1996"), ("type", "")], ["--from", "1996", "--to", "1996"]),  # empty = absent
]


@pytest.mark.parametrize(("params", "options"), TIMELINE_FILTERS)
def test_timeline_is_what_the_cli_prints_as_json(served_kb, params, options):
    status, content_type, body = get(served_kb, "/api/timeline", params)
    assert (status, content_type) == (200, "application/json")
    expected = cli_json(served_kb.root, "timeline", *options, "-f", "json")
    assert body == expected
    assert body, "every filter here matches events in the bundled KB"


def test_filters_narrow_the_timeline(served_kb):
    everything = get(served_kb, "/api/timeline")[2]
    russia = get(served_kb, "/api/timeline", [("actor", "Russia"), ("from", "2021-07"), ("to", "2021-07")])[2]
    direct = get(served_kb, "/api/timeline", [("actor", "Russia"), ("direct", "1")])[2]
    assert 0 < len(russia) < len(everything)
    ids = {e["id"] for e in russia}
    assert "event:kabulov-taliban-meeting-2021-07" in ids  # Kabulov acts for Russia
    assert "event:kabulov-taliban-meeting-2021-07" not in {e["id"] for e in direct}


@pytest.mark.parametrize(("fmt", "media_type"), [("timelinejs", "application/json"),
                                                 ("geojson", "application/geo+json")])
def test_timeline_formats_are_the_cli_exports(served_kb, fmt, media_type):
    params = [("actor", "Russia"), ("format", fmt)]
    status, content_type, body = get(served_kb, "/api/timeline", params)
    assert (status, content_type) == (200, media_type)
    assert body == cli_json(served_kb.root, "timeline", "--actor", "Russia", "-f", fmt)
    # And the note the CLI writes on stderr, of the events the format leaves out, is a header.
    with urllib.request.urlopen(served_kb.url + "/api/timeline?" + urlencode(params), timeout=30) as response:
        noted = response.headers["X-Dipkb-Note"]
    said = CliRunner().invoke(cli, ["--kb", str(served_kb.root), "timeline", "--actor", "Russia", "-f", fmt]).stderr
    assert said == (f"Note: {noted}\n" if noted else "")
    assert noted or fmt == "timelinejs"  # each bundled event has a start date, not each place a point


def test_queries_is_the_catalogue_the_cli_lists_with_typed_parameters(served_kb):
    status, content_type, body = get(served_kb, "/api/queries")
    assert (status, content_type) == (200, "application/json")
    listed = cli_json(served_kb.root, "queries", "-f", "json")
    assert [(q["name"], q["title"]) for q in body] == [(q["name"], q["title"]) for q in listed]
    assert [", ".join(p["signature"] for p in q["parameters"]) for q in body] == [q["parameters"] for q in listed]
    timeline = next(q for q in body if q["name"] == "actor-timeline")
    assert timeline["description"]
    assert [(p["name"], p["type"], p["required"]) for p in timeline["parameters"]] == [
        ("actor", "actor", True), ("from", "date", False), ("to", "date-end", False)]
    assert timeline["example"]["actor"]
    assert timeline["example_url"].startswith("/api/queries/actor-timeline?actor=")


def test_every_example_url_runs(served_kb):
    for query in get(served_kb, "/api/queries")[2]:
        status, _, body = get(served_kb, query["example_url"])
        assert status == 200, (query["name"], body)
        assert "head" in body


@pytest.mark.parametrize(("name", "values"), [
    ("actor-timeline", {"actor": "Russia", "from": "2021-07", "to": "2021-07"}),
    ("actor-timeline", {"actor": "actor:taliban"}),
    ("statements-by-actor", {"actor": "Shaheen"}),
    ("event-sources", {"event": "event:kabulov-taliban-meeting-2021-07"}),
    ("meetings-between", {"a": "Kabulov", "b": "actor:taliban-delegation-moscow-2021"}),
    ("claims", {}),
])
def test_a_saved_query_is_what_the_cli_prints(served_kb, name, values):
    status, content_type, body = get(served_kb, f"/api/queries/{name}", list(values.items()))
    assert (status, content_type) == (200, "application/sparql-results+json; charset=utf-8")
    options = [option for item in values.items() for option in ("-p", "=".join(item))]
    assert body == cli_json(served_kb.root, "query", name, *options, "-f", "json")
    assert body["results"]["bindings"], "each of these has rows in the bundled KB"


def test_a_parameter_is_bound_not_spliced(served_kb):
    """A value that would change the query if pasted into its text is one term, or nothing."""
    for hostile in ['Russia> } UNION { ?event ?p ?o', 'x") || true || ("']:
        status, _, body = get(served_kb, "/api/queries/statements-by-actor", [("actor", hostile)])
        assert status == 404, body  # no actor has that name: no rows smuggled in either
    status, _, body = get(served_kb, "/api/queries/event-sources", [("event", "event:x> } UNION { ?s ?p ?o")])
    assert status == 400 and "must be an IRI" in body["error"]


@pytest.mark.parametrize("name", ["event:kabulov-taliban-meeting-2021-07", "Kabulov", "place:moscow",
                                  "https://w3id.org/dipkb/kb/source/founding-article"])
def test_show_is_what_the_cli_prints(served_kb, name):
    status, content_type, body = get(served_kb, "/api/show/" + quote(name, safe=":/"))
    assert (status, content_type) == (200, "application/json")
    assert body == cli_json(served_kb.root, "show", name, "-f", "json")


@pytest.mark.parametrize(("path", "params", "message"), [
    ("/api/queries/no-such-query", [], "No saved query named 'no-such-query'. Available: actor-positions"),
    ("/api/show/event:no-such-event", [], "Nothing named 'event:no-such-event'"),
    ("/api/timeline", [("actor", "Nobody At All")], "No actor named 'Nobody At All'"),
    ("/api/queries/statements-by-actor", [("actor", "Nobody At All")], "No actor named 'Nobody At All'"),
    # An IRI the KB lacks: it answered no rows, as if it had looked (dipkb query says the same, exit 2).
    ("/api/queries/event-sources", [("event", "event:nope")],
     "Nothing is event:nope in the knowledge base (parameter 'event' of query 'event-sources')."),
])
def test_what_is_not_there_is_a_404(served_kb, path, params, message):
    status, content_type, body = get(served_kb, path, params)
    assert (status, content_type) == (404, "application/json")
    assert body["status"] == 404 and body["error"].startswith(message)


@pytest.mark.parametrize(("path", "params", "message"), [
    ("/api/queries/actor-timeline", [], "Query 'actor-timeline' needs actor=..."),
    ("/api/queries/actor-timeline", [("actor", "Russia"), ("from", "July")], "Parameter 'from' must be a date"),
    ("/api/queries/actor-timeline", [("actor", "Russia"), ("from", "2021-08"), ("to", "2021-07")],
     "The range of query 'actor-timeline' is empty"),
    ("/api/queries/actor-timeline", [("actor", "Russia"), ("limit", "3")], "Unknown parameter 'limit'"),
    ("/api/queries/actor-timeline", [("actor", "Russia"), ("actor", "Iran")], "Parameter 'actor' is given twice"),
    ("/api/show/Afghanistan", [], "'Afghanistan' is ambiguous"),
    # Any five things were suggested, as every label holds "".
    ("/api/show/", [], "No name given: give an IRI, a CURIE (event:..., actor:...) or a label."),
    ("/api/timeline", [("from", "July 2021")], "'July 2021' is not a date"),
    ("/api/timeline", [("from", "2021-08"), ("to", "2021-07")], "The date range is empty"),
    ("/api/timeline", [("modality", "likely")], "Unknown modality 'likely'"),
    ("/api/timeline", [("actr", "Russia")], "Unknown parameter 'actr'"),
    ("/api/timeline", [("type", "Meeting"), ("type", "Visit")], "Parameter 'type' is given twice"),
    ("/api/timeline", [("direct", "maybe")], "Parameter 'direct' must be true or false"),
    ("/api/timeline", [("format", "csv")], "Unknown format 'csv'"),
    # str.isdigit() is true of both; int() refuses them (a 500 before).
    ("/api/show/actor:russia", [("limit", "²")], "No limit '²': give a whole number from 1."),
    ("/actor/russia.json", [("limit", "1" + "0" * 5000)], "No limit '1000"),
    ("/actor/russia.json", [("limit", "1"), ("limit", "2")], "Parameter 'limit' is given twice"),
    ("/api/show/actor:russia", [("limt", "1")], "Unknown parameter 'limt'; this takes: limit."),
    # Each is looked up on a thread no time limit stops: 1,000 held one for 55 s.
    ("/api/timeline", [("actor", f"Nobody {n}") for n in range(21)], "At most 20 values of 'actor', not 21."),
])
def test_a_bad_request_is_a_400_with_its_reason(served_kb, path, params, message):
    status, content_type, body = get(served_kb, path, params)
    assert (status, content_type) == (400, "application/json")
    assert body["status"] == 400 and body["error"].startswith(message), body


def test_a_filter_repeated_is_looked_up_once(served_kb):
    status, _, body = get(served_kb, "/api/timeline", [("actor", "Russia")] * 1000)
    assert status == 200 and body == get(served_kb, "/api/timeline", [("actor", "Russia")])[2]


def test_the_timeline_twin_is_the_cli_json_byte_for_byte_sent_as_it_is_made(served_kb):
    with urllib.request.urlopen(served_kb.url + "/timeline.json?actor=Russia", timeout=30) as response:
        assert (response.headers["Transfer-Encoding"], response.headers["Content-Length"]) == ("chunked", None)
        body = response.read()
    result = CliRunner().invoke(cli, ["--kb", str(served_kb.root), "timeline", "--actor", "Russia", "-f", "json"])
    assert body == result.stdout_bytes


def test_a_streamed_answer_lets_go_of_its_generation_when_done_abandoned_or_refused(kb_copy, monkeypatch):
    # A generation still held when the KB changes is never closed: each request would leak a store.
    monkeypatch.setattr(timeline, "CHUNK", 3)
    live = LiveKB(KBLayout.locate(kb_copy / "kb"))

    def readers() -> int:
        return live._current.readers

    def shown(name: str):
        return lambda kb: describe.describe(kb, name).json_pieces()

    try:
        done = api._pieces(live, shown("actor:russia"))
        first = next(done)
        assert readers() == 1
        assert json.loads(first + "".join(done))["timeline"] and readers() == 0
        abandoned = api._pieces(live, shown("actor:russia"))
        next(abandoned), next(abandoned)
        abandoned.close()
        assert readers() == 0
        with pytest.raises(UnknownNameError):
            next(api._pieces(live, shown("nobody at all")))
        assert readers() == 0
    finally:
        live.close()


def test_pages_and_the_api_answer_on_threads_of_their_own():
    """45 slow timeline requests took all 40 of Starlette's threads, which the static files and the
    SPARQL endpoint's waits share: the stylesheet came after 40.6 s (bench/NOTES.md, 2026-12-07)."""
    from starlette.routing import Route

    from dipkb.web import api, pages
    from dipkb.web.threads import on_page_threads

    handlers = [route.endpoint for route in [*api.routes(), *pages.routes()] if isinstance(route, Route)]
    assert len(handlers) == 16
    for handler in handlers:
        assert inspect.iscoroutinefunction(handler), handler
        if handler is api.query_api:  # binds on a page thread, then waits for a query worker as /sparql does
            assert "page_threads" in inspect.getsource(handler)
            continue
        assert handler.__code__ is on_page_threads(lambda request: None).__code__, handler.__name__



def test_a_query_file_that_does_not_load_leaves_the_others_listed(tmp_path):
    """One bad file made `dipkb queries` and /api/queries an error with no query listed."""
    root = copy_shipped_kb(tmp_path)
    (root / "queries" / "broken.rq").write_text("# param: x (nosuchtype)\nSELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    (root / "queries" / "brökèn.rq").write_text("# title: B\nSELECT * WHERE {\n", encoding="utf-8")
    good = sorted(path.stem for path in (root / "queries").glob("*.rq") if "br" not in path.stem)
    listed = CliRunner().invoke(cli, ["--kb", str(root), "queries", "-f", "json"])
    assert listed.exit_code == 2 and [q["name"] for q in json.loads(listed.stdout)] == good
    assert listed.stderr.splitlines()[-1] == "2 saved queries failed to load."
    assert "broken.rq:1: unknown parameter type 'nosuchtype'" in listed.stderr
    with serving(root) as served:
        with urllib.request.urlopen(served.url + "/api/queries", timeout=30) as response:
            assert response.status == 200
            assert [q["name"] for q in json.loads(response.read())] == good
            unloaded = response.headers["X-Dipkb-Unloaded"]
    assert "broken.rq:1: unknown parameter type" in unloaded and "br\\xf6k\\xe8n.rq:3:1" in unloaded
    assert unloaded.endswith("2 saved queries failed to load.")
    # Of many, the first few: 400 bad files made a 51 KB header, past what a browser's fetch reads.
    for number in range(40):
        (root / "queries" / f"bad-{number:02}.rq").write_text("# titel: x\n", encoding="utf-8")
    with serving(root) as served:
        with urllib.request.urlopen(served.url + "/api/queries", timeout=30) as response:
            unloaded = response.headers["X-Dipkb-Unloaded"]
    assert "bad-00.rq:1: unknown header key" in unloaded and "bad-03.rq" not in unloaded
    assert unloaded.endswith("... and 39 more. 42 saved queries failed to load.") and len(unloaded) < 1000
