#!/usr/bin/env python3
"""Write a deterministic synthetic dipkb knowledge base of any size, for benchmarks.

    python bench/generate.py --events 100000 --seed 1 --out bench/out/100k

Same arguments, byte-identical files on any machine: the only randomness is random.Random.random()
seeded with strings (hashed with SHA-512, not PYTHONHASHSEED) and no set is ever iterated. Text is
written directly, without an RDF library, because rdflib would take hours for a million events.
bench/README.md describes the output, the printed summary and the fault catalogue.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from synth_events import (ANY_KIND, KINDS, ROLES, SINGLE_KIND, STYLE_OF_MODALITY, Ev, Gen, cite, day_bounds,
                          props_of, set_time)
from synth_world import NS, Dice, World, build_world, iso, month_bounds

CHUNK = 1000  # events per file: replacing one file is the benchmark's refresh case
FIRST, LAST = date(1995, 1, 1).toordinal(), date(2024, 12, 31).toordinal()


def full(curie: str) -> str:
    prefix, local = curie.split(":", 1)
    return NS[prefix] + local


# -------------------------------------------------------------------------------------------- faults

@dataclass(frozen=True)
class FaultKind:
    """A known defect, and the shape (ontology/shapes-required.ttl) and path a violation should name.
    ``apply`` mutates the event and may return the offending value and the path it sits on."""

    name: str
    shape: str
    path: str | None
    applies: Callable[[Ev], bool]
    apply: Callable[[Ev, World], tuple[str, str] | None]


def _drop(ev: Ev, *preds: str) -> None:
    ev.roles = [r for r in ev.roles if r[0] not in preds]
    ev.extra = [x for x in ev.extra if x[0] not in preds]


def _one_participant(ev: Ev, w: World) -> None:
    first = next(i for i, (p, _) in enumerate(ev.roles) if p in ROLES)
    ev.roles = [r for i, r in enumerate(ev.roles) if i == first or r[0] not in ROLES]


def _role_to_place(ev: Ev, w: World) -> tuple[str, str]:
    i = next(i for i, (p, _) in enumerate(ev.roles) if p in ROLES)
    ev.roles[i] = (ev.roles[i][0], w.kits[ev.state].cities[0])
    return ev.roles[i]


def _plain_quote(ev: Ev, w: World) -> None:
    ev.extra = [(p, o.rsplit("@", 1)[0] if p == "dip:quote" else o) for p, o in ev.extra]


def _negative_count(ev: Ev, w: World) -> None:
    _drop(ev, "dip:personnelCount", "dip:minPersonnelCount", "dip:quantityExpression")
    ev.extra.append(("dip:personnelCount", "-120"))


def _times(*times: tuple[str, str, str]) -> Callable[[Ev, World], None]:
    return lambda ev, w: setattr(ev, "times", [(p, f(ev), dt) for p, f, dt in times])


def _occurred(ev: Ev) -> bool:
    return ev.modality == "Occurred"


FAULTS = [
    FaultKind("missing-source", "EventSourceShape", "dip:source", _occurred,
              lambda ev, w: setattr(ev, "sources", [])),
    FaultKind("end-before-start", "EventIntervalShape", "dip:endDate", _occurred, _times(
        ("startDate", lambda ev: iso(ev.low), "date"), ("endDate", lambda ev: iso(ev.low - 30), "date"))),
    FaultKind("earliest-after-latest", "EventBoundsShape", "dip:latestDate", _occurred, _times(
        ("earliestDate", lambda ev: iso(ev.low), "date"), ("latestDate", lambda ev: iso(ev.low - 60), "date"))),
    FaultKind("invalid-date", "EventDateShape", "dip:date", _occurred, _times(
        ("date", lambda ev: f"{date.fromordinal(ev.low).year}-02-31", "date"))),
    FaultKind("negative-personnel-count", "EventPersonnelCountShape", "dip:personnelCount",
              lambda ev: ev.cls in ("Deployment", "Withdrawal", "Retreat"), _negative_count),
    FaultKind("meeting-with-one-participant", "MeetingParticipantsShape", None,
              lambda ev: ev.cls == "Meeting", _one_participant),
    FaultKind("statement-without-speaker", "StatementSpeakerShape", "dip:speaker",
              lambda ev: any(p == "dip:speaker" for p, _ in ev.roles), lambda ev, w: _drop(ev, "dip:speaker")),
    FaultKind("occurred-after-source", "EventNotAfterSourceShape", "dip:date", _occurred, _times(
        ("date", lambda ev: iso(max(s.issued for s in ev.sources) + 45), "date"))),
    FaultKind("role-is-a-place", "ActorReferenceShape", None,
              lambda ev: any(p in ROLES for p, _ in ev.roles), _role_to_place),
    FaultKind("quote-without-language", "StatementQuoteShape", "dip:quote",
              lambda ev: any(p == "dip:quote" for p, _ in ev.extra), _plain_quote),
    FaultKind("unknown-modality", "EventModalityShape", "dip:modality", _occurred,
              lambda ev, w: setattr(ev, "modality", "Happened")),
]


@dataclass
class PlannedFault:
    kind: FaultKind
    start: int  # the first event slot where it may be placed
    record: dict | None = None


def plan_faults(seed: str, n_faults: int, n_events: int) -> list[PlannedFault]:
    """K distinct kinds in a seeded order, spread over the first four fifths of the events."""
    if not 0 <= n_faults <= len(FAULTS):
        raise SystemExit(f"--faults must be between 0 and {len(FAULTS)}, the number of distinct fault kinds.")
    rng, kinds = Dice(f"dipkb-faults-{seed}"), list(FAULTS)
    for i in range(len(kinds) - 1, 0, -1):  # Fisher-Yates on random() alone, for the reason Dice gives
        j = rng.below(i + 1)
        kinds[i], kinds[j] = kinds[j], kinds[i]
    return [PlannedFault(k, i * (n_events * 4 // 5) // max(n_faults, 1)) for i, k in enumerate(kinds[:n_faults])]


def inject(pending: list[PlannedFault], ev: Ev, slot: int, world: World, file: str) -> None:
    """Give the event the first due fault that fits it. Runs after all of the event's draws, so a
    faulty KB differs from the clean one of the same seed in the faulty events alone."""
    for fault in pending:
        if fault.start <= slot and fault.kind.applies(ev):
            found = fault.kind.apply(ev, world)
            path, value = found if found else (fault.kind.path, None)
            fault.record = {"focus": full(ev.iri), "kind": fault.kind.name,
                            "shape": "https://w3id.org/dipkb/shapes#" + fault.kind.shape,
                            "path": full(path) if path else None, "value": full(value) if value else None,
                            "file": file}
            pending.remove(fault)
            return


# -------------------------------------------------------------------------------------------- output

class Writer:
    """Turtle grouped by subject as in kb/*.ttl, or N-Triples; counts the triples it writes."""

    def __init__(self, fmt: str):
        self.ntriples, self.triples = fmt == "ntriples", 0
        self.suffix = ".nt" if self.ntriples else ".ttl"
        self.header = "" if self.ntriples else "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in NS.items()) + "\n"
        self._iris = {"a": "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"}
        self._integer = f"<{NS['xsd']}integer>"

    def iri(self, curie: str) -> str:
        found = self._iris.get(curie)
        if found is None:
            found = f"<{full(curie)}>"
            if not curie.startswith(("event:", "source:")):  # each is used a few times: caching them cost 300 MB at 1M
                self._iris[curie] = found
        return found

    def term(self, obj: str) -> str:
        if obj[0] == '"':  # "..."@en stays; "..."^^xsd:date gets its datatype IRI
            close = obj.rindex('"')
            if close == len(obj) - 1 or obj[close + 1] == "@":
                return obj
            return obj[:close + 3] + self.iri(obj[close + 3:])
        if obj[0] in "-0123456789":  # a bare Turtle integer
            return f'"{obj}"^^{self._integer}'
        return self.iri(obj)

    def block(self, subject: str, props: list[tuple[str, str]]) -> str:
        self.triples += len(props)
        if self.ntriples:
            s = self.iri(subject)
            return "".join(f"{s} {self.iri(p)} {self.term(o)} .\n" for p, o in props)
        parts, previous = [], None
        for p, o in props:
            if p == previous:
                parts[-1] += ", " + o
            else:
                parts.append(f"{p} {o}")
                previous = p
        return f"{subject} " + " ;\n    ".join(parts) + " .\n\n"


@dataclass(frozen=True)
class Options:
    events: int
    out: Path
    seed: int = 1
    faults: int = 0
    fmt: str = "turtle"
    overwrite: bool = False
    states: int = 200


def prepare(kb: Path, overwrite: bool) -> None:
    """Refuse to mix with an earlier KB: a stale events file would silently join the new one."""
    kb.mkdir(parents=True, exist_ok=True)
    present = sorted(p for p in kb.iterdir() if not p.name.startswith("."))
    if present and not overwrite:
        raise SystemExit(f"{kb} is not empty: choose a new --out or pass --overwrite.")
    for path in present:
        if path.suffix in (".ttl", ".nt") and path.name.startswith(("actors.", "places.", "events-", "sources-")):
            path.unlink()
    left = sorted(p.name for p in kb.iterdir() if not p.name.startswith("."))
    if left:
        raise SystemExit(f"{kb} holds files the generator did not write ({', '.join(left[:3])}): remove them.")


def generate(opts: Options) -> dict:
    """Write the KB and faults.json under ``opts.out``; return the summary main() prints."""
    if opts.events < 1:
        raise SystemExit("--events must be at least 1.")
    if opts.states < 3:
        raise SystemExit("--states must be at least 3: some events involve three states.")
    seed, n = str(opts.seed), opts.events
    world, writer, kb = build_world(seed, opts.states), Writer(opts.fmt), opts.out / "kb"
    faults = plan_faults(seed, opts.faults, n)
    prepare(kb, opts.overwrite)
    files: list[str] = []

    def write(name: str, text: str) -> str:
        (kb / f"{name}{writer.suffix}").write_text(text, encoding="utf-8", newline="\n")
        files.append(f"kb/{name}{writer.suffix}")
        return files[-1]

    write("actors", writer.header + "".join(writer.block(s, p) for s, p in world.actors_ttl))
    write("places", writer.header + "".join(writer.block(s, p) for s, p in world.places_ttl))
    pending = list(faults)
    tracked: dict[str, list] = {world.actors[world.kits[0].state].iri: []}  # the most popular state
    for chunk in range((n + CHUNK - 1) // CHUNK):
        g = Gen(world, Dice(f"dipkb-events-{seed}-{chunk}"), chunk)
        slot, end, blocks = chunk * CHUNK, min(n, chunk * CHUNK + CHUNK), [writer.header]
        name = f"events-{chunk + 1:05d}"
        while slot < end:
            kind = g.rng.weighted(ANY_KIND if end - slot >= 2 else SINGLE_KIND)  # a pair stays in one file
            a = g.state()
            ev = Ev(slot + 1, kind, a)
            KINDS[kind][0](g, ev, a, g.state(a))
            ref = min(LAST, max(FIRST, FIRST + slot * (LAST - FIRST) // n + g.rng.below(41) - 20))
            set_time(g, ev, g.rng.weighted(STYLE_OF_MODALITY.get(ev.modality) or KINDS[kind][2]), ref)
            cite(g, ev)
            if ev.prop:  # what a claim claims holds no later than the claim; an assessment's, when assessed
                _, lexical, datatype = ev.times[0]
                ev.prop.times = [("latestDate", lexical, datatype)] if kind == "Claim" else list(ev.times)
                ev.prop.sources = list(ev.sources)
            inject(pending, ev, slot, world, f"kb/{name}{writer.suffix}")
            if slot == 0:  # so that even a tiny KB names an actor with events
                tracked.setdefault(next((o for p, o in ev.roles if p in ROLES and o.startswith("actor:")), ""), [])
            for e in (ev, ev.prop) if ev.prop else (ev,):
                blocks.append(writer.block(e.iri, props_of(e)))
                for actor, spans in tracked.items():
                    if any(o == actor for p, o in e.roles if p in ROLES):
                        spans.append(day_bounds(e))
            blocks += [writer.block(s, p) for s, p in ev.inline]
            slot += 2 if ev.prop else 1
        write(name, "".join(blocks))
        write(f"sources-{chunk + 1:05d}", writer.header + "".join(writer.block(s.iri, s.props) for s in g.sources))
    if pending:
        raise SystemExit(f"Too few events to place {len(pending)} of the {opts.faults} faults: generate more.")
    records = [f.record for f in faults]
    (opts.out / "faults.json").write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    window = next((timeline_window(world, a, s) for a, s in tracked.items() if any(lo for lo, _ in s)), None)
    if window is None:
        raise SystemExit("Too few events to name an actor with a dated event: generate more.")
    return {**window, "events": n, "triples": writer.triples, "seed": opts.seed, "faults": opts.faults,
            "format": opts.fmt, "files": files}


def timeline_window(world: World, actor: str, spans: list) -> dict:
    """Three months around the actor's middle event, and how many of its events the index files in
    them: first day not after the window's end, last day (if any) not before its start."""
    dated = [(low, high) for low, high in spans if low]
    anchor = dated[len(dated) // 2][0].toordinal()
    start = date.fromordinal(month_bounds(month_bounds(anchor)[0] - 1)[0])
    end = date.fromordinal(month_bounds(month_bounds(anchor)[1] + 1)[1])
    count = sum(1 for low, high in dated if low <= end and (high is None or high >= start))
    label = next(a.label for a in world.actors if a.iri == actor)
    return {"actor": label, "actor_iri": full(actor), "from": start.isoformat()[:7], "to": end.isoformat()[:7],
            "timeline_events": count}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, required=True, help="number of events (a claim's proposition is one)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", type=int, default=0, help=f"inject K faults of distinct kinds (0..{len(FAULTS)})")
    parser.add_argument("--format", dest="fmt", choices=["turtle", "ntriples"], default="turtle")
    parser.add_argument("--out", type=Path, required=True, help="the KB directory to write")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an earlier run in --out")
    parser.add_argument("--states", type=int, default=200,
                        help="states in the world, with their bodies, office holders and places (at least 3)")
    args = parser.parse_args(argv)
    summary = generate(Options(args.events, args.out, args.seed, args.faults, args.fmt, args.overwrite, args.states))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"actor: {summary['actor']}")
    print(f"from: {summary['from']} to: {summary['to']}")
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
