"""Validation findings, the report that holds them, and the report's text, JSON and Turtle forms.

Kept apart from validation.py, which runs the shapes, so that printing findings (as every command
that rejects a change does) needs neither rdflib nor pyshacl.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum

from dipkb.model import terms
from dipkb.model.namespaces import PREFIXES, SH
from dipkb.util.terminal import terminal_text


class Severity(Enum):
    VIOLATION = "Violation"
    WARNING = "Warning"
    INFO = "Info"


@dataclass(frozen=True)
class Holder:
    """The IRI whose description holds a blank node (``dip:source [ ... ]``), and the properties that
    lead from it to the node: what a reader finds a node without a name by."""

    iri: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class Finding:
    """One SHACL result, with the file and line where its focus node is defined.

    ``value`` is the offending RDF term in N-Triples syntax (``<iri>``, ``"2021-02-31"^^<...#date>``,
    ``"text"@en``), so IRIs and literals stay distinguishable; None when the finding is about the
    focus node as a whole. ``holder``: for a blank focus node, where it is written (its file and line
    are the holder's)."""

    focus: str
    focus_label: str | None
    path: str | None
    value: str | None
    message: str
    severity: Severity
    shape: str
    constraint: str
    file: str | None
    line: int | None
    holder: Holder | None = None


@dataclass(frozen=True)
class ValidationReport:
    findings: list[Finding]
    files_checked: int

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.VIOLATION]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    def conforms(self, strict: bool = False) -> bool:
        """No violations; with ``strict``, no warnings either."""
        return not self.violations and not (strict and self.warnings)


_SEVERITY_ORDER = {Severity.VIOLATION: 0, Severity.WARNING: 1, Severity.INFO: 2}


def sort_key(f: Finding) -> tuple:
    # The constraint last but for a blank node's name: two results that differ only in it
    # (sh:minInclusive and sh:maxInclusive on one value) would otherwise come in whatever order the
    # engine found them. A blank node by its holder first: its name changes with each parse.
    place = (f.holder.iri, f.holder.path) if f.holder else (f.focus, ())
    return (f.file is None, f.file or "", f.line or 0, place, f.path or "", f.message,
            _SEVERITY_ORDER[f.severity], f.shape, f.value or "", f.constraint, f.focus)


# --- Rendering ----------------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(report: ValidationReport, strict: bool = False) -> str:
    """``Conforms: 0 violations, 2 warnings in 5 files.`` or ``3 violations, 0 warnings in 5 files.``,
    counting the lines the text shows (:func:`finding_lines`); with ``strict``, a warning is no
    conformance either (the command then exits 1, under a "Conforms" it said)."""
    violations, warnings = len(finding_lines(report.violations)), len(finding_lines(report.warnings))
    counts = (f"{_plural(violations, 'violation')}, {_plural(warnings, 'warning')} "
              f"in {_plural(report.files_checked, 'file')}.")
    return f"Conforms: {counts}" if report.conforms(strict) else counts


def short_term(term: str) -> str:
    """An IRI or N-Triples term with its IRIs as CURIEs where a known prefix fits and the local name
    needs no escaping, else as <IRI>: readable in text, and valid Turtle."""
    if term.startswith("_:"):
        return term
    if term.startswith('"'):
        datatype = re.search(r"\^\^<([^>]*)>$", term)
        return term[: datatype.start()] + "^^" + short_term(datatype.group(1)) if datatype else term
    iri = term[1:-1] if term.startswith("<") else term
    # Not terms.iri: a finding may be about an IRI rdflib let through, and must still be shown.
    found = terms.prefixed(iri)
    return f"{found[0]}:{found[1]}" if found else f"<{iri}>"


# A label or value longer than this is cut in a line of text (the JSON and Turtle reports keep it
# whole): a 50 MB label made 100 MB of text, repeated in each of its findings.
SHOWN_WIDTH = 200


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_WIDTH else text[:SHOWN_WIDTH - 1] + "…"


def render_finding(f: Finding) -> str:
    """``kb/events-2021.ttl:12: Violation: event:foo ("Foo meets Bar") dip:source: Every event ...``

    The place is ``file:line``, or ``file`` alone, or left out when the focus is defined nowhere;
    the path and the offending value follow the focus node, read like the triple at fault. A line for a
    terminal: the label and the value may hold control characters, which it does not carry."""
    place = f"{f.file}:{f.line}: " if f.line is not None else (f"{f.file}: " if f.file else "")
    subject = _subject(f)
    if f.focus_label is not None:
        subject += f' ("{_cut(f.focus_label)}")'
    if f.path is not None:
        subject += " " + short_term(f.path)
    if f.value is not None:
        subject += " " + ("[]" if f.value.startswith("_:") else _cut(short_term(f.value)))
    return terminal_text(f"{place}{f.severity.value}: {subject}: {f.message}")


def _subject(f: Finding) -> str:
    """The focus node as a reader finds it: a blank node by the path from the IRI holding it
    (``event:talks dip:source []``), as the file writes it; the name a parser made up means nothing."""
    if f.holder is None:
        return short_term(f.focus)
    return f"{short_term(f.holder.iri)} {'/'.join(short_term(p) for p in f.holder.path)} []"


def finding_lines(findings: list[Finding]) -> list[str]:
    """A line per finding, each said once: a value that breaks several constraints of one shape
    (``"NaN"`` as a latitude: its datatype, its minimum and its maximum) is one result of each in
    SHACL, and the same sentence three times to a reader. The JSON and Turtle reports keep them all."""
    return list(dict.fromkeys(render_finding(f) for f in findings))


def render_text(report: ValidationReport, strict: bool = False) -> str:
    return "\n".join(finding_lines(report.findings) + [summary(report, strict)]) + "\n"


def render_json(report: ValidationReport, strict: bool = False) -> str:
    document = {
        "conforms": report.conforms(strict),
        "violations": len(report.violations),
        "warnings": len(report.warnings),
        "files_checked": report.files_checked,
        "findings": [
            {"file": f.file, "line": f.line, "severity": f.severity.value, "focus": f.focus,
             "focus_label": f.focus_label, "path": f.path, "value": f.value, "message": f.message,
             "shape": f.shape, "constraint": f.constraint,
             "held_by": f.holder and {"node": f.holder.iri, "path": list(f.holder.path)}}
            for f in report.findings
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_turtle(report: ValidationReport, strict: bool = False) -> str:
    """The findings as a SHACL validation report graph (sh:ValidationReport), in finding order."""
    lines = [f"@prefix {prefix}: <{namespace}> ." for prefix, namespace in PREFIXES.items()]
    lines += ["", "[] a sh:ValidationReport ;", f"    sh:conforms {'true' if report.conforms(strict) else 'false'}"]
    for number, f in enumerate(report.findings):
        lines[-1] += " ;" if number == 0 else " ,"
        if number == 0:
            lines.append("    sh:result")
        fields = [("a", "sh:ValidationResult"),
                  ("sh:resultSeverity", short_term(SH + f.severity.value)),
                  ("sh:focusNode", short_term(f.focus))]
        if f.path is not None:
            fields.append(("sh:resultPath", short_term(f.path)))
        if f.value is not None:
            fields.append(("sh:value", short_term(f.value)))
        fields += [("sh:resultMessage", terms.string(f.message)),
                   ("sh:sourceShape", short_term(f.shape)),
                   ("sh:sourceConstraintComponent", short_term(f.constraint))]
        body = " ;\n          ".join(f"{p} {o}" for p, o in fields)
        lines.append(f"        [ {body} ]")
    lines[-1] += " ."
    return "\n".join(lines) + "\n"
