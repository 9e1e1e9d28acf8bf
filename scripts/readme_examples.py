"""Keep README.md's shown output real: `python scripts/readme_examples.py` reruns every
`$ dipkb ...` line of its ```console blocks and writes back what the command printed.
tests/test_readme.py fails whenever the README and the real output differ.

A block that also holds other commands (`oxigraph`, `curl`) is a session: its lines run in order in the
working directory (the repository root here; the tests run them in a copy of the KB), the other commands in a shell with the venv's programs first on PATH (their
standard output is shown; a line ending in `&` starts a server, stopped when the block ends).

The files a line writes to /tmp go to a scratch directory of its block instead, removed when the block
ends, and its output names them as shown: a store left in /tmp by an earlier run would be loaded into
again, and answer with what it kept."""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
    """The `dipkb` lines of the blocks that are not sessions: each runs on its own."""
    return [e for block in _blocks(text) if not is_session(block) for e in block]


def sessions(text: str) -> list[list[Example]]:
    """The blocks that run other programs too: each runs as a whole, in order."""
    return [block for block in _blocks(text) if is_session(block)]


def is_session(block: list[Example]) -> bool:
    return any(not e.command.startswith("dipkb ") for e in block)


def _blocks(text: str) -> list[list[Example]]:
    blocks = []
    for _, block, _ in _BLOCK.findall(text):
        pairs = [(split_exit(line), output) for line, output in parse_block(block)]
        blocks.append([Example(command, output, code) for (command, code), output in pairs])
    return blocks


_SHOWN_TMP = "/tmp/"


def run(command: str, scratch: str | None = None) -> tuple[str, int]:
    """What a `dipkb` line prints and its exit code; its /tmp files in ``scratch`` (None: its own)."""
    from click.testing import CliRunner

    from dipkb.cli import cli

    if scratch is None:
        with tempfile.TemporaryDirectory(prefix="dipkb-readme-") as own:
            return run(command, own)
    result = CliRunner().invoke(cli, shlex.split(_in(scratch, command))[1:], catch_exceptions=False)
    return _shown(scratch, result.output), result.exit_code


def _in(scratch: str, command: str) -> str:
    return command.replace(_SHOWN_TMP, f"{scratch}/")


def _shown(scratch: str, output: str) -> str:
    return output.replace(f"{scratch}/", _SHOWN_TMP)


@contextmanager
def session() -> Iterator:
    """A runner for one block's commands; the servers it started are stopped when the block ends, and
    what they made with `mktemp` (a server's store) or in /tmp is removed: their TMPDIR is the block's own."""
    servers: list[subprocess.Popen] = []
    scratch = tempfile.TemporaryDirectory(prefix="dipkb-readme-")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "TMPDIR": scratch.name}

    def run_any(command: str) -> tuple[str, int]:
        if command.startswith("dipkb ") and not command.endswith("&"):
            return run(command, scratch.name)
        if command.endswith("&"):
            servers.append(subprocess.Popen(_in(scratch.name, command[:-1]), shell=True, env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            start_new_session=True))
            return "", 0
        done = subprocess.run(_in(scratch.name, command), shell=True, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=120)
        return _shown(scratch.name, done.stdout), done.returncode

    try:
        yield run_any
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        scratch.cleanup()


def refresh(text: str) -> str:
    def rewrite(match: re.Match) -> str:
        parts = []
        with session() as run_any:
            for line, output in parse_block(match.group(2)):
                command, _ = split_exit(line)
                output, code = run_any(command)
                line = command + (f"  # exit {code}" if code else "")
                parts.append(f"$ {line}\n{output}")
        return match.group(1) + "".join(parts) + match.group(3)

    return _BLOCK.sub(rewrite, text)


if __name__ == "__main__":
    os.chdir(REPO)
    os.environ.pop("DIPKB_KB", None)
    README.write_text(refresh(README.read_text(encoding="utf-8")), encoding="utf-8")
    sys.exit(0)
