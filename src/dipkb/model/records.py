"""The typed records an import passes along: rows as read, actors and places as found, events as built,
and the report that accounts for every input row."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from dipkb.model.temporal import DateValue


class Rejection(Exception):
    """Raised while reading one row: the row is rejected with ``reason`` (a short category that the
    report counts, e.g. "invalid date") and ``detail`` (what exactly, e.g. "'20120231' is no real day")."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class Outcome(Enum):
    IMPORTED = "imported"  # the row became a new event
    MERGED = "merged"  # the row joined an event of the same identity, from this file or the KB
    REJECTED = "rejected"  # the row could not be imported; its reason is counted
    FILTERED = "filtered"  # the row was left out by a filter the user asked for


class Scheme(Enum):
    CAMEO = "CAMEO"
    PLOVER = "PLOVER"


@dataclass(frozen=True)
class ActorSpec:
    """An actor as a dataset row gives it, before reconciliation. ``code`` is a CAMEO actor code
    (GDELT, PLOVER); ICEWS gives only a ``name``. ``country`` is a CAMEO/ISO code or, for ICEWS, a name."""

    name: str | None
    code: str | None = None
    country: str | None = None
    sectors: tuple[str, ...] = ()


class PlaceKind(Enum):
    COUNTRY = "country"
    REGION = "region"  # a first-order division or US state: its point would be an arbitrary centroid
    CITY = "city"  # a point is meaningful
    UNKNOWN = "unknown"  # a bare name: we cannot tell a city from a country


@dataclass(frozen=True)
class PlaceSpec:
    """A place as a dataset row gives it. ``fips`` is the FIPS 10-4 country code GDELT uses."""

    kind: PlaceKind
    name: str
    country_name: str | None = None
    fips: str | None = None
    lat: str | None = None
    long: str | None = None


@dataclass(frozen=True)
class Signals:
    """What a coded dataset says about a record beyond the event: GDELT's Goldstein scale, QuadClass,
    attention counts, tone and root-event flag; ICEWS's intensity and publisher. Decimals are kept as
    the lexical form read (checked), so nothing is rounded on the way."""

    goldstein: str | None = None
    quad_class: int | None = None
    num_mentions: int | None = None
    num_sources: int | None = None
    num_articles: int | None = None
    avg_tone: str | None = None
    root_event: bool | None = None
    intensity: str | None = None
    publisher: str | None = None


class RecordKind(Enum):
    EVENT = "DatasetRecord"  # a row of an event table
    MENTION = "MentionRecord"  # a row of GDELT's mentions table: one document that mentions an event


@dataclass(frozen=True)
class SourceRecord:
    """One dataset row as a dip:DatasetRecord: every event keeps all the records it was built from.
    ``created`` is when the dataset made the record (GDELT DATEADDED, PLOVER dateCoded): never the
    publication date of a news story, which coded datasets do not give."""

    iri: str
    label: str
    dataset: str  # the dataset and file, e.g. "GDELT 2.0 events (20191024143000.export.CSV)"
    record_id: str
    coder: str = ""  # who coded the event, for its content: "GDELT 2.0", "ICEWS", "PLOVER"
    story_id: str | None = None
    sentence: int | None = None
    url: str | None = None
    created: DateValue | None = None
    signals: Signals = Signals()
    kind: RecordKind = RecordKind.EVENT
    identifier: str | None = None  # a mention's document identifier when it is not a URL (a citation)
    confidence: int | None = None  # a mention's coding confidence, percent


@dataclass(frozen=True)
class CodedRow:
    """A row of a coded dataset once its fields are read and checked, before codes become classes and
    names become IRIs. ``sources`` are Actor1 / ICEWS Source / PLOVER source; ``targets`` the other side."""

    line: int
    record: SourceRecord
    scheme: Scheme
    code: str
    date: DateValue
    sources: tuple[ActorSpec, ...]
    targets: tuple[ActorSpec, ...] = ()
    place: PlaceSpec | None = None
    mode: str | None = None  # PLOVER mode, e.g. "visit"
    # When the dataset dates the event only within some days (ACLED's week precision): the first and
    # last day it can have happened, written as dip:earliestDate and dip:latestDate; ``date`` is then
    # the day the dataset filed it under, which keys its identity but is never written as its date.
    window: tuple[DateValue, DateValue] | None = None


@dataclass(frozen=True)
class RowResult:
    """What a reader makes of one input row: a checked row, a rejection, or a row a filter left out.
    ``text`` is the row as read, for the rejects file."""

    line: int
    text: str
    row: CodedRow | None = None
    rejection: Rejection | None = None
    filtered: bool = False
    header: bool = False  # a header line among the rows: skipped and reported, not a data row


def row_result(line: int, text: str, kept: bool, build: Callable[[], CodedRow]) -> RowResult:
    """The outcome every reader gives a parsed row: left out by a filter, checked, or rejected."""
    if not kept:
        return RowResult(line, text, filtered=True)
    try:
        return RowResult(line, text, row=build())
    except Rejection as rejection:
        return RowResult(line, text, rejection=rejection)


@dataclass(frozen=True)
class NewActor:
    """An actor the import declares because the KB has none that matches."""

    iri: str
    label: str
    cls: str
    codes: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    acts_for: str | None = None
    of_state: str | None = None  # the state of its dataset's country code, when it does not act for it


@dataclass(frozen=True)
class NewPlace:
    """A place the import declares because the KB has none that matches."""

    iri: str
    label: str
    is_country: bool = False
    in_country: str | None = None
    lat: str | None = None
    long: str | None = None


@dataclass
class ImportedEvent:
    """One event an import writes. ``existing`` marks an event already in the KB with the same identity:
    for it only the links to the new records are written, never a second description."""

    iri: str
    cls: str
    label: str
    roles: tuple[tuple[str, str], ...]  # (role property IRI, actor IRI)
    date: DateValue
    place: str | None = None
    place_property: str = "place"  # dip:place, or dip:origin for a troop movement
    modality: str = "Occurred"
    codes: list[tuple[str, str]] = field(default_factory=list)  # (concept IRI, "CAMEO 042 (Make a visit)")
    records: list[SourceRecord] = field(default_factory=list)
    existing: bool = False
    existing_records: tuple[str, ...] = ()  # records the KB event already had, to mark as merged too
    mentions: list[SourceRecord] = field(default_factory=list)  # further sources, never merges
    window: tuple[DateValue, DateValue] | None = None  # as CodedRow.window: written instead of ``date``

    @property
    def merged(self) -> bool:
        return len(self.records) + len(self.existing_records) > 1


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str
    detail: str
    text: str


@dataclass
class MentionReport:
    """What a GDELT mentions file added: every mention row is joined to an event of this import,
    unmatched (its event is not among them), or rejected."""

    rows: int = 0
    joined: int = 0
    unmatched: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict:
        return {"rows": self.rows, "joined": self.joined, "unmatched": self.unmatched, "rejected": self.rejected,
                "reasons": dict(sorted(self.reasons.items()))}


@dataclass
class ImportReport:
    """Every input row is counted once: rows = imported + merged + rejected + filtered. Header lines
    found among the rows are not rows; their line numbers are reported."""

    rows: int = 0
    imported: int = 0
    merged: int = 0
    rejected: int = 0
    filtered: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    rejected_rows: list[RejectedRow] = field(default_factory=list)
    events_created: int = 0
    events_extended: int = 0  # events already in the KB that rows merged into
    header_lines: list[int] = field(default_factory=list)
    mentions: MentionReport | None = None  # with --mentions only

    def count(self, outcome: Outcome) -> None:
        self.rows += 1
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def reject(self, line: int, rejection: Rejection, text: str) -> None:
        self.count(Outcome.REJECTED)
        self.reasons[rejection.reason] += 1
        self.rejected_rows.append(RejectedRow(line, rejection.reason, rejection.detail, text))

    def balanced(self) -> bool:
        return self.rows == self.imported + self.merged + self.rejected + self.filtered

    def summary(self, target: str, *, dry_run: bool) -> str:
        """What happened to the rows, then each rejection reason with its count, most frequent first."""
        lines = [f"{self.rows} rows: {self.imported} imported, {self.merged} merged, {self.rejected} rejected, "
                 f"{self.filtered} filtered; {'would add' if dry_run else 'added'} {self.events_created} events "
                 f"to {target}."]
        if self.header_lines:
            shown = ", ".join(map(str, self.header_lines[:5])) + (", ..." if len(self.header_lines) > 5 else "")
            many = len(self.header_lines) > 1
            lines.append(f"  skipped {len(self.header_lines)} header row{'s' * many} at line{'s' * many} {shown}")
        if self.mentions:
            m = self.mentions
            lines.append(f"  mentions: {m.rows} rows, {m.joined} joined, {m.unmatched} of events not in this "
                         f"import, {m.rejected} rejected")
        lines += [f"  rejected {count:>6}  {reason}"
                  for reason, count in sorted(self.reasons.items(), key=lambda item: (-item[1], item[0]))]
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "merged": self.merged,
            "rejected": self.rejected,
            "filtered": self.filtered,
            "reasons": dict(sorted(self.reasons.items())),
            "events_created": self.events_created,
            "events_extended": self.events_extended,
            "header_lines": list(self.header_lines),
            **({"mentions": self.mentions.as_json()} if self.mentions else {}),
        }
