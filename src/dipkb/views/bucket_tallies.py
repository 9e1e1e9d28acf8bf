"""Every event by time bucket, added up from the tallies the index derives for each file
(store/tallies.py): which buckets hold an event, and how many, without reading any event; and so
under which buckets an actor's (bucket, actor) pairs are to be read."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from dipkb.store.derivation import is_derived_graph
from dipkb.store.kb import KnowledgeBase


@dataclass(frozen=True)
class Tallied:
    """Every event by time bucket (None: undated), added up from the files' tallies, and how many
    events the files type, an event typed in two files counted twice."""

    events: int
    counts: dict[str | None, int]

    @property
    def buckets(self) -> list[str]:
        """The buckets that hold an event, sorted."""
        return sorted(bucket for bucket in self.counts if bucket)


_BUCKET_TALLIES = """SELECT ?g ?events ?undated ?others ?buckets WHERE { GRAPH ?g {
  ?tally dip:tallyEvents ?events ; dip:tallyUndatedEvents ?undated ; dip:tallyDatedNonEvents ?others ;
    dip:tallyEventsByBucket ?buckets } }"""


def tallied(kb: KnowledgeBase) -> Tallied | None:
    """The files' tallies of events by bucket, read once an index generation (0.15 s at a million
    events), or None when a file dates what it does not type as an event: its bucket may then be in
    no file's tallies. Otherwise they name every bucket that holds an event, and are exact once the
    events they add up to are every event: each is then typed in one file, and dated in that file
    only. At a million events, every event's first page counted in 0.74-0.78 s so (the query of
    their total), in 3.4-3.6 s by hash."""
    return kb.remembered(("bucket tallies",), lambda: _added_up(kb))


def _added_up(kb: KnowledgeBase) -> Tallied | None:
    events, counts = 0, Counter()
    for row in kb.select(_BUCKET_TALLIES):
        if not is_derived_graph(row["g"]):  # an authored file may say anything
            continue
        if int(row["others"].value):
            return None
        try:
            by_bucket = json.loads(row["buckets"].value)
            events += int(row["events"].value)
            counts[None] += int(row["undated"].value)
        except ValueError:
            return None
        if not isinstance(by_bucket, dict) or not all(type(n) is int for n in by_bucket.values()):
            return None  # not what the index writes: a server's graphs may hold anything
        counts.update(by_bucket)
    return Tallied(events, {bucket: n for bucket, n in counts.items() if n})


# An actor's (bucket, actor) pairs are looked up one by one, each pair a row of the query's VALUES
# block: the busiest actor's 3,591 at a million events took 0.35 s. Past this many (a state with
# hundreds of agents), its events are read otherwise.
FILED_PAIRS_AT_MOST = 20_000


def filed_buckets(kb: KnowledgeBase, agents: tuple[str, ...]) -> list[str] | None:
    """The buckets to read the (bucket, actor) pairs of ``agents`` under: every bucket that holds an
    event, as the files' tallies name them; None when they name none (no dated event, or a server
    given tallies by an older dipkb), cannot name every one, or past FILED_PAIRS_AT_MOST pairs."""
    tallies = tallied(kb)
    buckets = tallies.buckets if tallies is not None else []
    return buckets if buckets and len(buckets) * len(agents) <= FILED_PAIRS_AT_MOST else None
