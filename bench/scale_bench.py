"""Run dipkb once at scale (default 10,000,000 events): time, peak RSS and disk use of each step.

    python bench/scale_bench.py                                  # 10M events, under bench/out
    python bench/scale_bench.py --events 20000 --out /tmp/scale  # a quick check of the harness

Each step once (the timeline three times), in a fresh process timed end to end with its peak RSS
(timing.timed): generate the KB (N-Triples, 1,000 events a file, as run.py at 1M), `dipkb index` from
scratch, the timeline of the generator's actor and range and the saved query actor-timeline
for the same, `stats`, the saved query events-by-type-and-month, and the refresh after one file changed.
Then, unless --no-engine, `oxigraph load` and `optimize` of the same files (bench/engine.py); that store
takes about as much disk again and is removed once measured. Disk use is allocated blocks, as `du`
counts them; the index's peak while it is built is sampled every 5 s. --format turtle writes a KB about
a third the size of the N-Triples one, for a disk too small for both. Results go to
<out>/scale-results-<N>.json; a markdown table is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sys
import threading
from dataclasses import asdict
from pathlib import Path

from engine import LOAD, OPTIMIZE, OXIGRAPH, IndexedFiles, load_command, ratios
from run import BENCH, DIPKB, OUT, edit_one_label, first_events_file, generate, kb_directory
from timing import measure, write_bytecode

# Rough disk per event, for the check before starting: N-Triples files 1.7 KB, Turtle 0.55 KB
# (bench/README.md); the index at its peak while built ~7 KB (69.7 GB at 10M, 1.8 times its compacted
# size, 2026-12-04); Oxigraph's store of the same files ~2.1 KB at its peak (20.9 GB at 10M, 9.5 GB once
# optimized, 2026-12-05).
KB_BYTES, INDEX_PEAK_BYTES, ENGINE_BYTES = {"ntriples": 1_700, "turtle": 550}, 7_000, 2_100


def disk_bytes(paths: list[Path]) -> int:
    """Allocated bytes of the files, and of everything under the directories, among ``paths``."""
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_blocks * 512
        for folder, _, names in os.walk(path):
            total += sum(os.lstat(os.path.join(folder, name)).st_blocks * 512 for name in names)
    return total


class PeakDisk:
    """The largest allocated size of ``path`` while a step runs, sampled every ``every`` seconds."""

    def __init__(self, path: Path, every: float = 5.0) -> None:
        self.path, self.every, self.peak = path, every, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(self.every):
            self._measure()
        self._measure()

    def _measure(self) -> None:
        try:
            self.peak = max(self.peak, disk_bytes([self.path]))
        except FileNotFoundError:  # RocksDB removed a file between listing and stat
            pass

    def __enter__(self) -> PeakDisk:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def check_disk(out: Path, events: int, fmt: str, engine: bool, present: bool, dipkb: bool = True) -> None:
    """Stop before hours of work if the disk cannot hold what the run writes."""
    needed = events * ((INDEX_PEAK_BYTES if dipkb else 0) + (ENGINE_BYTES if engine else 0)
                       + (0 if present else KB_BYTES[fmt]))
    free = shutil.disk_usage(out).free
    if needed > free:
        hint = ", or pass --no-engine" if engine and dipkb else ""
        raise SystemExit(f"About {needed / 1e9:.0f} GB needed under {out}, {free / 1e9:.0f} GB free: free some space "
                         f"or choose another --out{hint}.")


def run(events: int, out: Path, fmt: str, engine: bool, reuse: bool, engine_timeout: float,
        dipkb: bool = True) -> dict:
    directory = kb_directory(events, out, fmt)
    present = reuse and (directory / "summary.json").exists()
    check_disk(out, events, fmt, engine, present, dipkb)
    rows, disk = [], {}
    if not present:
        rows.append(measure(f"generate ({fmt})", [sys.executable, str(BENCH / "generate.py"), "--events", str(events),
                                                  "--format", fmt, "--out", str(directory), "--overwrite"],
                            1, engine="generator"))
    summary = generate(events, out, fmt)[1]  # the summary just written
    files = IndexedFiles.of(directory)
    disk["KB files"] = disk_bytes([p for g, p in files.by_graph.items() if g.startswith("urn:dipkb:file:kb/")])
    if dipkb:
        rows += dipkb_steps(directory, summary, disk)
    if engine:
        store = out / f"engine-scale-{events}"
        shutil.rmtree(store, ignore_errors=True)
        with PeakDisk(store) as engine_disk:
            rows.append(measure(LOAD, load_command(store, files), 1, engine="oxigraph", ok=(0,), timeout=engine_timeout))
            if rows[-1].note:  # stopped: an unfinished store is not worth optimizing
                rows[-1].note += " (--engine-timeout)"
            else:
                rows.append(measure(OPTIMIZE, [OXIGRAPH, "optimize", "--location", str(store)], 1, engine="oxigraph",
                                    ok=(0,)))
                disk["Oxigraph store of the same files (removed after)"] = disk_bytes([store])
        disk["Oxigraph store at its peak while loaded and optimized (sampled every 5 s)"] = engine_disk.peak
        shutil.rmtree(store, ignore_errors=True)
    against = ratios({m.operation: m.median for m in rows})
    return {
        "events": events, "triples": summary["triples"], "files": len(files.by_graph), "actor": summary["actor"],
        "range": f"{summary['from']}..{summary['to']}", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(), "command": shlex.join(["python", "bench/scale_bench.py", *sys.argv[1:]]),
        "measures": [asdict(m) | {"median": m.median} for m in rows], "disk_bytes": disk,
        "ratios": [asdict(r) | {"ratio": round(r.ratio, 2)} for r in against],
    }


def dipkb_steps(directory: Path, summary: dict, disk: dict[str, int]) -> list:
    """dipkb's steps, timed; the index's size, and its peak while built, go into ``disk``."""
    kb, index = [*DIPKB, "--kb", str(directory)], directory / "kb" / ".dipkb"
    shutil.rmtree(index, ignore_errors=True)
    with PeakDisk(index) as building:
        rows = [measure("index build from scratch", [*kb, "index"], 1)]
    actor, start, end = summary["actor"], summary["from"], summary["to"]
    edited = first_events_file(directory)
    original = edited.read_bytes()
    rows += [
        # Three runs, the first on a cold index: the median is a warm one.
        measure("timeline --actor --from --to", [*kb, "timeline", "--actor", actor, "--from", start, "--to", end], 3),
        measure("query actor-timeline, the same actor and range",
                [*kb, "query", "actor-timeline", "-p", f"actor={actor}", "-p", f"from={start}", "-p", f"to={end}",
                 "-f", "csv"], 1),
        measure("stats", [*kb, "stats"], 1),
        measure("events by type and month", [*kb, "query", "events-by-type-and-month", "-f", "csv"], 1),
        measure("refresh after one 1,000-event file changed", [*kb, "index"], 1,
                prepare=lambda: edit_one_label(edited)),
    ]
    edited.write_bytes(original)
    disk["index (kb/.dipkb)"] = disk_bytes([index])
    disk["index at its peak while built (sampled every 5 s)"] = building.peak
    return rows


def markdown(result: dict) -> str:
    lines = [f"## {result['events']:,} events ({result['triples']:,} triples, {result['files']:,} files loaded)", "",
             (f"`{result['command']}`; timeline actor {result['actor']}, range {result['range']}; "
             f"{result['machine']}, Python {result['python']}."), "",
             "| step | engine | seconds | peak RSS MB | note |", "| --- | --- | ---: | ---: | --- |"]
    lines += [f"| {m['operation']} | {m['engine']} | {m['median']:.1f} | {m['peak_rss_mb']:.0f} | {m['note']} |"
              for m in result["measures"]]
    lines += ["", "| on disk | MB |", "| --- | ---: |"]
    lines += [f"| {name} | {size / 1e6:,.0f} |" for name, size in result["disk_bytes"].items()]
    if result["ratios"]:
        lines += ["", "| dipkb / oxigraph | ratio |", "| --- | ---: |"]
        lines += [f"| {r['name']} | {r['ratio']:.2f}x |" for r in result["ratios"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--out", type=Path, default=OUT, help="where the KB and results go (default bench/out)")
    parser.add_argument("--format", choices=("ntriples", "turtle"), default="ntriples",
                        help="the generated KB's files (default ntriples, as run.py at 1M)")
    parser.add_argument("--no-engine", dest="engine", action="store_false",
                        help="skip oxigraph load + optimize of the same files (they need as much disk again)")
    parser.add_argument("--reuse", action="store_true", help="keep a KB generated earlier instead of generating (and "
                                                             "timing) it again")
    parser.add_argument("--engine-only", action="store_true",
                        help="only the engine's load and optimize, of a KB generated earlier (implies --reuse); "
                             "results go to scale-results-N-engine.json")
    parser.add_argument("--engine-timeout", type=float, default=7200, metavar="SECONDS",
                        help="stop `oxigraph load` after this long (default 7200)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    write_bytecode()
    if args.engine_only and not args.engine:
        parser.error("--engine-only and --no-engine leave nothing to run")
    result = run(args.events, args.out, args.format, args.engine, args.reuse or args.engine_only, args.engine_timeout,
                 dipkb=not args.engine_only)
    name = f"scale-results-{args.events}{'-engine' if args.engine_only else ''}.json"
    (args.out / name).write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))


if __name__ == "__main__":
    main()
