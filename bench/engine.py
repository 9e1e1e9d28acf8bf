"""The engine's own tools on the files dipkb indexes, timed as run.py times dipkb, and the ratios.

Issue 14 asks how far dipkb is from Oxigraph itself: `oxigraph load` of the same files, `optimize`,
`dump`. dipkb stores each file in its own named graph; `oxigraph load --graph G` names one graph for
every file of an invocation (the option may not be repeated), so the named-graph variant first turns
each file into N-Quads in its graph with `oxigraph convert --to-graph` (timed apart, as preparation),
into one batch per core, and loads those batches. A third variant loads everything dipkb's index
stores, the files' graphs and the graphs derived from them, from the engine's own dump of that index
(the dump timed apart): the engine's time for the quads dipkb writes, without the deriving.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from timing import REPO, Measure, measure

OXIGRAPH = str(Path(sys.executable).parent / "oxigraph")
LOAD = "oxigraph load (the same files, default graph)"
OPTIMIZE = "oxigraph optimize (that store)"
DUMP = "oxigraph dump (that store, N-Quads)"
CONVERT = "oxigraph convert: each file to N-Quads in its graph (preparation)"
LOAD_NAMED = "oxigraph load (a named graph per file, N-Quads batches)"
OPTIMIZE_NAMED = "oxigraph optimize (that store, named graphs)"
DUMP_INDEX = "oxigraph dump of dipkb's index, derived graphs included (preparation)"
LOAD_INDEXED = "oxigraph load (everything dipkb's index stores: that dump)"
OPTIMIZE_INDEXED = "oxigraph optimize (that store, dipkb's quads)"
ENGINE_COMMANDS = ("the engine ran `oxigraph load --location STORE --base BASE --file` with every KB and "
                   "ontology file `dipkb index` loads, `oxigraph optimize --location STORE`, `oxigraph dump "
                   "--location STORE --file dump.nq`; for the named graphs, `oxigraph convert --from-file F "
                   "--from-base BASE --to-graph urn:dipkb:file:kb/F --to-format nq` of each file into one "
                   "batch per core, then `oxigraph load --file batch-*.nq` and `optimize`; for what the index "
                   "stores, `oxigraph dump --location INDEX --file index.nq` of dipkb's index once built, then "
                   "`oxigraph load --file index.nq` and `optimize` (BASE: the base IRI dipkb parses its files with).")

# Run as its own process so that measure() times it like any other step, with the peak RSS of the
# largest child (wait4 reports the maximum over waited-for descendants). One thread per batch.
_CONVERT_SCRIPT = r'''
import json, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
plan = json.load(open(sys.argv[1]))
def convert(batch):
    with open(batch["out"], "wb") as out:
        for graph, path in batch["files"]:
            subprocess.run([plan["oxigraph"], "convert", "--from-file", path, "--from-base", plan["base"],
                            "--to-graph", graph, "--to-format", "nq"], stdout=out, check=True)
with ThreadPoolExecutor(len(plan["batches"])) as pool:
    list(pool.map(convert, plan["batches"]))
'''


@dataclass(frozen=True)
class Ratio:
    """dipkb's median time over the engine's for the same work."""

    name: str
    dipkb_seconds: float
    engine_seconds: float

    @property
    def ratio(self) -> float:
        return self.dipkb_seconds / self.engine_seconds if self.engine_seconds else float("nan")


# Asked of dipkb in a process of its own: wait4 reports a child's peak RSS as at least its parent's
# at the fork, and importing dipkb (pyoxigraph) here would lift every row's floor from ~15 to ~34 MB.
_FILES_SCRIPT = r'''
import json, sys
from dipkb.model.namespaces import KB_BASE
from dipkb.store.layout import KBLayout
print(json.dumps({"base": KB_BASE, "files": {g: str(p) for g, p in KBLayout.locate(sys.argv[1]).file_graphs().items()}}))
'''


@dataclass(frozen=True)
class IndexedFiles:
    """Exactly the files `dipkb index` loads (KB and ontology data files), by the graph it loads each
    into, and the base IRI it parses them with."""

    base: str
    by_graph: dict[str, Path]

    @classmethod
    def of(cls, root: Path) -> IndexedFiles:
        found = json.loads(subprocess.run([sys.executable, "-c", _FILES_SCRIPT, str(root)], check=True,
                                          capture_output=True, text=True).stdout)
        return cls(found["base"], {graph: Path(path) for graph, path in found["files"].items()})


def short(path: Path) -> str:
    """A path as short as possible from the repository, where timed() runs commands: 20,000 absolute
    paths would come near the kernel's 2 MiB limit on a command line."""
    return os.path.relpath(path, REPO)


# The store of the index's committed generation, asked of dipkb in a process of its own (as above).
_INDEX_STORE_SCRIPT = r'''
import sys
from pathlib import Path
from dipkb.store.generations import Manifest, store_path
directory = Path(sys.argv[1])
print(store_path(directory, Manifest.load(directory).generation))
'''


def load_command(store: Path, files: IndexedFiles) -> list[str]:
    return [OXIGRAPH, "load", "--location", str(store), "--base", files.base, "--file",
            *map(short, files.by_graph.values())]


def convert_plan(files: IndexedFiles, work: Path, batches: int) -> tuple[Path, list[Path]]:
    """A plan for _CONVERT_SCRIPT: the files dealt into ``batches`` of about equal bytes, largest first."""
    plan = [{"out": str(work / f"batch-{i}.nq"), "files": [], "bytes": 0} for i in range(batches)]
    for graph, path in sorted(files.by_graph.items(), key=lambda item: -item[1].stat().st_size):
        smallest = min(plan, key=lambda b: b["bytes"])
        smallest["files"].append([graph, str(path)])
        smallest["bytes"] += path.stat().st_size
    plan = [b for b in plan if b["files"]]
    target = work / "convert-plan.json"
    target.write_text(json.dumps({"oxigraph": OXIGRAPH, "base": files.base, "batches": plan}))
    return target, [Path(b["out"]) for b in plan]


def engine_measures(root: Path, work: Path, repeat: int) -> list[Measure]:
    """The engine's rows for the KB at ``root``, using ``work`` as scratch (emptied after): the
    named-graph variant, then load and optimize of the files as they are and a dump of that store.
    run.py builds dipkb's index right after: on a machine whose speed drifts, the ratio compares
    builds made minutes apart (20 minutes apart, the 1M ratio of 2026-12-04 came out 7.25x against
    4.04x an hour before)."""
    files = IndexedFiles.of(root)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    plan, batches = convert_plan(files, work, os.cpu_count() or 1)
    named = work / "store-named"
    rows = [
        measure(CONVERT, [sys.executable, "-c", _CONVERT_SCRIPT, str(plan)], 1, engine="oxigraph", ok=(0,)),
        measure(LOAD_NAMED, [OXIGRAPH, "load", "--location", str(named), "--file", *map(short, batches)], 1,
                engine="oxigraph", ok=(0,)),
        measure(OPTIMIZE_NAMED, [OXIGRAPH, "optimize", "--location", str(named)], 1, engine="oxigraph", ok=(0,)),
    ]
    shutil.rmtree(named)
    store, dumped = work / "store", work / "dump.nq"
    rows += [
        measure(LOAD, load_command(store, files), 1, engine="oxigraph", ok=(0,),
                prepare=lambda: shutil.rmtree(store, ignore_errors=True)),
        measure(OPTIMIZE, [OXIGRAPH, "optimize", "--location", str(store)], 1, engine="oxigraph", ok=(0,)),
        measure(DUMP, [OXIGRAPH, "dump", "--location", str(store), "--file", str(dumped)], repeat, engine="oxigraph", ok=(0,),
                prepare=lambda: dumped.unlink(missing_ok=True)),
    ]
    shutil.rmtree(work)
    return rows


def indexed_measures(index: Path, work: Path) -> list[Measure]:
    """The engine loading what dipkb's index at ``index`` (``kb/.dipkb``) stores, from its dump, with
    ``work`` as scratch (emptied after): run right after dipkb's build, for the same machine's speed."""
    store = Path(subprocess.run([sys.executable, "-c", _INDEX_STORE_SCRIPT, str(index)], check=True,
                                capture_output=True, text=True).stdout.strip())
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    dumped, loaded = work / "index.nq", work / "store-indexed"
    rows = [
        measure(DUMP_INDEX, [OXIGRAPH, "dump", "--location", str(store), "--file", str(dumped)], 1,
                engine="oxigraph", ok=(0,)),
        measure(LOAD_INDEXED, [OXIGRAPH, "load", "--location", str(loaded), "--file", str(dumped)], 1,
                engine="oxigraph", ok=(0,)),
        measure(OPTIMIZE_INDEXED, [OXIGRAPH, "optimize", "--location", str(loaded)], 1, engine="oxigraph",
                ok=(0,)),
    ]
    shutil.rmtree(work)
    return rows


def ratios(medians: dict[str, float]) -> list[Ratio]:
    """The issue's ratios, from the medians of one run's rows by operation; those whose rows are missing are left out."""
    wanted = [
        ("index from scratch / (load + optimize), default graph", ["index build from scratch"], [LOAD, OPTIMIZE]),
        ("index from scratch / (load + optimize), a named graph per file (conversion not counted)",
         ["index build from scratch"], [LOAD_NAMED, OPTIMIZE_NAMED]),
        ("index from scratch / (load + optimize), everything the index stores (its dump, dump not counted)",
         ["index build from scratch"], [LOAD_INDEXED, OPTIMIZE_INDEXED]),
        ("export -f turtle / dump", ["export -f turtle"], [DUMP]),
        ("export -f ntriples / dump", ["export -f ntriples"], [DUMP]),
    ]
    return [Ratio(name, sum(medians[o] for o in ours), sum(medians[o] for o in theirs))
            for name, ours, theirs in wanted if all(o in medians for o in ours + theirs)]
