"""When the index is refreshed, and what it says it did: an edit that keeps the file's mtime, a manifest
written by other derivation code, the open after a one-file refresh, a removed file and a superseded
generation as a server sees them, and the order the report names files in."""
from __future__ import annotations

import json
import os
from pathlib import Path

from pyoxigraph import NamedNode

from dipkb import KnowledgeBase
from dipkb.model.namespaces import KB
from dipkb.store import index
from dipkb.store.layout import KBLayout

VISIT = NamedNode(KB + "event/taliban-delegation-visit-moscow-2021-07")
LABEL = "Taliban delegation visits Moscow"
LABEL_QUERY = "SELECT ?event ?label WHERE { ?event rdfs:label ?label }"


def label(kb: KnowledgeBase) -> list[str]:
    return [row["label"].value for row in kb.select(LABEL_QUERY, {"event": VISIT})]


def test_an_edit_that_keeps_the_files_mtime_but_not_its_size_is_reloaded(kb_copy: Path):
    KnowledgeBase.open(kb_copy).close()
    events = kb_copy / "kb" / "events-2021.ttl"
    before = events.stat()
    events.write_text(events.read_text().replace(LABEL, "Taliban delegation travels to Moscow"))
    os.utime(events, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `cp -p` or `rsync -t` leave it
    assert events.stat().st_size != before.st_size
    with KnowledgeBase.open(kb_copy) as kb:
        assert kb.index.report.changed == ("kb/events-2021.ttl",)
        assert label(kb) == ["Taliban delegation travels to Moscow"]


def test_a_manifest_written_by_other_derivation_code_is_rebuilt(kb_copy: Path):
    KnowledgeBase.open(kb_copy).close()
    path = kb_copy / "kb" / ".dipkb" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["fingerprint"] = "0" * 16
    path.write_text(json.dumps(manifest))
    with KnowledgeBase.open(kb_copy) as kb:
        assert kb.index.report.rebuilt and label(kb) == [LABEL]
    assert json.loads(path.read_text())["fingerprint"] != "0" * 16


def test_a_generation_a_refresh_replaced_is_no_longer_current(kb_copy: Path):
    layout = KBLayout.locate(kb_copy)
    with KnowledgeBase.open(layout=layout) as kb:
        old = kb.index.generation
    events = layout.kb_dir / "events-2021.ttl"
    events.write_text(events.read_text().replace(LABEL, "Taliban delegation travels to Moscow"))
    with KnowledgeBase.open(layout=layout) as kb:
        new = kb.index.generation
    assert new != old
    assert index.is_current(layout, new) and not index.is_current(layout, old)


def test_removing_a_file_the_index_holds_makes_its_generation_stale(kb_copy: Path):
    layout = KBLayout.locate(kb_copy)
    with KnowledgeBase.open(layout=layout) as kb:
        generation = kb.index.generation
    (layout.kb_dir / "places.ttl").unlink()
    assert not index.is_current(layout, generation)


def test_the_open_after_a_one_file_refresh_finds_everything_up_to_date(kb_copy: Path):
    KnowledgeBase.open(kb_copy).close()
    events = kb_copy / "kb" / "events-2021.ttl"
    events.write_text(events.read_text().replace(LABEL, "Taliban delegation travels to Moscow"))
    with KnowledgeBase.open(kb_copy) as kb:
        refreshed = kb.index
        assert refreshed.report.changed == ("kb/events-2021.ttl",) and not refreshed.report.rebuilt
    with KnowledgeBase.open(kb_copy) as kb:
        report = kb.index.report
        assert not report.refreshed and report.unchanged == refreshed.report.unchanged + 1
        assert kb.index.generation == refreshed.generation


def test_the_report_names_files_in_graph_name_order(kb_copy: Path):
    (kb_copy / "kb" / "events").mkdir()
    (kb_copy / "kb" / "events" / "more.ttl").write_text("")  # kb/events/ sorts after kb/events-2021.ttl
    with KnowledgeBase.open(kb_copy) as kb:
        added = kb.index.report.added
    assert "kb/events/more.ttl" in added and "ontology/dipkb.ttl" in added
    assert list(added) == sorted(added)
