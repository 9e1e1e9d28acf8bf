"""The on-disk index: built once, refreshed file by file, consistent through crashes and concurrency.

Every test works on a copy of the shipped KB in tmp_path with real on-disk pyoxigraph stores;
crashes and concurrent opens run in real subprocesses."""
from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Store

from dipkb import KnowledgeBase
from dipkb.errors import KBSyntaxError
from dipkb.model.namespaces import DIP, KB, RDF, RDFS, XSD
from dipkb.store import index
from dipkb.store.generations import Manifest
from dipkb.store.derivation import derive, derived_graph, is_derived_graph
from dipkb.store.engine import EmbeddedEngine
from dipkb.store.layout import KBLayout
from dipkb.store.loading import load_files

REPO = Path(__file__).resolve().parent.parent

EVENT = KB + "event/"
VISIT = "taliban-delegation-visit-moscow-2021-07"
LABEL = "Taliban delegation visits Moscow"
LABEL_QUERY = "SELECT ?event ?label WHERE { ?event rdfs:label ?label }"
DAYS_QUERY = "SELECT ?event ?low ?high WHERE { ?event dip:earliestDay ?low . ?event dip:latestDay ?high }"
COUNT_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@pytest.fixture
def root(kb_copy: Path) -> Path:
    """A copy of the shipped kb/ directory (the bundled ontology is used), without its index."""
    return kb_copy


def label_of(kb: KnowledgeBase, name: str) -> list[str]:
    return [row["label"].value for row in kb.select(LABEL_QUERY, {"event": NamedNode(EVENT + name)})]


def count(kb: KnowledgeBase, query: str = COUNT_QUERY, **bindings) -> int:
    return int(kb.select(query, bindings)[0]["n"].value)


def generations(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "kb" / ".dipkb").iterdir() if p.is_dir())


def triples(store: Store) -> list[tuple]:
    """Every triple of the store, derived ones included, with its graph's kind: file or derived."""
    return sorted((str(q.subject), str(q.predicate), str(q.object), is_derived_graph(q.graph_name)) for q in store)


def is_tally(triple: tuple) -> bool:
    return triple[0].startswith("<urn:dipkb:derived:")


def write_events(path: Path, count: int) -> None:
    """``count`` generated events as N-Triples, each a visit with a host and a month."""
    with open(path, "w") as out:
        for i in range(count):
            event = f"<{EVENT}generated-{i}>"
            out.write(f"{event} <{RDF}type> <{DIP}Visit> .\n"
                      f'{event} <{RDFS}label> "Generated visit {i}"@en .\n'
                      f"{event} <{DIP}host> <{KB}actor/russia> .\n"
                      f'{event} <{DIP}date> "{2000 + i % 20}-{1 + i % 12:02d}"^^<{XSD}gYearMonth> .\n'
                      f"{event} <{DIP}source> <{KB}source/founding-article> .\n")


def open_in_subprocess(root: Path) -> subprocess.Popen:
    """A separate Python process that opens the KB and prints what it saw as JSON."""
    code = ("import json, sys; from dipkb import KnowledgeBase\n"
            "kb = KnowledgeBase.open(sys.argv[1], progress=False)\n"
            "n = kb.select('SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }')[0]['n'].value\n"
            "print(json.dumps({'rebuilt': kb.index.report.rebuilt, 'triples': int(n)}))\n")
    return subprocess.Popen([sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_first_open_builds_the_index_and_matches_the_in_memory_store(root: Path) -> None:
    kb = KnowledgeBase.open(root)
    report = kb.index.report
    assert report.rebuilt and report.location == root / "kb" / ".dipkb"
    assert "kb/events-2021.ttl" in report.added and "ontology/dipkb.ttl" in report.added
    assert label_of(kb, VISIT) == [LABEL]
    assert triples(kb.store) == triples(KnowledgeBase.open(root, index=False).store)


def test_second_open_reports_everything_unchanged_and_reloads_nothing(root: Path) -> None:
    # How fast this is belongs to bench/; here, that nothing is read again or rebuilt.
    first = KnowledgeBase.open(root)
    second = KnowledgeBase.open(root)
    report = second.index.report
    assert (report.added, report.changed, report.removed, report.rebuilt) == ((), (), (), False)
    assert not report.refreshed and report.unchanged == len(first.index.report.added)
    assert second.index.generation == first.index.generation
    assert count(second) == count(first)


def test_an_edited_file_is_reloaded_alone(root: Path) -> None:
    KnowledgeBase.open(root)
    events = root / "kb" / "events-2021.ttl"
    events.write_text(events.read_text().replace(LABEL, "Taliban delegation travels to Moscow"))
    kb = KnowledgeBase.open(root)
    assert kb.index.report.changed == ("kb/events-2021.ttl",) and not kb.index.report.rebuilt
    assert label_of(kb, VISIT) == ["Taliban delegation travels to Moscow"]
    assert triples(kb.store) == triples(KnowledgeBase.open(root, index=False).store)


@pytest.mark.parametrize("large", [False, True], ids=["read-then-loaded", "loaded-from-path-and-hashed-apart"])
def test_an_added_file_is_found_with_its_derived_days(root: Path, large: bool, monkeypatch) -> None:
    KnowledgeBase.open(root)
    if large:  # the path taken by files of hundreds of MB, exercised here on a small one
        monkeypatch.setattr(index, "LARGE_FILE_BYTES", 1)
    (root / "kb" / "later.ttl").write_text(f"""
@prefix dip: <{DIP}> . @prefix xsd: <{XSD}> . @prefix event: <{EVENT}> . @prefix actor: <{KB}actor/> .
event:later-talks a dip:Meeting ; dip:host actor:russia ; dip:visitor actor:taliban ;
    dip:date "2022-02"^^xsd:gYearMonth .
""")
    kb = KnowledgeBase.open(root)
    assert kb.index.report.added == ("kb/later.ttl",) and not kb.index.report.rebuilt
    days = kb.select(DAYS_QUERY, {"event": NamedNode(EVENT + "later-talks")})
    assert [(d["low"].value, d["high"].value) for d in days] == [("2022-02-01", "2022-02-28")]
    participants = kb.select("SELECT ?event ?a WHERE { ?event dip:participant ?a }", {"event": NamedNode(EVENT + "later-talks")})
    assert sorted(p["a"].value for p in participants) == [KB + "actor/russia", KB + "actor/taliban"]


def test_a_deleted_file_takes_its_events_and_derived_triples_along(root: Path) -> None:
    before = KnowledgeBase.open(root)
    assert count(before, "SELECT (COUNT(*) AS ?n) WHERE { ?e dip:earliestDay ?d }") > 0
    (root / "kb" / "events-2021.ttl").unlink()
    (root / "kb" / "history.ttl").unlink()
    kb = KnowledgeBase.open(root)
    assert kb.index.report.removed == ("kb/events-2021.ttl", "kb/history.ttl")
    assert label_of(kb, VISIT) == []
    assert count(kb, "SELECT (COUNT(*) AS ?n) WHERE { ?e dip:earliestDay ?d }") == 0
    assert count(kb, "SELECT (COUNT(*) AS ?n) WHERE { ?e dip:participant ?d }") == 0
    assert not [g for g in kb.store.named_graphs() if "events-2021" in g.value or "history" in g.value]


def test_a_renamed_file_gives_the_same_answers_without_duplicates(root: Path) -> None:
    before = triples(KnowledgeBase.open(root).store)
    (root / "kb" / "events-2021.ttl").rename(root / "kb" / "events-july-2021.ttl")
    kb = KnowledgeBase.open(root)
    assert kb.index.report.removed == ("kb/events-2021.ttl",)
    assert kb.index.report.added == ("kb/events-july-2021.ttl",)
    # The file's tallies are about the file, so they name it; everything else is the same.
    assert [t for t in triples(kb.store) if not is_tally(t)] == [t for t in before if not is_tally(t)]
    assert sum(map(is_tally, triples(kb.store))) == sum(map(is_tally, before)) > 0
    distinct = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
    assert count(kb) == count(kb, distinct)


@pytest.mark.parametrize("where", ["ontology", "kb"])
def test_a_new_role_is_derived_in_every_graph(root: Path, where: str) -> None:
    """Which properties are roles comes from the union of all graphs: a change rebuilds the index."""
    shutil.copytree(REPO / "ontology", root / "ontology")
    participants = "SELECT (COUNT(*) AS ?n) WHERE { ?e dip:participant ?a }"
    before = count(KnowledgeBase.open(root), participants)
    role = f"\n<{DIP}reportedBy> <{RDFS}subPropertyOf> <{DIP}participant> .\n"
    if where == "ontology":
        with open(root / "ontology" / "dipkb.ttl", "a") as ontology:
            ontology.write(role)
    else:
        (root / "kb" / "roles.ttl").write_text(role)
    kb = KnowledgeBase.open(root)
    assert kb.index.report.rebuilt
    assert count(kb, participants) > before
    assert triples(kb.store) == triples(KnowledgeBase.open(root, index=False).store)


def test_the_index_store_is_read_only(root: Path) -> None:
    kb = KnowledgeBase.open(root)
    with pytest.raises(RuntimeError):  # the Turtle files are the source of truth: edit those
        kb.store.add(Quad(NamedNode(EVENT + VISIT), NamedNode(RDFS + "label"), Literal("x")))


def test_a_touched_file_is_not_reloaded(root: Path) -> None:
    first = KnowledgeBase.open(root)
    events = root / "kb" / "events-2021.ttl"
    os.utime(events, ns=(events.stat().st_atime_ns, events.stat().st_mtime_ns + 5_000_000_000))
    kb = KnowledgeBase.open(root)
    assert not kb.index.report.refreshed and kb.index.generation == first.index.generation
    manifest = index.Manifest.load(root / "kb" / ".dipkb")
    assert manifest.files["urn:dipkb:file:kb/events-2021.ttl"].mtime_ns == events.stat().st_mtime_ns


def test_syntax_errors_name_every_bad_file_and_leave_the_index_as_it_was(root: Path) -> None:
    first = KnowledgeBase.open(root)
    events, places = root / "kb" / "events-2021.ttl", root / "kb" / "places.ttl"
    good = events.read_text()
    events.write_text(good.replace(LABEL, "Taliban delegation travels to Moscow") + "\nevent:broken dip:date .\n")
    places.write_text(places.read_text() + "\nthis is not turtle\n")
    with pytest.raises(KBSyntaxError) as raised:
        KnowledgeBase.open(root)
    places_line = places.read_text().count("\n")
    assert [(p.path.endswith("events-2021.ttl"), p.line) for p in raised.value.problems] == [
        (True, good.count("\n") + 2), (False, places_line)]
    assert f"places.ttl:{places_line}:" in str(raised.value)
    assert generations(root) == [f"store-{first.index.generation}"]  # the attempt left nothing behind
    stale = index.open_index(KBLayout.locate(root), refresh=False)
    assert label_of(KnowledgeBase(first.layout, EmbeddedEngine(stale.store)), VISIT) == [LABEL]
    events.write_text(good)
    places.write_text(places.read_text().replace("\nthis is not turtle\n", ""))
    kb = KnowledgeBase.open(root)
    assert label_of(kb, VISIT) == [LABEL] and kb.index.generation == first.index.generation


@pytest.mark.parametrize("existing", [True, False], ids=["during-refresh", "during-first-build"])
def test_a_refresh_killed_midway_leaves_a_usable_index(root: Path, existing: bool) -> None:
    if existing:
        KnowledgeBase.open(root)
    write_events(root / "kb" / "generated.nt", 20_000)  # ~7 MB: a few seconds of loading to land in
    process = open_in_subprocess(root)
    directory = root / "kb" / ".dipkb"
    deadline = time.monotonic() + 60
    while not (directory.is_dir() and any(p.is_dir() and any(p.iterdir()) for p in directory.iterdir()
                                            if p.name != f"store-{1 if existing else 0}")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    time.sleep(0.3)
    assert process.poll() is None, "the refresh ended before it could be killed: make the file larger"
    process.send_signal(signal.SIGKILL)
    process.wait()
    kb = KnowledgeBase.open(root)
    assert count(kb, "SELECT (COUNT(*) AS ?n) WHERE { ?e a dip:Visit ; dip:earliestDay ?d }") >= 20_000
    assert label_of(kb, "generated-19999") == ["Generated visit 19999"]
    assert label_of(kb, VISIT) == [LABEL]
    assert generations(root) == [f"store-{kb.index.generation}"]  # the half-built store was removed


def test_a_refresh_that_would_reload_most_of_the_kb_rebuilds_it(root: Path) -> None:
    # Deleting a graph quad by quad costs more than loading it: a KB of one 33 MB file took 32 s to
    # refresh after a line was added to it, and 12.6 s to rebuild.
    big = root / "kb" / "generated.nt"
    write_events(big, 5_000)  # ~3 MB, most of the KB
    KnowledgeBase.open(root)
    with big.open("a") as out:
        out.write(f'<{EVENT}generated-0> <{RDFS}comment> "one line more" .\n')
    kb = KnowledgeBase.open(root)
    assert kb.index.report.rebuilt and kb.index.report.changed == ("kb/generated.nt",)
    events = root / "kb" / "events-2021.ttl"
    events.write_text(events.read_text().replace(LABEL, "Taliban delegation travels to Moscow"))
    kb = KnowledgeBase.open(root)
    assert not kb.index.report.rebuilt and kb.index.report.changed == ("kb/events-2021.ttl",)
    assert label_of(kb, VISIT) == ["Taliban delegation travels to Moscow"]


def test_two_processes_opening_at_once_both_succeed_and_agree(root: Path) -> None:
    write_events(root / "kb" / "generated.nt", 20_000)
    first, second = open_in_subprocess(root), open_in_subprocess(root)
    results = []
    for process in (first, second):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    assert results[0]["triples"] == results[1]["triples"] == count(KnowledgeBase.open(root))
    assert sorted(r["rebuilt"] for r in results) == [False, True]  # one built, the other waited


def test_a_reader_keeps_its_generation_while_another_process_refreshes(root: Path) -> None:
    reader = KnowledgeBase.open(root)
    events = root / "kb" / "events-2021.ttl"
    events.write_text(events.read_text().replace(LABEL, "Taliban delegation travels to Moscow"))
    writer = open_in_subprocess(root)
    assert writer.wait(timeout=120) == 0, writer.stderr.read()
    assert label_of(reader, VISIT) == [LABEL]  # the old generation, still whole
    assert generations(root) == [f"store-{reader.index.generation}", f"store-{reader.index.generation + 1}"]
    del reader
    gc.collect()  # the lease goes with the reader; the next writer may now delete its generation
    events.write_text(events.read_text().replace("travels to", "flies to"))
    kb = KnowledgeBase.open(root)
    assert label_of(kb, VISIT) == ["Taliban delegation flies to Moscow"]
    assert generations(root) == [f"store-{kb.index.generation}"]


def test_a_damaged_store_is_rebuilt(root: Path) -> None:
    first = KnowledgeBase.open(root)
    store = root / "kb" / ".dipkb" / f"store-{first.index.generation}"
    del first
    gc.collect()
    for path in store.iterdir():
        if path.name.startswith(("CURRENT", "MANIFEST")):
            path.unlink()
    kb = KnowledgeBase.open(root)
    assert kb.index.report.rebuilt and label_of(kb, VISIT) == [LABEL]


@pytest.mark.parametrize("text", ["{", "[]", '{"generation": "1"}', "\xff", '{"generation": 1, "files": 2}'])
def test_a_damaged_manifest_is_rebuilt(root: Path, text: str) -> None:
    KnowledgeBase.open(root).close()
    (root / "kb" / ".dipkb" / "manifest.json").write_text(text, encoding="latin-1")
    kb = KnowledgeBase.open(root)
    assert kb.index.report.rebuilt and label_of(kb, VISIT) == [LABEL]
    assert Manifest.current_generation(root / "kb" / ".dipkb") == kb.index.generation


def test_rebuild_starts_from_scratch(root: Path) -> None:
    first = KnowledgeBase.open(root)
    report = index.rebuild(KBLayout.locate(root))
    assert report.rebuilt
    kb = KnowledgeBase.open(root)
    assert kb.index.generation > first.index.generation and triples(kb.store) == triples(first.store)
    # It says it read every file, not that none was added.
    files = len(first.index.report.added)  # the first build's: every file
    assert files > 5 and report.summary().startswith(f"Rebuilt {root / 'kb' / '.dipkb'} from {files} files in ")


def test_an_unwritable_index_directory_falls_back_to_the_cache(root: Path, tmp_path: Path, monkeypatch) -> None:
    (root / "kb" / ".dipkb").write_text("not a directory")  # as unwritable as a read-only mount, even for root
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    kb = KnowledgeBase.open(root)
    assert kb.index.report.location.parent == tmp_path / "cache" / "dipkb"
    assert len(kb.index.report.location.name) == 16 and label_of(kb, VISIT) == [LABEL]
    assert not KnowledgeBase.open(root).index.report.refreshed


def test_progress_goes_to_stderr_only_when_asked(root: Path, capfd) -> None:
    KnowledgeBase.open(root)  # stderr is not a terminal here: silent
    assert capfd.readouterr() == ("", "")
    index.rebuild(KBLayout.locate(root), progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "Indexing" in err and "Index built in" in err


# --------------------------------------------------------------------- derivation, fast and slow paths

# An event's time properties and the first and last day it must be filed under, worked out by hand from
# the rules in temporal.EventTime.bounds: a bound alone files the event under the bound's own period; an
# invalid value (month 13, 30 February, a year Python's dates cannot hold) or a plain string counts as
# absent; a time zone does not move the day.
DAY_CASES: list[tuple[dict[str, tuple[str, str]], tuple[str | None, str | None]]] = [
    ({"date": ("2021", "gYear")}, ("2021-01-01", "2021-12-31")),
    ({"date": ("2021-07", "gYearMonth")}, ("2021-07-01", "2021-07-31")),
    ({"date": ("2024-02", "gYearMonth")}, ("2024-02-01", "2024-02-29")),  # a leap year
    ({"date": ("2021-02", "gYearMonth")}, ("2021-02-01", "2021-02-28")),
    ({"date": ("2021-07-15", "date")}, ("2021-07-15", "2021-07-15")),
    ({"date": ("2021-07-15T10:00:00", "dateTime")}, ("2021-07-15", "2021-07-15")),
    ({"date": ("2021Z", "gYear")}, ("2021-01-01", "2021-12-31")),
    ({"date": ("2021-07+05:00", "gYearMonth")}, ("2021-07-01", "2021-07-31")),
    ({"date": ("2021-07-15T10:00:00+05:00", "dateTime")}, ("2021-07-15", "2021-07-15")),
    ({"date": ("2021-13", "gYearMonth")}, (None, None)),
    ({"date": ("2021-02-30", "date")}, (None, None)),
    ({"date": ("2021-07-32", "date")}, (None, None)),
    ({"date": ("2021-07", "string")}, (None, None)),
    ({"date": ("0000", "gYear")}, (None, None)),
    ({"date": ("12021", "gYear")}, (None, None)),
    ({"date": ("-0044", "gYear")}, (None, None)),
    ({"startDate": ("1996", "gYear")}, ("1996-01-01", None)),  # a war with no known end
    ({"endDate": ("2021-08-31", "date")}, (None, "2021-08-31")),
    ({"startDate": ("2021-05", "gYearMonth"), "endDate": ("2021-07", "gYearMonth")}, ("2021-05-01", "2021-07-31")),
    ({"latestDate": ("2021-07", "gYearMonth")}, ("2021-07-01", "2021-07-31")),
    ({"earliestDate": ("1996", "gYear")}, ("1996-01-01", "1996-12-31")),
    ({"earliestDate": ("2021-05", "gYearMonth"), "latestDate": ("2021-07", "gYearMonth")}, ("2021-05-01", "2021-07-31")),
    # dip:latestDate bounds the start, not the end: the end stays open.
    ({"startDate": ("2021-05", "gYearMonth"), "latestDate": ("2021-06", "gYearMonth")}, ("2021-05-01", None)),
    ({"date": ("2021-07-01", "date"), "endDate": ("2021-07-10", "date")}, ("2021-07-01", "2021-07-10")),
    ({"earliestDate": ("2021-03", "gYearMonth"), "startDate": ("2021-05", "gYearMonth")}, ("2021-05-01", None)),
    ({"date": ("2021-07", "gYearMonth"), "startDate": ("2021-07-10", "date")}, ("2021-07-10", "2021-07-31")),
    ({"latestDate": ("2021-13", "gYearMonth"), "endDate": ("2021", "gYear")}, (None, "2021-12-31")),
]


def test_derived_days_follow_the_event_time_rules_for_iri_and_blank_events() -> None:
    """Graph 0 has blank-node events, graph 1 blank-node participants, graph 2 IRIs only: each of
    the text and the pyoxigraph-term paths is taken for days and for participants, on every case."""
    layout = KBLayout.locate(None)
    store, expected, graph_of = Store(), {}, {}
    load_files(store, layout, layout.ontology_files())
    for part in range(3):
        for i, (values, days) in enumerate(DAY_CASES):
            event = BlankNode() if part == 0 else NamedNode(f"{EVENT}e{part}-{i}")
            actor = BlankNode() if part == 1 else NamedNode(f"{KB}actor/a{part}-{i}")
            graph_of[event] = graph = NamedNode(f"urn:dipkb:file:kb/part-{part}.ttl")
            for name, (lexical, datatype) in values.items():
                store.add(Quad(event, NamedNode(DIP + name), Literal(lexical, datatype=NamedNode(XSD + datatype)), graph))
            store.add(Quad(event, NamedNode(DIP + "host"), actor, graph))
            expected[event] = days
    derive(store)
    got = {event: [None, None] for event in expected}
    for name, side in (("earliestDay", 0), ("latestDay", 1)):
        for quad in store.quads_for_pattern(None, NamedNode(DIP + name), None):
            assert quad.graph_name.value == derived_graph(graph_of[quad.subject].value)
            assert got[quad.subject][side] is None and quad.object.datatype.value == XSD + "date"
            got[quad.subject][side] = quad.object.value
    assert {event: tuple(days) for event, days in got.items()} == expected
    participants = list(store.quads_for_pattern(None, NamedNode(DIP + "participant"), None))
    assert len(participants) == 3 * len(DAY_CASES)
    assert all(q.graph_name.value == derived_graph(graph_of[q.subject].value) for q in participants)
    derive(store, ["urn:dipkb:file:kb/part-1.ttl"])  # again, for one graph: nothing doubled, nothing lost
    assert len(list(store.quads_for_pattern(None, NamedNode(DIP + "participant"), None))) == 3 * len(DAY_CASES)


def test_file_graphs_name_each_file_as_graph_name_does(tmp_path: Path):
    """The fast listing the server checks before each request agrees with graph_name, links and nested
    directories included, and through a KB directory reached by a link."""
    real = tmp_path / "real"
    (real / "kb" / "events" / "2021").mkdir(parents=True)
    (real / ".dipkb-kb").touch()
    (real / "kb" / "actors.ttl").write_text("")
    (real / "kb" / "events" / "2021" / "july.ttl").write_text("")
    (real / "kb" / "alias.ttl").symlink_to(real / "kb" / "events" / "2021" / "july.ttl")
    (tmp_path / "via-link").symlink_to(real)
    for root in (real, tmp_path / "via-link"):
        layout = KBLayout.locate(root)
        files = layout.ontology_files() + layout.kb_files()
        assert layout.file_graphs() == {layout.graph_name(p): p for p in files}
        assert any(g.endswith("kb/events/2021/july.ttl") for g in layout.file_graphs())


def test_is_current_sees_an_edit_an_addition_and_a_removal(kb_copy: Path):
    layout = KBLayout.locate(kb_copy)
    with KnowledgeBase.open(layout=layout) as kb:
        generation = kb.index.generation
    assert index.is_current(layout, generation)
    extra = layout.kb_dir / "extra.ttl"
    extra.write_text("")
    assert not index.is_current(layout, generation)
    extra.unlink()
    assert index.is_current(layout, generation)
    actors = layout.kb_dir / "actors.ttl"
    actors.write_text(actors.read_text() + "\n# a comment\n")
    assert not index.is_current(layout, generation)
