"""GDELT 2.0 mentions files: one row per document that mentions an event of the events table, joined
to it by GlobalEventID. Tab-separated, 16 columns, no header (a GlobalEventID header line is skipped):
GlobalEventID, EventTimeDate, MentionTimeDate, MentionType, MentionSourceName, MentionIdentifier,
SentenceID, Actor1CharOffset, Actor2CharOffset, ActionCharOffset, InRawText, Confidence, MentionDocLen,
MentionDocTone, MentionDocTranslationInfo, Extras.

Each mention becomes a dip:MentionRecord, a further source of its event: the document (a URL when
MentionType is 1, web; else the identifier as given, such as a citation), when GDELT found it
(dct:created: not the document's publication date, which GDELT does not give), the coding confidence,
the outlet and the document's tone. The whole file is read before the events, keyed by event record:
a 15-minute slice is a few thousand rows."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from dipkb.authoring.importers.gdelt import LAYOUTS, SOURCE_NS, instant
from dipkb.authoring.importers.reading import (NotThisFormat, decimal, decode, member_name, numbered_lines,
                                               open_input)
from dipkb.model.records import MentionReport, RecordKind, Rejection, Signals, SourceRecord
from dipkb.util.numbers import whole_number

COLUMNS = 16
EVENT_ID, MENTION_TIME, MENTION_TYPE, SOURCE_NAME, IDENTIFIER, SENTENCE, CONFIDENCE, DOC_TONE = 0, 2, 3, 4, 5, 6, 11, 13
WEB = "1"
_TYPES = {"1": "web", "2": "citation", "3": "CORE", "4": "DTIC", "5": "JSTOR", "6": "non-textual source"}
_EVENTS_KEY = LAYOUTS[61].key  # mentions exist for GDELT 2.0 events only


@dataclass
class Mentions:
    """The mention records of a file by the IRI of the event record they mention, and the count of
    rows read and rejected (joined and unmatched are counted as events take their mentions)."""

    by_record: defaultdict[str, list[SourceRecord]] = field(default_factory=lambda: defaultdict(list))
    report: MentionReport = field(default_factory=MentionReport)

    def take(self, record_iri: str) -> list[SourceRecord]:
        """The mentions of one event record, each given out once."""
        taken = self.by_record.pop(record_iri, [])
        self.report.joined += len(taken)
        return taken

    def finish(self) -> MentionReport:
        self.report.unmatched = sum(len(found) for found in self.by_record.values())
        return self.report


def read(path: Path) -> Mentions:
    mentions, fitting = Mentions(), 0
    dataset = f"GDELT 2.0 mentions ({member_name(path)})"
    with open_input(path) as stream:
        for _, raw in numbered_lines(stream):
            fields = raw.split(b"\t")
            if len(fields) != COLUMNS:
                if raw.strip():
                    mentions.report.rows += 1
                    mentions.report.rejected += 1
                    mentions.report.reasons["wrong column count"] += 1
                continue
            fitting += 1
            if fields[0].strip().lower() == b"globaleventid":
                continue
            mentions.report.rows += 1
            try:
                record = _mention(decode(raw).split("\t"), dataset)
            except Rejection as rejection:
                mentions.report.rejected += 1
                mentions.report.reasons[rejection.reason] += 1
                continue
            mentions.by_record[f"{SOURCE_NS}{_EVENTS_KEY}-{record.record_id}"].append(record)
    if not fitting:
        raise NotThisFormat(path, "a GDELT 2.0 mentions file", f"no row has its {COLUMNS} tab-separated columns")
    return mentions


def _mention(fields: list[str], dataset: str) -> SourceRecord:
    event_id, kind = fields[EVENT_ID].strip(), fields[MENTION_TYPE].strip()
    identifier, sentence = fields[IDENTIFIER].strip(), fields[SENTENCE].strip()
    confidence = fields[CONFIDENCE].strip()
    percent = whole_number(confidence)
    if whole_number(event_id) is None:
        raise Rejection("malformed record id", f"GlobalEventID '{event_id}' is not a number")
    if kind not in _TYPES:
        raise Rejection("malformed mention", f"MentionType '{kind}' is not 1 to 6")
    if not identifier:
        raise Rejection("malformed mention", "no MentionIdentifier")
    if percent is None or percent > 100:
        raise Rejection("malformed mention", f"Confidence '{confidence}' is not a percentage")
    if sentence and whole_number(sentence) is None:
        raise Rejection("malformed mention", f"SentenceID '{sentence}' is not a number")
    outlet = fields[SOURCE_NAME].strip() or None
    digest = hashlib.sha1(f"{identifier}\t{sentence}".encode()).hexdigest()[:10]
    return SourceRecord(
        iri=f"{SOURCE_NS}{_EVENTS_KEY}-mention-{event_id}-{digest}",
        label=f"GDELT 2.0 mention of event {event_id} ({_TYPES[kind]}{f', {outlet}' if outlet else ''})",
        dataset=dataset, record_id=event_id, coder="GDELT 2.0", kind=RecordKind.MENTION,
        sentence=whole_number(sentence) if sentence else None,
        url=identifier if kind == WEB else None, identifier=None if kind == WEB else identifier,
        created=instant(fields[MENTION_TIME].strip(), "MentionTimeDate"), confidence=percent,
        signals=Signals(avg_tone=decimal(fields[DOC_TONE].strip(), "MentionDocTone", 100), publisher=outlet),
    )
