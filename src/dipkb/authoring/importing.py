"""The entry points of `dipkb import`: read a file into Turtle and a report, then commit it safely."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from itertools import chain
from pathlib import Path

from pyoxigraph import NamedNode, RdfFormat, parse

from dipkb.authoring.checking import check_text, violations
from dipkb.authoring.coded import CodedImport
from dipkb.authoring.codes import CodeBook
from dipkb.authoring.dedup import ExistingEvents
from dipkb.authoring.importers import acled
from dipkb.authoring.importers import gdelt
from dipkb.authoring.importers import gdelt_mentions
from dipkb.authoring.importers import icews
from dipkb.authoring.importers import plover
from dipkb.authoring.importers import tabular
from dipkb.authoring.importers.filters import RowFilter
from dipkb.authoring.importers.reading import NotThisFormat, csv_delimiter, member_name, open_input, refuse_utf16
from dipkb.authoring.reconcile import Reconciler, slug
from dipkb.errors import ImportInputError, ImportValidationError, InternalError
from dipkb.model import terms
from dipkb.model.namespaces import KB_BASE, PREFIXES, RDF, curie
from dipkb.model.records import ImportReport
from dipkb.shacl.findings import Finding
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.writing import FileWrite, write_files, write_lock
from dipkb.util.paths import display_path
from dipkb.util.tsvtext import tsv_line


class ImportFormat(Enum):
    GDELT = "gdelt"  # 2.0, 1.0 daily or 1.0 back-file, told apart by the column count
    ICEWS = "icews"
    PLOVER = "plover"  # a JSON array, JSON lines, or JSON objects one after another
    CSV = "csv"  # the simple layouts of examples/README.md
    YAML = "yaml"
    ACLED = "acled"  # ACLED's CSV export, read by its header


@dataclass(frozen=True)
class ImportOptions:
    """Filters for big files, and where to write. Dates are YYYY, YYYY-MM or YYYY-MM-DD, inclusive."""

    actor_codes: tuple[str, ...] = ()  # keep rows where an actor's code starts with one ("RUS", "AFGGOV")
    countries: tuple[str, ...] = ()  # keep rows with an actor of one: a name, ISO or CAMEO code ("Russia", "RUS")
    date_from: str | None = None
    date_to: str | None = None
    event_codes: tuple[str, ...] = ()  # CAMEO root prefixes ("04", "190") or PLOVER types ("CONSULT")
    into: Path | None = None  # the KB file to add to; default kb/imports/<format>-<file name>.ttl
    min_mentions: int | None = None  # GDELT only: keep rows with NumMentions at least this
    root_only: bool = False  # GDELT only: keep rows with IsRootEvent 1
    mentions: Path | None = None  # GDELT 2.0 only: a mentions file whose rows become further sources


@dataclass
class ImportResult:
    """What :func:`run_import` made: nothing is written until :func:`commit_import`."""

    report: ImportReport
    turtle: str  # to be added to ``target``; empty when no row gave anything new
    target: Path
    source: Path
    fmt: ImportFormat


@dataclass(frozen=True)
class Sniffed:
    """What a file's first lines look like: a format dipkb imports, a GDELT mentions file (which goes
    with --mentions), or nothing known (``fmt`` None, ``mentions`` False)."""

    fmt: ImportFormat | None = None
    mentions: bool = False

    @property
    def description(self) -> str:
        if self.mentions:
            return "a GDELT 2.0 mentions file"
        return _DESCRIPTIONS.get(self.fmt, "no format dipkb reads")


_DESCRIPTIONS = {ImportFormat.GDELT: "a GDELT event export", ImportFormat.ICEWS: "an ICEWS event file",
                 ImportFormat.PLOVER: "PLOVER JSON", ImportFormat.CSV: "a CSV of events",
                 ImportFormat.YAML: "a YAML list of events", ImportFormat.ACLED: acled.DESCRIBED}
_SNIFF_BYTES = 1 << 16


def sniff(path: Path) -> Sniffed:
    """From the first 64 KiB, decompressed: JSON is PLOVER; an "Event ID" header is ICEWS; a CSV header
    with event_id_cnty is ACLED; a header or most lines with 57, 58 or 61 tab-separated columns are
    GDELT events, with 16 (two timestamps first) GDELT mentions; a header with label and type is our
    CSV; a YAML list or "events:" is YAML."""
    with open_input(path) as stream:
        raw = stream.read(_SNIFF_BYTES)
    refuse_utf16(path, raw)
    # Excel's "CSV UTF-8" starts with a byte order mark.
    head = raw.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = [line for line in head.splitlines()[:50] if line.strip()]
    if not lines:
        return Sniffed()
    if lines[0].lstrip().startswith(("[", "{")):
        return Sniffed(ImportFormat.PLOVER)
    first = [cell.strip() for cell in lines[0].split("\t")]
    if "event id" in (cell.casefold() for cell in first):
        return Sniffed(ImportFormat.ICEWS)
    if "event_id_cnty" in (cell.strip().lower() for cell in _csv_header(lines[0])):
        return Sniffed(ImportFormat.ACLED)
    widths = [line.count("\t") + 1 for line in lines]
    header = first[0].upper() == gdelt.HEADER
    if (header and widths[0] in gdelt.LAYOUTS) or sum(w in gdelt.LAYOUTS for w in widths) * 2 > len(widths):
        return Sniffed(ImportFormat.GDELT)
    mention_like = [line.split("\t") for line in lines if line.count("\t") + 1 == gdelt_mentions.COLUMNS]
    if (header and widths[0] == gdelt_mentions.COLUMNS) or (
            len(mention_like) * 2 > len(lines)
            and all(len(f[1]) == len(f[2]) == 14 and f[1].isdigit() and f[2].isdigit() for f in mention_like[-3:])):
        return Sniffed(mentions=True)
    if {"label", "type"} <= {cell.strip().casefold() for cell in _csv_header(lines[0])}:
        return Sniffed(ImportFormat.CSV)
    if lines[0].startswith(("- ", "events:", "---")):
        return Sniffed(ImportFormat.YAML)
    return Sniffed()


def guess_format(path: Path) -> ImportFormat:
    """From the content (see :func:`sniff`), else from the file name (.json, .jsonl, .yaml...)."""
    found = sniff(path)
    if found.mentions:
        raise ImportInputError(f"{display_path(path)} looks like a GDELT 2.0 mentions file: import its events file "
                               f"with --mentions {display_path(path)}.")
    if found.fmt is not None:
        return found.fmt
    name = member_name(path).lower()
    for suffixes, fmt in (((".json", ".jsonl", ".ndjson"), ImportFormat.PLOVER),
                          ((".yaml", ".yml"), ImportFormat.YAML)):
        if name.endswith(suffixes):
            return fmt
    raise ImportInputError(f"Cannot tell the format of {display_path(path)}: pass it explicitly "
                           "(gdelt, icews, plover, acled, csv or yaml).")


def _wrong_format(error: NotThisFormat, option: str = "--format") -> ImportInputError:
    """The one-line message for a file none of whose rows fits the format it was read as."""
    found = sniff(error.path)
    hint = ""
    if option == "--format" and found.mentions:
        hint = "; give it with --mentions next to its events file"
    elif option == "--format" and found.fmt is not None and found.description != error.declared:
        hint = f"; import it with --format {found.fmt.value}"
    looks = "" if found.description == error.declared else f"; it looks like {found.description}"
    return ImportInputError(f"{display_path(error.path)} is not {error.declared} ({error.detail}){looks}{hint}.")


def _csv_header(line: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=csv_delimiter(line)), [])
    except csv.Error:  # a cell over the csv module's field limit: no header of ours
        return []


def default_target(layout: KBLayout, path: Path, fmt: ImportFormat) -> Path:
    """``kb/imports/gdelt-20191024143000-export.ttl``: one file per imported file, named after it; in a
    directory of data files without kb/ (a loose KB, which reads only its own files, not a subdirectory's),
    ``import-gdelt-20191024143000-export.ttl`` beside them."""
    name = slug(Path(member_name(path)).stem)
    name = name if name.startswith(fmt.value) else f"{fmt.value}-{name}"
    return layout.kb_dir / f"import-{name}.ttl" if layout.is_loose else layout.kb_dir / "imports" / f"{name}.ttl"


def _target(layout: KBLayout, path: Path, fmt: ImportFormat, into: Path | None) -> Path:
    target = (into if into is not None else default_target(layout, path, fmt)).resolve()
    if not layout.is_turtle_target(target):
        raise ImportInputError(f"Cannot import into {display_path(target)}: give a .ttl file inside "
                               f"{display_path(layout.kb_dir)}, not hidden, which the KB reads.")
    return target


def run_import(kb: KnowledgeBase, path: Path, fmt: ImportFormat | None = None,
               options: ImportOptions = ImportOptions()) -> ImportResult:
    """Read ``path`` and build the Turtle to add; every row ends up imported, merged, rejected or filtered."""
    path = Path(path)
    fmt = fmt or guess_format(path)
    row_filter = RowFilter.build(options.actor_codes, options.date_from, options.date_to, options.event_codes)
    row_filter = row_filter.with_attention(options.min_mentions, options.root_only).with_countries(options.countries)
    if fmt is not ImportFormat.GDELT and (row_filter.on_attention or options.mentions):
        raise ImportInputError(f"--mentions, --min-mentions and --root-only read GDELT's columns; {fmt.value} "
                               "files have none.")
    target = _target(kb.layout, path, fmt, options.into)
    codebook, reconciler = CodeBook(kb), Reconciler(kb)
    if unknown := [code for code in row_filter.event_codes if not codebook.names_codes(code)]:
        raise ImportInputError(f"Unknown --code {unknown[0]!r}: no CAMEO code starts with it and no PLOVER type is "
                               "named so; every row would be filtered out.")
    existing = ExistingEvents(kb, codebook)
    heading = f"# Added by `dipkb import` from {member_name(path)} ({fmt.value}).\n"
    if fmt not in (ImportFormat.CSV, ImportFormat.YAML):
        heading += ("# Every event keeps the dataset records it was made from (dip:source); dip:mergedFrom marks\n"
                    "# the events that de-duplication merged from several records.\n")
    try:
        mentions = gdelt_mentions.read(options.mentions) if options.mentions else None
    except NotThisFormat as error:
        raise _wrong_format(error, "--mentions") from None
    if mentions:
        heading += f"# Mentions from {member_name(options.mentions)} are further sources (dip:MentionRecord).\n"
    if fmt in (ImportFormat.CSV, ImportFormat.YAML):
        report, text = tabular.run(kb, path, fmt.value, row_filter, codebook, reconciler, existing, heading)
    else:
        reader = {ImportFormat.GDELT: gdelt.read, ImportFormat.ICEWS: icews.read, ImportFormat.PLOVER: plover.read,
                  ImportFormat.ACLED: acled.read}[fmt]
        coded = acled.AcledImport if fmt is ImportFormat.ACLED else CodedImport
        builder = coded(codebook, reconciler, existing, dataset_key=fmt.value, mentions=mentions)
        try:
            for row in reader(path, row_filter):
                builder.add(row)
        except NotThisFormat as error:
            raise _wrong_format(error) from None
        report, text = builder.report, builder.turtle(heading)
        if mentions:
            report.mentions = mentions.finish()
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
    """Validate (:func:`check_import`), then add the import's Turtle to its target file, atomically and
    under the write lock. ``kb`` is the KB the import was run against; it is reopened when not given."""
    if not result.turtle:
        return []
    kb = kb or KnowledgeBase.open(layout=layout)
    findings = check_import(kb, result, full_validation=full_validation)
    with write_lock(layout, timeout):
        # Names and IRIs were resolved against the KB as it was: another writer may have made one of
        # the same nodes since (two imports of one file wrote its events twice; an add and an import
        # of one event wrote two blocks of one IRI, a meeting and an appeal at once).
        with KnowledgeBase.open(layout=layout, index=kb.index is not None, progress=False) as now:
            clashing = sorted({row["iri"].value for row in now.select_for_each(_NAMED, sorted(_created(result.turtle)))})
        if clashing:
            more = f" and {len(clashing) - 1} more" if len(clashing) > 1 else ""
            raise ImportInputError(f"Another writer added {curie(clashing[0])}{more} while this import ran; nothing "
                                   "was written. Run the import again: it then merges with what is there.")
        write_files(layout, [FileWrite(result.target, result.turtle)], lock=False)
    return findings


def check_import(kb: KnowledgeBase, result: ImportResult, *, full_validation: bool = False) -> list[Finding]:
    """The shapes' findings about what the import would add: ImportValidationError (nothing written)
    when one is a violation, else the warnings."""
    if not result.turtle:
        return []
    findings = validate_import(kb, result, full=full_validation)
    bad = violations(findings)
    if bad:
        raise ImportValidationError(
            f"The import of {display_path(result.source)} would break {len(bad)} constraint(s) of the shapes; "
            "nothing was written.", bad)
    return findings


# Named anywhere in the KB, as a subject or an object (add's in_kb, for many at once).
_NAMED = "SELECT DISTINCT ?iri WHERE { VALUES ?iri { %s } { ?iri ?p ?o } UNION { ?s ?p ?iri } }"


def _created(turtle: str) -> set[str]:
    """The nodes the import's Turtle types, which it makes: events, records, new actors and sources
    (a merged row adds to an event without typing it)."""
    quads = parse(terms.prefix_block(PREFIXES) + turtle, format=RdfFormat.TURTLE, base_iri=KB_BASE)
    return {q.subject.value for q in quads if q.predicate.value == RDF + "type" and isinstance(q.subject, NamedNode)}


def rejected_lines(result: ImportResult) -> Iterator[str]:
    """The rejected rows as tab-separated lines: line, reason, detail, the row as read (its line breaks
    and tabs escaped: a CSV row may span lines)."""
    rows = chain([("line", "reason", "detail", "row")],
                 ((r.line, r.reason, r.detail, r.text) for r in result.report.rejected_rows))
    return map(tsv_line, rows)
