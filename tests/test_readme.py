"""The README stays true: its commands print exactly what it shows, and CI runs its test command."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import readme_examples  # noqa: E402

README = readme_examples.README.read_text(encoding="utf-8")
EXAMPLES = readme_examples.examples(README)


def test_readme_shows_every_command():
    from dipkb.cli import cli

    ran = EXAMPLES + [example for block in readme_examples.sessions(README) for example in block]
    shown = {example.command.split()[1] for example in ran if example.command.startswith("dipkb ")}
    assert set(cli.commands) <= shown


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.command for e in EXAMPLES])
def test_readme_output_is_what_the_command_prints(example):
    # conftest runs every test in a copy of the shipped KB, so the index these commands build stays there.
    output, code = readme_examples.run(example.command)
    assert (output, code) == (example.output, example.exit_code), \
        "README is stale: run `python scripts/readme_examples.py`"


def test_ci_runs_the_readme_test_command():
    match = re.search(r"Run the tests:\n+```sh\n(.+)\n", README)
    assert match, "README must show the test command under 'Run the tests:'"
    assert match.group(1) in (REPO / ".ci" / "run").read_text().splitlines()


@pytest.mark.parametrize("block", readme_examples.sessions(README),
                         ids=[block[0].command for block in readme_examples.sessions(README)])
def test_readme_sessions_print_what_they_show(block):
    """Blocks that start a server and query it with curl run as a whole, in order."""
    with readme_examples.session() as run:
        shown = [(run(example.command), (example.output, example.exit_code)) for example in block]
    for (got, expected), example in zip(shown, block):
        assert got == expected, f"README is stale at `{example.command}`: run `python scripts/readme_examples.py`"


def test_a_readme_line_writes_to_tmp_in_a_scratch_directory():
    """A store an earlier run left in /tmp would be loaded into again, and answer with what it kept."""
    shown = Path("/tmp/dipkb-readme-check.ttl")
    output, code = readme_examples.run(f"dipkb export -o {shown}")
    assert code == 0 and output.endswith(f"to {shown} (turtle).\n") and not shown.exists()
    with readme_examples.session() as run:
        assert run(f"dipkb export -o {shown}")[1] == 0 and run(f"wc -l < {shown}")[0].strip().isdigit()
    assert not shown.exists()
