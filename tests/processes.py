"""Helpers for the tests of processes dipkb starts: ``from processes import ends_within``."""
from __future__ import annotations

import time
from pathlib import Path


def running(pid: int) -> bool:
    """Whether the process exists and has not exited (a zombie waits only to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def ends_within(pid: int, seconds: float) -> bool:
    """Whether the process is gone within ``seconds``."""
    deadline = time.monotonic() + seconds
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not running(pid)
