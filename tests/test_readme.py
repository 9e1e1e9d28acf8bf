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

    shown = {example.command.split()[1] for example in EXAMPLES}
    assert set(cli.commands) <= shown


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.command for e in EXAMPLES])
def test_readme_output_is_what_the_command_prints(example, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("DIPKB_KB", raising=False)
    output, code = readme_examples.run(example.command)
    assert (output, code) == (example.output, example.exit_code), \
        "README is stale: run `python scripts/readme_examples.py`"


def test_ci_runs_the_readme_test_command():
    match = re.search(r"Run the tests:\n+```sh\n(.+)\n", README)
    assert match, "README must show the test command under 'Run the tests:'"
    assert match.group(1) in (REPO / ".ci" / "run").read_text().splitlines()
