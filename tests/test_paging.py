"""A page of a long timeline worked out from its time buckets' counts (views.paging): the same events,
in the same order and with the same total, as reading the whole timeline and cutting the page out."""
from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Quad

from dipkb import KnowledgeBase
from dipkb.model.namespaces import DIP, expand
from dipkb.store.kb import REMEMBERED
from dipkb.views import bucket_tallies, describe as describing, paging, referrers, selection as selecting
from dipkb.views.paging import timeline_window
from dipkb.views.selection import Selection, TimelineFilter
from dipkb.views.timeline import typed_filter

REPO = Path(__file__).resolve().parent.parent
VARA = "https://w3id.org/dipkb/kb/actor/syn-vara"

# Beside the generator's events: Vara's undated events (they sort last), events in the `wide` bucket
# (one on the day the generator's first events are, the 1st of a month's bucket), open-ended ones and
# a tie on the same day (ordered by IRI); and a dated thing of no event class, which a timeline with
# nothing else to choose its events leaves out.
EXTRA = """@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix actor: <https://w3id.org/dipkb/kb/actor/> .
@prefix event: <https://w3id.org/dipkb/kb/event/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

event:undated-1 a dip:Meeting ; rdfs:label "Undated one"@en ; dip:participant actor:syn-vara .
event:undated-2 a dip:Meeting ; rdfs:label "Undated two"@en ; dip:participant actor:syn-vara .
event:undated-3 a dip:Statement ; rdfs:label "Undated three"@en ; dip:speaker actor:syn-vara .
event:wide-1 a dip:Meeting ; rdfs:label "Across the millennium"@en ; dip:participant actor:syn-vara ;
    dip:startDate "1999-12-30"^^xsd:date ; dip:endDate "2000-01-02"^^xsd:date .
event:wide-2 a dip:Meeting ; rdfs:label "Across a century"@en ; dip:participant actor:syn-vara ;
    dip:startDate "1899"^^xsd:gYear ; dip:endDate "2003"^^xsd:gYear .
event:wide-3 a dip:Meeting ; rdfs:label "From the generator's first day"@en ; dip:participant actor:syn-vara ;
    dip:startDate "1995-01-01"^^xsd:date ; dip:endDate "2001-06-30"^^xsd:date .
event:open-1 a dip:Meeting ; rdfs:label "Open from 2004"@en ; dip:participant actor:syn-vara ;
    dip:startDate "2004-05"^^xsd:gYearMonth .
event:open-2 a dip:Meeting ; rdfs:label "Open until 1996"@en ; dip:participant actor:syn-vara ;
    dip:endDate "1996"^^xsd:gYear .
event:untyped a rdfs:Resource ; rdfs:label "Dated, of no event class"@en ; dip:date "2003-03-03"^^xsd:date .
event:tie-a a dip:Meeting ; rdfs:label "Tie A"@en ; dip:participant actor:syn-vara ; dip:date "2003-03-03"^^xsd:date .
event:tie-b a dip:Meeting ; rdfs:label "Tie B"@en ; dip:participant actor:syn-vara ; dip:date "2003-03-03"^^xsd:date .
"""


def generated(root: Path, events: int, *extra: str) -> KnowledgeBase:
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--events", str(events), "--out", str(root)],
                   check=True, capture_output=True)
    for n, text in enumerate(extra):
        (root / "kb" / f"extra-{n}.ttl").write_text(text)
    return KnowledgeBase.open(root / "kb", progress=False)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory):
    with generated(tmp_path_factory.mktemp("paged"), 3000, EXTRA) as opened:
        yield opened


FILTERS = {
    "everything": lambda kb: TimelineFilter(),
    "an actor": lambda kb: TimelineFilter(actors=(VARA,)),
    "an actor without its agents": lambda kb: TimelineFilter(actors=(VARA,), via_agents=False),
    "a place": lambda kb: typed_filter(kb, place="Vara"),
    "a code": lambda kb: typed_filter(kb, event_type="042"),
    "a class": lambda kb: typed_filter(kb, event_type="Meeting"),
    "an actor and a code": lambda kb: typed_filter(kb, actors=["Republic of Vara"], event_type="042"),
    "a place and a class": lambda kb: typed_filter(kb, place="Vara", event_type="Meeting"),
    "a modality": lambda kb: typed_filter(kb, modalities=["planned", "possible"]),
    "an actor in a role": lambda kb: TimelineFilter(actors=(VARA,), roles=frozenset({DIP + "host"})),
    "an actor over years": lambda kb: TimelineFilter(actors=(VARA,), start=date(2000, 3, 1), end=date(2012, 6, 30)),
    "years": lambda kb: TimelineFilter(start=date(1998, 3, 1), end=date(2011, 6, 30)),
    "from a day on": lambda kb: TimelineFilter(start=date(2004, 1, 1)),  # no buckets: read whole
    "two actors": lambda kb: typed_filter(kb, actors=["Republic of Vara", "Zanzanba"]),  # read whole
}


def _windows(total: int) -> list[tuple[int, int]]:
    """(start, size) pairs: the first pages, forty across the timeline, the last ones, one past the end."""
    edges = [(start, size) for size in (1, 7, 200)
             for start in sorted({0, 1, 13, max(0, total - size), max(0, total - 1), total})]
    return edges + [(start, 23) for start in range(0, total, total // 40 + 1)]


# Without a dated thing of no event class, the files' tallies name every bucket: every event's counts
# come from them, and an actor's from its (bucket, actor) pairs. Vara also takes part in an event that
# one file dates and another names it in (filed where nothing dates it).
EVENTS_ONLY = "\n".join(line for line in EXTRA.splitlines() if not line.startswith("event:untyped"))
PREFIXES = "".join(line + "\n" for line in EXTRA.splitlines() if line.startswith("@prefix"))
CROSS_DATED = PREFIXES + ('event:cross a dip:Meeting ; rdfs:label "Named elsewhere"@en ; '
                          'dip:date "2004-06-06"^^xsd:date .')
CROSS_NAMED = PREFIXES + "event:cross dip:supporter actor:syn-vara . event:tie-a dip:supporter actor:syn-vara ."
# (tie-a is dated in EXTRA, where Vara takes part in it too: filed under its month and DATED_ELSEWHERE.)


@pytest.fixture(scope="module")
def tallied_kb(tmp_path_factory: pytest.TempPathFactory):
    with generated(tmp_path_factory.mktemp("tallied"), 3000, EVENTS_ONLY, CROSS_DATED, CROSS_NAMED) as opened:
        assert bucket_tallies.tallied(opened) is not None
        yield opened


@pytest.mark.parametrize("counted_by", ["queries", "tallies"])
@pytest.mark.parametrize("name", FILTERS)
def test_a_page_from_the_buckets_is_the_page_of_the_whole_timeline(request, name, counted_by):
    kb = request.getfixturevalue({"queries": "kb", "tallies": "tallied_kb"}[counted_by])
    selection = Selection.of(kb, FILTERS[name](kb))
    whole = selection.events(kb, selection.dated_buckets, with_rows=False)
    assert len(whole) > 50
    counted = 0
    for start, size in _windows(len(whole)):
        found = paging._window(kb, selection, start, size, windowed_from=0)
        if found is not None:
            counted += 1
            assert found == (whole[start:start + size], len(whole)), (start, size)
    # Over a range, an event under a dated bucket and DATED_ELSEWHERE (tie-a, in the tallied KB) is read whole.
    if name in ("from a day on", "two actors") or (name, counted_by) == ("an actor over years", "tallies"):
        assert counted == 0
    else:  # all but the pages that reach the undated events, read whole
        assert counted >= len(_windows(len(whole))) - 8


def test_the_entries_of_a_page_are_those_of_the_whole_timeline(kb):
    filt = TimelineFilter(actors=(VARA,))
    for start in (0, 150, 700):
        assert timeline_window(kb, filt, start, 40, windowed_from=0) == timeline_window(kb, filt, start, 40,
                                                                                          windowed_from=10**9)


def test_the_undated_events_come_last_on_a_page_read_whole(kb):
    filt = TimelineFilter(actors=(VARA,))
    selection = Selection.of(kb, filt)
    whole = selection.events(kb, selection.dated_buckets, with_rows=False)
    assert [e.iri.rsplit("/", 1)[1] for e in whole[-3:]] == ["undated-1", "undated-2", "undated-3"]
    assert paging._window(kb, selection, len(whole) - 2, 10, windowed_from=0) is None
    dated = len(whole) - 3
    for end in range(dated - 2, dated + 3):  # the pages ending just before the undated events and past them
        found = paging._window(kb, selection, end - 5, 5, windowed_from=0)
        assert (found is None) == (end > dated) and found in (None, (whole[end - 5:end], len(whole)))
    shown, total = timeline_window(kb, filt, len(whole) - 2, 10, windowed_from=0)
    assert total == len(whole) and [e.label for e in shown] == ["Undated two", "Undated three"]


def test_a_small_timeline_is_read_whole(kb):
    selection = Selection.of(kb, TimelineFilter(actors=(VARA,)))
    assert paging._window(kb, selection, 0, 10, windowed_from=paging.WINDOWED_FROM) is None


def test_an_event_two_files_date_differently_has_its_page_read_whole(tmp_path):
    # Each file's days are derived apart, so the event is filed under two buckets and a count by bucket
    # would count it twice.
    redated = EXTRA.replace('"2003-03-03"', '"2007-08-09"').replace("event:undated-", "event:other-")
    with generated(tmp_path, 300, EXTRA, redated) as two_dated:
        filt = TimelineFilter(actors=(VARA,))
        selection = Selection.of(two_dated, filt)
        whole = selection.events(two_dated, selection.dated_buckets, with_rows=False)
        assert paging._window(two_dated, selection, 0, 20, windowed_from=0) is None
        shown, total = timeline_window(two_dated, filt, 20, 20, windowed_from=0)
        assert total == len(whole) and [e.id for e in shown] == [e.iri for e in whole[20:40]]


def test_the_next_page_of_a_selection_is_not_counted_again_while_its_generation_is_open(kb, monkeypatch):
    filt = TimelineFilter(actors=(VARA,))
    read_whole = [timeline_window(kb, filt, start, 40, windowed_from=10**9) for start in (0, 40, 400)]
    counted = []
    count = paging._counted
    monkeypatch.setattr(paging, "_counted", lambda *args: counted.append(args[1]) or count(*args))
    with KnowledgeBase.open(layout=kb.layout, progress=False) as again:  # what a server does, request after request
        assert [timeline_window(again, filt, start, 40, windowed_from=0) for start in (0, 40, 400)] == read_whole
        assert len(counted) == 1
        timeline_window(again, TimelineFilter(actors=(VARA,), via_agents=False), 0, 40, windowed_from=0)
        assert len(counted) == 2
    with KnowledgeBase.open(kb.layout.root, index=False, progress=False) as in_memory:  # nothing kept
        assert [timeline_window(in_memory, filt, start, 40, windowed_from=0) for start in (0, 40)] == read_whole[:2]
        assert len(counted) == 4


def test_a_kb_keeps_what_was_worked_out_for_its_last_keys(kb):
    with KnowledgeBase.open(layout=kb.layout, progress=False) as fresh:
        worked = []
        for key in range(REMEMBERED + 1):
            assert fresh.remembered(key, lambda: worked.append(key) or -key) == -key
        assert fresh.remembered(REMEMBERED, lambda: 0) == -REMEMBERED and fresh.remembered(0, lambda: 0) == 0
        assert worked == list(range(REMEMBERED + 1))


def test_an_entity_pages_referrers_are_read_once_while_its_generation_is_open(kb, monkeypatch):
    read = []
    real = referrers.referrers
    monkeypatch.setattr(referrers, "referrers", lambda kb, iri, limit=None: read.append(limit) or real(kb, iri, limit))
    with KnowledgeBase.open(layout=kb.layout, progress=False) as again:
        first = describing.describe(again, "actor:syn-vara", limit=20)
        second = describing.describe(again, "actor:syn-vara", limit=20, first_event=20)
        assert second.referenced_by == first.referenced_by and first.referenced_by_count > 20 and read == [20]
        assert second.timeline != first.timeline
        for _ in range(2):  # a ?limit= past what a page shows is read each time
            describing.describe(again, "actor:syn-vara", limit=2000)
        assert read == [20, 2000, 2000]



def _queried(kb: KnowledgeBase) -> dict[str | None, int]:
    """Every event's count by bucket as the query reads it, the tallies aside."""
    _, hashed_query, _ = Selection.of(kb, TimelineFilter()).counting()
    return {row["bucket"].value if row["bucket"] else None: int(row["n"].value) for row in kb.query(hashed_query)}


def test_every_events_counts_come_from_the_tallies_when_no_file_shares_an_event(tmp_path, monkeypatch):
    with generated(tmp_path, 1000, EVENTS_ONLY) as kb:
        tallied = bucket_tallies.tallied(kb)
        queried = _queried(kb)
        assert tallied is not None and tallied.counts == queried and tallied.events == sum(queried.values())
        assert queried[None] == 3 and queried["urn:dipkb:time:wide"] == 3  # the undated and the wide ones
        assert paging._dated(kb, None) == kb.dated_count  # the tallies' count of dated things is the store's
        selection = Selection.of(kb, TimelineFilter())
        whole = selection.events(kb, None, with_rows=False)
        run = []
        query = kb.query
        monkeypatch.setattr(kb, "query", lambda text, *args, **kw: run.append(text) or query(text, *args, **kw))
        assert paging._counted(kb, selection, 0) == queried
        # The total alone: the tallies were read above, once for the generation.
        assert len(run) == 1 and not any("timeBucket" in text for text in run)
        for start, size in _windows(len(whole)):
            assert paging._window(kb, selection, start, size, windowed_from=0) in (None, (whole[start:start + size],
                                                                                         len(whole)))


@pytest.mark.parametrize("shared", [
    # typed in a second file, which does not date it: the tallies add up to one event too many
    "event:tie-a a dip:Meeting .",
    # dated in a second file, which does not type it: that file's tallies say so
    'event:tie-a dip:date "2003-03-03"^^xsd:date .',
    # dated differently in a second file: filed under two buckets, so no count by bucket holds
    'event:tie-a dip:date "2008-08-08"^^xsd:date .',
])
def test_every_events_counts_are_queried_when_a_file_shares_an_event(tmp_path, shared):
    with generated(tmp_path, 1000, EVENTS_ONLY, PREFIXES + shared) as kb:
        tallied = bucket_tallies.tallied(kb)
        assert tallied is None or tallied.events == sum(_queried(kb).values()) + 1
        selection = Selection.of(kb, TimelineFilter())
        whole = selection.events(kb, None, with_rows=False)
        counted = paging._counted(kb, selection, 0)
        assert counted == (None if "2008" in shared else _queried(kb))
        assert timeline_window(kb, TimelineFilter(), 600, 30, windowed_from=0) == timeline_window(
            kb, TimelineFilter(), 600, 30, windowed_from=10**9)
        assert len(whole) == 1010  # the generator's and the ten of EXTRA, tie-a once


@pytest.mark.parametrize("written, added_up", [("[1, 2]", False), ('{"urn:dipkb:time:wide": "5"}', False),
                                               ("{", False), ("{}", True)])
def test_tallies_the_index_did_not_write_are_not_added_up(tmp_path, written, added_up):
    generated(tmp_path, 300, EVENTS_ONLY).close()
    with KnowledgeBase.open(tmp_path / "kb", index=False, progress=False) as kb:  # a store that takes writes
        (tally,) = [q for q in kb.store.quads_for_pattern(None, NamedNode(DIP + "tallyEventsByBucket"), None)
                    if q.graph_name.value.endswith("extra-0.ttl")]
        kb.store.remove(tally)
        kb.store.add(Quad(tally.subject, tally.predicate, Literal(written), tally.graph_name))
        assert (bucket_tallies.tallied(kb) is not None) == added_up


def test_tallies_in_an_authored_file_count_for_nothing(tmp_path):
    forged = EXTRA.splitlines()[0] + """
<urn:forged> dip:tallyEvents 5 ; dip:tallyUndatedEvents 0 ; dip:tallyDatedNonEvents 0 ;
    dip:tallyEventsByBucket "{\\"urn:dipkb:time:wide\\":5}" ."""
    with generated(tmp_path, 300, EVENTS_ONLY) as kb:
        honest = bucket_tallies.tallied(kb)
    (tmp_path / "kb" / "forged.ttl").write_text(forged)
    with KnowledgeBase.open(tmp_path / "kb", progress=False) as kb:
        assert bucket_tallies.tallied(kb) == honest


@pytest.mark.parametrize("many_quads", [20_000, 10])  # counted with the graph filter; over the files' graphs by name
def test_a_page_of_referrers_is_the_first_of_all_read_property_by_property(kb, monkeypatch, many_quads):
    monkeypatch.setattr(referrers, "_MANY_QUADS", many_quads)

    def pairs(facts) -> list[tuple[str, str]]:
        return sorted({(expand(f.predicate), expand(f.value_id)) for f in facts})

    everything = referrers.referrers(kb, VARA)
    whole = pairs(everything.facts)
    count = everything.count
    assert count == everything.shown == len(whole) > 500
    first_property = sum(p == whole[0][0] for p, _ in whole)
    assert 1 < first_property < count - 2  # so that pages end inside a property and across two
    for limit in (0, 1, *range(first_property - 1, first_property + 3), 499, count, count + 3):
        page = referrers.referrers(kb, VARA, limit)
        assert page.count == count and pairs(page.facts) == whole[:limit] and page.shown == len(whole[:limit]), limit


@pytest.mark.parametrize("via_agents", [True, False])
def test_an_actors_counts_from_its_pairs_are_those_of_its_events_buckets(tallied_kb, monkeypatch, via_agents):
    selection = Selection.of(tallied_kb, TimelineFilter(actors=(VARA,), via_agents=via_agents))
    from_pairs = paging._counted(tallied_kb, selection, 0)
    monkeypatch.setattr(bucket_tallies, "FILED_PAIRS_AT_MOST", 0)  # as for a state with hundreds of agents
    assert from_pairs is not None and paging._counted(tallied_kb, selection, 0) == from_pairs
    assert from_pairs[None] == 3 and from_pairs["urn:dipkb:time:month:2004-06"] >= 1  # undated; event:cross


@pytest.mark.parametrize("named", [{}, {None: 3}])  # an older dipkb's tallies on a server; no dated event
def test_an_actors_counts_without_a_bucket_in_the_tallies_are_read_from_its_events(tallied_kb, monkeypatch, named):
    selection = Selection.of(tallied_kb, TimelineFilter(actors=(VARA,)))
    from_pairs = paging._counted(tallied_kb, selection, 0)
    for module in (paging, bucket_tallies):
        monkeypatch.setattr(module, "tallied", lambda kb: bucket_tallies.Tallied(sum(named.values()), named))
    with KnowledgeBase.open(layout=tallied_kb.layout, progress=False) as fresh:  # the tallies read once a generation
        assert paging._counted(fresh, selection, 0) == from_pairs


def _selected_by_pairs(kb: KnowledgeBase, filt: TimelineFilter, monkeypatch, filed_from: int) -> tuple[list, bool]:
    """The events of ``filt`` with no range, read from the actors' pairs past ``filed_from`` participations,
    and whether they were (a VALUES block of pairs is only sent that way)."""
    monkeypatch.setattr(selecting, "_FILED_FROM", filed_from)
    blocks = []
    select_values = kb.select_values
    monkeypatch.setattr(kb, "select_values", lambda text, rows, *args, **kw: blocks.append(rows) or select_values(
        text, rows, *args, **kw))
    selection = Selection.of(kb, filt)
    found = selection.events(kb, None)
    monkeypatch.undo()
    return found, any(len(row) == 2 for rows in blocks for row in rows)


@pytest.mark.parametrize("name", ["an actor", "an actor without its agents", "an actor and a code", "an actor in a role",
                                  "two actors"])
def test_an_actors_events_read_from_its_pairs_under_every_bucket_are_those_of_its_participations(
        tallied_kb, monkeypatch, name):
    filt = FILTERS[name](tallied_kb)
    by_participations, paired = _selected_by_pairs(tallied_kb, filt, monkeypatch, 10**9)
    assert not paired
    by_pairs, paired = _selected_by_pairs(tallied_kb, filt, monkeypatch, 0)
    assert paired and by_pairs == by_participations
    if name == "an actor":  # undated, named where nothing dates it, in the wide and open-ended buckets
        found = {event.iri.rsplit("/", 1)[1] for event in by_pairs}
        assert {"undated-1", "cross", "tie-a", "wide-2", "open-1", "open-2"} <= found
        assert all(event.rows for event in by_pairs)


def test_an_actors_events_are_read_from_its_participations_when_the_tallies_cannot_name_every_bucket(
        tmp_path, monkeypatch):
    undated_here = PREFIXES + 'event:tie-a dip:date "2003-03-03"^^xsd:date .'  # a file dates what it does not type
    with generated(tmp_path, 300, EVENTS_ONLY, undated_here) as kb:
        assert bucket_tallies.tallied(kb) is None
        filt = TimelineFilter(actors=(VARA,))
        found, paired = _selected_by_pairs(kb, filt, monkeypatch, 0)
        assert not paired and "https://w3id.org/dipkb/kb/event/tie-a" in {event.iri for event in found}
        monkeypatch.setattr(bucket_tallies, "FILED_PAIRS_AT_MOST", 0)  # as for a state with hundreds of agents
        assert _selected_by_pairs(kb, filt, monkeypatch, 0) == (found, False)
