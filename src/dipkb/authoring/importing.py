"""The entry points of `dipkb import`: read a file into Turtle and a report, then commit it safely."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from dipkb.authoring.checking import check_text, violations
from dipkb.authoring.coded import CodedImport
from dipkb.authoring.codes import CodeBook
from dipkb.authoring.dedup import ExistingEvents
from dipkb.authoring.importers import gdelt
from dipkb.authoring.importers import icews
from dipkb.authoring.importers import plover
from dipkb.authoring.importers import tabular
from dipkb.authoring.importers.filters import RowFilter
from dipkb.authoring.importers.reading import member_name, open_input
from dipkb.authoring.reconcile import Reconciler, slug
from dipkb.errors import ImportInputError, ImportValidationError, InternalError
from dipkb.model.records import ImportReport
from dipkb.shacl.findings import Finding
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.writing import FileWrite, write_files
from dipkb.util.paths import display_path, reporting_write_errors


class ImportFormat(Enum):
    GDELT = "gdelt"  # 2.0, 1.0 daily or 1.0 back-file, told apart by the column count
    ICEWS = "icews"
    PLOVER = "plover"  # JSON array or JSON lines
    CSV = "csv"  # the simple layouts of examples/README.md
    YAML = "yaml"


@dataclass(frozen=True)
class ImportOptions:
    """Filters for big files, and where to write. Dates are YYYY, YYYY-MM or YYYY-MM-DD, inclusive."""

    actor_codes: tuple[str, ...] = ()  # keep rows where an actor's code starts with one ("RUS", "AFGGOV")
    date_from: str | None = None
    date_to: str | None = None
    event_codes: tuple[str, ...] = ()  # CAMEO root prefixes ("04", "190") or PLOVER types ("CONSULT")
    into: Path | None = None  # the KB file to add to; default kb/imports/<format>-<file name>.ttl


@dataclass
class ImportResult:
    """What :func:`run_import` made: nothing is written until :func:`commit_import`."""

    report: ImportReport
    turtle: str  # to be added to ``target``; empty when no row gave anything new
    target: Path
    source: Path
    fmt: ImportFormat


def guess_format(path: Path) -> ImportFormat:
    """From the file name, else from its first line: a header with "Event ID" is ICEWS; tab-separated
    rows of 57, 58 or 61 columns are GDELT; '[' or '{' starts PLOVER JSON."""
    name = member_name(path).lower()
    for suffixes, fmt in (((".json", ".jsonl", ".ndjson"), ImportFormat.PLOVER),
                          ((".yaml", ".yml"), ImportFormat.YAML)):
        if name.endswith(suffixes):
            return fmt
    with open_input(path) as stream:
        first = stream.readline(1 << 20).decode("utf-8", "replace")
    if first.lstrip().startswith(("[", "{")):
        return ImportFormat.PLOVER
    if "Event ID" in first.split("\t"):
        return ImportFormat.ICEWS
    if first.count("\t") + 1 in gdelt.LAYOUTS:
        return ImportFormat.GDELT
    if name.endswith(".csv") and "label" in _csv_header(first):
        return ImportFormat.CSV
    raise ImportInputError(f"Cannot tell the format of {display_path(path)}: pass it explicitly "
                           "(gdelt, icews, plover, csv or yaml).")


def _csv_header(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:  # a cell over the csv module's field limit: no header of ours
        return []


def default_target(layout: KBLayout, path: Path, fmt: ImportFormat) -> Path:
    """``kb/imports/gdelt-20191024143000-export.ttl``: one file per imported file, named after it."""
    name = slug(Path(member_name(path)).stem)
    return layout.kb_dir / "imports" / f"{name if name.startswith(fmt.value) else f'{fmt.value}-{name}'}.ttl"


def _target(layout: KBLayout, path: Path, fmt: ImportFormat, into: Path | None) -> Path:
    target = (into if into is not None else default_target(layout, path, fmt)).resolve()
    if target.suffix != ".ttl" or not target.is_relative_to(layout.kb_dir.resolve()):
        raise ImportInputError(f"Cannot import into {display_path(target)}: give a .ttl file inside "
                               f"{display_path(layout.kb_dir)}.")
    return target


def run_import(kb: KnowledgeBase, path: Path, fmt: ImportFormat | None = None,
               options: ImportOptions = ImportOptions()) -> ImportResult:
    """Read ``path`` and build the Turtle to add; every row ends up imported, merged, rejected or filtered."""
    path = Path(path)
    fmt = fmt or guess_format(path)
    row_filter = RowFilter.build(options.actor_codes, options.date_from, options.date_to, options.event_codes)
    target = _target(kb.layout, path, fmt, options.into)
    codebook, reconciler = CodeBook(kb), Reconciler(kb)
    existing = ExistingEvents(kb, codebook)
    heading = f"# Added by `dipkb import` from {member_name(path)} ({fmt.value}).\n"
    if fmt not in (ImportFormat.CSV, ImportFormat.YAML):
        heading += ("# Every event keeps the dataset records it was made from (dip:source); dip:mergedFrom marks\n"
                    "# the events that de-duplication merged from several records.\n")
    if fmt in (ImportFormat.CSV, ImportFormat.YAML):
        report, text = tabular.run(kb, path, fmt.value, row_filter, codebook, reconciler, existing, heading)
    else:
        reader = {ImportFormat.GDELT: gdelt.read, ImportFormat.ICEWS: icews.read, ImportFormat.PLOVER: plover.read}[fmt]
        builder = CodedImport(codebook, reconciler, existing, dataset_key=fmt.value)
        for row in reader(path, row_filter):
            builder.add(row)
        report, text = builder.report, builder.turtle(heading)
    if report.rows == 0:
        raise ImportInputError(f"{display_path(path)} has no rows to import.")
    if not report.balanced():  # every row must end up counted once: a bug otherwise, not bad input
        raise InternalError(f"the import of {display_path(path)} lost count of its rows: {report.as_json()}")
    return ImportResult(report=report, turtle=text, target=target, source=path, fmt=fmt)


def validate_import(kb: KnowledgeBase, result: ImportResult, *, full: bool = False) -> list[Finding]:
    """The SHACL findings about what the import would write (violations and warnings): about one node
    of each form, or with ``full`` about every node (slow: see importers/checking.py)."""
    if not result.turtle:
        return []
    return check_text(kb, result.turtle, source=f"{display_path(result.target)} (to be written)", sample=not full)


def commit_import(layout: KBLayout, result: ImportResult, *, kb: KnowledgeBase | None = None,
                  full_validation: bool = False, timeout: float = 60.0) -> list[Finding]:
    """Validate, then add the import's Turtle to its target file, atomically and under the write lock.

    Raises ImportValidationError (nothing written) when the shapes find a violation; returns the
    warnings otherwise. ``kb`` is the KB the import was run against; it is reopened when not given."""
    if not result.turtle:
        return []
    kb = kb or KnowledgeBase.open(layout=layout)
    findings = validate_import(kb, result, full=full_validation)
    bad = violations(findings)
    if bad:
        raise ImportValidationError(
            f"The import of {display_path(result.source)} would break {len(bad)} constraint(s) of the shapes; "
            "nothing was written.", bad)
    write_files(layout, [FileWrite(result.target, result.turtle)], timeout=timeout)
    return findings


def write_rejected(result: ImportResult, path: Path) -> int:
    """The rejected rows as a tab-separated file: line, reason, detail, the row as read. Returns the count."""
    with reporting_write_errors(Path(path), "choose another place for --rejected"), \
            Path(path).open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter="\t", lineterminator="\n")
        writer.writerow(["line", "reason", "detail", "row"])
        for row in result.report.rejected_rows:
            writer.writerow([row.line, row.reason, row.detail, row.text])
    return len(result.report.rejected_rows)
