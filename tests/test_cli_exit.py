"""`dipkb` ends without freeing its objects one by one (dipkb.cli.main): everything it wrote must still
arrive, its exit codes stay the documented ones, and a thread still at work is waited for."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from dipkb.cli import cli


def dipkb(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dipkb", *args], capture_output=True, cwd=cwd, timeout=120)


def test_a_long_output_arrives_whole_through_a_pipe(shipped_kb):
    """Every triple of the KB as CSV, much more than a pipe holds: the same bytes as in process."""
    query = ["query", "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o", "-f", "csv"]
    done = dipkb(*query, cwd=shipped_kb)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) > 256 * 1024
    assert done.stdout == CliRunner().invoke(cli, query).stdout_bytes


def test_exit_codes_and_messages_are_kept(shipped_kb, tmp_path):
    timeline = dipkb("timeline", "--actor", "Russia", "-f", "json", cwd=shipped_kb)
    assert timeline.returncode == 0 and timeline.stdout.rstrip().endswith(b"]"), timeline.stderr
    refused = dipkb("timeline", "--from", "2021-13", cwd=shipped_kb)
    assert refused.returncode == 2
    assert refused.stderr.decode().startswith("Error: '2021-13' is not a date") and refused.stderr.count(b"\n") == 1
    faulty = tmp_path / "faulty"
    (faulty / "kb").mkdir(parents=True)
    (faulty / "kb" / "events.ttl").write_text(
        "@prefix dip: <https://w3id.org/dipkb/ontology#> .\n<https://w3id.org/dipkb/kb/event/x> a dip:Meeting .\n")
    findings = dipkb("--kb", str(faulty), "validate", cwd=tmp_path)
    assert findings.returncode == 1, findings.stderr
    assert findings.stdout.endswith(b"4 violations, 1 warning in 1 file.\n")


def test_a_thread_at_work_is_waited_for(tmp_path):
    """A thread the interpreter's exit would wait for is not cut short: the command ends the usual way."""
    written = tmp_path / "written"
    script = textwrap.dedent(f"""
        import sys, threading, time
        from pathlib import Path
        from dipkb.cli import main

        def late():
            time.sleep(0.5)
            Path({str(written)!r}).write_text("done")

        threading.Thread(target=late).start()
        sys.argv = ["dipkb", "--version"]
        main()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith(b"dipkb, version"), done.stderr
    assert written.read_text() == "done"


def test_options_that_would_serve_wrongly_are_refused_or_warned_before_serving(shipped_kb, tmp_path):
    """A blank --host listened on every interface; --query-memory 128 started workers that could not
    start a thread, and every query was said to need too much memory; a --kb link to itself was a
    traceback; --allow-host '*' turned off the DNS rebinding check without a word."""
    for args, message in (
            (["serve", "--host", ""], "Error: --host is empty: give the address to listen on"),
            (["serve", "--query-memory", "128"], "128 is not in the range x>=256"),
            (["serve", "--allow-host", "a:80"], "Error: --allow-host 'a:80': give a host name")):
        refused = dipkb("--kb", str(shipped_kb), *args, cwd=tmp_path)  # in a process: a server, when not refused
        assert refused.returncode == 2 and message in refused.stderr.decode(), refused.stderr
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    looped = dipkb("--kb", str(tmp_path / "a"), "stats", cwd=tmp_path)
    assert looped.returncode == 2
    assert looped.stderr.decode() == f"Error: Knowledge base directory not found: {tmp_path / 'a'} is a symbolic link " \
        "that leads back to itself.\n"
    warned = subprocess.Popen([sys.executable, "-m", "dipkb", "--kb", str(shipped_kb), "serve", "--port", "0",
                               "--allow-host", "*"], stderr=subprocess.PIPE, text=True)
    try:
        first = warned.stderr.readline()
        assert first.startswith("Warning: --allow-host '*' answers requests addressed to any name"), first
        assert warned.stderr.readline().startswith("Serving ")
    finally:
        warned.terminate()
        warned.wait(timeout=30)


def test_serve_run_inside_the_kb_says_where_the_kb_is_not_dot(tmp_path):
    root = tmp_path / "mykb"
    assert dipkb("init", str(root), cwd=tmp_path).returncode == 0
    server = subprocess.Popen([sys.executable, "-m", "dipkb", "serve", "--port", "0"], cwd=root,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr.readline().startswith(f"Serving {root} at http://127.0.0.1:")  # it was "Serving . at"
    finally:
        server.terminate()
        server.wait(timeout=30)
