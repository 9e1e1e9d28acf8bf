"""Benchmark `dipkb push` and `dipkb --endpoint` against a real Oxigraph server, beside the local
figures and the server's own bulk loader, in the same run.

    python bench/push_bench.py --events 100000
    python bench/push_bench.py --events 1000000 --jobs 2

Steps, each a fresh process timed end to end with its peak RSS (wait4): generate the KB (kept in
bench/out/push-kb-<N> for the next run), build its index, start `oxigraph serve --union-default-graph`
on an empty directory, push it (`dipkb push --update`), push again with nothing changed, push after
one file changed (each with --update and --store: a graph new to the server goes by a Graph Store POST; the
first push also with --update alone, into a fresh server); the timeline of the generator's benchmark actor (the heaviest) and of a median actor
(by events), locally and through `--endpoint`; then the bulk path: `dipkb export --with-derived
--with-ontology -f ntriples` and `oxigraph load` of that file into an empty store. Results go to
bench/out/push-results-<N>.json and are printed as a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
DIPKB = [sys.executable, "-m", "dipkb"]
OXIGRAPH = str(Path(sys.executable).parent / "oxigraph")


def timed(command: list[str], *, stdout=subprocess.DEVNULL) -> tuple[float, float]:
    """Run ``command`` to its end; (wall seconds, peak RSS in MB). A failure stops the benchmark."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}")
    process.stderr.close()
    return elapsed, usage.ru_maxrss / 1024


def repeat(command: list[str], times: int = 3) -> dict:
    runs = [timed(command) for _ in range(times)]
    return {"median_s": round(statistics.median(s for s, _ in runs), 3), "runs_s": [round(s, 3) for s, _ in runs],
            "peak_rss_mb": round(max(r for _, r in runs))}


def once(command: list[str]) -> dict:
    seconds, rss = timed(command)
    return {"median_s": round(seconds, 3), "runs_s": [round(seconds, 3)], "peak_rss_mb": round(rss)}


def median_actor(root: Path) -> str:
    """The actor in the middle of the list of actors by events they take part in."""
    query = "SELECT ?a (COUNT(*) AS ?n) WHERE { ?e dip:participant ?a } GROUP BY ?a ORDER BY ?n ?a"
    output = subprocess.run([*DIPKB, "--kb", str(root), "query", query, "-f", "json"], check=True,
                            capture_output=True).stdout
    rows = json.loads(output)["results"]["bindings"]
    return rows[len(rows) // 2]["a"]["value"]


def start_server(directory: Path, port: int) -> subprocess.Popen:
    shutil.rmtree(directory, ignore_errors=True)
    server = subprocess.Popen([OXIGRAPH, "serve", "--location", str(directory), "--bind", f"127.0.0.1:{port}",
                               "--union-default-graph"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", timeout=1).close()
            return server
        except OSError:
            time.sleep(0.05)
    sys.exit("oxigraph serve did not start")


def run(events: int, jobs: int, port: int, update_only: bool = True) -> dict:
    root = OUT / f"push-kb-{events}"
    results: dict = {"events": events, "jobs": jobs}
    if not (root / "summary.json").exists():
        results["generate"] = once([sys.executable, str(BENCH / "generate.py"), "--events", str(events),
                                    "--seed", "1", "--out", str(root), "--overwrite"])
    summary = json.loads((root / "summary.json").read_text())
    shutil.rmtree(root / "kb" / ".dipkb", ignore_errors=True)
    results["index build"] = once([*DIPKB, "--kb", str(root), "index"])
    results["triples in the files"] = summary["triples"]
    server = start_server(OUT / f"push-oxigraph-{events}", port)
    endpoint = f"http://127.0.0.1:{port}"
    push = [*DIPKB, "--kb", str(root), "push", "--update", f"{endpoint}/update", "--store", f"{endpoint}/store",
            "--jobs", str(jobs)]
    try:
        # Through SPARQL Update alone (what Virtuoso gets), then into a fresh server with both endpoints.
        if update_only:
            results["push (empty server, --update only)"] = once(push[:push.index("--store")] + ["--jobs", str(jobs)])
            server.terminate()
            server.wait()
            server = start_server(OUT / f"push-oxigraph-{events}", port)
        results["push (empty server)"] = once(push)
        results["push (nothing changed)"] = repeat(push)
        changed = root / "kb" / "events-00001.ttl"
        changed.write_text(changed.read_text() + "\n")  # a new hash, the same triples
        results["push (one file changed)"] = once(push)
        dates = ["--from", summary["from"], "--to", summary["to"]]
        actors = {"heaviest": summary["actor_iri"], "median": median_actor(root)}
        results["actors"] = actors
        for name, actor in actors.items():
            timeline = ["timeline", "--actor", actor, *dates]
            results[f"timeline, {name} actor, local"] = repeat([*DIPKB, "--kb", str(root), *timeline])
            results[f"timeline, {name} actor, --endpoint"] = repeat(
                [*DIPKB, "--kb", str(root), "--endpoint", f"{endpoint}/query", *timeline])
            rows = subprocess.run([*DIPKB, "--kb", str(root), *timeline, "-f", "json"], check=True,
                                  capture_output=True).stdout
            results[f"timeline, {name} actor, rows"] = len(json.loads(rows))
    finally:
        server.terminate()
        server.wait()
    dump = OUT / f"push-export-{events}.nt"
    results["export --with-derived --with-ontology -f ntriples"] = once(
        [*DIPKB, "--kb", str(root), "export", "--with-derived", "--with-ontology", "-o", str(dump)])
    store = OUT / f"push-oxigraph-load-{events}"
    shutil.rmtree(store, ignore_errors=True)
    results["oxigraph load (that file)"] = once([OXIGRAPH, "load", "--location", str(store), "--file", str(dump)])
    results["ratio push / oxigraph load"] = round(
        results["push (empty server)"]["median_s"] / results["oxigraph load (that file)"]["median_s"], 2)
    shutil.rmtree(store, ignore_errors=True)
    dump.unlink()
    shutil.rmtree(OUT / f"push-oxigraph-{events}", ignore_errors=True)
    return results


def table(results: dict) -> str:
    lines = ["| step | median s | runs (s) | peak RSS MB |", "| --- | ---: | --- | ---: |"]
    for step, value in results.items():
        if isinstance(value, dict) and "median_s" in value:
            runs = ", ".join(f"{s:.2f}" for s in value["runs_s"])
            lines.append(f"| {step} | {value['median_s']:.2f} | {runs} | {value['peak_rss_mb']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--jobs", type=int, default=2, help="`dipkb push --jobs` (Oxigraph: 2 on two cores)")
    parser.add_argument("--port", type=int, default=17878)
    parser.add_argument("--no-update-only", dest="update_only", action="store_false",
                        help="Skip the first push through SPARQL Update alone (10 min at 1M).")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    results = run(args.events, args.jobs, args.port, args.update_only)
    (OUT / f"push-results-{args.events}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if not isinstance(v, dict) or "median_s" not in v}, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
