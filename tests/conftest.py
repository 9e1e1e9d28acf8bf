"""Fixtures shared by the test modules: a scratch copy of the shipped KB, a way to see it unchanged, and
a session-wide working directory outside the checkout so that no test writes an index into it."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dipkb import KnowledgeBase
from dipkb.store.layout import KBLayout

pytest_plugins = ["servers"]  # fixtures of real SPARQL servers: oxigraph, virtuoso (tests/servers.py)

REPO = Path(__file__).resolve().parent.parent
# The prefixes a hand-written KB file declares, for tests that write one.
TURTLE_PREFIXES = """@prefix dip:    <https://w3id.org/dipkb/ontology#> .
@prefix actor:  <https://w3id.org/dipkb/kb/actor/> .
@prefix event:  <https://w3id.org/dipkb/kb/event/> .
@prefix source: <https://w3id.org/dipkb/kb/source/> .
@prefix dct:    <http://purl.org/dc/terms/> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
"""
# Where a command run in the checkout writes: the KB's directory (its index, lock and temporary files)
# and queries/. The other directories are left out: other work edits them while the suite runs.
WATCHED = ("kb", "queries")
# Written at the root by the test tools themselves.
CACHES = {".pytest_cache", ".hypothesis"}


@pytest.fixture()
def kb_copy(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A directory holding a copy of the shipped kb/ (no imports), for tests that write. No index, unless
    the module is marked ``prebuilt_index``: then a copy of the shipped KB's, which is up to date (files
    are named by their place in the KB, and the copy keeps their mtimes and sizes). Building it took
    half a second in each test that opened the KB."""
    shutil.copytree(REPO / "kb", tmp_path / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    if request.node.get_closest_marker("prebuilt_index"):
        shutil.copytree(request.getfixturevalue("shipped_index"), tmp_path / "kb" / ".dipkb")
    return tmp_path


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped KB's index, built once in each worker."""
    root = tmp_path_factory.mktemp("shipped-index")
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    with KnowledgeBase.open(layout=KBLayout.locate(root), progress=False):
        pass
    return root / "kb" / ".dipkb"


@pytest.fixture()
def layout(kb_copy: Path) -> KBLayout:
    return KBLayout.locate(kb_copy)


def kb_snapshot(root: Path) -> dict[str, bytes]:
    """Every data file under ``root`` with its bytes (the index and lock files are not data), to
    assert that a failed write changed nothing."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)}


@pytest.fixture()
def snapshot() -> Callable[[Path], dict[str, bytes]]:
    return kb_snapshot


def checkout_state(repo: Path) -> dict[str, tuple[int, int]]:
    """The names at the root, and every entry of the watched directories (hidden ones included) with
    its modification time and size: an index built, a lock taken or a file rewritten changes one."""
    state = {name: (0, 0) for name in os.listdir(repo) if name not in CACHES}
    for path in sorted(p for name in WATCHED for p in (repo / name, *(repo / name).rglob("*"))):
        stat = path.stat()
        state[str(path.relative_to(repo))] = (stat.st_mtime_ns, stat.st_size if path.is_file() else 0)
    return state


def state_changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def copy_shipped_kb(destination: Path) -> Path:
    """The repository's kb/ (without its index), queries/, KB marker and the files the README imports
    (examples/, tests/fixtures/), under ``destination``; the ontology is left out, so commands run there use the bundled
    one as they do in the checkout."""
    shutil.copytree(REPO / "kb", destination / "kb", ignore=shutil.ignore_patterns(".dipkb", ".*.tmp"))
    shutil.copytree(REPO / "queries", destination / "queries")
    for data in ("examples", "tests/fixtures"):
        shutil.copytree(REPO / data, destination / data)
    shutil.copy2(REPO / ".dipkb-kb", destination / ".dipkb-kb")
    return destination


@pytest.fixture(scope="session")
def shipped_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped KB that the whole session shares, so that its index is built once."""
    return copy_shipped_kb(tmp_path_factory.mktemp("shipped"))


@pytest.fixture(scope="session", autouse=True)
def run_outside_the_checkout(shipped_kb: Path) -> Iterator[Path]:
    """Every test starts in the copy: commands that find their KB from the working directory (the CLI,
    the README examples, ``KnowledgeBase.open()``) use it, with the same relative paths (``kb/.dipkb``)
    as in the checkout, and never write into the repository. Fails the run if something did anyway."""
    before = checkout_state(REPO)
    previous = Path.cwd()
    saved_env = os.environ.pop("DIPKB_KB", None)
    os.chdir(shipped_kb)
    yield shipped_kb
    os.chdir(previous)
    if saved_env is not None:
        os.environ["DIPKB_KB"] = saved_env
    changed = state_changes(before, checkout_state(REPO))
    assert changed == [], f"the tests wrote into the checkout: {changed}"


@pytest.fixture(autouse=True)
def no_index_in_the_checkout(request) -> Iterator[None]:
    """Names the test that built an index in the checkout's kb/ (the session check above only says that
    one did): a command that found no KB from its working directory falls back to the bundled one, which
    in a checkout is the repository's."""
    index = REPO / "kb" / ".dipkb"
    existed = index.exists()
    yield
    assert existed or not index.exists(), f"{request.node.nodeid} built an index in the checkout: {index}"


@dataclass
class Served:
    """A running `dipkb serve`: its base URL (no trailing slash), the KB directory it serves and what
    it wrote on stderr so far."""

    url: str
    root: Path
    process: subprocess.Popen = field(repr=False)
    stderr: list[str] = field(default_factory=list, repr=False)


_SERVING_LINE = re.compile(r"Serving .* at (http://127\.0\.0\.1:\d+)/")


@contextmanager
def serving(root: Path, *options: str, startup: float = 60.0, endpoint: str | None = None,
            env: dict[str, str] | None = None) -> Iterator[Served]:
    """A real `dipkb serve` process for the KB at ``root`` on a free loopback port (``--port 0``; the
    port is read from its stderr line), ready to answer; stopped, and waited for, on exit. With
    ``endpoint``, it answers from that SPARQL endpoint (``dipkb --endpoint URL serve``); ``env`` is
    added to its environment."""
    remote = ["--endpoint", endpoint] if endpoint else []
    command = [sys.executable, "-m", "dipkb", "--kb", str(root), *remote, "serve", "--port", "0", *options]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=os.environ | (env or {}))
    lines: list[str] = []
    found: list[str] = []
    announced = threading.Event()

    def drain() -> None:  # read stderr to its end, so that the server never blocks on a full pipe
        for line in process.stderr:
            lines.append(line)
            if not found and (match := _SERVING_LINE.search(line)):
                found.append(match[1])
                announced.set()
        announced.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not announced.wait(startup) or not found:
            raise RuntimeError(f"dipkb serve did not start: {''.join(lines)}")
        served = Served(found[0], root, process, lines)
        _wait_until_answering(served, startup)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def _wait_until_answering(served: Served, within: float) -> None:
    """The socket listens as soon as the line is printed; the application answers once its startup
    (the query workers) is done. Any HTTP status means it answers. A server that ends first fails
    at once, with what it wrote."""
    deadline = time.monotonic() + within
    while True:
        try:
            urllib.request.urlopen(served.url + "/sparql?query=ASK%7B%7D", timeout=within).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if served.process.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.5)  # the rest of its stderr
                raise RuntimeError(f"dipkb serve did not answer (exit code {served.process.poll()}): "
                                   f"{''.join(served.stderr)}") from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def served_kb(shipped_kb: Path) -> Iterator[Served]:
    """`dipkb serve` on the session's copy of the shipped KB, shared by the whole session: ``.url``
    (http://127.0.0.1:PORT) and ``.root`` (the KB directory). Tests must not edit that KB; start
    your own with :func:`serving` on ``kb_copy`` for that."""
    with serving(shipped_kb) as served:
        yield served
