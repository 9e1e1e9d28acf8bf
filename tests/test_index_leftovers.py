"""What writers of the index killed midway leave in kb/.dipkb, and which of it the next command that
only reads deletes: RocksDB's staging directory for a checkpoint is one of a generation's names."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb import KnowledgeBase
from dipkb.cli import cli
from dipkb.errors import KBFileError
from dipkb.store import index
from dipkb.store.layout import KBLayout


def test_a_dead_writers_checkpoint_staging_directory_goes_with_the_next_read(kb_copy: Path):
    with KnowledgeBase.open(kb_copy) as kb:
        generation = kb.index.generation
    index = kb_copy / "kb" / ".dipkb"
    staging = index / f"store-{generation + 1}.tmp"  # RocksDB stages a checkpoint there
    staging.mkdir()
    (staging / "000001.sst").write_bytes(b"\0" * 1024)
    with KnowledgeBase.open(kb_copy) as kb:
        assert not kb.index.report.refreshed and kb.index.generation == generation
    assert not staging.exists()
    assert sorted(p.name for p in index.iterdir() if p.name.startswith("store-")) == [
        f"store-{generation}", f"store-{generation}.lock"]


def test_a_file_removed_while_the_index_is_built_is_one_line_and_leaves_no_generation(kb_copy: Path, monkeypatch):
    """The listing names a file that is gone when its turn to load comes (`mv` during `dipkb index`):
    a FileNotFoundError traceback before. Here the listing is made to name it, as the race would."""
    gone = kb_copy / "kb" / "moved-away.ttl"
    listed = KBLayout.file_graphs
    monkeypatch.setattr(KBLayout, "file_graphs", lambda layout: {**listed(layout), "urn:dipkb:file:kb/moved-away.ttl": gone})
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), "index"])
    assert (result.exit_code, result.output) == (
        2, f"Error: {gone} was removed while the index was built from it: run the command again.\n")
    index = kb_copy / "kb" / ".dipkb"
    assert not [p.name for p in index.iterdir() if p.name.startswith("store-")]
    monkeypatch.undo()
    with KnowledgeBase.open(kb_copy) as kb:  # the next command builds it
        assert kb.index.report.refreshed


def test_a_refresh_that_failed_does_not_lock_the_next_one_out(kb_copy: Path, monkeypatch):
    """A server keeps the error of a failed refresh a while: its traceback held the half-built Store
    open, and the next refresh of the same generation failed on RocksDB's lock ("lock hold by current
    process"), a bare 500, until a restart."""
    with KnowledgeBase.open(kb_copy):
        pass
    (kb_copy / "kb" / "more.ttl").write_text(
        '<https://w3id.org/dipkb/kb/actor/more> <http://www.w3.org/2000/01/rdf-schema#label> "More"@en .\n')
    loading = index._load_each

    def moved_away_before_its_load(store, files, *args):  # `mv` between the refresh's plan and its load
        more = kb_copy / "kb" / "more.ttl"
        if more.exists() and more in files.values():
            kept_text.append(more.read_bytes())
            more.unlink()
        return loading(store, files, *args)

    kept, kept_text = [], []
    monkeypatch.setattr(index, "_load_each", moved_away_before_its_load)
    for _ in range(2):
        with pytest.raises(KBFileError, match="more.ttl was removed while the index was built") as failed:
            KnowledgeBase.open(kb_copy, progress=False)
        kept.append(failed.value)  # alive, as in a server's hands
        (kb_copy / "kb" / "more.ttl").write_bytes(kept_text[-1])
    monkeypatch.undo()
    with KnowledgeBase.open(kb_copy) as kb:
        assert kb.index.report.refreshed and kb.ask("ASK { actor:more ?p ?o }")


@pytest.mark.parametrize("damage", ["emptied", "overwritten"])
def test_a_damaged_index_is_built_again_not_a_traceback_on_every_command(kb_copy: Path, damage: str):
    """RocksDB says "Corruption: ..." as a RuntimeError: every command, `index --rebuild` included, ended in it."""
    run = lambda *args: CliRunner().invoke(cli, ["--kb", str(kb_copy), *args])  # noqa: E731
    assert run("index").exit_code == 0
    expected = run("stats").output
    for command in (["stats"], ["index", "--rebuild"]):
        store = next((kb_copy / "kb" / ".dipkb").glob("store-*/"))
        table = sorted(store.glob("*.sst"))[0] if damage == "emptied" else store / "CURRENT"
        table.write_bytes(b"" if damage == "emptied" else b"\x00garbage")
        result = run(*command)
        assert result.exit_code == 0, result.output
        assert result.exception is None
    assert run("stats").output == expected


@pytest.mark.parametrize("generation", ["../../x", -1, 0, True])
def test_a_manifest_naming_no_generation_dipkb_writes_is_rebuilt_from(kb_copy: Path, generation):
    """A path or a negative number in a hand-edited manifest was a traceback, or a stray store--1.lock."""
    run = lambda *args: CliRunner().invoke(cli, ["--kb", str(kb_copy), *args])  # noqa: E731
    expected = run("stats").output
    manifest = kb_copy / "kb" / ".dipkb" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "generation": generation}))
    result = run("stats")
    assert (result.exit_code, result.exception, result.output) == (0, None, expected)
    assert not list((kb_copy / "kb" / ".dipkb").glob("store--*"))


def test_an_index_damaged_inside_its_tables_is_one_line_that_says_to_rebuild(kb_copy: Path):
    """A store that opens but whose data blocks fail their checksums (a disk fault, a file edited by
    hand) was a RuntimeError traceback on stats, timeline and show."""
    run = lambda *args: CliRunner().invoke(cli, ["--kb", str(kb_copy), *args])  # noqa: E731
    assert run("index").exit_code == 0
    expected = run("stats").output
    for table in (kb_copy / "kb" / ".dipkb").glob("store-*/*.sst"):
        with table.open("r+b") as damaged:
            for offset in range(4096, table.stat().st_size - 8192, 16384):
                damaged.seek(offset)
                damaged.write(b"\xff" * 512)
    for command in (["stats"], ["timeline", "--actor", "Russia"], ["show", "actor:russia"]):
        result = run(*command)
        assert result.exit_code == 2, (command, result.output)
        assert result.output.startswith("Error: The index is damaged (block checksum mismatch in /"), result.output
        assert result.output.endswith("): run `dipkb index --rebuild`; the KB's files are not affected.\n")
    assert run("index", "--rebuild").exit_code == 0
    assert run("stats").output == expected
