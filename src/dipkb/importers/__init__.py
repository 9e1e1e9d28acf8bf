"""`dipkb import`: coded event datasets (GDELT, ICEWS, PLOVER) and simple tables (CSV, YAML) to KB events.

Use :func:`run_import` to read a file into Turtle and a report that accounts for every row, then
:func:`commit_import` to validate it and add it to the KB atomically; :func:`write_rejected` writes the
rejected rows with their reasons.
"""
from dipkb.importers.pipeline import (ImportFormat, ImportOptions, ImportResult, commit_import, default_target,
                                      guess_format, run_import, validate_import, write_rejected)
from dipkb.importers.records import ImportReport, RejectedRow

__all__ = ["ImportFormat", "ImportOptions", "ImportReport", "ImportResult", "RejectedRow", "commit_import",
           "default_target", "guess_format", "run_import", "validate_import", "write_rejected"]
