"""A killed writer leaves nothing behind.

`dipkb index --rebuild`, `dipkb import` and `dipkb add` run in subprocesses and are killed with
SIGKILL after a random delay (seeded), or the moment their temporary files appear. After each kill
the KB files are byte-identical to before or to a completed run's result, the next command (one that
only reads) answers, and after it no scratch directory, half-built generation, manifest temporary,
hidden temporary file, or file in the writers' TMPDIR remains. Two tests stop a writer where its
temporary files exist, to show that a live writer's files are left alone and a dead one's are not.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import RdfFormat, Store

from dipkb.store.layout import KBLayout
from dipkb.store.writing import FileWrite, write_files
from conftest import kb_snapshot

REPO = Path(__file__).resolve().parent.parent
GENERATE = REPO / "bench" / "generate.py"
CSV = REPO / "tests" / "fixtures" / "invented-events.csv"  # events the KB does not have: the import writes
GDELT = REPO / "tests" / "fixtures" / "gdelt2-20191024143000.export.tsv"
ADD = ["add", "Lavrov meets Jaishankar", "--type", "Meeting", "--participant", "host=Russia",
       "--participant", "visitor=India", "--date", "2021-07-09", "--source", "source:founding-article"]
TRIALS = 5  # random kills per command; each costs a run of the command and of the one after it


@dataclass(frozen=True)
class Trial:
    """One kill and what followed. ``left`` is what the kill left, before the next command cleaned."""

    delay: float  # -1: killed the moment its temporary files appeared
    killed: bool  # False when the command had finished before its delay
    left: tuple[str, ...]
    outcome: str  # "old" or "new"


class Lab:
    """A KB in a directory of the test's own, the writers' TMPDIR beside it, and the checks after a kill."""

    def __init__(self, root: Path, tmp: Path):
        self.root, self.kb = root, KBLayout.locate(root).kb_dir
        self.tmp = tmp
        tmp.mkdir()
        self.env = {**os.environ, "TMPDIR": str(tmp)}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "dipkb", "--kb", str(self.root), *args]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), capture_output=True, text=True, env=self.env, timeout=120)

    def timed(self, *args: str) -> float:
        started = time.monotonic()
        finished = self.run(*args)
        assert finished.returncode == 0, finished.stderr
        return time.monotonic() - started

    def kill_after(self, delay: float, *args: str) -> bool:
        """Run the command and SIGKILL it after ``delay`` seconds; False if it finished first."""
        process = subprocess.Popen(self.command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   env=self.env)
        try:
            _, error = process.communicate(timeout=delay)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return True
        assert process.returncode == 0, error
        return False

    def kill_when(self, appeared: Callable[[], bool], *args: str) -> None:
        """Run the command and SIGKILL it as soon as ``appeared()``; it must not finish first."""
        process = subprocess.Popen(self.command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=self.env)
        while not appeared():
            assert process.poll() is None, "the command finished before the moment it was to be killed at"
            time.sleep(0.001)
        process.kill()
        process.wait()

    def leftovers(self) -> list[str]:
        """Hidden files in kb/ (the index aside); in the index, anything but the committed generation,
        its lock, the manifest and the two write locks; anything in the writers' TMPDIR."""
        found = []
        for directory, subdirectories, names in os.walk(self.kb):
            if Path(directory) == self.kb:
                subdirectories.remove(".dipkb")
            found += [str(Path(directory, n).relative_to(self.kb)) for n in names + subdirectories if n.startswith(".")]
        index = self.kb / ".dipkb"
        generation = json.loads((index / "manifest.json").read_text())["generation"]
        kept = {"manifest.json", "write.lock", "kb-write.lock", f"store-{generation}", f"store-{generation}.lock"}
        found += [f".dipkb/{p.name}" for p in index.iterdir() if p.name not in kept]
        return sorted(found + [f"TMPDIR/{p.name}" for p in self.tmp.iterdir()])

    def after_kill(self, delay: float, killed: bool, old: dict[str, bytes], new: dict[str, bytes]) -> Trial:
        """The checks after a kill: old-or-new files, the next command answers, nothing left after it."""
        left, files = tuple(self.leftovers()), kb_snapshot(self.kb)
        outcome = "old" if files == old else "new" if files == new else "torn"
        assert outcome != "torn", f"the KB files are neither as before nor as after a completed run ({left})"
        answer = self.run("index")
        assert answer.returncode == 0, answer.stderr
        assert self.leftovers() == [], f"left by the kill: {left}; still there after the next command"
        return Trial(round(delay, 2), killed, left, outcome)

    def restore(self, old: dict[str, bytes]) -> None:
        for name in set(kb_snapshot(self.kb)) - set(old):
            (self.kb / name).unlink()
        for name, data in old.items():
            if (self.kb / name).read_bytes() != data:
                (self.kb / name).write_bytes(data)


def delays(seed: int, full: float, first: float, last: float) -> list[float]:
    """TRIALS delays from ``first`` to ``last`` times ``full``, one drawn in each of TRIALS equal slices:
    random, yet spread over the whole run."""
    rng, step = random.Random(seed), (last - first) / TRIALS
    return [(first + (i + rng.random()) * step) * full for i in range(TRIALS)]


def report(command: str, trials: list[Trial]) -> None:
    """The trials, for the record (pytest -s shows them)."""
    killed = [t for t in trials if t.killed]
    print(f"\n{command}: {len(trials)} trials, {len(killed)} killed, "
          f"{sum(t.outcome == 'new' for t in trials)} new, {sum(t.outcome == 'old' for t in trials)} old, "
          f"{sum(bool(t.left) for t in trials)} left something for the next command to clean")
    for trial in trials:
        print(f"  {trial}")


def test_a_killed_rebuild_leaves_nothing_once_the_next_command_ran(tmp_path):
    root = tmp_path / "kb-1500"  # 1.5 MB of Turtle: a rebuild long enough to be killed at many points
    subprocess.run([sys.executable, str(GENERATE), "--events", "1500", "--out", str(root)], check=True,
                   capture_output=True)
    lab = Lab(root, tmp_path / "tmp")
    files = kb_snapshot(lab.kb)
    full = lab.timed("index", "--rebuild")  # the first build; the kills interrupt rebuilds of a committed index
    trials = []
    for delay in delays(5, full, 0.1, 1.05):
        trials.append(lab.after_kill(delay, lab.kill_after(delay, "index", "--rebuild"), files, files))
    # And once at the moment the new generation's store appears: the issue found it left every time.
    assert lab.leftovers() == []
    lab.kill_when(lambda: any(_new_store(name) for name in lab.leftovers()), "index", "--rebuild")
    trials.append(lab.after_kill(-1, True, files, files))
    report("index --rebuild", trials)
    assert any(_new_store(name) for name in trials[-1].left)


def _new_store(leftover: str) -> bool:
    return leftover.startswith(".dipkb/store-") and not leftover.endswith(".lock")


def test_a_killed_import_leaves_the_kb_old_or_new_and_nothing_behind(kb_copy, tmp_path):
    lab = Lab(kb_copy, tmp_path / "tmp")
    lab.timed("index")
    old = kb_snapshot(lab.kb)
    full = lab.timed("import", str(CSV))
    new = kb_snapshot(lab.kb)
    assert new != old
    trials = []
    for delay in delays(6, full, 0.3, 1.1):
        lab.restore(old)
        trials.append(lab.after_kill(delay, lab.kill_after(delay, "import", str(CSV)), old, new))
    # And once while the 1.6 MB a GDELT import writes is in its temporary file, checked before it
    # replaces anything: the issue found such a file left behind.
    lab.restore(old)
    imports = lab.kb / "imports"
    lab.kill_when(lambda: imports.is_dir() and any(p.suffix == ".tmp" for p in imports.iterdir()),
                  "import", str(GDELT))
    trials.append(lab.after_kill(-1, True, old, old))
    report("import", trials)
    assert any(name.startswith("imports/.gdelt2") for name in trials[-1].left)


def test_a_killed_add_leaves_the_kb_old_or_new_and_nothing_behind(kb_copy, tmp_path):
    lab = Lab(kb_copy, tmp_path / "tmp")
    lab.timed("index")
    old = kb_snapshot(lab.kb)
    full = lab.timed(*ADD)
    new = kb_snapshot(lab.kb)
    assert new != old
    trials = []
    for delay in delays(7, full, 0.3, 1.1):
        lab.restore(old)
        trials.append(lab.after_kill(delay, lab.kill_after(delay, *ADD), old, new))
    report("add", trials)


STALLED_WRITER = textwrap.dedent("""
    import sys, time
    from dipkb.store.layout import KBLayout
    from dipkb.store.writing import FileWrite, write_files

    def stall(temporary):  # called once the new content is in its temporary file, before any replace
        print(temporary.name, flush=True)
        time.sleep(120)

    layout = KBLayout.locate(sys.argv[1])
    block = "@prefix ex: <https://example.org/> .\\nex:a ex:p 1 .\\n"
    write_files(layout, [FileWrite(layout.kb_dir / "events-2021.ttl", block)], check=stall)
""")


def stalled(script: str, *args: str) -> tuple[subprocess.Popen, str]:
    """Start ``script`` and wait for the line it prints once it holds a lock and has made its files."""
    process = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line, "the writer stopped before it was ready"
    return process, line


def test_a_live_writers_temporary_file_stays_and_a_dead_ones_goes(kb_copy, tmp_path):
    lab = Lab(kb_copy, tmp_path / "tmp")
    old = kb_snapshot(lab.kb)
    writer, name = stalled(STALLED_WRITER, str(kb_copy))
    temporary = lab.kb / name
    assert temporary.is_file()
    assert lab.run("index").returncode == 0
    assert temporary.is_file()  # its writer holds the lock: a reader leaves the file alone
    writer.kill()
    writer.wait()
    assert lab.run("index").returncode == 0
    assert not temporary.exists() and kb_snapshot(lab.kb) == old  # the reader found the lock free

    writer, name = stalled(STALLED_WRITER, str(kb_copy))
    writer.kill()
    writer.wait()
    layout = KBLayout.locate(kb_copy)
    write_files(layout, [FileWrite(lab.kb / "sources.ttl", "@prefix ex: <https://example.org/> .\nex:b ex:p 2 .\n")])
    assert not (lab.kb / name).exists()  # the next writer, under the lock
    store = Store()
    store.load(path=str(lab.kb / "sources.ttl"), format=RdfFormat.TURTLE)
    assert len(store) > 1


STALLED_INDEX_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from dipkb.store import generations

    directory = Path(sys.argv[1])
    with generations.write_lock(directory, 60, lambda: None):
        # What a refresh has made when it is stopped: its generation, a scratch directory as writers
        # before 2026-12 kept, a manifest being written.
        (directory / "store-99").mkdir()
        (directory / "store-99.scratch").mkdir()
        (directory / "store-99.scratch" / "days.nt").write_text("")
        (directory / ".manifest.json.k1ll3d_9.tmp").write_text("{")
        print("ready", flush=True)
        time.sleep(120)
""")


def test_a_live_index_writers_files_stay_and_a_dead_ones_go(kb_copy, tmp_path):
    lab = Lab(kb_copy, tmp_path / "tmp")
    lab.timed("index")
    index = lab.kb / ".dipkb"
    writer, _ = stalled(STALLED_INDEX_WRITER, str(index))
    assert lab.run("index").returncode == 0  # the index is up to date: a reader need not wait
    assert {"store-99", "store-99.scratch", ".manifest.json.k1ll3d_9.tmp"} <= {p.name for p in index.iterdir()}
    writer.kill()
    writer.wait()
    assert lab.run("index").returncode == 0
    assert lab.leftovers() == []
    shutil.rmtree(index)  # and a reader that finds no index at all builds one, leaving nothing else
    assert lab.run("index").returncode == 0 and lab.leftovers() == []


STALLED_OUTPUT_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from dipkb.util.durable import replacing

    with replacing(Path(sys.argv[1])) as stream:
        stream.write(b"half of an export")
        stream.flush()
        print("ready", flush=True)
        time.sleep(120)
""")


def _temporaries_beside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def test_an_output_writers_temporary_file_goes_with_the_next_write_once_it_died(kb_copy, tmp_path):
    """`export -o` killed at 1 s left 27 MB beside its output, and no later export removed it."""
    out = tmp_path / "all.ttl"
    writer, _ = stalled(STALLED_OUTPUT_WRITER, str(out))
    [live] = _temporaries_beside(out)
    an_hour_ago = time.time() - 3600
    os.utime(live, (an_hour_ago, an_hour_ago))  # old enough to be a dead writer's, were it not locked
    lab = Lab(kb_copy, tmp_path / "tmp")
    assert lab.run("export", "-o", str(out)).returncode == 0
    assert _temporaries_beside(out) == [live]  # its writer holds its lock: another write leaves it alone
    writer.kill()
    writer.wait()
    young = out.parent / f".{out.name}.young123.tmp"  # unlocked, but written a moment ago: maybe not locked yet
    young.write_text("")
    assert lab.run("export", "-o", str(out)).returncode == 0
    assert _temporaries_beside(out) == [young] and out.read_text().startswith("@prefix")


RACING_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from dipkb.util.durable import write_atomically

    for n in range(int(sys.argv[2])):
        write_atomically(Path(sys.argv[1]), b"%d" % n)
""")


def test_writers_of_one_file_at_once_never_delete_each_others_temporary_file(tmp_path):
    """A file is made before its lock is taken: four writers of one file deleted each other's ~100 times in 3,000."""
    target = tmp_path / "manifest.json"
    writers = [subprocess.Popen([sys.executable, "-c", RACING_WRITER, str(target), "300"], stderr=subprocess.PIPE,
                                text=True) for _ in range(3)]
    for writer in writers:
        _, error = writer.communicate(timeout=120)
        assert writer.returncode == 0, error
    assert _temporaries_beside(target) == []
