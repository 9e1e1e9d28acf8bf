"""Writes that fail: a read-only file system or a full disk ends in one line and exit 2, nothing
changed; files written with -o get the permissions the umask asks for.

We run as root, so chmod does not stop a write. The read-only and full file systems are real ones,
made in a mount namespace of the test's own (``unshare --mount --map-root-user``, no sudo): a
directory bind-mounted read-only gives EROFS, a small tmpfs gives ENOSPC.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli

REPO = Path(__file__).resolve().parent.parent
CSV = REPO / "tests" / "fixtures" / "invented-events.csv"  # events the KB does not have: the import writes
GDELT = REPO / "tests" / "fixtures" / "gdelt2-20191024143000.export.tsv"
ADD = ["add", "Lavrov meets Jaishankar", "--type", "Meeting", "--participant", "host=Russia",
       "--participant", "visitor=India", "--date", "2021-07-09", "--source", "source:founding-article"]


def in_namespace(setup: list[str], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``dipkb args`` in a mount namespace of its own, after the ``setup`` shell commands (mounts);
    what the command leaves is seen by the shell commands that follow it (``; ls ...``)."""
    script = " && ".join(setup) + ' && "$@"'
    return subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", script, "sh",
                           sys.executable, "-m", "dipkb", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def read_only(path: Path) -> list[str]:
    return [f"mount --bind '{path}' '{path}'", f"mount -o remount,ro,bind '{path}'"]


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_a_read_only_kb_refuses_add_and_import_in_one_line_and_still_answers(kb_copy, snapshot, tmp_path):
    kb, cache = kb_copy / "kb", tmp_path / "cache"
    before = snapshot(kb)
    env = {"XDG_CACHE_HOME": str(cache)}  # the index goes there when kb/ is read-only

    answered = in_namespace(read_only(kb), "--kb", str(kb_copy), "timeline", "--actor", "Russia", env=env)
    assert answered.returncode == 0 and "Kabulov" in answered.stdout, answered.stderr
    assert (cache / "dipkb").is_dir()
    for command in (["import", str(CSV)], ADD):
        line = one_error_line(in_namespace(read_only(kb), "--kb", str(kb_copy), *command, env=env))
        assert line.startswith(f"Error: cannot write to {kb}: Read-only file system ("), line
        assert "--kb" in line  # says how to get a KB one can write to
    assert snapshot(kb) == before
    assert not (kb / ".dipkb").exists()  # nothing was made in kb/, not even a lock


def test_without_any_writable_place_for_the_index_one_line(kb_copy, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    setup = read_only(kb_copy / "kb") + read_only(cache)
    line = one_error_line(in_namespace(setup, "--kb", str(kb_copy), "index", env={"XDG_CACHE_HOME": str(cache)}))
    assert ": Read-only file system (" in line and "XDG_CACHE_HOME" in line, line


def test_output_to_a_read_only_or_full_file_system_one_line_and_no_temporary_file(kb_copy, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    line = one_error_line(in_namespace(read_only(out), "--kb", str(kb_copy), "export", "-o", str(out / "kb.ttl")))
    assert line.startswith(f"Error: cannot write to {out / 'kb.ttl'}: Read-only file system"), line
    # The export of the example KB is ~27 kB: a 16 kB tmpfs fills up while it is written.
    full = in_namespace([f"mount -t tmpfs -o size=16k none '{out}'"], "--kb", str(kb_copy), "export",
                        "-o", str(out / "kb.ttl"))
    line = one_error_line(full)
    assert line == f"Error: cannot write to {out / 'kb.ttl'}: No space left on device", line
    assert list(out.iterdir()) == []


def test_a_full_disk_under_an_import_leaves_the_kb_as_it_was(kb_copy, snapshot):
    imports = kb_copy / "kb" / "imports"
    imports.mkdir()
    before = snapshot(kb_copy)
    # kb/imports/ on a 64 kB tmpfs: the GDELT import writes 1.6 MB there. `ls -A` shows what is left.
    result = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c",
         f"mount -t tmpfs -o size=64k none '{imports}' && \"$@\"; echo \"exit $?\"; ls -A '{imports}'", "sh",
         sys.executable, "-m", "dipkb", "--kb", str(kb_copy), "import", str(GDELT)],
        capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines()[-1:] == ["exit 2"], result.stdout  # and nothing listed after it
    assert result.stderr.splitlines() == [f"Error: cannot write to {imports}/"
                                          "gdelt2-20191024143000-export.ttl: No space left on device"]
    assert snapshot(kb_copy) == before


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_output_files_honour_the_umask(tmp_path, umask, mode):
    target = tmp_path / "queries.csv"
    previous = os.umask(umask)
    try:
        result = CliRunner().invoke(cli, ["queries", "-o", str(target)], catch_exceptions=False)
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert target.read_text().startswith("name,title,parameters\n")


def test_replacing_an_output_file_keeps_its_mode(tmp_path):
    target = tmp_path / "queries.json"
    target.write_text("old")
    target.chmod(0o640)
    previous = os.umask(0o077)
    try:
        result = CliRunner().invoke(cli, ["queries", "-o", str(target)], catch_exceptions=False)
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_text().startswith("[")


@pytest.mark.parametrize("command", [["export"], ["query", "CONSTRUCT WHERE { ?s ?p ?o }"]])
@pytest.mark.parametrize("where", ["kb/all.ttl", "kb/deeper/all.nt", "ontology/more.ttl"])
def test_rdf_written_where_the_kb_reads_its_data_is_refused(kb_copy, snapshot, command, where):
    """An export into kb/ came back at the next command as a second copy of every statement and
    blank node, past the lock and the shapes."""
    shutil.copytree(REPO / "ontology", kb_copy / "ontology")
    before = snapshot(kb_copy)
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), *command, "-o", str(kb_copy / where)])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: -o {kb_copy / where}: the KB reads this file as part of its data")
    assert snapshot(kb_copy) == before


@pytest.mark.parametrize("into", ["kb/.drafts.ttl", "kb/.drafts/events.ttl", "kb/events.TTL", "elsewhere.ttl"])
def test_add_and_import_refuse_a_file_the_kb_does_not_read(kb_copy, snapshot, into):
    """`--into kb/.drafts.ttl` said "Added" of an event the KB skips with every hidden file: lost."""
    before = snapshot(kb_copy)
    added = CliRunner().invoke(cli, ["--kb", str(kb_copy), *ADD, "--into", str(kb_copy / into)])
    assert (added.exit_code, added.output) == (
        2, f"Error: bad target: {kb_copy / into} is not a .ttl file the KB reads: give one inside "
           f"{kb_copy / 'kb'}, not hidden\n")
    imported = CliRunner().invoke(cli, ["--kb", str(kb_copy), "import", str(CSV), "--into", str(kb_copy / into)])
    assert imported.exit_code == 2 and imported.output.startswith(f"Error: Cannot import into {kb_copy / into}: ")
    assert snapshot(kb_copy) == before and not (kb_copy / "kb" / ".drafts").exists()


@pytest.mark.parametrize("where", ["kb/.draft.ttl", "kb/all.jsonld", "all.ttl"])
def test_other_outputs_beside_the_kb_are_written(kb_copy, where):
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), "export", "-o", str(kb_copy / where)])
    assert result.exit_code == 0, result.output
    assert (kb_copy / where).stat().st_size > 0


def test_output_into_a_missing_directory_is_one_line_before_any_work(kb_copy, snapshot, tmp_path):
    target = tmp_path / "missing" / "out.csv"
    result = CliRunner().invoke(cli, ["queries", "-o", str(target)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output == f"Error: -o {target}: there is no directory {target.parent}.\n"
    # Not after the import it reports on, which was written and then not summed up.
    before = snapshot(kb_copy)
    imported = CliRunner().invoke(cli, ["--kb", str(kb_copy), "import", str(CSV), "--report", str(target)])
    assert imported.output == f"Error: --report {target}: there is no directory {target.parent}.\n"
    assert snapshot(kb_copy) == before


@pytest.mark.parametrize("option", ["--report", "--rejected"])
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_an_import_report_is_never_written_over_a_kb_file(kb_copy, snapshot, option, dry_run):
    """`import --dry-run --report kb/events-2021.ttl` wrote JSON over the KB's events."""
    before = snapshot(kb_copy)
    target = kb_copy / "kb" / "events-2021.ttl"
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), "import", str(CSV), *dry_run, option, str(target)])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {option} {target}: the KB reads this file as part of its data")
    assert snapshot(kb_copy) == before


def test_output_through_a_link_writes_the_file_it_names_and_keeps_the_link(tmp_path):
    (tmp_path / "shared").mkdir()
    target = tmp_path / "shared" / "queries.json"
    target.write_text("old")
    link = tmp_path / "queries.json"
    link.symlink_to(target)
    result = CliRunner().invoke(cli, ["queries", "-o", str(link)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and target.read_text().startswith("[")
    assert sorted(p.name for p in target.parent.iterdir()) == ["queries.json"]  # no temporary left


def test_output_to_a_pipe_or_a_device_writes_into_it_and_leaves_it_one(tmp_path):
    """`-o /dev/stdout` or `-o /dev/null`: replacing such a path by a rename put a regular file in
    /dev (we run as root). Here through links in the test's own directory, so that a regression
    replaces the link, not the machine's /dev/null."""
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        written = CliRunner().invoke(cli, ["queries", "-f", "csv", "-o", str(fifo)], catch_exceptions=False)
        read, _ = reader.communicate(timeout=60)
    finally:  # a regression leaves the reader waiting for a writer that never opens the pipe
        reader.kill()
        reader.wait()
    assert written.exit_code == 0, written.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and read.decode().startswith("name,")
    null = tmp_path / "null.csv"
    null.symlink_to("/dev/null")
    result = CliRunner().invoke(cli, ["queries", "-o", str(null)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert null.is_symlink() and stat.S_ISCHR(null.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null.csv", "rows.csv"]


@pytest.mark.parametrize("command", [["timeline"], ["export"], ["validate"], ["queries"]])
def test_a_full_standard_output_is_one_line(command):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "dipkb", *command], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr in ("Error: cannot write to standard output: No space left on device\n",
                           "Error: cannot write: No space left on device.\n")


def test_a_path_is_named_as_typed_inside_the_working_directory_and_whole_outside_it(tmp_path, monkeypatch):
    inside, outside = tmp_path / "here", tmp_path / "elsewhere"
    inside.mkdir()
    monkeypatch.chdir(inside)
    for target, named in [(inside / "missing" / "out.csv", "missing/out.csv"),
                          (Path("missing/out.csv"), "missing/out.csv"),
                          (outside / "missing" / "out.csv", str(outside / "missing" / "out.csv")),
                          (Path("../elsewhere/missing/out.csv"), str(outside / "missing" / "out.csv"))]:
        result = CliRunner().invoke(cli, ["queries", "-o", str(target)], catch_exceptions=False)
        assert result.output == f"Error: -o {named}: there is no directory {named.rsplit('/', 1)[0]}.\n", target


def test_dash_is_standard_output_and_a_links_directory_is_the_one_it_leads_to(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["queries", "-o", "-"]).output == CliRunner().invoke(cli, ["queries"]).output
    assert not (tmp_path / "-").exists()  # it wrote a file named "-"
    (tmp_path / "out.csv").symlink_to(tmp_path / "gone" / "out.csv")
    result = CliRunner().invoke(cli, ["queries", "-o", "out.csv"])
    assert result.output == "Error: -o out.csv: there is no directory gone.\n"  # it said "."
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    result = CliRunner().invoke(cli, ["queries", "-o", "loop"])  # a RuntimeError traceback
    assert (result.exit_code, result.output) == (2, "Error: -o loop: a symbolic link that leads back to itself.\n")


# A long output sorted on a small tmpfs as $TMPDIR: the export's lines, a long timeline's events, what
# refers to a source.
_SMALL_SORTS = ("import dipkb.views.sorting as s, dipkb.views.long_selection as l, dipkb.views.referrers as r; "
                "s.MEMORY_BOUND = 1024; l.HELD_AT_MOST, l._SORT_BOUND = 5, 1024; r._SORT_BOUND = 64; "
                "from dipkb.cli import main; main()")


@pytest.mark.parametrize("command", [["export", "-f", "ntriples"], ["export", "-f", "rdfxml"],
                                     ["timeline", "-f", "csv"], ["show", "source:founding-article", "-f", "json"]])
def test_a_full_temporary_directory_is_named_in_one_line_and_nothing_is_left(kb_copy, tmp_path, command):
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    out.mkdir()
    result = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c",
         f"mount -t tmpfs -o size=8k none '{scratch}' && \"$@\"; echo \"exit $?\"; ls -A '{scratch}' '{out}'", "sh",
         sys.executable, "-c", _SMALL_SORTS, "--kb", str(kb_copy), *command, "-o", str(out / "result")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(scratch)})
    assert result.stdout.splitlines()[0] == "exit 2", result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"Error: cannot write to {scratch}: No space left on device (dipkb sorts long outputs in "
        "the temporary directory: point TMPDIR to one with room)"]
    listed = [line for line in result.stdout.splitlines()[1:] if line and not line.endswith(":")]
    assert listed == []  # no output file, and nothing left in the temporary directory


@pytest.mark.parametrize("option", ["--report", "--rejected"])
def test_import_outputs_go_into_a_pipe_or_through_a_link(kb_copy, tmp_path, option):
    """`--rejected /dev/stdout` put a regular file in /dev, and took the rows with it: the rejected
    rows were written by a rename, as -o's were before. Here through the test's own pipe and link."""
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    done = CliRunner().invoke(cli, ["--kb", str(kb_copy), "import", str(GDELT), "--dry-run", option, str(fifo)])
    read, _ = reader.communicate(timeout=60)
    assert done.exit_code == 0, done.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert read.startswith(b"line\treason\tdetail\trow\n" if option == "--rejected" else b"{")
    target, link = tmp_path / "kept" / "out.txt", tmp_path / "link.txt"
    target.parent.mkdir()
    target.write_text("old")
    link.symlink_to(target)
    done = CliRunner().invoke(cli, ["--kb", str(kb_copy), "import", str(GDELT), "--dry-run", option, str(link)])
    assert done.exit_code == 0, done.output
    assert link.is_symlink() and target.read_bytes()[:1] in (b"l", b"{")


def test_a_report_that_cannot_be_written_after_the_import_says_the_import_is_done(kb_copy, snapshot):
    # It said only "cannot write", exit 2, so the import looked failed; the KB had it all the same.
    before = snapshot(kb_copy)
    done = CliRunner().invoke(cli, ["--kb", str(kb_copy), "import", str(GDELT), "--report", "/dev/full"])
    assert done.exit_code == 2
    assert "imported" in done.stdout and snapshot(kb_copy) != before
    assert done.stderr == ("Error: cannot write to /dev/full: No space left on device. "
                           "The import itself is done, as said above.\n")


def test_an_index_that_fills_the_disk_is_one_line(kb_copy, tmp_path):
    """RocksDB's OSError has no errno, only "IO error: No space left on device: While appending to file: ...":
    it was a traceback, on any command that refreshed the index."""
    full = tmp_path / "full"
    full.mkdir()
    setup = [f"mount -t tmpfs -o size=512k none '{full}'", f"cp -r '{kb_copy}/kb' '{full}/kb'", f"rm -rf '{full}/kb/.dipkb'"]
    line = one_error_line(in_namespace(setup, "--kb", str(full), "stats"))
    assert line.startswith("Error: cannot write the index: IO error: No space left on device"), line


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["stats", "--help"]])
def test_clicks_own_output_to_a_full_stdout_is_one_line(args):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "dipkb", *args], stdout=full, stderr=subprocess.PIPE, text=True)
    assert (done.returncode, done.stderr) == (2, "Error: cannot write: No space left on device.\n")


def test_a_closed_stdout_is_one_line(kb_copy):
    done = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "dipkb", "--kb", str(kb_copy), "stats"],
                          capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (2, "Error: standard output is closed; send it to a file, or to /dev/null.\n")
