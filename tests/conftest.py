"""Fixtures shared by the test modules: a scratch copy of the shipped KB and a way to see it unchanged."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from dipkb.layout import KBLayout

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def kb_copy(tmp_path: Path) -> Path:
    """A directory holding a copy of the shipped kb/ (no index, no imports), for tests that write."""
    shutil.copytree(REPO / "kb", tmp_path / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    return tmp_path


@pytest.fixture()
def layout(kb_copy: Path) -> KBLayout:
    return KBLayout.locate(kb_copy)


def kb_snapshot(root: Path) -> dict[str, bytes]:
    """Every data file under ``root`` with its bytes (the index and lock files are not data), to
    assert that a failed write changed nothing."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)}


@pytest.fixture()
def snapshot() -> Callable[[Path], dict[str, bytes]]:
    return kb_snapshot
