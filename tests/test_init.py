"""`dipkb init` makes a KB the user owns, and commands find it as git finds a repository."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli
from dipkb.store.init import FIRST_EVENT, GITIGNORE_LINES
from dipkb.store.layout import MARKER_NAME, KBLayout, bundled_root

REPO = Path(__file__).resolve().parent.parent
QUERIES = sorted(p.name for p in (REPO / "queries").glob("*.rq"))


@pytest.fixture()
def here(tmp_path, monkeypatch) -> Path:
    """A working directory outside the checkout, with no KB named by the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIPKB_KB", raising=False)
    return tmp_path


def invoke(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def tree(directory: Path) -> dict[str, tuple[int, int, bytes]]:
    return {str(p.relative_to(directory)): (p.stat().st_mode, p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else b"")
            for p in sorted(directory.rglob("*"))}


def test_init_makes_an_empty_kb_that_commands_use(here):
    result = invoke("init", "mykb")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Created a dipkb knowledge base in mykb:\n"
        "  kb/          empty: your Turtle files go here\n"
        f"  queries/     {len(QUERIES)} saved queries (dipkb queries lists them)\n"
        "  .gitignore   keeps the index and lock files out of git\n"
        "  README.md    what is here and what to run next\n"
        "  .dipkb-kb    marks the KB: dipkb commands run in mykb or below use it\n"
        "The ontology and shapes are the installed ones. Next:\n"
        "  cd mykb\n"
        f"  {FIRST_EVENT}\n"
        "  dipkb timeline\n"
        "  dipkb validate\n")
    mykb = here / "mykb"
    assert list((mykb / "kb").iterdir()) == []
    assert sorted(p.name for p in (mykb / "queries").glob("*.rq")) == QUERIES
    assert all((mykb / "queries" / n).read_bytes() == (REPO / "queries" / n).read_bytes() for n in QUERIES)
    assert (mykb / ".gitignore").read_text().splitlines()[1:] == list(GITIGNORE_LINES)
    readme = (mykb / "README.md").read_text()
    assert FIRST_EVENT in readme and "dipkb timeline" in readme and "installed with dipkb" in readme

    # The first command the README gives works on the empty KB, run from inside it.
    os.chdir(mykb)
    added = invoke(*shlex.split(FIRST_EVENT)[1:])
    assert added.output == "Added event:lavrov-meets-jaishankar-in-moscow-2021-07-09 to kb/events-2021.ttl.\n"
    timeline = invoke("timeline", "-f", "csv")
    assert timeline.output.splitlines()[1].startswith("2021-07-09,Meeting,occurred,Lavrov meets Jaishankar in Moscow,")
    assert invoke("validate").exit_code == 0


def test_init_example_copies_the_bundled_kb(here, shipped_kb):
    assert invoke("init", "mykb", "--example").exit_code == 0
    shipped = {p.relative_to(REPO / "kb") for p in (REPO / "kb").rglob("*") if p.is_file()
               and not any(part.startswith(".") for part in p.relative_to(REPO / "kb").parts)}
    copied = {p.relative_to(here / "mykb" / "kb") for p in (here / "mykb" / "kb").rglob("*") if p.is_file()}
    assert copied == shipped
    assert all((here / "mykb" / "kb" / p).read_bytes() == (REPO / "kb" / p).read_bytes() for p in shipped)
    ours = invoke("--kb", "mykb", "timeline", "-f", "csv").output
    assert ours == invoke("--kb", str(shipped_kb), "timeline", "-f", "csv").output  # the session's copy of the checkout's KB
    assert "Zamir Kabulov meets the Taliban delegation in Moscow" in ours


def test_init_refuses_a_directory_that_already_holds_a_kb(here):
    assert invoke("init", "mykb").exit_code == 0
    before = tree(here)
    for args in (("init", "mykb"), ("init", "mykb", "--example")):
        result = invoke(*args)
        assert (result.exit_code, result.output) == (
            2, "Error: mykb already holds a dipkb knowledge base (.dipkb-kb is there); nothing was changed.\n")
    assert tree(here) == before
    assert invoke("init", str(REPO)).exit_code == 2  # the checkout carries the marker


def test_init_refuses_to_overwrite_and_changes_nothing(here):
    (here / "mine" / "queries").mkdir(parents=True)
    (here / "mine" / "queries" / "claims.rq").write_text("SELECT * WHERE { ?s ?p ?o }\n")
    (here / "theirs" / "kb").mkdir(parents=True)
    (here / "theirs" / "kb" / "actors.ttl").write_text("# someone's actors\n")
    (here / "theirs" / "kb" / "places.ttl").write_text("# someone's places\n")
    (here / "afile").write_text("x")
    (here / "odd").mkdir()
    (here / "odd" / "kb").write_text("not a directory")
    before = tree(here)
    cases = {("init", "mine"): "Error: `dipkb init` would overwrite mine/queries/claims.rq; nothing was changed. "
                               "Give it a new or empty directory.\n",
             ("init", "theirs", "--example"): "Error: `dipkb init` would overwrite theirs/kb/actors.ttl and 1 more; "
                                              "nothing was changed. Give it a new or empty directory.\n",
             ("init", "odd"): "Error: `dipkb init` would overwrite odd/kb; nothing was changed. "
                              "Give it a new or empty directory.\n",
             ("init", "afile"): "Error: afile is a file; give `dipkb init` a new or empty directory.\n"}
    for args, message in cases.items():
        result = invoke(*args)
        assert (result.exit_code, result.output) == (2, message)
    assert tree(here) == before


def test_init_in_an_unrelated_directory_keeps_its_files(here):
    (here / "project").mkdir()
    (here / "project" / "README.md").write_text("# My project\n")
    (here / "project" / ".gitignore").write_text("node_modules/\n.dipkb/")  # one line ours, no final newline
    result = invoke("init", "project")
    assert result.exit_code == 0
    assert "  .gitignore   your .gitignore, with the index and lock files added\n" in result.output
    assert "  README.md    yours, left as it was\n" in result.output
    assert (here / "project" / "README.md").read_text() == "# My project\n"
    lines = (here / "project" / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["node_modules/", ".dipkb/"] and lines[3:] == [".*.tmp"]
    assert KBLayout.locate("project").root == here / "project"


def test_init_refuses_to_hide_data_files_behind_an_empty_kb_and_counts_those_kb_holds(here):
    """dipkb reads a directory of data files as a KB; init made kb/ beside them, and every command then
    read the empty kb/ instead (stats: 632 triples, then 0)."""
    (here / "loose").mkdir()
    (here / "loose" / "actors.ttl").write_bytes((REPO / "kb" / "actors.ttl").read_bytes())
    (here / "loose" / "places.ttl").write_bytes((REPO / "kb" / "places.ttl").read_bytes())
    before = tree(here)
    result = invoke("init", "loose")
    assert (result.exit_code, result.output) == (
        2, "Error: loose/actors.ttl and 1 more: dipkb reads a directory of data files as a KB, and an init would "
           "hide them behind an empty kb/. Move them into loose/kb first; nothing was changed.\n")
    assert tree(here) == before
    (here / "loose" / "kb").mkdir()
    for name in ("actors.ttl", "places.ttl"):
        (here / "loose" / name).rename(here / "loose" / "kb" / name)
    result = invoke("init", "loose")
    assert result.exit_code == 0
    assert "  kb/          2 data files of yours, left as they were\n" in result.output


def test_commands_find_the_kb_at_or_above_the_working_directory(here):
    assert invoke("init", "mykb").exit_code == 0
    deeper = here / "mykb" / "kb" / "a" / "b"
    deeper.mkdir(parents=True)
    os.chdir(deeper)
    assert KBLayout.locate().root == here / "mykb"
    os.chdir(here / "mykb" / "queries")
    # Outside the working directory, a path is named whole.
    assert invoke(*shlex.split(FIRST_EVENT)[1:]).output.endswith(f" to {here / 'mykb' / 'kb' / 'events-2021.ttl'}.\n")
    assert (here / "mykb" / "kb" / "events-2021.ttl").is_file()
    os.chdir(REPO / "kb" / "texts")
    assert KBLayout.locate().root == REPO  # the checkout is found by the marker it carries


def test_a_kb_directory_without_the_marker_is_not_taken(here):
    (here / "other" / "kb").mkdir(parents=True)
    (here / "other" / "kb" / "data.ttl").write_text("<urn:a> <urn:b> <urn:c> .\n")
    (here / "marked").mkdir()
    (here / "marked" / MARKER_NAME).write_text("")  # a marker without kb/ is not a KB either
    for directory in (here / "other" / "kb", here / "marked"):
        os.chdir(directory)
        assert KBLayout.locate().root == bundled_root()


def test_kb_option_then_environment_then_upward_search(here):
    for name in ("a", "b", "c"):
        assert invoke("init", name).exit_code == 0
    os.chdir(here / "c")

    def index_of(*args: str, env: dict[str, str | None]) -> str:
        result = invoke(*args, "index", env=env)
        assert result.exit_code == 0, result.output
        return re.match(r"(?:Up to date: |Rebuilt |Refreshed )(\S+?)(?:,| in | from )", result.output).group(1)

    assert index_of("--kb", str(here / "a"), env={"DIPKB_KB": str(here / "b")}) == str(here / "a" / "kb" / ".dipkb")
    assert index_of(env={"DIPKB_KB": str(here / "b")}) == str(here / "b" / "kb" / ".dipkb")
    assert index_of(env={"DIPKB_KB": None}) == "kb/.dipkb"


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_directory_named_as_the_kb_that_holds_none_is_refused_and_left_alone(here, how):
    """Taken for a KB, a home directory would be searched to the bottom and an index written into it."""
    (here / "home" / "notes").mkdir(parents=True)
    (here / "home" / "notes" / "old.ttl").write_text("<urn:a> <urn:b> <urn:c> .\n")  # below: not read
    before = tree(here / "home")
    options, env = (["--kb", "home"], {}) if how == "option" else ([], {"DIPKB_KB": "home"})
    result = invoke(*options, "stats", env=env)
    assert result.exit_code == 2
    assert result.output == ("Error: home holds no knowledge base: it has no kb/ directory and no .ttl or .nt file. "
                             "`dipkb init home` makes one there.\n")
    assert tree(here / "home") == before
    # A directory of data files is one, its own files read, not its subdirectories' (it was read to the bottom).
    (here / "home" / "data.ttl").write_text("<urn:a> <urn:b> <urn:d> .\n")
    stats = invoke(*options, "stats", env=env)
    assert stats.exit_code == 0 and stats.output.startswith("Triples: 1\n")
    assert "data.ttl" in stats.output and "old.ttl" not in stats.output


def test_gitignore_keeps_the_index_and_lock_files_out_of_git(here, monkeypatch):
    # Only the .gitignore init writes may decide: no user or system git configuration.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    assert invoke("init", "mykb", "--example").exit_code == 0
    mykb = here / "mykb"

    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=mykb,
                              check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "A dipkb KB")
    os.chdir(mykb)
    assert invoke("index", "--rebuild").exit_code == 0
    added = invoke("add", "A git test event", "--type", "Meeting", "--participant", "host=actor:russian-foreign-minister",
                   "--participant", "visitor=S Jaishankar", "--date", "2021-07-10", "--source", "source:founding-article")
    assert added.exit_code == 0, added.output
    # What writers killed midway leave behind until the next one cleans up.
    (mykb / "kb" / ".events-2021.ttl.k2j4x9.tmp").write_text("partial")
    (mykb / "kb" / "imports").mkdir()
    (mykb / "kb" / "imports" / ".csv-events.ttl.a8f3.tmp").write_text("partial")
    (mykb / "kb" / ".dipkb" / "store-9.scratch").mkdir()
    (mykb / "kb" / ".dipkb" / "store-9.scratch" / "000001.sst").write_text("partial")
    assert (mykb / "kb" / ".dipkb" / "manifest.json").is_file()
    assert git("status", "--porcelain", "--untracked-files=all") == " M kb/events-2021.ttl\n"
