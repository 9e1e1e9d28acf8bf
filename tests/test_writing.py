"""Writing KB files: atomic, all or nothing across files, one writer at a time, concurrent writers all land."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, Store

from dipkb.errors import KBLockedError, KBSyntaxError, WriteError
from dipkb.store.layout import KBLayout
from dipkb.store.writing import LOCK_NAME, FileWrite, missing_prefixes, write_files, write_lock

PREFIX = "@prefix ex: <https://example.org/> .\n"


@pytest.fixture
def layout(tmp_path: Path) -> KBLayout:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "a.ttl").write_text(PREFIX + "ex:a ex:p 1 .\n", encoding="utf-8")
    (tmp_path / "kb" / "b.ttl").write_text(PREFIX + "ex:b ex:p 2 .\n", encoding="utf-8")
    return KBLayout.locate(tmp_path)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (the lock file aside) with its bytes."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != LOCK_NAME}


def triples(path: Path) -> int:
    store = Store()
    store.load(path=str(path), format=RdfFormat.TURTLE)
    return len(store)


def test_append_and_create(layout):
    a, new = layout.kb_dir / "a.ttl", layout.kb_dir / "imports" / "new.ttl"
    written = write_files(layout, [FileWrite(a, PREFIX + "ex:a ex:p 3 ."), FileWrite(new, PREFIX + "ex:n ex:p 4 .")])
    assert written == [a.resolve(), new.resolve()]
    assert a.read_text() == PREFIX + "ex:a ex:p 1 .\n\n" + PREFIX + "ex:a ex:p 3 ."
    assert triples(a) == 2 and triples(new) == 1


def test_replace_instead_of_append(layout):
    a = layout.kb_dir / "a.ttl"
    write_files(layout, [FileWrite(a, PREFIX + "ex:z ex:p 9 .\n", append=False)])
    assert a.read_text() == PREFIX + "ex:z ex:p 9 .\n"


def test_a_write_that_does_not_parse_changes_nothing(layout):
    before = snapshot(layout.kb_dir)
    with pytest.raises(KBSyntaxError) as caught:
        write_files(layout, [FileWrite(layout.kb_dir / "a.ttl", PREFIX + "ex:a ex:p 3 ."),
                             FileWrite(layout.kb_dir / "b.ttl", "ex:b ex:p ."),
                             FileWrite(layout.kb_dir / "new" / "c.ttl", PREFIX + "ex:c ex:p 5 .")])
    assert "b.ttl" in str(caught.value)
    assert snapshot(layout.kb_dir) == before
    assert not (layout.kb_dir / "new").exists()  # the directory made for c.ttl is gone again


def test_a_failure_between_replacements_puts_every_file_back(layout, monkeypatch):
    before = snapshot(layout.kb_dir)
    real_replace, calls = os.replace, []

    def failing_replace(source, target):
        calls.append(target)
        if len(calls) == 2:  # the first file is already replaced when the second fails
            raise OSError("disk full")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(WriteError, match="disk full"):  # one line for the user, after the rollback
        write_files(layout, [FileWrite(layout.kb_dir / "a.ttl", PREFIX + "ex:a ex:p 3 ."),
                             FileWrite(layout.kb_dir / "b.ttl", PREFIX + "ex:b ex:p 4 .")])
    monkeypatch.setattr(os, "replace", real_replace)
    assert snapshot(layout.kb_dir) == before  # a.ttl restored, no temporary files left


def test_an_interrupt_before_replacing_leaves_no_trace(layout, monkeypatch):
    before = snapshot(layout.kb_dir)

    def interrupted(path):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_files(layout, [FileWrite(layout.kb_dir / "a.ttl", PREFIX + "ex:a ex:p 3 .")], check=interrupted)
    assert snapshot(layout.kb_dir) == before


def test_the_lock_times_out_with_a_clear_error(layout):
    with write_lock(layout):
        with pytest.raises(KBLockedError, match="writing to .* try again"):
            with write_lock(layout, timeout=0.2):
                pass
    with write_lock(layout, timeout=0.2):  # released again
        pass


def test_missing_prefixes_takes_the_last_binding():
    existing = "@prefix ex: <https://old.example/> .\nPREFIX ex: <https://example.org/>\n@prefix dip: <x:> .\n"
    assert missing_prefixes(existing, {"ex": "https://example.org/", "dip": "https://w3id.org/dipkb/ontology#",
                                       "geo": "http://geo/"}) == {"dip": "https://w3id.org/dipkb/ontology#",
                                                                  "geo": "http://geo/"}


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from dipkb.store.layout import KBLayout
    from dipkb.store.writing import FileWrite, write_files
    layout = KBLayout.locate(sys.argv[1])
    name = sys.argv[2]
    for i in range(40):
        block = f"@prefix ex: <https://example.org/> .\\nex:{name}{i} ex:p {i} .\\n"
        write_files(layout, [FileWrite(layout.kb_dir / "shared.ttl", block)])
""")


def test_two_concurrent_writers_both_land(layout):
    script = layout.root / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    writers = [subprocess.Popen([sys.executable, str(script), str(layout.root), name]) for name in ("left", "right")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    shared = layout.kb_dir / "shared.ttl"
    assert triples(shared) == 80  # no lost update: each writer read the file under the lock
    text = shared.read_text()
    assert all(f"ex:{name}{i} " in text for name in ("left", "right") for i in range(40))


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
