"""A write of several files that fails after some of them were replaced puts every one back: each
file replaced before the failure, not only the last, and a file and directory it created are gone."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dipkb.errors import WriteError
from dipkb.store.layout import KBLayout
from dipkb.store.writing import LOCK_NAME, FileWrite, write_files

PREFIX = "@prefix ex: <https://example.org/> .\n"


@pytest.fixture
def layout(tmp_path: Path) -> KBLayout:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "a.ttl").write_text(PREFIX + "ex:a ex:p 1 .\n", encoding="utf-8")
    (tmp_path / "kb" / "b.ttl").write_text(PREFIX + "ex:b ex:p 2 .\n", encoding="utf-8")
    return KBLayout.locate(tmp_path)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != LOCK_NAME}


def test_a_failure_at_the_third_replacement_puts_back_the_two_before_and_removes_what_it_created(layout, monkeypatch):
    kb = layout.kb_dir
    before = snapshot(kb)
    real_replace, calls = os.replace, []

    def failing_replace(source, target):
        calls.append(target)
        if len(calls) == 3:  # new/c.ttl and a.ttl are in place when b.ttl fails
            raise OSError("disk full")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(WriteError, match="disk full"):
        write_files(layout, [FileWrite(kb / "new" / "c.ttl", PREFIX + "ex:c ex:p 5 ."),
                             FileWrite(kb / "a.ttl", PREFIX + "ex:a ex:p 3 ."),
                             FileWrite(kb / "b.ttl", PREFIX + "ex:b ex:p 4 .")])
    monkeypatch.setattr(os, "replace", real_replace)
    assert [Path(target).name for target in calls[:3]] == ["c.ttl", "a.ttl", "b.ttl"]
    assert snapshot(kb) == before  # a.ttl as it was, c.ttl gone, no temporary file left
    assert not (kb / "new").exists()


def test_two_writes_to_one_file_in_one_call_are_both_applied_in_order(layout):
    # The second replaced the first, whose temporary file stayed in kb/.
    a, new = layout.kb_dir / "a.ttl", layout.kb_dir / "new.ttl"
    write_files(layout, [FileWrite(a, "ex:a ex:p 3 .\n"), FileWrite(new, PREFIX + "ex:n ex:p 4 .\n"),
                         FileWrite(a, "ex:a ex:p 5 .\n"), FileWrite(new, "ex:n ex:p 6 .\n")])
    assert a.read_text(encoding="utf-8") == PREFIX + "ex:a ex:p 1 .\n\nex:a ex:p 3 .\n\nex:a ex:p 5 .\n"
    assert new.read_text(encoding="utf-8") == PREFIX + "ex:n ex:p 4 .\n\nex:n ex:p 6 .\n"
    write_files(layout, [FileWrite(a, PREFIX + "ex:z ex:p 7 .\n"), FileWrite(a, PREFIX + "ex:y ex:p 8 .\n", append=False)])
    assert a.read_text(encoding="utf-8") == PREFIX + "ex:y ex:p 8 .\n"
    assert sorted(p.name for p in layout.kb_dir.iterdir()) == [".dipkb", "a.ttl", "b.ttl", "new.ttl"]  # no temporary
