"""Rows of coded datasets (GDELT, ICEWS, PLOVER) to events: class from the code, roles from the class,
actors and places reconciled, identity key, merge or create. One pass, no per-row query."""
from __future__ import annotations

import hashlib
from dataclasses import replace

from dipkb.authoring.codes import (ALLIANCE_FORMATION, APPEAL, MATERIAL_SUPPORT, MEETING, RETREAT, STATEMENT,
                                   TROOP_MOVEMENT, VISIT, CodeBook)
from dipkb.authoring.dedup import ExistingEvents, IdentityKey, identity_key
from dipkb.authoring.importers.gdelt_mentions import Mentions
from dipkb.authoring.reconcile import Reconciler
from dipkb.model import terms
from dipkb.model import record_turtle
from dipkb.model.namespaces import DIP
from dipkb.model.records import CodedRow, ImportedEvent, ImportReport, Outcome, Rejection, RowResult, SourceRecord


# (class, role of Actor1, role of Actor2), most specific class first: the first match wins.
_ROLES = (
    (MEETING, "attendee", "attendee"),
    (STATEMENT, "speaker", "addressee"),
    (APPEAL, "agent", "addressee"),
    (MATERIAL_SUPPORT, "supporter", "beneficiary"),
    (RETREAT, "movingForce", "causedBy"),
    (TROOP_MOVEMENT, "movingForce", "target"),
    (ALLIANCE_FORMATION, "founder", "founder"),
)


def roles_for(codebook: CodeBook, cls: str, row: CodedRow) -> tuple[str, str]:
    """The roles of the source side (Actor1) and the target side (Actor2) for an event class."""
    if codebook.is_a(cls, VISIT):
        # CAMEO 042 "make a visit": Actor1 visits Actor2; 043 "host a visit": Actor1 hosts Actor2.
        hosting = row.code.startswith("043") or (row.mode or "").lower() == "host"
        return ("host", "visitor") if hosting else ("visitor", "host")
    return next(((source, target) for kind, source, target in _ROLES if codebook.is_a(cls, kind)),
                ("agent", "target"))


def _not_after(day: str, created: str) -> bool:
    """Compared at the coarser precision of the two, as the shapes compare dates."""
    n = min(len(day), len(created), 19)
    return day[:n] <= created[:n]


class CodedImport:
    """Collects the events of one import; :meth:`add` takes the readers' rows one at a time."""

    def __init__(self, codebook: CodeBook, reconciler: Reconciler, existing: ExistingEvents, dataset_key: str,
                 mentions: Mentions | None = None):
        self.codebook, self.reconciler, self.existing = codebook, reconciler, existing
        self.dataset_key = dataset_key  # prefix of IRIs of actors known by name only: "icews"
        self.mentions = mentions  # a GDELT mentions file's records, joined to the events they mention
        self.report = ImportReport()
        self.events: dict[str, ImportedEvent] = {}  # by IRI, in the order they were made
        self.by_key: dict[IdentityKey, str] = {}
        self.record_keys: dict[str, IdentityKey] = {}

    def add(self, result: RowResult) -> None:
        if result.header:
            self.report.header_lines.append(result.line)
            return
        if result.filtered:
            self.report.count(Outcome.FILTERED)
            return
        if result.rejection is not None:
            self.report.reject(result.line, result.rejection, result.text)
            return
        try:
            self._add(result.row, result.text)
        except Rejection as rejection:
            self.report.reject(result.line, rejection, result.text)

    def _add(self, row: CodedRow, text: str) -> None:
        match = self.codebook.match(row.scheme, row.code, row.mode)
        cls = match.event_class
        if not row.sources:
            raise Rejection("missing actor", "no source actor (Actor1, Source Name or source), who did it is unknown")
        source_role, target_role = roles_for(self.codebook, cls, row)
        roles: list[tuple[str, str]] = []
        for role, specs in ((source_role, row.sources), (target_role, row.targets)):
            for spec in specs:
                pair = (DIP + role, self.reconciler.actor(spec, self.dataset_key))
                if pair not in roles:
                    roles.append(pair)
        if self.codebook.is_a(cls, MEETING) and len({actor for _, actor in roles}) < 2:
            raise Rejection("too few participants", "a meeting needs two different participants; the row names one")
        place = self.reconciler.place(row.place) if row.place else None
        place_property = "place"
        if self.codebook.is_a(cls, TROOP_MOVEMENT):
            if place is None:
                raise Rejection("missing place",
                                "a troop movement needs where it went from or to; the row has no place")
            place_property = "origin"  # where the coded action happened is where the forces moved from
        if row.record.created and not _not_after(row.date.lexical, row.record.created.lexical):
            raise Rejection("dated after its record", f"event date {row.date.lexical} is after the record was "
                            f"added ({row.record.created.lexical})")
        key = identity_key(self.codebook, cls, tuple(roles), place, row.date, concept=match.concept.iri)
        record = row.record
        if self.existing.is_record(record.iri):
            self.check_not_revised(record)
            self.report.count(Outcome.MERGED)  # imported before: the KB already has this very record
            return
        if record.iri in self.record_keys:
            if self.record_keys[record.iri] == key:
                self.report.count(Outcome.MERGED)  # the same record twice in the file
                return
            # Same record id, different content (ICEWS reuses IDs): a record of its own.
            record = replace(record, iri=f"{record.iri}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}")
        self.record_keys[record.iri] = key
        coded = (match.concept.iri, f"{match.concept.describe()} by {record.coder}")
        iri = self.existing.event_with(key) or self.by_key.get(key)
        if iri is None:
            iri = key.event_iri()
            self.by_key[key] = iri
            self.events[iri] = ImportedEvent(
                iri=iri, cls=cls, label=self._label(match.concept, roles, source_role == target_role),
                roles=tuple(roles), date=row.date, place=place, place_property=place_property,
                codes=[coded], records=[record], mentions=self._mentions(record.iri), window=row.window)
            self.report.count(Outcome.IMPORTED)
            self.report.events_created += 1
            return
        event = self.events.get(iri)
        if event is None:  # the first row that merges into an event of the KB
            event = ImportedEvent(iri=iri, cls=cls, label="", roles=(), date=row.date, existing=True,
                                  existing_records=tuple(sorted(self.existing.records_of(iri))))
            self.events[iri] = event
            self.report.events_extended += 1
        if coded not in event.codes:
            event.codes.append(coded)
        event.records.append(record)
        event.mentions.extend(self._mentions(record.iri))
        self.report.count(Outcome.MERGED)

    def check_not_revised(self, record: SourceRecord) -> None:
        """Raise a Rejection when the KB's copy of ``record`` is older than this row's: a dataset that
        revises its records (ACLED) says so; the others do not."""

    def _mentions(self, record_iri: str) -> list[SourceRecord]:
        return self.mentions.take(record_iri) if self.mentions else []

    def _label(self, concept, roles: list[tuple[str, str]], unordered: bool) -> str:
        what = concept.label or concept.notation
        what = what.capitalize() if what.isupper() else what
        names = [self.reconciler.label(actor) for _, actor in roles]
        if unordered:
            return f"{what}: {' and '.join(names)}" if len(names) < 3 else f"{what}: {', '.join(names)}"
        firsts = [self.reconciler.label(a) for r, a in roles if r == roles[0][0]]
        others = [self.reconciler.label(a) for r, a in roles if r != roles[0][0]]
        return f"{what}: {', '.join(firsts)}" + (f" → {', '.join(others)}" if others else "")

    # --- output -------------------------------------------------------------------------------

    def turtle(self, heading: str) -> str:
        """The Turtle to append: new actors and places in use, then each event with its records."""
        events = list(self.events.values())
        if not events:
            return ""
        actors = {a for ev in events if not ev.existing for _, a in ev.roles}
        places = {ev.place for ev in events if ev.place}
        new_places = {iri: p for iri, p in self.reconciler.new_places.items() if iri in places}
        new_places.update({p.in_country: self.reconciler.new_places[p.in_country] for p in list(new_places.values())
                           if p.in_country in self.reconciler.new_places})
        parts = [heading, terms.prefix_block(), "\n"]
        parts += [record_turtle.actor(a) + "\n" for a in self.reconciler.new_actors_linked(actors)]
        parts += [record_turtle.place(p) + "\n" for _, p in sorted(new_places.items())]
        for ev in events:
            content = None
            if not ev.existing:
                content = "Coded as " + "; ".join(text for _, text in ev.codes) + "."
            parts += [record_turtle.record(r) + "\n" for r in ev.records + ev.mentions]
            parts.append(record_turtle.event(ev, content) + "\n")
        return "".join(parts)

