"""Benchmark `dipkb serve` over loopback, each figure against its reference in the same run.

    python bench/serve_bench.py --events 100000

1. ``/api/timeline`` on the bundled KB (a copy in bench/out): median warm latency, target ≤ 30 ms;
   a SPARQL SELECT of the same events beside it.
2. SPARQL SELECTs over HTTP on a generated KB (bench/generate.py; ``--events``) against the same
   query run in-process (``KnowledgeBase.query`` and the same JSON serialisation), runs interleaved so
   that both see the same load: target within 50 ms.
3. The load test's shape (tests/test_serve_load.py): 20 clients × 100 queries on the bundled KB,
   per-request latency p50/p95/p99 and the throughput.

Prints a Markdown section for bench/RESULTS.md and writes bench/out/results-serve.json.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DIPKB, OUT, REPO  # noqa: E402

from pyoxigraph import QueryResultsFormat  # noqa: E402

from dipkb.store.kb import KnowledgeBase  # noqa: E402

LOAD_CLIENTS, LOAD_QUERIES = 20, 100
LOAD_MIX = [  # as in tests/test_serve_load.py
    ("SELECT ?e ?label ?date WHERE { ?e a dip:Meeting ; rdfs:label ?label OPTIONAL { ?e dip:date ?date } } ORDER BY ?e",
     "application/sparql-results+json"),
    ("SELECT ?type (COUNT(?e) AS ?n) WHERE { ?e a ?type ; dip:source ?s } GROUP BY ?type ORDER BY ?type", "text/csv"),
    ("ASK { event:kabulov-taliban-meeting-2021-07 dip:place place:moscow }", "application/sparql-results+xml"),
    ("CONSTRUCT { ?e dip:place ?p } WHERE { ?e dip:place ?p }", "text/turtle"),
]
RUSSIA_JULY = ("SELECT ?e ?label ?date WHERE { ?e dip:participant actor:russia ; rdfs:label ?label ; dip:date ?date "
               'FILTER(STR(?date) >= "2021-07" && STR(?date) < "2021-08") } ORDER BY ?e')


@contextmanager
def serving(root: Path, *options: str) -> Iterator[str]:
    """`dipkb serve` on a free loopback port; its base URL."""
    process = subprocess.Popen([*DIPKB, "--kb", str(root), "serve", "--port", "0", *options], cwd=REPO,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if match := re.search(r"at (http://127\.0\.0\.1:\d+)/", line):
                url = match[1]
                break
        else:
            raise SystemExit("dipkb serve did not start")
        threading.Thread(target=process.stderr.read, daemon=True).start()
        Client(url).get("/sparql?query=ASK%7B%7D")  # answers once the query workers are up
        yield url
    finally:
        process.terminate()
        process.wait(30)


class Client:
    """One keep-alive connection, as a browser or a SPARQLWrapper session holds; or, ``fresh``, a new
    connection per request, as curl makes."""

    def __init__(self, url: str, fresh: bool = False):
        address = urlsplit(url)
        self.fresh = fresh
        self.connect = lambda: http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        self.connection = self.connect()

    def get(self, path: str, accept: str = "*/*") -> tuple[int, bytes, float]:
        started = time.perf_counter()
        if self.fresh:
            self.connection = self.connect()
        self.connection.request("GET", path, headers={"Accept": accept, **({"Connection": "close"} if self.fresh else {})})
        response = self.connection.getresponse()
        body = response.read()
        if self.fresh:
            self.connection.close()
        return response.status, body, time.perf_counter() - started


def sparql_path(query: str) -> str:
    return "/sparql?" + urlencode({"query": query})


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def warm_latency(url: str, path: str, runs: int, accept: str = "*/*") -> dict:
    """Median and p95 over ``runs`` requests after ten to warm up, on one keep-alive connection and
    on a new connection each."""
    figures: dict = {"path": path, "runs": runs}
    for mode, client in (("keep_alive", Client(url)), ("fresh", Client(url, fresh=True))):
        status, body, _ = client.get(path, accept)
        for _ in range(10):
            client.get(path, accept)
        times = [client.get(path, accept)[2] for _ in range(runs)]
        figures.update({"status": status, "bytes": len(body), f"{mode}_median_ms": ms(statistics.median(times)),
                        f"{mode}_p95_ms": ms(quantile(times, 0.95))})
    return figures


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bundled_copy() -> Path:
    directory = OUT / "serve-bundled"
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(REPO / "kb", directory / "kb", ignore=shutil.ignore_patterns(".dipkb*", "imports"))
    shutil.copytree(REPO / "queries", directory / "queries")
    shutil.copy2(REPO / ".dipkb-kb", directory / ".dipkb-kb")
    return directory


def timeline_figures(url: str, runs: int) -> dict:
    api = "/api/timeline?" + urlencode({"actor": "Russia", "from": "2021-07", "to": "2021-07"})
    figures = {"api_timeline": warm_latency(url, api, runs),
               "sparql_select": warm_latency(url, sparql_path(RUSSIA_JULY), runs)}
    if figures["api_timeline"]["status"] != 200:
        figures["api_timeline"]["note"] = "the route did not answer 200: not measured"
    return figures


def generated(events: int) -> tuple[Path, dict, dict]:
    """The generated KB (made once, with its index), its summary and what making it took."""
    directory = OUT / f"serve-kb-{events}"
    summary, timings = directory / "summary.json", {}
    if not summary.exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--events", str(events), "--out",
                        str(directory), "--overwrite"], check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        timings["generate_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    subprocess.run([*DIPKB, "--kb", str(directory), "index"], check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    timings["index_s"] = round(time.perf_counter() - started, 1)
    return directory, json.loads(summary.read_text()), timings


def large_queries(summary: dict) -> dict[str, str]:
    actor = f"<{summary['actor_iri']}>"
    return {
        "100 meetings with labels": "SELECT ?e ?label WHERE { ?e a dip:Meeting ; rdfs:label ?label } LIMIT 100",
        f"the actor's events in {summary['from']}..{summary['to']}":
            f"SELECT ?e ?label ?date WHERE {{ ?e dip:participant {actor} ; rdfs:label ?label ; dip:date ?date "
            f'FILTER(STR(?date) >= "{summary["from"]}" && STR(?date) <= "{summary["to"]}~") }} ORDER BY ?date',
        "5,000 rows (event, type, label)":
            "SELECT ?e ?type ?label WHERE { ?e a ?type ; rdfs:label ?label ; dip:source ?s } LIMIT 5000",
    }


def http_against_in_process(url: str, root: Path, summary: dict, runs: int, fresh: bool) -> list[dict]:
    client = Client(url, fresh)
    rows = []
    with KnowledgeBase.open(root, progress=False) as kb:
        for name, query in large_queries(summary).items():
            path = sparql_path(query)
            status, body, _ = client.get(path, "application/sparql-results+json")
            if status != 200:
                raise SystemExit(f"{name}: HTTP {status}: {body[:300]!r}")
            local = kb.query(query).serialize(format=QueryResultsFormat.JSON)
            if json.loads(local) != json.loads(body):
                raise SystemExit(f"{name}: the endpoint's answer differs from the in-process one")
            over_http, in_process = [], []
            for _ in range(runs):  # interleaved, so that both see the same load
                over_http.append(client.get(path, "application/sparql-results+json")[2])
                started = time.perf_counter()
                kb.query(query).serialize(format=QueryResultsFormat.JSON)
                in_process.append(time.perf_counter() - started)
            http_ms, local_ms = ms(statistics.median(over_http)), ms(statistics.median(in_process))
            rows.append({"query": name, "connection": "new per request" if fresh else "keep-alive", "rows": len(json.loads(body)["results"]["bindings"]), "bytes": len(body),
                         "http_median_ms": http_ms, "in_process_median_ms": local_ms,
                         "difference_ms": round(http_ms - local_ms, 2), "runs": runs})
    return rows


def load(url: str) -> dict:
    reference = {query: Client(url).get(sparql_path(query), accept)[1] for query, accept in LOAD_MIX}
    latencies: list[list[float]] = [[] for _ in range(LOAD_CLIENTS)]
    errors: list[str] = []

    def client_run(number: int) -> None:
        client = Client(url)
        for n in range(LOAD_QUERIES):
            query, accept = LOAD_MIX[n % len(LOAD_MIX)]
            try:
                status, body, seconds = client.get(sparql_path(query), accept)
            except (OSError, http.client.HTTPException) as error:
                errors.append(repr(error))
                client = Client(url)
                continue
            if status != 200 or body != reference[query]:
                errors.append(f"HTTP {status}")
            latencies[number].append(seconds)

    threads = [threading.Thread(target=client_run, args=(n,), daemon=True) for n in range(LOAD_CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    elapsed = time.perf_counter() - started
    every = [s for client in latencies for s in client]
    return {"clients": LOAD_CLIENTS, "queries_each": LOAD_QUERIES, "answered": len(every), "errors": len(errors),
            "p50_ms": ms(quantile(every, 0.50)), "p95_ms": ms(quantile(every, 0.95)),
            "p99_ms": ms(quantile(every, 0.99)), "max_ms": ms(max(every)), "wall_s": round(elapsed, 2),
            "queries_per_s": round(len(every) / elapsed)}


def markdown(result: dict, command: str) -> str:
    timeline, large, loaded = result["timeline"], result["large"], result["load"]
    lines = [f"## `dipkb serve` (`{command}`)", "",
             f"{result['date']}, {result['machine']}, Python {result['python']}; a real `dipkb serve` (2 query workers) "
             "on 127.0.0.1, latency from request to last byte, on one keep-alive connection and on a new "
             "connection per request.", "",
             "| measure | keep-alive median ms (p95) | new connection median ms (p95) | target | |",
             "| --- | ---: | ---: | --- | --- |"]
    for name, figures, target in (
            ("`/api/timeline?actor=Russia&from=2021-07&to=2021-07` (bundled KB)", timeline["api_timeline"], 30),
            ("`/sparql` SELECT of Russia's July 2021 events (bundled KB)", timeline["sparql_select"], None)):
        if figures["status"] != 200:
            lines.append(f"| {name} | | | | not measured: HTTP {figures['status']} |")
            continue
        verdict = "" if target is None else ", ".join(
            f"{mode}: {'met' if figures[f'{mode}_median_ms'] <= target else '**missed**'}" for mode in ("keep_alive", "fresh"))
        lines.append(f"| {name} | {figures['keep_alive_median_ms']} ({figures['keep_alive_p95_ms']}) | "
                     f"{figures['fresh_median_ms']} ({figures['fresh_p95_ms']}) | {f'≤ {target} ms' if target else ''} "
                     f"| {verdict} |")
    made = result["generated"]
    making = (f"{made['generate_s']} s to generate, " if "generate_s" in made else "generated by an earlier run, ")
    lines += ["", f"SPARQL over HTTP against the same query in-process (`KnowledgeBase.query` + JSON), "
              f"{result['events']:,} generated events ({making}{made['index_s']} s for `dipkb index` on it), "
              f"{large[0]['runs']} interleaved runs each; target: within 50 ms.", "",
              "| query | connection | rows | bytes | HTTP median ms | in-process median ms | difference ms | |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for row in large:
        lines.append(f"| {row['query']} | {row['connection']} | {row['rows']:,} | {row['bytes']:,} | "
                     f"{row['http_median_ms']} | {row['in_process_median_ms']} | {row['difference_ms']} | "
                     f"{'met' if row['difference_ms'] <= 50 else '**missed**'} |")
    lines += ["", f"Load (tests/test_serve_load.py's mix: a SELECT, an aggregate, an ASK, a CONSTRUCT; keep-alive): "
              f"{loaded['clients']} clients × {loaded['queries_each']} queries, {loaded['answered']:,} answered, "
              f"{loaded['errors']} errors, {loaded['wall_s']} s, {loaded['queries_per_s']} queries/s; latency p50 "
              f"{loaded['p50_ms']} ms, p95 {loaded['p95_ms']} ms, p99 {loaded['p99_ms']} ms, max {loaded['max_ms']} ms.",
              ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="size of the generated KB")
    parser.add_argument("--runs", type=int, default=200, help="timed requests per latency figure")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    result = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "python": platform.python_version(), "events": args.events}
    bundled = bundled_copy()
    with serving(bundled) as url:
        result["timeline"] = timeline_figures(url, args.runs)
        result["load"] = load(url)
    root, summary, result["generated"] = generated(args.events)
    with serving(root) as url:
        result["large"] = [row for fresh in (False, True)
                           for row in http_against_in_process(url, root, summary, max(20, args.runs // 4), fresh)]
    (OUT / "results-serve.json").write_text(json.dumps(result, indent=2))
    print(markdown(result, "python bench/serve_bench.py " + " ".join(sys.argv[1:])).rstrip())


if __name__ == "__main__":
    main()
