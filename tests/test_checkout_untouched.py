"""The suite never writes into the checkout: conftest runs every test in a copy of the shipped KB and
fails the run if the repository's kb/ or queries/ changed. These check that guard itself."""
from __future__ import annotations

from pathlib import Path

from conftest import REPO, checkout_state, copy_shipped_kb, state_changes
from dipkb import KnowledgeBase
from dipkb.store.layout import KBLayout


def test_the_tests_run_in_the_copy_not_in_the_checkout(shipped_kb: Path) -> None:
    assert Path.cwd() == shipped_kb and not shipped_kb.is_relative_to(REPO)
    assert KBLayout.locate().kb_dir == shipped_kb / "kb"


def test_building_an_index_is_seen_as_a_write(tmp_path: Path) -> None:
    root = copy_shipped_kb(tmp_path)
    before = checkout_state(root)
    assert state_changes(before, checkout_state(root)) == []
    KnowledgeBase.open(root).select("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")
    assert "kb/.dipkb" in state_changes(before, checkout_state(root))


def test_a_file_written_and_deleted_again_is_seen(tmp_path: Path) -> None:
    root = copy_shipped_kb(tmp_path)
    before = checkout_state(root)
    (root / "kb" / ".x.tmp").write_text("x")
    (root / "kb" / ".x.tmp").unlink()
    assert state_changes(before, checkout_state(root)) == ["kb"]
