"""Timing a command as every benchmark here does: a fresh process, wall time from start to exit, and
its peak RSS from wait4 (which counts the largest of the children it waited for, too)."""
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
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                return float("inf"), usage.ru_maxrss / 1024, -9
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            errors.seek(0)
            sys.stderr.write(errors.read().decode(errors="replace"))
            raise SystemExit(f"failed ({code}): {shlex.join(command)}")
    return elapsed, usage.ru_maxrss / 1024, code


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
