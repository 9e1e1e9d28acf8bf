"""What writers of the index killed midway leave in kb/.dipkb, and which of it the next command that
only reads deletes: RocksDB's staging directory for a checkpoint is one of a generation's names."""
from __future__ import annotations

from pathlib import Path

from dipkb import KnowledgeBase


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
