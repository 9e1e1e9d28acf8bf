"""Timing a command as every benchmark here does: a fresh process, wall time from start to exit, and
its peak memory: the larger of its peak RSS from wait4 (which counts the largest of the children it
waited for, too) and the summed PSS of the process and all its descendants, sampled every 0.2 s
(validation and export work in several processes at once; PSS counts the pages a forked child
shares with its parent once)."""
from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Measure:
    operation: str
    engine: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    note: str = ""
    target: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def write_bytecode() -> None:
    """Compile dipkb's modules once, as installing the package does: with PYTHONDONTWRITEBYTECODE set
    (as in this machine's shells) no run writes them, and every measured command compiled the
    package anew: 50-90 ms of a 0.2 s timeline of the bundled KB."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "dipkb")], check=True)


def timed(command: list[str], *, env: dict | None = None, stdout=subprocess.DEVNULL,
          timeout: float | None = None, ok: tuple[int, ...] = (0, 1)) -> tuple[float, float, int]:
    """Run a command; return (wall seconds, peak RSS in MB, exit code). An exit code outside ``ok``
    (by default 1 too: `dipkb validate` exits 1 when it finds violations) stops the benchmark."""
    # stderr to a file, not a pipe nobody reads until the end: `oxigraph load` reports progress there,
    # and a long load would fill the pipe and hang.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=errors, env=env, cwd=REPO)
        deadline = None if timeout is None else started + timeout
        tree_peak, sampled = 0, 0.0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - sampled >= 0.2:
                tree_peak, sampled = max(tree_peak, tree_pss_kb(process.pid)), time.perf_counter()
            if deadline and time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                return float("inf"), max(usage.ru_maxrss, tree_peak) / 1024, -9
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            errors.seek(0)
            sys.stderr.write(errors.read().decode(errors="replace"))
            raise SystemExit(f"failed ({code}): {shlex.join(command)}")
    return elapsed, max(usage.ru_maxrss, tree_peak) / 1024, code


def tree_pss_kb(pid: int) -> int:
    """The summed PSS in kB of a process and its descendants now (0 where /proc cannot tell)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                total += next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):  # a child forked from a thread is the thread's
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except OSError:  # gone meanwhile
            continue
    return total


def measure(operation: str, command: list[str], repeat: int, target: str = "", prepare=None,
            engine: str = "dipkb", timeout: float | None = None, ok: tuple[int, ...] = (0, 1),
            note: str = "") -> Measure:
    result = Measure(operation, engine, note=note, target=target)
    for _ in range(repeat):
        if prepare:
            prepare()
        seconds, rss, code = timed(command, timeout=timeout, ok=ok)
        result.seconds.append(round(seconds, 3))
        result.peak_rss_mb = max(result.peak_rss_mb, round(rss, 1))
        if code == -9:
            result.note = f"stopped after {timeout:.0f} s"
            break
    return result
