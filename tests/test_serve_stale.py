"""A change to the KB's files that does not load, under a running `dipkb serve`: a syntax error, or an
editor's half-written save. Every KB-backed page, the API and the SPARQL endpoint answered 500 until
the file was fixed; they now answer from the files as they last loaded, and say so."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
import urllib.request
from email.message import Message
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

import test_serve_sparql
from conftest import serving
from dipkb.cli import cli
from dipkb.errors import KBSyntaxError
from dipkb.store.generations import store_path
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.web.app import STALE_HEADER
from dipkb.web.live import LiveKB, noting_stale

NEW_EVENT = test_serve_sparql.NEW_EVENT.encode()
# An editor's save cut short: the literal never ends.
HALF_WRITTEN = b'\nevent:stale-test-statement a dip:Statement ;\n    rdfs:label "cut of'
ASK_NEW = "/sparql?query=" + quote("ASK { event:served-test-meeting-2021-07 a dip:Meeting }")


def lines_of(text: bytes) -> int:
    return text.count(b"\n")


def fetch(url: str) -> tuple[int, Message, bytes]:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.status, response.headers, response.read()


def test_a_change_that_does_not_load_is_said_and_the_files_before_it_answer(kb_copy: Path):
    events = kb_copy / "kb" / "events-2021.ttl"
    good = events.read_bytes()
    with serving(kb_copy) as server:
        _, headers, timeline = fetch(server.url + "/timeline.json")
        assert STALE_HEADER not in headers
        events.write_bytes(good + NEW_EVENT + HALF_WRITTEN)
        where = f"/kb/events-2021.ttl:{lines_of(good + NEW_EVENT) + 3}:16: Unexpected end of file"
        for path in ("/", "/timeline.json", "/actor/russia", "/event/kabulov-taliban-meeting-2021-07.json", ASK_NEW):
            status, headers, body = fetch(server.url + path)
            assert status == 200, path
            assert where in headers[STALE_HEADER] and "answers from them as they were at" in headers[STALE_HEADER]
        assert fetch(server.url + "/timeline.json")[2] == timeline  # the new meeting is not half there
        assert json.loads(fetch(server.url + ASK_NEW)[2])["boolean"] is False
        banner = fetch(server.url + "/")[2].decode()
        assert '<p class="note stale" role="status">' in banner and where in banner

        events.write_bytes(good + NEW_EVENT)  # the save completed
        _, headers, answer = fetch(server.url + ASK_NEW)
        assert json.loads(answer)["boolean"] is True
        assert STALE_HEADER not in headers
        assert 'class="note stale"' not in fetch(server.url + "/")[2].decode()


def test_a_kb_directory_moved_away_is_said_not_served_as_an_empty_kb(kb_copy: Path):
    """It answered 200 with no events, and 404 for every actor, as if the KB were empty."""
    with serving(kb_copy) as server:
        _, _, timeline = fetch(server.url + "/timeline.json")
        (kb_copy / "kb").rename(kb_copy / "kb.moved")
        try:
            status, headers, body = fetch(server.url + "/timeline.json")
            assert (status, body) == (200, timeline)
            assert f"The KB's directory {kb_copy / 'kb'} is gone (moved or deleted)" in headers[STALE_HEADER]
            assert fetch(server.url + "/actor/russia")[0] == 200
        finally:
            (kb_copy / "kb.moved").rename(kb_copy / "kb")
        assert STALE_HEADER not in fetch(server.url + "/timeline.json")[1]


def test_a_failed_refresh_is_tried_again_when_the_files_change_not_on_every_request(kb_copy: Path, monkeypatch):
    opened = []
    real_open = KnowledgeBase.open

    def counted_open(*args, **kwargs):
        opened.append(1)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(KnowledgeBase, "open", counted_open)
    events = kb_copy / "kb" / "events-2021.ttl"
    good = events.read_bytes()
    live = LiveKB(KBLayout.locate(kb_copy))
    try:
        with live.reading() as kb:
            first = kb.index.generation
        events.write_bytes(good + HALF_WRITTEN)
        for _ in range(3):
            with live.reading() as kb:
                assert kb.index.generation == first
        assert len(opened) == 2 and "kb/events-2021.ttl:" in live.stale
        events.write_bytes(good + NEW_EVENT + HALF_WRITTEN)  # saved again, still broken
        with live.reading() as kb:
            assert kb.index.generation == first
        assert len(opened) == 3
        events.write_bytes(good + NEW_EVENT)
        with live.reading() as kb:
            assert kb.index.generation != first
        assert len(opened) == 4 and live.stale is None
    finally:
        live.close()


def test_with_nothing_loaded_before_a_broken_file_is_an_error(kb_copy: Path):
    events = kb_copy / "kb" / "events-2021.ttl"
    events.write_bytes(events.read_bytes() + HALF_WRITTEN)
    live = LiveKB(KBLayout.locate(kb_copy))
    with pytest.raises(KBSyntaxError, match="kb/events-2021.ttl:"), live.reading():
        pass
    assert live.stale is None
    live.close()


def test_while_one_request_reads_a_change_the_others_answer_from_the_generation_held(kb_copy: Path, monkeypatch):
    # Every request waited for the one refreshing: 10 s for a large change at 20,000 events.
    refreshing, release = threading.Event(), threading.Event()
    real_open = KnowledgeBase.open

    def held_open(*args, **kwargs):
        if refreshing.is_set():  # only the refresh of the change, not the first opening
            release.wait(60)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(KnowledgeBase, "open", held_open)
    live = LiveKB(KBLayout.locate(kb_copy))
    generations: dict[str, int] = {}
    notes: dict[str, list[str]] = {}

    def read(who: str) -> None:
        with noting_stale() as noted, live.reading() as kb:
            generations[who], notes[who] = kb.index.generation, noted

    try:
        read("first")
        events = kb_copy / "kb" / "events-2021.ttl"
        events.write_bytes(events.read_bytes() + NEW_EVENT)
        refreshing.set()
        refresher = threading.Thread(target=read, args=("refresher",))
        refresher.start()
        while not live.stale:
            assert refresher.is_alive()
            time.sleep(0.01)
        other = threading.Thread(target=read, args=("other",))
        other.start()
        other.join(10)
        assert not other.is_alive() and generations["other"] == generations["first"]
        assert "while it reads the change" in live.stale
        release.set()
        refresher.join(60)
        assert generations["refresher"] != generations["first"] and live.stale is None
        read("after")
        assert generations["after"] == generations["refresher"]
        # Each answer says what it read: the server's state when it is sent said "current" of an
        # answer begun during the refresh and sent after it.
        assert [len(notes[who]) for who in ("first", "other", "refresher", "after")] == [0, 1, 0, 0]
        assert "while it reads the change" in notes["other"][0]
    finally:
        release.set()
        live.close()


def test_a_generation_replaced_is_deleted_when_its_last_request_ends(kb_copy: Path):
    # It stayed on disk until the next command: 162 MB at 20,000 events, 8 GB at a million.
    live = LiveKB(KBLayout.locate(kb_copy))
    events = kb_copy / "kb" / "events-2021.ttl"
    try:
        with live.reading() as old:
            first, directory = old.index.generation, old.index.report.location
            events.write_bytes(events.read_bytes() + NEW_EVENT)
            with live.reading() as new:
                assert new.index.generation != first
            assert store_path(directory, first).is_dir()  # still read
        assert not store_path(directory, first).exists()
        assert store_path(directory, new.index.generation).is_dir()
    finally:
        live.close()


def test_a_stream_not_read_to_its_end_lets_its_generation_go(kb_copy: Path):
    # A HEAD of a streamed JSON answer, or a client gone mid-stream, kept the generation it read leased
    # until the server stopped: one more on disk for each change to the files.
    index = kb_copy / "kb" / ".dipkb"
    places = kb_copy / "kb" / "places.ttl"
    with serving(kb_copy) as server:
        for change in range(3):
            head = urllib.request.Request(server.url + "/timeline.json", method="HEAD")
            with urllib.request.urlopen(head, timeout=60) as response:
                assert response.status == 200
            places.write_text(places.read_text(encoding="utf-8") + f"\n# change {change}\n", encoding="utf-8")
            fetch(server.url + "/timeline.json")
        deadline = time.monotonic() + 10
        while len(stores := sorted(p.name for p in index.glob("store-*") if p.is_dir())) > 1 \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(stores) == 1, stores


def test_sparql_answers_from_the_generation_held_when_a_command_replaced_it(kb_copy: Path):
    # After `dipkb index` committed a newer generation and a broken save kept the server on the older
    # one, every SPARQL query was a 500 "The index kept changing"; the pages answered, marked stale.
    places = kb_copy / "kb" / "places.ttl"
    with serving(kb_copy) as server:  # its query workers read the first generation
        places.write_text(places.read_text(encoding="utf-8") + "\n# a change\n", encoding="utf-8")
        fetch(server.url + "/")  # the server reads a second, which no worker has read
        places.write_text(places.read_text(encoding="utf-8") + "\n# another\n", encoding="utf-8")
        assert CliRunner().invoke(cli, ["--kb", str(kb_copy), "index"]).exit_code == 0  # a third
        places.write_bytes(places.read_bytes() + HALF_WRITTEN)
        with ThreadPoolExecutor(6) as pool:  # so that a worker that has not read the old generation answers
            answers = list(pool.map(fetch, [server.url + "/sparql?query=" + quote("ASK { ?s ?p ?o }")] * 6))
        for status, headers, body in answers:
            assert status == 200 and json.loads(body)["boolean"] is True
            assert headers[STALE_HEADER]  # a refresh under way, or the file that does not load
