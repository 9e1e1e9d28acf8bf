"""A file replaced atomically whose final rename fails (here: the target is a directory) is left as
it was, and the temporary written beside it is deleted."""
from __future__ import annotations

import os

import pytest

from dipkb.util.durable import write_atomically


def test_a_rename_that_fails_leaves_the_target_and_no_temporary_beside_it(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "inside.txt").write_text("kept")
    with pytest.raises(OSError):
        write_atomically(target, b"new")
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert (target / "inside.txt").read_text() == "kept"
