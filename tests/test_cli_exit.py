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
