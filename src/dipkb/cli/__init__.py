"""The dipkb command line: parses arguments, calls the library, renders. Nothing else lives here."""
from __future__ import annotations

import gc

from dipkb.cli.base import cli

# A long output makes and drops millions of small objects while it holds a large selection, and
# CPython's default first threshold (700) ran a full collection over all of it dozens of times: the
# busiest actor's whole timeline at a million events took 26-28 s with it, 18-19 s with this.
GC_THRESHOLDS = (100_000, 10, 10)


def main() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    cli(prog_name="dipkb")
