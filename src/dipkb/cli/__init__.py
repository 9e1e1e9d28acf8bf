"""The dipkb command line: parses arguments, calls the library, renders. Nothing else lives here."""
from __future__ import annotations

from dipkb.cli.base import cli


def main() -> None:
    cli(prog_name="dipkb")
