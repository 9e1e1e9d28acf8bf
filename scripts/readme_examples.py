"""Keep README.md's shown output real: `python scripts/readme_examples.py` reruns every
`$ dipkb ...` line of its ```console blocks and writes back what the command printed.
tests/test_readme.py fails whenever the README and the real output differ."""
from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
_BLOCK = re.compile(r"(```console\n)(.*?)(```)", re.S)


@dataclass(frozen=True)
class Example:
    command: str
    output: str
    exit_code: int


def parse_block(block: str) -> list[tuple[str, str]]:
    """Split a console block into (prompt line, output) pairs."""
    pairs = []
    for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
        line, _, output = chunk.partition("\n")
        pairs.append((line, output))
    return pairs


def split_exit(line: str) -> tuple[str, int]:
    command, marker, status = line.partition("  # exit ")
    return command.strip(), int(status) if marker else 0


def examples(text: str) -> list[Example]:
    found = []
    for _, block, _ in _BLOCK.findall(text):
        for line, output in parse_block(block):
            command, code = split_exit(line)
            if command.startswith("dipkb "):
                found.append(Example(command, output, code))
    return found


def run(command: str) -> tuple[str, int]:
    from click.testing import CliRunner

    from dipkb.cli import cli

    result = CliRunner().invoke(cli, shlex.split(command)[1:], catch_exceptions=False)
    return result.output, result.exit_code


def refresh(text: str) -> str:
    def rewrite(match: re.Match) -> str:
        parts = []
        for line, output in parse_block(match.group(2)):
            command, _ = split_exit(line)
            if command.startswith("dipkb "):
                output, code = run(command)
                line = command + (f"  # exit {code}" if code else "")
            parts.append(f"$ {line}\n{output}")
        return match.group(1) + "".join(parts) + match.group(3)

    return _BLOCK.sub(rewrite, text)


if __name__ == "__main__":
    os.chdir(REPO)
    os.environ.pop("DIPKB_KB", None)
    README.write_text(refresh(README.read_text(encoding="utf-8")), encoding="utf-8")
    sys.exit(0)
