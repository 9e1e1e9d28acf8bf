"""Output that streams: the export sorts in bounded memory (sorted runs spilled to temporary files and
merged), and query results are written row by row, a table sized from its first rows."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import tempfile
import tracemalloc
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyoxigraph import QueryResultsFormat, RdfFormat, parse

from dipkb.cli import cli
from dipkb.errors import KBSyntaxError
from dipkb.model.namespaces import curie
from dipkb.store.kb import KnowledgeBase
from dipkb.util.jsontext import pretty_json
from dipkb.views import describe, long_selection, referrers, render, sorting, timeline
from dipkb.views.export import ExportFormat, export
from dipkb.views.selected import Gathering, first_instant
from dipkb.views.selection import Selection, TimelineFilter, select_events
from dipkb.views.sorting import LineSorter
from dipkb.views.timeline import entries_of

REPO = Path(__file__).resolve().parent.parent
ALL_TRIPLES = "SELECT * WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
RDF_TYPE = b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    return KnowledgeBase.open()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The generator's 2,000-event KB (three events files), loaded in memory: no index to build."""
    out = tmp_path_factory.mktemp("generated")
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--events", "2000", "--out", str(out)],
                   check=True, capture_output=True)
    return KnowledgeBase.open(out, index=False)


@pytest.fixture()
def runs(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every temporary file the sorter spills a run to, created as usual and recorded."""
    created: list[object] = []
    create = tempfile.TemporaryFile

    def recorded(*args, **kwargs):
        file = create(*args, **kwargs)
        if kwargs.get("prefix") == "dipkb-sort-":
            created.append(file)
        return file

    monkeypatch.setattr(sorting.tempfile, "TemporaryFile", recorded)
    return created


def exported(kb: KnowledgeBase, fmt: ExportFormat, **options) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = export(kb, fmt, out, **options).statements
    return out.getvalue(), count


def test_the_sorter_gives_unique_lines_in_byte_order_from_spilled_runs(runs):
    texts = [b"".join(b"%d %s .\n" % (i * 7919 % 1000, b"x" * (i % 5)) for i in range(k, k + 300))
             for k in range(0, 3000, 300)]
    with LineSorter(bound=4096) as sorter:
        for text in texts + texts[:2]:  # repeats across runs are written once
            sorter.add(text)
        assert sorter.spilled == len(runs) > 5
        assert list(sorter.lines()) == sorted({line for text in texts for line in io.BytesIO(text)})
    assert all(run.closed for run in runs)


@pytest.mark.parametrize(("which", "fmt"), [(which, fmt) for which in ("shipped", "generated") for fmt in ExportFormat])
def test_a_spilling_export_is_byte_identical_to_one_sorted_in_memory(request, runs, monkeypatch, which, fmt):
    kb = request.getfixturevalue(which)
    # RDF/XML cannot name the derived statements' time buckets as properties (test_export_formats).
    with_derived = which == "shipped" and fmt is not ExportFormat.RDFXML
    options = {"with_derived": with_derived, "with_ontology": True} if which == "shipped" else {}
    in_memory = exported(kb, fmt, **options)
    assert runs == []
    monkeypatch.setattr(sorting, "MEMORY_BOUND", 64 * 1024)
    spilled = exported(kb, fmt, **options)
    assert len(runs) > 2
    assert spilled == in_memory and in_memory[1] > 0


@pytest.mark.parametrize("fmt", [ExportFormat.JSONLD, ExportFormat.RDFXML])
def test_jsonld_and_rdfxml_hold_a_few_subjects_at_a_time(monkeypatch, fmt):
    """The writers take the sorted lines as they come: for 60,000 subjects (120,000 triples, 7 MB of
    lines) Python's heap peaks at a small part of what holding their triples takes, and every triple
    is written, in order."""
    from dipkb.views import jsonld
    from dipkb.views.jsonld import write_jsonld, write_rdfxml

    monkeypatch.setattr(jsonld, "SPOOLED", 1 << 20)  # RDF/XML's body: to its file from 1 MB, not 16
    subjects = 60_000

    def lines():
        for n in range(subjects):
            subject = f"<http://example.org/s{n:06d}\x00".encode()  # sort-key form: '>' is NUL
            yield subject + b" \x01 <http://example.org/C\x00 .\n"  # rdf:type
            yield subject + f' <http://example.org/p\x00 "value {n}" .\n'.encode()

    with tempfile.TemporaryFile() as out:  # a file, not a BytesIO: the output is not in the heap
        tracemalloc.start()
        try:
            written = (write_jsonld if fmt is ExportFormat.JSONLD else write_rdfxml)(lines(), out)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        out.seek(0)
        data = out.read()
    assert written == 2 * subjects
    held = sum(sys.getsizeof(t) for t in parse(b"".join(s.replace(b"\x00", b">").replace(b"\x01", RDF_TYPE)
                                                        for s in lines()), format=RdfFormat.N_TRIPLES))
    assert peak < held / 4, (peak, held)
    if fmt is ExportFormat.JSONLD:
        nodes = json.loads(data)["@graph"]
        assert [node["@id"] for node in nodes] == [f"http://example.org/s{n:06d}" for n in range(subjects)]
        assert nodes[7] == {"@id": "http://example.org/s000007", "@type": "http://example.org/C",
                            "http://example.org/p": "value 7"}
    else:
        triples = list(parse(data, format=RdfFormat.RDF_XML))
        assert len(triples) == 2 * subjects
        assert [t.subject.value for t in triples[::2]] == [f"http://example.org/s{n:06d}" for n in range(subjects)]


def test_a_failed_export_leaves_no_file_behind(kb_copy: Path, monkeypatch, runs):
    """A file that stops parsing after the index was built: the export fails after spilling runs, and
    neither a run nor a partial output is left, in $TMPDIR or beside the output."""
    monkeypatch.setattr(sorting, "MEMORY_BOUND", 1024)
    scratch = kb_copy / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    target = kb_copy / "out" / "kb.ttl"
    target.parent.mkdir()
    with KnowledgeBase.open(kb_copy, index=False) as kb:
        (kb_copy / "kb" / "zz-late.ttl").write_text("@prefix ex: <http://example.org/> .\nex:a ex:b .\n")
        with pytest.raises(KBSyntaxError), render.Output(render.OutputFormat.TURTLE, str(target)).stream() as out:
            export(kb, ExportFormat.TURTLE, out)
    assert runs and all(run.closed for run in runs)
    assert list(scratch.iterdir()) == [] and list(target.parent.iterdir()) == []


def test_later_wider_cells_are_cut_with_a_marker_except_in_the_last_column():
    rows = [["a", "bb", "c"], ["aaaaaa", "b", "a long last cell"], ["x\ny", "bbbbb", "z"]]
    out = io.StringIO()
    render.write_table(["h1", "h2", "h3"], rows, out.write, window=1)
    assert out.getvalue() == ("h1  h2  h3\n"
                              "--  --  --\n"
                              "a   bb  c\n"
                              "a…  b   a long last cell\n"
                              "x…  b…  z\n")  # the newline became a space: "x y" is too wide
    assert render.table(["h1", "h2", "h3"], rows).splitlines()[3] == "aaaaaa  b      a long last cell"


def _terminal_columns(text: str) -> int:
    """Columns by the Unicode tables themselves (UAX #11 widths, combining classes): not wcwidth."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_a_table_lines_up_wide_and_combining_characters_and_cuts_them_by_columns():
    cafe = "Cafe\u0301"  # é as e and a combining accent
    rows = [["ab", "host", "x"], ["習近平 (Xi Jinping)", "visitor", "北京"], [cafe, "h", "Beijing"],
            ["習近平習近平", "guest", "z"]]
    out = io.StringIO()
    render.write_table(["actor", "role", "place"], rows, out.write, window=3)
    lines = out.getvalue().splitlines()
    rule = lines[1].split("  ")
    assert [len(r) for r in rule] == [19, 7, 7]  # the widest name is 19 columns, 17 characters
    starts = [_terminal_columns(line[:line.rindex(place)]) for line, place in zip(lines[2:], ["x", "北京", "Beijing", "z"])]
    assert starts == [19 + 2 + 7 + 2] * 4
    assert lines[5].startswith("習近平習近平  ")  # 12 columns: within the first rows' 19
    narrow = io.StringIO()
    hearts = "\u2764\ufe0f" * 3  # ❤️: a heart and the selector that shows it two columns wide
    render.write_table(["actor", "role"], [["abcde", "x"], ["習近平習近平", "y"], [cafe * 2, "z"], [hearts, "w"]],
                       narrow.write, window=1)
    cut = narrow.getvalue().splitlines()
    assert cut[3] == "習近…  y" and _terminal_columns(cut[3][:-3]) == 5
    assert cut[4] == "Cafe\u0301…  z"
    assert cut[5] == "\u2764\ufe0f\u2764\ufe0f…  w"  # two hearts, four columns, and the marker


def test_show_lines_up_property_labels_written_in_a_wide_script():
    facts = (describe.Fact("ex:name", "名称", "Vara"), describe.Fact("rdfs:label", "label", "Republic of Vara"))
    shown = describe.Description("https://w3id.org/dipkb/kb/actor/syn-vara", "Vara", "actor", facts, (), (), ())
    lines = describe.render_text(shown).splitlines()
    assert "  名称   Vara" in lines and "  label  Republic of Vara" in lines  # 名称 takes four columns


def test_a_table_writes_its_first_bytes_before_reading_past_its_first_rows():
    consumed = []

    def rows():
        for i in range(5000):
            consumed.append(i)
            yield [f"event-{i}", "x" * (i % 7)]

    seen_at_first_write: list[int] = []
    lines: list[str] = []

    def write(text: str) -> None:
        if not seen_at_first_write:
            seen_at_first_write.append(len(consumed))
        lines.extend(text.splitlines())

    render.write_table(["event", "note"], rows(), write)
    assert seen_at_first_write == [render.TABLE_WINDOW]
    assert len(lines) == 5002 and lines[-1] == "event-49…  x"  # wider than event-999


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "xml"])
def test_query_result_formats_are_the_engines_own_bytes(shipped, fmt):
    result = CliRunner().invoke(cli, ["query", ALL_TRIPLES, "-f", fmt])
    assert result.exit_code == 0, result.output
    engine_format = {"csv": QueryResultsFormat.CSV, "tsv": QueryResultsFormat.TSV, "json": QueryResultsFormat.JSON,
                     "xml": QueryResultsFormat.XML}[fmt]
    assert result.stdout_bytes == shipped.query(ALL_TRIPLES).serialize(format=engine_format)
    if fmt == "json":
        assert len(json.loads(result.stdout_bytes)["results"]["bindings"]) > render.TABLE_WINDOW


def test_a_query_table_under_the_window_is_sized_from_every_row(shipped):
    query = "SELECT ?event ?label WHERE { ?event a dip:Meeting ; rdfs:label ?label } ORDER BY ?event"
    result = CliRunner().invoke(cli, ["query", query])
    assert result.exit_code == 0, result.output
    rows = [[render.term_text(s["event"]), render.term_text(s["label"])] for s in shipped.query(query)]
    assert 0 < len(rows) < render.TABLE_WINDOW
    assert result.stdout == render.table(["event", "label"], rows)
    assert render.TRUNCATED not in result.stdout



def test_a_query_table_cuts_paragraphs_but_csv_keeps_them_whole(shipped):
    query = ("SELECT ?text ?subject WHERE { ?subject skos:definition|skos:scopeNote ?text } "
             "ORDER BY DESC(STRLEN(?text)) ?subject")
    table = CliRunner().invoke(cli, ["query", query])
    csv_rows = list(csv.reader(io.StringIO(CliRunner().invoke(cli, ["query", query, "-f", "csv"]).stdout)))[1:]
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert len(lines) == len(csv_rows) + 2 and len(csv_rows[0][0]) > render.QUERY_CELL_WIDTH
    width = render.QUERY_CELL_WIDTH
    assert lines[1].split("  ")[0] == "-" * width
    for line, (text, subject) in zip(lines[2:], csv_rows):
        cell = text.replace("\n", " ")
        expected = cell if len(cell) <= width else cell[:width - 1] + render.TRUNCATED
        assert line == f"{expected.ljust(width)}  {curie(subject)}"  # the last column stays whole

def _timeline_output(root: Path, *args: str) -> bytes:
    result = CliRunner().invoke(cli, ["--kb", str(root), "timeline", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json"])
def test_a_timeline_written_a_chunk_at_a_time_is_the_whole_timeline_written_at_once(shipped_kb, monkeypatch, fmt):
    # The whole timeline rendered at once, as it was before it streamed, against chunks of seven entries.
    with KnowledgeBase.open(shipped_kb / "kb", progress=False) as kb:
        entries = timeline.timeline(kb, source_titles=fmt != "table")
    whole = render.json_text([e.as_dict() for e in entries]) if fmt == "json" else render.rows_output(
        render.TIMELINE_HEADERS, list(render.timeline_rows(entries, render.OutputFormat(fmt))), render.OutputFormat(fmt))
    made = []
    monkeypatch.setattr(timeline, "CHUNK", 7)
    monkeypatch.setattr(timeline, "entries_of", lambda kb, chunk, **options: made.append(len(chunk)) or
                        entries_of(kb, chunk, **options))
    assert _timeline_output(shipped_kb, "-f", fmt).decode() == whole
    assert len(made) == -(-len(entries) // 7) > 3 and set(made[:-1]) == {7}


def test_a_timelines_entries_are_made_as_they_are_asked_for(shipped_kb, monkeypatch):
    made = []
    monkeypatch.setattr(timeline, "CHUNK", 5)
    monkeypatch.setattr(timeline, "entries_of", lambda kb, chunk, **options: made.append(len(chunk)) or
                        entries_of(kb, chunk, **options))
    with KnowledgeBase.open(shipped_kb / "kb", progress=False) as kb:
        entries = timeline.timeline_entries(kb, timeline.select_events(kb, timeline.TimelineFilter()))
        first = [next(entries) for _ in range(6)]
        assert made == [5, 5] and first[0].earliest_day <= first[5].earliest_day


@pytest.mark.parametrize("kept_at_most", [0, 100_000])
def test_a_long_timeline_looks_its_actors_and_places_up_once(shipped_kb, monkeypatch, kept_at_most):
    monkeypatch.setattr(timeline, "KEPT_AT_MOST", kept_at_most)
    with KnowledgeBase.open(shipped_kb / "kb", progress=False) as kb:
        whole = timeline.timeline(kb)
        looked_up: list[str] = []
        look_up = kb.numbered_for_each
        monkeypatch.setattr(kb, "numbered_for_each", lambda text, iris, *args: looked_up.extend(iris) or
                            look_up(text, iris, *args))
        monkeypatch.setattr(timeline, "CHUNK", 7)
        assert list(timeline.timeline_entries(kb, timeline.select_events(kb, timeline.TimelineFilter()))) == whole
    others = {p.id for e in whole for p in e.participants} | {e.place.id for e in whole if e.place}
    repeated = {iri for iri in looked_up if looked_up.count(iri) > 1}
    if kept_at_most:
        assert others <= set(looked_up) and not repeated & others
    else:  # each chunk looks up its own
        assert repeated & others


def test_json_pieces_come_before_the_items_are_all_read():
    read = []

    def items():
        for n in range(2500):
            read.append(n)
            yield {"n": n}

    pieces = render.json_array(items(), batch=1000)
    assert next(pieces).startswith("[\n  {\n    \"n\": 0\n  }") and len(read) == 1000  # one batch
    assert "".join(pieces) and len(read) == 2500


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 2001])
def test_a_json_array_in_pieces_is_json_text(count):
    items = [{"n": n, "text": "é\n\"", "list": [n, {"deep": [None, True, 2.5]}], "empty": {}} for n in range(count)]
    assert "".join(render.json_array(iter(items))) == render.json_text(items)


# JSON values as dipkb's views make them: texts (any character but a lone surrogate, which RDF cannot
# hold), integers, booleans, null, lists, objects with text keys. Floats are left out: orjson writes
# 1e-07 as 1e-7, the same number.
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 64 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
@example({"escaped": "\x00\x1f\"\\\n\t", "as is": "\x7f\u2028 é 😀", "empty": [{}, []]})
def test_pretty_json_is_the_standard_librarys_indented_json(value):
    assert pretty_json(value) == json.dumps(value, ensure_ascii=False, indent=2)


@pytest.mark.parametrize("value", [{"count": 2 ** 70}, {1: "a key that is not a text"}])
def test_pretty_json_writes_what_orjson_refuses_as_the_standard_library_does(value):
    assert pretty_json(value) == json.dumps(value, ensure_ascii=False, indent=2)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_whole_description_is_written_as_its_timeline_is_made(shipped_kb, monkeypatch, fmt):
    with KnowledgeBase.open(shipped_kb / "kb", progress=False) as kb:
        description = describe.describe(kb, "actor:russia")
        whole = render.json_text(description.as_dict()) if fmt == "json" else describe.render_text(description)
        assert len(description.timeline) == description.timeline_count > 7
    made = []
    monkeypatch.setattr(timeline, "CHUNK", 3)
    monkeypatch.setattr(timeline, "entries_of", lambda kb, chunk, **options: made.append(len(chunk)) or
                        entries_of(kb, chunk, **options))
    result = CliRunner().invoke(cli, ["--kb", str(shipped_kb), "show", "actor:russia", "-f", fmt], catch_exceptions=False)
    assert result.exit_code == 0 and result.stdout == whole
    assert len(made) > 2 and set(made[:-1]) == {3}


def test_the_html_file_is_written_a_chunk_of_events_at_a_time(shipped_kb, monkeypatch):
    """`export -f html` embeds the events seven at a time here, each chunk with its own filter keys,
    and the names the filters look up after them: the page holds what one made whole holds."""
    from dipkb.web import html

    with KnowledgeBase.open(shipped_kb / "kb", progress=False) as kb:
        entries = timeline.timeline(kb)
        keys = html.filter_keys(kb, entries)
        whole = {"mode": "static", "total": len(entries), "offset": 0, "per_page": html.PER_PAGE,
                 "events": [{**data, "match": keys.of(data["id"])} for data in html.event_data(entries)],
                 "lookups": {**keys.lookups(), "roles": html.role_lookup(kb)}}
        monkeypatch.setattr(html, "CHUNK", 7)
        pieces = list(html.static_timeline(kb, long_selection.select_all(kb, TimelineFilter())))
    assert len(entries) > 14 and len(pieces) == 2 + -(-len(entries) // 7)
    embedded = re.search(r'<script type="application/json" id="dipkb-data">(.*?)</script>', "".join(pieces), re.S)
    data = json.loads(embedded.group(1))
    assert data == whole
    assert all(list(found) == sorted(found) for found in data["lookups"].values())


@pytest.mark.parametrize("command", [["export", "-f", "html"], ["timeline", "--actor", "Russia", "-f", "html"]])
def test_a_page_past_what_a_browser_opens_comfortably_comes_with_a_note(shipped_kb, monkeypatch, command):
    from dipkb.web import html

    args = ["--kb", str(shipped_kb), *command]
    quiet = CliRunner().invoke(cli, args, catch_exceptions=False)
    events = int(re.search(r'"total":(\d+)', quiet.stdout).group(1))
    assert quiet.exit_code == 0 and quiet.stderr == "" and events > 5
    monkeypatch.setattr(html, "COMFORTABLE_PAGE", events - 1)
    noted = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert noted.exit_code == 0 and noted.stdout == quiet.stdout  # the page is written all the same
    assert noted.stderr.startswith(f"Note: the page holds {events} events; Chromium took 1.7 GB to open 100,000 "
                                   "and may not open this many. A filter makes a smaller page: ")
    assert len(noted.stderr.splitlines()) == 1


def test_the_html_file_written_to_a_path_says_how_many_events_it_holds(shipped_kb, tmp_path):
    out = tmp_path / "timeline.html"
    result = CliRunner().invoke(cli, ["--kb", str(shipped_kb), "export", "-f", "html", "-o", str(out)])
    events = int(re.search(r'"total":(\d+)', out.read_text(encoding="utf-8")).group(1))
    assert (result.exit_code, result.stderr) == (0, f"Wrote {events} events to {out} (html).\n")


def test_the_sorter_reads_its_lines_again_from_the_start(runs):
    with LineSorter(bound=64) as sorter:
        for tens in range(10):
            sorter.add(b"".join(b"%03d\n" % (n * 37 % 100) for n in range(tens * 10, tens * 10 + 10)))
        first = list(sorter.lines())
        assert sorter.spilled > 3 and list(sorter.lines()) == first == [b"%03d\n" % n for n in range(100)]


@pytest.mark.parametrize("name, filt", [
    ("every event", TimelineFilter()),
    ("an actor", TimelineFilter(actors=("https://w3id.org/dipkb/kb/actor/syn-vara",))),
    ("a range", TimelineFilter(start=date(2005, 1, 1), end=date(2012, 12, 31))),
])
def test_a_selection_sorted_on_disk_is_the_one_held_in_memory(generated, runs, monkeypatch, name, filt):
    held = select_events(generated, filt)
    monkeypatch.setattr(long_selection, "HELD_AT_MOST", 50)
    monkeypatch.setattr(long_selection, "_SORT_BOUND", 16 * 1024)
    monkeypatch.setattr(sorting, "_BATCH", 10)
    on_disk = long_selection.select_all(generated, filt)
    assert isinstance(on_disk, long_selection.SortedOnDisk) and len(runs) > 4
    assert len(on_disk) == len(held) > 100
    assert list(on_disk) == held
    assert list(on_disk) == held  # read again from its runs


_KB_IRI = "https://w3id.org/dipkb/kb/"


def _write_kb(root: Path, files: dict[str, str]) -> None:
    """Turtle files in ``root``/kb, each with the prefixes dip: and xsd:."""
    (root / "kb").mkdir()
    for name, text in files.items():
        (root / "kb" / f"{name}.ttl").write_text(
            "@prefix dip: <https://w3id.org/dipkb/ontology#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
            + text, encoding="utf-8")


@pytest.mark.parametrize("held_at_most", [0, 50])  # sorted on disk; held in memory
def test_an_event_two_files_date_differently_is_listed_once_with_the_greatest_days(tmp_path, monkeypatch, held_at_most):
    _write_kb(tmp_path, {name: f'<{_KB_IRI}event/{name}> a dip:Meeting ; dip:date "{day}"^^xsd:date .\n'
                               f'<{_KB_IRI}event/x> a dip:Meeting ; dip:date "{day}"^^xsd:date ; '
                               f"dip:source <{_KB_IRI}source/{name}> .\n"
                         for name, day in (("a", "2021-07-02"), ("b", "2021-07-09"), ("c", "2021-07-05"))})
    monkeypatch.setattr(long_selection, "HELD_AT_MOST", held_at_most)
    with KnowledgeBase.open(tmp_path, index=False) as kb:
        events = list(long_selection.select_all(kb, TimelineFilter()))
    assert [e.iri.rsplit("/", 1)[1] for e in events] == ["a", "c", "b", "x"]
    shared = events[-1]
    assert (shared.earliest_day, shared.latest_day) == ("2021-07-09", "2021-07-09") and len(shared.rows) == 3
    assert list(shared.rows) == sorted(shared.rows)  # the same order whichever way it was gathered


@pytest.mark.parametrize("held_at_most", [0, 50])  # sorted on disk; held in memory
def test_events_sort_by_first_day_then_last_open_ended_after_closed_undated_last(tmp_path, monkeypatch, held_at_most):
    times = {"undated": "", "open": '; dip:startDate "2021-07-01"^^xsd:date', "later": '; dip:date "2021-07-05"^^xsd:date',
             "closed": '; dip:startDate "2021-07-01"^^xsd:date ; dip:endDate "2021-07-20"^^xsd:date',
             "until": '; dip:endDate "2021-06-10"^^xsd:date'}
    _write_kb(tmp_path, {"events": "".join(f"<{_KB_IRI}event/{name}> a dip:Meeting {time} .\n"
                                           for name, time in times.items())})
    monkeypatch.setattr(long_selection, "HELD_AT_MOST", held_at_most)
    with KnowledgeBase.open(tmp_path, index=False) as kb:
        events = list(long_selection.select_all(kb, TimelineFilter()))
    assert [e.iri.rsplit("/", 1)[1] for e in events] == ["until", "closed", "open", "later", "undated"]


@pytest.mark.parametrize("held_at_most", [0, 50])  # sorted on disk; held in memory
def test_the_events_of_one_day_come_in_the_order_of_their_hours(tmp_path, monkeypatch, held_at_most):
    # By IRI after the day: 18:00 came before 06:00. 10:00+05:00 is 05:00 UTC; the whole day comes first.
    times = {"a-late": '"2021-07-08T18:00:00Z"^^xsd:dateTime', "b-zoned": '"2021-07-08T10:00:00+05:00"^^xsd:dateTime',
             "c-early": '"2021-07-08T06:00:00Z"^^xsd:dateTime', "d-day": '"2021-07-08"^^xsd:date',
             "e-started": None}
    _write_kb(tmp_path, {"events": "".join(
        f"<{_KB_IRI}event/{name}> a dip:Meeting ; " + (f"dip:date {time} .\n" if time else
        'dip:startDate "2021-07-08T05:30:00Z"^^xsd:dateTime ; dip:endDate "2021-07-08T23:00:00Z"^^xsd:dateTime .\n')
        for name, time in times.items())})
    monkeypatch.setattr(long_selection, "HELD_AT_MOST", held_at_most)
    with KnowledgeBase.open(tmp_path, index=False) as kb:
        events = list(long_selection.select_all(kb, TimelineFilter()))
    assert [e.iri.rsplit("/", 1)[1] for e in events] == ["d-day", "b-zoned", "e-started", "c-early", "a-late"]


@pytest.mark.parametrize("days", [[("2021-07-01", None), ("2021-06-01", "2021-08-01")],
                                  [("2021-06-01", "2021-08-01"), ("2021-07-01", None)],
                                  [(None, "2021-08-01"), ("2021-07-01", None)]])
def test_a_gathered_event_keeps_the_greatest_of_each_day_whatever_the_order(days):
    gathering = Gathering()
    for lo, hi in days:
        gathering.add(_KB_IRI + "event/x", lo, hi, None)
    (event,) = gathering.selected()
    assert (event.earliest_day, event.latest_day) == ("2021-07-01", "2021-08-01")


@pytest.mark.parametrize("held_at_most", [0, 50])  # sorted on disk; held in memory
def test_an_event_the_selection_answers_again_is_listed_once(tmp_path, monkeypatch, held_at_most):
    _write_kb(tmp_path, {name: f'<{_KB_IRI}event/x> a dip:Meeting ; dip:date "2021-07-02"^^xsd:date ; '
                               f"dip:{role} <{_KB_IRI}actor/{actor}> ; dip:source <{_KB_IRI}source/{name}> .\n"
                               f"<{_KB_IRI}actor/ministry> dip:actsFor <{_KB_IRI}actor/state> .\n"
                         for name, role, actor in (("a", "host", "ministry"), ("b", "visitor", "state"))})
    monkeypatch.setattr(long_selection, "HELD_AT_MOST", held_at_most)
    with KnowledgeBase.open(tmp_path, index=False) as kb:
        for filt in (TimelineFilter(), TimelineFilter(actors=(_KB_IRI + "actor/state",))):
            selection = Selection.of(kb, filt)
            solutions = list(selection.solutions(kb, selection.dated_buckets))
            # Two files date it alike; the state's two agents take part: the engine keeps no set to drop repeats.
            assert len(solutions) > len(set(solutions)) and {s[0] for s in solutions} == {_KB_IRI + "event/x"}
            (event,) = long_selection.select_all(kb, filt)
            assert (event.earliest_day, event.latest_day) == ("2021-07-02", "2021-07-02") and len(event.rows) == 2


def test_a_long_timeline_written_from_disk_is_the_same_bytes(shipped_kb, monkeypatch, runs):
    every, russia = _timeline_output(shipped_kb, "-f", "csv"), _timeline_output(shipped_kb, "--actor", "Russia", "-f", "json")
    monkeypatch.setattr(long_selection, "HELD_AT_MOST", 5)
    monkeypatch.setattr(long_selection, "_SORT_BOUND", 512)
    monkeypatch.setattr(sorting, "_BATCH", 3)
    assert _timeline_output(shipped_kb, "-f", "csv") == every
    assert _timeline_output(shipped_kb, "--actor", "Russia", "-f", "json") == russia
    assert len(runs) > 4


def test_every_referrer_sorted_on_disk_is_a_page_of_them_all(generated, runs, monkeypatch):
    vara = "https://w3id.org/dipkb/kb/actor/syn-vara"
    monkeypatch.setattr(referrers, "_SORT_BOUND", 4096)
    monkeypatch.setattr(sorting, "_BATCH", 10)
    every = referrers.referrers(generated, vara)
    assert len(runs) > 4
    held = referrers.referrers(generated, vara, limit=every.count)  # sorted in memory, a property at a time
    assert every.count == every.shown == held.count == held.shown > 100
    assert len(every.facts) == len(held.facts) and list(every.facts) == list(held.facts)
    assert list(every.facts) == list(held.facts)  # read again from its runs


AWKWARD_REFERRERS = """@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix actor: <https://w3id.org/dipkb/kb/actor/> .
@prefix event: <https://w3id.org/dipkb/kb/event/> .
actor:x a dip:Actor ; rdfs:label "X" .
dip:host rdfs:label "host"@en, "Gastgeber"@de .
event:a dip:participant actor:x ; rdfs:label "tab\\there", "line\\nbreak", "line" .
event:b dip:participant actor:x ; dip:host actor:x ; rdfs:label "\\u0001 low", "\\u000b", "tab" .
event:c dip:participant actor:x .
[] dip:participant actor:x ; rdfs:label "a blank node, listed by its identifier" .
"""


def test_referrers_with_control_characters_several_labels_and_repeats_sort_as_held(tmp_path, monkeypatch, runs):
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "a.ttl").write_text(AWKWARD_REFERRERS, encoding="utf-8")
    (tmp_path / "kb" / "b.ttl").write_text(AWKWARD_REFERRERS.split("actor:x a")[0] + "event:a dip:participant actor:x .\n",
                                           encoding="utf-8")  # the same statement in a second file
    monkeypatch.setattr(referrers, "_SORT_BOUND", 64)
    monkeypatch.setattr(sorting, "_BATCH", 2)
    with KnowledgeBase.open(tmp_path, index=False) as kb:
        every = referrers.referrers(kb, "https://w3id.org/dipkb/kb/actor/x")
        held = referrers.referrers(kb, "https://w3id.org/dipkb/kb/actor/x", limit=10)
    assert len(runs) > 2
    assert every.count == every.shown == held.count == 5  # (thing, property) pairs: b's two, a, c and the blank node
    # A fact a pair, by the names shown (dipkb.model.labels): the English label of dip:host, the first
    # of a thing's labels alphabetically.
    assert list(every.facts) == list(held.facts) and len(every.facts) == 5
    blank = next(f.value_id for f in every.facts if not f.value_id.startswith("event:"))
    participant = sorted(["\x01 low", blank, "event:c", "line"])
    assert [(f.value, f.predicate_label) for f in every.facts] == [("\x01 low", "host")] + [
        (v, "participant") for v in participant]


@given(st.lists(st.tuples(st.text(), st.text(), st.text()), max_size=30))
@example([("a", "b", "c"), ("a", "b\n", ""), ("a\x01", "", ""), ("a", "\x00", "\x0b"), ("a", "", "\x0c")])
def test_lines_of_fields_sort_as_their_tuples_and_read_back(rows):
    lines = [sorting.fields_line(row) for row in rows]
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    assert [tuple(sorting.line_fields(line)) for line in sorted(lines)] == sorted(rows)


def test_an_instant_in_year_0_in_utc_keeps_its_place_by_iri():
    # 0001-01-01T00:00:00+05:00 is in year 0 in UTC: its conversion raised, and the timeline with it.
    assert first_instant(('{"date":[["0001-01-01T00:00:00+05:00","dateTime"]]}',)) == ""
    assert first_instant(('{"date":[["2021-07-08T10:00:00+05:00","dateTime"]]}',)) == "2021-07-08T05:00:00.000000"
