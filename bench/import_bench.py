"""Benchmark `dipkb import` end to end on the real GDELT sample and on N GDELT-like rows, and the
sample with a mentions file the size of a 15-minute GDELT 2.0 slice.

    python bench/import_bench.py --rows 100000

The N rows are the 2,111-row sample (tests/fixtures) repeated with shifted event IDs and dates, so
every copy is a new event: the importer does the same work per row as on real data. The mentions
are three per event of the sample (6,333 rows; a real 15-minute mentions file holds 5-10k), written in
GDELT 2.0's 16-column layout with web URLs. Each import runs in a fresh `dipkb` process against a
fresh copy of the bundled KB; validation is included.
Results go to bench/out/results-import.json, which `bench/run.py --write-results` renders.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DIPKB, OUT, REPO  # noqa: E402
from timing import Measure, timed  # noqa: E402

SAMPLE = REPO / "tests" / "fixtures" / "gdelt2-20191024143000.export.tsv"


def shifted_rows(rows: int, target: Path) -> Path:
    """The sample repeated: copy k gets event IDs + k*10^9 and dates k days earlier."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    with target.open("w", encoding="utf-8") as out:
        for n in range(rows):
            copy, line = divmod(n, len(lines))
            columns = lines[line].split("\t")
            if copy:
                columns[0] = str(int(columns[0]) + copy * 1_000_000_000)
                day = date(int(columns[1][:4]), int(columns[1][4:6]), int(columns[1][6:8])) - timedelta(days=copy)
                columns[1], columns[2], columns[3] = day.strftime("%Y%m%d"), day.strftime("%Y%m"), str(day.year)
            out.write("\t".join(columns) + "\n")
    return target


def synthetic_mentions(target: Path, per_event: int = 3) -> Path:
    """``per_event`` mentions of each event of the sample, in GDELT 2.0's mentions layout."""
    with target.open("w", encoding="utf-8") as out:
        for line in SAMPLE.read_text(encoding="utf-8").splitlines():
            event_id, added = line.split("\t")[0], line.split("\t")[59]
            for n in range(per_event):
                outlet = f"outlet{n}.example.org"
                out.write("\t".join([event_id, added, added, "1", outlet, f"https://{outlet}/{event_id}/{n}",
                                     str(n + 1), "-1", "54", "37", "1", str(50 + 10 * n), "3012", "-1.5", "",
                                     ""]) + "\n")
    return target


def fresh_kb(name: str) -> Path:
    directory = OUT / name
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(REPO / "kb", directory / "kb", ignore=shutil.ignore_patterns(".dipkb*"))
    return directory


def import_once(label: str, source: Path, target: str, *options: str) -> Measure:
    kb = fresh_kb("import-kb")
    # Build the index first, so the figure is the import itself plus its validation.
    timed([*DIPKB, "--kb", str(kb), "index"])
    seconds, rss, _ = timed([*DIPKB, "--kb", str(kb), "import", str(source), "--format", "gdelt",
                             "--report", str(OUT / f"import-report-{source.stem}.json"), *options])
    return Measure(label, "dipkb", [round(seconds, 3)], round(rss, 1), target=target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    big = shifted_rows(args.rows, OUT / f"gdelt-like-{args.rows}.tsv")
    mentions = synthetic_mentions(OUT / "gdelt-like-mentions.tsv")
    measures = [import_once("import the 2,111-row GDELT sample", SAMPLE, "≤ 5 s"),
                import_once(f"import {args.rows:,} GDELT-like rows", big, "≤ 60 s, ≤ 2 GB at 100k")]
    with_mentions = import_once("import the sample with 6,333 mentions", SAMPLE, "≤ 10 s", "--mentions", str(mentions))
    for m in [*measures, with_mentions]:
        report = json.loads((OUT / f"import-report-{(SAMPLE if 'sample' in m.operation else big).stem}.json").read_text())
        m.note = (f"{report['rows']} rows: {report['imported']} imported, {report['merged']} merged, "
                  f"{report['rejected']} rejected")
        if m is with_mentions:
            joined = report["mentions"]
            m.note += f"; mentions: {joined['rows']} rows, {joined['joined']} joined"
        print(f"{m.operation:<40} {m.median:>8.3f} s {m.peak_rss_mb:>7.0f} MB  {m.note}")
    result = {"events": 0, "triples": 0, "actor": "-", "range": "-", "machine": "", "python": "",
              "kind": "import", "measures": [m.__dict__ | {"median": m.median} for m in [*measures, with_mentions]]}
    (OUT / "results-import.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
