"""Time buckets: every event whose days overlap a date range is in one of the range's buckets, and a
timeline filtered through them finds exactly the events a comparison of every event's days finds."""
from __future__ import annotations

import random
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from pyoxigraph import NamedNode

from dipkb import KnowledgeBase
from dipkb.model.namespaces import DIP
from dipkb.model.temporal import (MAX_BUCKETED_YEARS, TIME_BUCKET_PREFIX, bucket_span, overlapping_buckets,
                                  time_bucket)
from dipkb.views.selection import TimelineFilter, _dealt_in_two, select_events
from dipkb.views.paging import timeline_window
from dipkb.views.timeline import timeline

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("first", "last", "bucket"), [
    (date(2021, 7, 8), date(2021, 7, 8), "month:2021-07"),
    (date(2021, 7, 1), date(2021, 7, 31), "month:2021-07"),
    (date(2021, 1, 1), date(2021, 12, 31), "year:2021"),
    (date(2021, 6, 30), date(2021, 7, 1), "year:2021"),
    (date(1996, 9, 1), date(1999, 2, 1), "decade:1990"),
    (date(1979, 12, 24), date(1989, 2, 15), "century:1900"),
    (date(1999, 12, 31), date(2000, 1, 1), "wide"),
    (date(2001, 9, 11), None, "from:2000"),
    (None, date(1996, 12, 31), "until:1900"),
])
def test_an_event_goes_to_the_smallest_unit_holding_its_days(first, last, bucket):
    assert time_bucket(first, last) == TIME_BUCKET_PREFIX + bucket


def test_an_undated_event_has_no_bucket():
    assert time_bucket(None, None) is None


def _random_day(rng: random.Random) -> date:
    return date(1890, 1, 1) + timedelta(days=rng.randrange(0, 150 * 366))


def test_every_overlapping_event_is_in_one_of_the_ranges_buckets():
    rng = random.Random(7)
    checked = 0
    for _ in range(20_000):
        a, b = sorted((_random_day(rng), _random_day(rng)))
        if rng.random() < 0.7:  # mostly short events, as in a news KB
            b = a + timedelta(days=rng.choice([0, 3, 30, 200]))
        first, last = rng.choice([(a, b), (a, b), (a, None), (None, b)])
        start = _random_day(rng)
        end = start + timedelta(days=rng.choice([0, 31, 92, 400, 3000, 20_000]))
        buckets = overlapping_buckets(start, end)
        if buckets is None:
            assert end.year - start.year > MAX_BUCKETED_YEARS
            continue
        overlaps = (first is None or first <= end) and (last is None or last >= start)
        if overlaps:
            checked += 1
            assert time_bucket(first, last) in buckets, (first, last, start, end)
    assert checked > 2_000


@pytest.mark.parametrize("agents", [1, 3])
def test_a_short_block_goes_in_two_queries_of_every_other_bucket(agents):
    """A range's block of (bucket, agent) rows in two halves for two threads: every row once, each
    bucket's rows in one half, the buckets alternating between the halves."""
    buckets = [NamedNode(b) for b in overlapping_buckets(date(2009, 12, 1), date(2010, 2, 28))]
    rows = [(bucket, NamedNode(f"urn:agent:{n}")) for bucket in buckets for n in range(agents)]
    dealt, first = _dealt_in_two(rows)
    assert sorted(map(str, dealt)) == sorted(map(str, rows))
    halves = [{bucket for bucket, _ in dealt[:first]}, {bucket for bucket, _ in dealt[first:]}]
    assert not halves[0] & halves[1]
    assert [b for b in buckets if b in halves[0]] == buckets[0::2] and [b for b in buckets if b in halves[1]] == buckets[1::2]


def test_a_buckets_span_holds_the_day_each_of_its_events_sorts_by():
    rng = random.Random(11)
    for _ in range(20_000):
        a = date.fromordinal(rng.randrange(1, date.max.toordinal()))
        length = rng.choice([0, 5, 40, 400, 4_000, 40_000, 400_000])
        b = date.fromordinal(min(date.max.toordinal(), a.toordinal() + length))
        for first, last in ((a, b), (a, None), (None, b)):
            bucket = time_bucket(first, last)
            span = bucket_span(bucket)
            assert (span is None) == bucket.endswith(":wide"), bucket
            assert span is None or span[0] <= (first or last) <= span[1], (bucket, span, first, last)


@pytest.mark.parametrize(("name", "span"), [
    ("month:2012-02", (date(2012, 2, 1), date(2012, 2, 29))),
    ("decade:0000", (date(1, 1, 1), date(9, 12, 31))),
    ("until:9900", (date(9900, 1, 1), date(9999, 12, 31))),
    ("wide", None), ("month:2012-13", None), ("year:0000", None), ("year:2012-01", None), ("month:2012", None),
])
def test_a_buckets_span_from_its_name(name, span):
    assert bucket_span(TIME_BUCKET_PREFIX + name) == span
    assert bucket_span("https://example.org/" + name) is None


def test_a_reversed_range_has_no_buckets_and_a_short_one_few():
    assert overlapping_buckets(date(2021, 8, 1), date(2021, 7, 1)) == []
    months = [b for b in overlapping_buckets(date(2009, 12, 1), date(2010, 2, 28)) if ":month:" in b]
    assert [b.rsplit(":", 1)[1] for b in months] == ["2009-12", "2010-01", "2010-02"]


@pytest.fixture(scope="module")
def generated_kb(tmp_path_factory) -> KnowledgeBase:
    out = tmp_path_factory.mktemp("kb")
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--events", "2000", "--out", str(out)],
                   check=True, capture_output=True)
    return KnowledgeBase.open(out, index=False)


def _by_comparing_days(kb: KnowledgeBase, actor: str | None, start: date, end: date) -> list[str]:
    """The events a date filter must find, from every event's derived days (no buckets)."""
    rows = kb.select("""SELECT ?e ?lo ?hi WHERE { ?e a/rdfs:subClassOf* dip:Event .
        OPTIONAL { ?e dip:earliestDay ?lo } OPTIONAL { ?e dip:latestDay ?hi } }""")
    if actor:
        agents = {r["who"].value for r in kb.select("SELECT ?who ?a WHERE { ?who dip:actsFor* ?a }",
                                                    {"a": NamedNode(actor)})}
        involved = {r["e"].value for r in kb.select("SELECT ?e ?who WHERE { ?e dip:participant ?who }")
                    if r["who"].value in agents}
    found = set()
    for r in rows:
        lo = date.fromisoformat(r["lo"].value) if "lo" in r else None
        hi = date.fromisoformat(r["hi"].value) if "hi" in r else None
        if (lo or hi) and (lo is None or lo <= end) and (hi is None or hi >= start):
            if actor is None or r["e"].value in involved:
                found.add(r["e"].value)
    return sorted(found)


@pytest.mark.parametrize(("actor", "start", "end"), [
    ("https://w3id.org/dipkb/kb/actor/syn-vara", date(2009, 12, 1), date(2010, 2, 28)),
    ("https://w3id.org/dipkb/kb/actor/syn-vara", date(2010, 5, 17), date(2010, 5, 17)),
    ("https://w3id.org/dipkb/kb/actor/syn-vara", date(1990, 3, 1), date(2012, 6, 30)),  # every kind of bucket
    (None, date(2011, 1, 1), date(2011, 12, 31)),
    (None, date(1990, 3, 1), date(2012, 6, 30)),
    (None, date(1900, 1, 1), date(2030, 1, 1)),  # too long for buckets: days compared directly
])
def test_timeline_date_filter_finds_exactly_the_overlapping_events(generated_kb, actor, start, end):
    filt = TimelineFilter(actors=(actor,) if actor else (), start=start, end=end)
    found = sorted(event.iri for event in select_events(generated_kb, filt))
    assert found == _by_comparing_days(generated_kb, actor, start, end)
    assert found


def test_a_role_filter_over_a_range_finds_what_it_finds_without_buckets(generated_kb):
    # An actor over a range is looked up by (bucket, actor) pairs, the role then checked for the actor
    # or an agent of it; a range of more than MAX_BUCKETED_YEARS joins the actor's events instead.
    vara, roles = "https://w3id.org/dipkb/kb/actor/syn-vara", frozenset({DIP + "agent", DIP + "host"})
    start, end = date(2005, 1, 1), date(2012, 12, 31)
    ranged = select_events(generated_kb, TimelineFilter(actors=(vara,), roles=roles, start=start, end=end))
    unbucketed = select_events(generated_kb, TimelineFilter(actors=(vara,), roles=roles, start=date(1900, 1, 1),
                                                            end=date(2030, 1, 1)))
    overlapping = [event for event in unbucketed
                   if (event.earliest_day or "") <= end.isoformat() and (event.latest_day or "9") >= start.isoformat()]
    assert ranged and ranged == overlapping
    everyone = select_events(generated_kb, TimelineFilter(roles=roles, start=start, end=end))
    assert set(ranged) < set(everyone)


def test_a_participant_in_no_named_role_is_in_the_actors_timeline_over_a_range(tmp_path):
    # The source does not say in which role: dip:participant itself, filed under the event's bucket
    # with the actor as the roles are, and shown.
    shutil.copytree(REPO / "kb", tmp_path / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    (tmp_path / "kb" / "unnamed-role.ttl").write_text("""
        @prefix dip: <https://w3id.org/dipkb/ontology#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        <https://w3id.org/dipkb/kb/event/talks> a dip:Meeting ; dip:date "2021-07-09"^^xsd:date ;
            dip:participant <https://w3id.org/dipkb/kb/actor/russia> .""")
    russia, talks = "https://w3id.org/dipkb/kb/actor/russia", "https://w3id.org/dipkb/kb/event/talks"
    with KnowledgeBase.open(tmp_path / "kb", progress=False) as kb:
        for filt in (TimelineFilter(actors=(russia,)),
                     TimelineFilter(actors=(russia,), start=date(2021, 7, 9), end=date(2021, 7, 9))):
            (entry,) = [e for e in timeline(kb, filt) if e.id == talks]
            assert [(p.id, p.role) for p in entry.participants] == [(russia, "participant")]


def test_a_participant_stated_by_another_file_than_the_events_date_is_in_its_timeline_over_a_range(tmp_path):
    # One file dates the talks, another names a participant the first left out: the participation is
    # filed where nothing dates the event, and a range still finds it as the actor's timeline without
    # one does, the event under two buckets read whole by a page.
    shutil.copytree(REPO / "kb", tmp_path / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    prefixes = "@prefix dip: <https://w3id.org/dipkb/ontology#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> ."
    (tmp_path / "kb" / "talks.ttl").write_text(prefixes + """
        <https://w3id.org/dipkb/kb/event/talks> a dip:Meeting ; dip:date "2021-07-09"^^xsd:date ;
            dip:host <https://w3id.org/dipkb/kb/actor/russia> .""")
    (tmp_path / "kb" / "talks-guests.ttl").write_text(prefixes + """
        <https://w3id.org/dipkb/kb/event/talks> dip:attendee <https://w3id.org/dipkb/kb/actor/china> ,
            <https://w3id.org/dipkb/kb/actor/russia> .""")
    actor = "https://w3id.org/dipkb/kb/actor/"
    talks = "https://w3id.org/dipkb/kb/event/talks"
    with KnowledgeBase.open(tmp_path / "kb", progress=False) as kb:
        for who in ("china", "russia"):
            every = [e.iri for e in select_events(kb, TimelineFilter(actors=(actor + who,)))]
            for start, end in ((date(2021, 7, 9), date(2021, 7, 9)), (date(2021, 1, 1), date(2021, 12, 31))):
                filt = TimelineFilter(actors=(actor + who,), start=start, end=end)
                ranged = [e.iri for e in select_events(kb, filt)]
                assert talks in ranged and talks in every
                assert ranged == [e for e in every if e in ranged]
                assert [e.id for e in timeline_window(kb, filt, 0, 50, windowed_from=1)[0]] == ranged[:50]
        found = select_events(kb, TimelineFilter(actors=(actor + "china",), start=date(2021, 7, 9), end=date(2021, 7, 9)))
        assert [(e.earliest_day, e.latest_day) for e in found if e.iri == talks] == [("2021-07-09", "2021-07-09")]
