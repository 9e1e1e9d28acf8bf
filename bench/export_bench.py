"""Benchmark streaming output: `dipkb export` beside Oxigraph's own dump, and `dipkb query` of every
triple in each row format, in the same run.

    python bench/export_bench.py                      # the generated 100k KB, bench/out/kb-100000
    python bench/export_bench.py --events 1000000

Each step is a fresh process timed end to end with its peak RSS (wait4, see run.timed). The engine's
side: `oxigraph load` of the KB's files into an empty store, `oxigraph optimize`, and `oxigraph
dump` of it to N-Quads (the same triples as a plain export), and `oxigraph dump` of dipkb's own index (the same quads as
`export -f nquads --with-derived`, plus the ontology's). A CONSTRUCT of every triple is written sorted,
as the export writes, in Turtle and JSON-LD. The ratios printed are dipkb's time over
the engine's dump of the same content. `export (spilling)` runs the export with a 16 MiB sorting
bound, so that a 100k KB spills and merges as a 1M one does with the default 128 MiB. Results go to
bench/out/export-results-<N>.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run.py sits beside this file
from run import DIPKB, OUT, generate  # noqa: E402
from timing import timed  # noqa: E402

OXIGRAPH = str(Path(sys.executable).parent / "oxigraph")
ALL_TRIPLES = "SELECT * WHERE { ?s ?p ?o }"
EVERY_TRIPLE = "CONSTRUCT WHERE { ?s ?p ?o }"
SPILL_BOUND = 16 * 1024 * 1024
SPILLING = [sys.executable, "-c", ("import sys; import dipkb.views.sorting as s; s.MEMORY_BOUND = int(sys.argv.pop(1)); "
                                   "from dipkb.cli import cli; cli(prog_name='dipkb')"), str(SPILL_BOUND)]


def index_store(root: Path) -> Path:
    """The store of the index's current generation (kb/.dipkb/store-<N>)."""
    manifest = json.loads((root / "kb" / ".dipkb" / "manifest.json").read_text())
    return root / "kb" / ".dipkb" / f"store-{manifest['generation']}"


def step(name: str, command: list[str], output: Path | None = None) -> dict:
    seconds, rss, _ = timed(command)
    size = output.stat().st_size if output and output.exists() else 0
    if output:
        output.unlink(missing_ok=True)
    row = {"step": name, "seconds": round(seconds, 2), "peak_rss_mb": round(rss), "bytes": size}
    print(f"{name:<48} {seconds:8.2f} s {rss:8.0f} MB {size / 1e6:10.1f} MB out", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    root, _ = generate(args.events)
    kb = [*DIPKB, "--kb", str(root)]
    timed([*kb, "index"])  # up to date before anything is timed
    files = sorted(str(p) for p in (root / "kb").iterdir() if p.suffix in (".ttl", ".nt") and p.is_file())
    rows = []
    with tempfile.TemporaryDirectory(prefix="export-bench-", dir=OUT) as scratch:
        work = Path(scratch)
        loaded, dumped = work / "loaded", work / "dump.nq"
        rows.append(step("oxigraph load (the KB files)", [OXIGRAPH, "load", "--location", str(loaded), "--file", *files]))
        # Compacted before the dump: two dumps of a store fresh from load took 11 s and 32 s at 100k.
        rows.append(step("oxigraph optimize (that store)", [OXIGRAPH, "optimize", "--location", str(loaded)]))
        rows.append(step("oxigraph dump (that store)", [OXIGRAPH, "dump", "--location", str(loaded), "--file",
                                                        str(dumped)], dumped))
        shutil.rmtree(loaded)
        rows.append(step("oxigraph dump (dipkb's index)", [OXIGRAPH, "dump", "--location", str(index_store(root)),
                                                            "--file", str(dumped)], dumped))
        for name, options, suffix in [("export -f turtle", ["-f", "turtle"], "ttl"),
                                      ("export -f ntriples", ["-f", "ntriples"], "nt"),
                                      ("export -f nquads --with-derived", ["-f", "nquads", "--with-derived"], "nq"),
                                      ("export -f jsonld", ["-f", "jsonld"], "jsonld"),
                                      ("export -f rdfxml", ["-f", "rdfxml"], "rdf")]:
            target = work / f"export.{suffix}"
            rows.append(step(name, [*kb, "export", *options, "-o", str(target)], target))
        target = work / "export.nt"
        rows.append(step("export -f ntriples (spilling, 16 MiB bound)",
                         [*SPILLING, "--kb", str(root), "export", "-f", "ntriples", "-o", str(target)], target))
        for fmt in ("table", "csv", "json"):
            target = work / f"rows.{fmt}"
            rows.append(step(f"query every triple -f {fmt}", [*kb, "query", ALL_TRIPLES, "-f", fmt, "-o", str(target)],
                             target))
        for fmt in ("turtle", "jsonld"):
            target = work / f"graph.{fmt}"
            rows.append(step(f"query CONSTRUCT every triple -f {fmt}",
                             [*kb, "query", EVERY_TRIPLE, "-f", fmt, "-o", str(target)], target))
    by_step = {row["step"]: row["seconds"] for row in rows}
    ratios = {
        "export -f ntriples / oxigraph dump (same files)":
            by_step["export -f ntriples"] / by_step["oxigraph dump (that store)"],
        "export -f nquads --with-derived / oxigraph dump (index)":
            by_step["export -f nquads --with-derived"] / by_step["oxigraph dump (dipkb's index)"],
        "export -f jsonld / oxigraph dump (same files)":
            by_step["export -f jsonld"] / by_step["oxigraph dump (that store)"],
        "export -f rdfxml / oxigraph dump (same files)":
            by_step["export -f rdfxml"] / by_step["oxigraph dump (that store)"],
    }
    for name, ratio in ratios.items():
        print(f"{name:<60} {ratio:.2f}x")
    results = {"events": args.events, "steps": rows, "ratios": {k: round(v, 2) for k, v in ratios.items()}}
    (OUT / f"export-results-{args.events}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
