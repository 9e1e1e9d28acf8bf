"""The engine seam: the views give the same output through a second engine that has no store to
reach past the interface; and a KnowledgeBase releases its index lease when closed."""
import gc
import io
import subprocess
import sys
import warnings
from collections.abc import Iterable, Mapping

import pytest
from click.testing import CliRunner
from pyoxigraph import (Literal, NamedNode, QueryBoolean, QueryResultsFormat, QuerySolutions, RdfFormat, Triple, parse,
                        parse_query_results, serialize)

from dipkb import KnowledgeBase
from dipkb.cli import cli
from dipkb.errors import DipkbError, ForbiddenQueryError
from dipkb.model.namespaces import DIP
from dipkb.model.temporal import parse_partial_date
from dipkb.store.engine import Dataset, EmbeddedEngine, Term
from dipkb.store.layout import KBLayout
from dipkb.views import referrers
from dipkb.views.describe import describe
from dipkb.views.export import ExportFormat, export
from dipkb.views.names import resolve_actor, resolve_event_type, resolve_place
from dipkb.views.render import OutputFormat, query_result
from dipkb.views.stats import compute_stats, stats_as_dict
from dipkb.views.timeline import TimelineFilter, timeline

pytestmark = pytest.mark.prebuilt_index  # the index is not the point here: built once (conftest)


class WireEngine:
    """A second engine, as a remote endpoint would be: its own in-memory store, every answer sent
    through the W3C results format or N-Triples and parsed back, and no ``store`` attribute, so a
    view that reaches past the interface fails."""

    def __init__(self, layout: KBLayout):
        self._inner = EmbeddedEngine(KnowledgeBase.open(layout=layout, index=False).store)

    def solutions(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> QuerySolutions:
        answer = self._inner.solutions(query, bindings, dataset)
        return parse_query_results(answer.serialize(format=QueryResultsFormat.JSON), QueryResultsFormat.JSON)

    def triples(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> Iterable[Triple]:
        text = serialize(self._inner.triples(query, bindings, dataset), format=RdfFormat.N_TRIPLES)
        return [quad.triple for quad in parse(text, RdfFormat.N_TRIPLES)]

    def ask(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> QueryBoolean:
        answer = self._inner.ask(query, bindings, dataset)
        return parse_query_results(answer.serialize(format=QueryResultsFormat.JSON), QueryResultsFormat.JSON)

    def graphs(self) -> list[str]:
        return self._inner.graphs()

    def graph(self, iri: str) -> bytes:
        return self._inner.graph(iri)


@pytest.fixture()
def both(layout: KBLayout):
    """The KB copy through the embedded index and through the wire engine."""
    with KnowledgeBase.open(layout=layout) as embedded:
        yield embedded, KnowledgeBase(layout, WireEngine(layout))


def test_the_wire_engine_has_no_store(both):
    _, wired = both
    with pytest.raises(TypeError):
        wired.store


def _filters(kb: KnowledgeBase) -> list[TimelineFilter]:
    russia = resolve_actor(kb, "Russia")
    return [
        TimelineFilter(),
        TimelineFilter(actors=(russia,)),
        TimelineFilter(actors=(russia,), via_agents=False),
        TimelineFilter(actors=(russia, resolve_actor(kb, "india"))),
        TimelineFilter(event_type=resolve_event_type(kb, "Meeting")),
        TimelineFilter(event_type=resolve_event_type(kb, "04")),
        TimelineFilter(place=resolve_place(kb, "Moscow")),
        TimelineFilter(actors=(russia,), start=parse_partial_date("2021-07").first_day,
                       end=parse_partial_date("2021-07").last_day),
    ]


def test_timeline_is_the_same_through_both_engines(both):
    embedded, wired = both
    filters = _filters(embedded)
    assert _filters(wired) == filters
    for filt in filters:
        expected = [e.as_dict() for e in timeline(embedded, filt)]
        assert expected, filt  # every filter above matches events in the shipped KB
        assert [e.as_dict() for e in timeline(wired, filt)] == expected


def test_numbered_for_each_numbers_every_iri_across_chunks(both):
    for kb in both:
        pairs = {(r["event"].value, r["label"].value)
                 for r in kb.select("SELECT ?event ?label WHERE { ?event a dip:Meeting ; rdfs:label ?label }")}
        events = sorted({event for event, _ in pairs})
        assert len(events) > 3
        rows = kb.numbered_for_each("SELECT ?n ?label WHERE { VALUES (?event ?n) { %s } ?event rdfs:label ?label }",
                                    events, chunk=2)
        assert {(events[int(n.value)], label.value) for n, label in rows} == pairs


def test_a_look_up_over_iris_gives_the_chunks_in_order(both):
    # Chunks are answered on several threads; their rows still come in the order of the IRIs.
    for kb in both:
        events = sorted(r["event"].value for r in kb.select("SELECT DISTINCT ?event WHERE { ?event a dip:Meeting }"))
        rows = kb.select_for_each("SELECT ?event ?label WHERE { VALUES ?event { %s } ?event rdfs:label ?label }",
                                  events, chunk=2)
        chunks = [events.index(r["event"].value) // 2 for r in rows]
        assert chunks == sorted(chunks)
        assert set(chunks) == set(range((len(events) + 1) // 2))


def test_a_look_up_over_rows_of_iris_keeps_the_bindings_in_every_chunk(both):
    # (event, type) rows, two a query, with ?label bound: each chunk answers with the binding.
    for kb in both:
        meetings = sorted(r["event"].value for r in kb.select("SELECT DISTINCT ?event WHERE { ?event a dip:Meeting }"))
        assert len(meetings) > 2
        rows = [(NamedNode(event), NamedNode(DIP + kind)) for event in meetings for kind in ("Meeting", "Statement")]
        text = ("SELECT ?event ?note ?label WHERE { VALUES (?event ?kind) { %s } ?event a ?kind "
                "BIND(STR(?label) AS ?note) }")
        found = list(kb.select_values(text, rows, {"label": Literal("checked")}, chunk=2))
        assert [(r["event"].value, r["note"].value) for r in found] == [(event, "checked") for event in meetings]


def test_a_look_up_over_rows_takes_no_text_in_a_row(both):
    for kb in both:
        with pytest.raises(TypeError, match="not str"):
            list(kb.select_values("SELECT * WHERE { VALUES ?s { %s } ?s ?p ?o }", [("<a> } ?s ?p ?o {",)]))


def test_the_guard_checks_the_template_of_a_look_up_over_iris(both):
    for kb in both:
        with pytest.raises(ForbiddenQueryError):
            kb.select_for_each("SELECT * WHERE { VALUES ?s { %s } SERVICE <http://example.org/> { ?s ?p ?o } }",
                               ["http://example.org/a"])


@pytest.mark.parametrize("name", ["Kabulov", "actor:russia", "place:moscow", "event:kabulov-taliban-meeting-2021-07",
                                  "source:founding-article"])
def test_show_is_the_same_through_both_engines(both, name, monkeypatch):
    embedded, wired = both
    expected = describe(embedded, name).as_dict()
    assert expected["properties"]
    assert describe(wired, name).as_dict() == expected
    page = describe(embedded, name, limit=2).as_dict()
    assert describe(wired, name, limit=2).as_dict() == page
    monkeypatch.setattr(referrers, "_MANY_QUADS", 1)  # counted over the files' graphs, each named
    assert describe(wired, name, limit=2).as_dict() == describe(embedded, name, limit=2).as_dict() == page


@pytest.mark.parametrize("name", ["nobody at all", "actor:nobody", "<not an iri>", "Russia"])
def test_unknown_names_fail_alike_through_both_engines(both, name):
    embedded, wired = both
    with pytest.raises(DipkbError) as expected:
        describe(embedded, name)
    with pytest.raises(DipkbError) as got:
        describe(wired, name)
    assert str(got.value) == str(expected.value)


def test_stats_are_the_same_through_both_engines(both):
    embedded, wired = both
    expected = stats_as_dict(compute_stats(embedded))
    assert expected["events"] > 0 and expected["sources"]
    assert stats_as_dict(compute_stats(wired)) == expected


@pytest.mark.parametrize("fmt", [ExportFormat.NQUADS, ExportFormat.TURTLE])
def test_export_with_derived_is_the_same_through_both_engines(both, fmt):
    embedded, wired = both
    expected, got = io.BytesIO(), io.BytesIO()
    export(embedded, fmt, expected, with_derived=True)
    export(wired, fmt, got, with_derived=True)
    assert b"timeBucket" in expected.getvalue()
    assert got.getvalue() == expected.getvalue()


@pytest.mark.parametrize("query, fmt, with_derived", [
    ("SELECT ?e ?label WHERE { ?e a dip:Meeting ; rdfs:label ?label } ORDER BY ?e", OutputFormat.CSV, False),
    ("ASK { actor:russia a dip:State }", OutputFormat.TABLE, False),
    ("DESCRIBE actor:russia", OutputFormat.NTRIPLES, False),
    ("CONSTRUCT { ?e dip:place ?p } WHERE { ?e dip:place ?p }", OutputFormat.NTRIPLES, False),
    ("CONSTRUCT { ?e dip:earliestDay ?d } WHERE { ?e dip:earliestDay ?d }", OutputFormat.NTRIPLES, True),
])
def test_queries_are_the_same_through_both_engines(both, query, fmt, with_derived):
    embedded, wired = both
    expected = query_result(embedded.query(query, with_derived=with_derived), fmt)
    assert expected.strip() not in (b"", b"no")
    assert query_result(wired.query(query, with_derived=with_derived), fmt) == expected


def test_data_quads_are_the_same_through_both_engines(both):
    embedded, wired = both
    expected = embedded.data_quads()
    assert expected and sorted(map(str, wired.data_quads())) == sorted(map(str, expected))


def _lock_state(path: str) -> str:
    """Whether another process could take the exclusive lock a writer takes to delete a generation."""
    probe = ("import fcntl, sys\nhandle = open(sys.argv[1], 'a+b')\n"
             "try:\n    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)\n    print('free')\n"
             "except BlockingIOError:\n    print('held')\n")
    return subprocess.run([sys.executable, "-c", probe, path], capture_output=True, text=True, check=True).stdout.strip()


def test_the_context_manager_releases_the_lease(layout):
    with KnowledgeBase.open(layout=layout) as kb:
        lease = kb.index.lease.name
        assert _lock_state(lease) == "held"
    assert _lock_state(lease) == "free"
    kb.close()  # a second close does no harm


def test_close_releases_the_lease(layout):
    kb = KnowledgeBase.open(layout=layout)
    lease = kb.index.lease.name
    assert _lock_state(lease) == "held"
    kb.close()
    assert _lock_state(lease) == "free"


def test_a_command_releases_its_lease(kb_copy):
    """The CLI enters the KB as a context manager: a lease left open would be closed only by the
    garbage collector, with a ResourceWarning naming its lock file."""
    gc.collect()  # what earlier tests of this worker left to the collector is not this command's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        result = CliRunner().invoke(cli, ["--kb", str(kb_copy), "stats"])
        gc.collect()
    assert result.exit_code == 0, result.output
    assert [str(w.message) for w in caught if f"{kb_copy}/" in str(w.message) and ".lock" in str(w.message)] == []
