"""dipkb.util.forked: work in a child process that exits without freeing; its answer or error comes back whole."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from dipkb.errors import EndpointError, InternalError, KBSyntaxError, SyntaxProblem
from dipkb.util import forked
from processes import ends_within


def test_the_answer_is_computed_in_another_process_and_what_it_kept_stays_there():
    def work():
        forked.keep_until_exit(bytearray(1 << 20))
        return os.getpid(), len(forked._KEPT)

    pid, kept = forked.in_child(work)
    assert pid != os.getpid()
    assert kept == 1
    assert forked._KEPT == []


@pytest.mark.parametrize("error", [
    KBSyntaxError([SyntaxProblem("kb/a.ttl", 3, 1, "Unexpected token")]),
    EndpointError("http://127.0.0.1:1/sparql answered 503", status=503, detail="busy"),
    InternalError("a condition did not hold"),
    ValueError("plain"),
], ids=lambda e: type(e).__name__)
def test_an_error_in_the_child_is_raised_here_as_it_was(error: Exception):
    def work():
        raise error

    with pytest.raises(type(error)) as caught:
        forked.in_child(work)
    assert str(caught.value) == str(error)
    assert caught.value.__dict__ == error.__dict__


def test_an_error_that_does_not_pickle_becomes_an_internal_error():
    class Local(Exception):  # a local class cannot be pickled
        pass

    def work():
        raise Local("lost")

    with pytest.raises(InternalError, match="could not send back.*lost"):
        forked.in_child(work)


def test_a_child_that_ends_without_answering_is_an_internal_error():
    def work():
        os._exit(3)

    with pytest.raises(InternalError, match="without an answer.*exit code 3"):
        forked.in_child(work)


# A process whose child works for a minute: it prints the child's PID and is killed, as a crash would.
KILLED_WITH_A_CHILD = """
import os, signal, threading, time
from dipkb.util import forked

def work():
    print(os.getpid(), flush=True)
    time.sleep(60)

threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
forked.in_child(work)
"""


def test_a_killed_parent_leaves_no_child_behind():
    result = subprocess.run([sys.executable, "-c", KILLED_WITH_A_CHILD], capture_output=True, text=True, timeout=60)
    assert result.returncode == -signal.SIGKILL, result.stderr[-500:]
    child = int(result.stdout)
    assert ends_within(child, 10)
