"""The dipkb command line: parses arguments, calls the library, renders. Nothing else lives here."""
from __future__ import annotations

from dipkb.cli import reading, remote, serving, writing
from dipkb.cli.base import cli

for command in (reading.validate, reading.query, reading.list_queries, reading.timeline_command, reading.show,
                reading.export, reading.stats, writing.index_command, writing.init_command, writing.add,
                writing.import_command, serving.serve, remote.push):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="dipkb")
