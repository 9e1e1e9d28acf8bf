"""Real SPARQL servers on loopback for the tests of `dipkb push` and `dipkb --endpoint`: Oxigraph
server (the pip package's binary) and OpenLink Virtuoso 7 (Debian's virtuoso-opensource), each with
its data in a temporary directory and its ports free ports of 127.0.0.1; stopped, and waited for,
when the fixture ends. Import the fixtures into a test module: ``from servers import oxigraph``."""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

VIRTUOSO = shutil.which("virtuoso-t")
# Virtuoso's administrator on a fresh database; its /sparql-auth endpoint wants them by Digest.
VIRTUOSO_USER, VIRTUOSO_PASSWORD = "dba", "dba"
_VIRTUOSO_INI = """\
[Database]
DatabaseFile       = {dir}/virtuoso.db
ErrorLogFile       = {dir}/virtuoso.log
LockFile           = {dir}/virtuoso.lck
TransactionFile    = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
Striping           = 0
TempStorage        = TempDatabase
[TempDatabase]
DatabaseFile       = {dir}/virtuoso-temp.db
TransactionFile    = {dir}/virtuoso-temp.trx
[Parameters]
ServerPort         = 127.0.0.1:{sql_port}
DisableUnixSocket  = 1
CaseMode           = 2
DirsAllowed        = {dir}
NumberOfBuffers    = 10000
MaxDirtyBuffers    = 6000
[HTTPServer]
ServerPort         = 127.0.0.1:{http_port}
ServerRoot         = {dir}
ServerThreads      = 10
Charset            = UTF-8
[SPARQL]
ResultSetMaxRows      = 1000000
MaxQueryExecutionTime = 120
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def oxigraph_binary() -> str:
    beside = Path(sys.executable).parent / "oxigraph"  # the pip package's binary, in the venv
    return str(beside) if beside.exists() else shutil.which("oxigraph") or "oxigraph"


@dataclass
class Server:
    """A SPARQL server process. ``query``, ``update`` and ``store`` are its endpoints (``store`` None
    when it has none we use); ``user`` and ``password`` what ``update`` wants."""

    name: str
    command: list[str]
    directory: Path
    query: str
    update: str
    store: str | None = None
    user: str | None = None
    password: str | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, within: float = 60.0) -> None:
        log = open(self.directory / "server.out", "ab")
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                        cwd=self.directory)
        log.close()
        deadline = time.monotonic() + within
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: "
                                   f"{(self.directory / 'server.out').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.query + "?query=ASK%7B%7D", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        """Stop it as a crash would: SIGKILL, no chance to finish what it was doing."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def select(self, query: str) -> list[dict[str, str]]:
        """A SELECT's rows over the protocol, as {variable: value} (values as text, unbound left out)."""
        import json

        request = urllib.request.Request(self.query, data=urllib.parse.urlencode({"query": query}).encode(),
                                         headers={"Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        return [{k: v["value"] for k, v in row.items()} for row in answer["results"]["bindings"]]

    def dipkb_graphs(self) -> dict[str, int]:
        """The KB's graphs on the server, with their sizes."""
        rows = self.select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                           "FILTER(STRSTARTS(STR(?g), 'urn:dipkb:')) } GROUP BY ?g")
        return {row["g"]: int(row["n"]) for row in rows}

    def push_options(self) -> list[str]:
        options = ["--update", self.update]
        if self.user:
            options += ["--user", self.user, "--password", self.password]
        return options


def start_oxigraph(directory: Path) -> Server:
    """Oxigraph server over ``directory``, its default graph the union of all graphs (as dipkb
    --endpoint wants it)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server("oxigraph", [oxigraph_binary(), "serve", "--location", str(directory / "data"), "--bind",
                                 f"127.0.0.1:{port}", "--union-default-graph"],
                    directory, f"{base}/query", f"{base}/update", f"{base}/store")
    server.start()
    return server


def start_virtuoso(directory: Path) -> Server:
    """Virtuoso 7 with a private virtuoso.ini and database in ``directory``, on free loopback ports.
    Updates go to /sparql-auth as its administrator, by HTTP Digest authentication."""
    if VIRTUOSO is None:
        pytest.fail("virtuoso-t is missing: install the Debian package virtuoso-opensource (scripts/test.sh does).")
    http_port, sql_port = free_port(), free_port()
    (directory / "virtuoso.ini").write_text(_VIRTUOSO_INI.format(dir=directory, http_port=http_port,
                                                                 sql_port=sql_port))
    base = f"http://127.0.0.1:{http_port}"
    server = Server("virtuoso", [VIRTUOSO, "-c", str(directory / "virtuoso.ini"), "+foreground"], directory,
                    f"{base}/sparql", f"{base}/sparql-auth", None, VIRTUOSO_USER, VIRTUOSO_PASSWORD)
    server.start()
    return server


@pytest.fixture()
def oxigraph(tmp_path: Path) -> Iterator[Server]:
    """A fresh, empty Oxigraph server for one test."""
    server = start_oxigraph(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A fresh Virtuoso for one test module: it takes seconds to start."""
    server = start_virtuoso(tmp_path_factory.mktemp("virtuoso"))
    try:
        yield server
    finally:
        server.stop()
