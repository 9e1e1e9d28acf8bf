"""`dipkb serve` while the KB's files change: how long a request waits while another one reads the
change into the index, and how much of the index stays on disk after the refresh.

    python bench/generate.py --events 20000 --out /tmp/kb-20000
    python bench/serve_refresh.py --kb /tmp/kb-20000

Run it against two checkouts (PYTHONPATH=OTHER/src) to compare them; the KB's files get a comment
appended (the index reads them again; the data do not change).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

PATH = "/timeline.json?actor=Republic+of+Vara&from=2010-02&to=2010-04"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, required=True, help="a KB made by bench/generate.py")
    parser.add_argument("--files", type=int, default=10, help="events files to touch for the refresh")
    args = parser.parse_args()
    dipkb = shutil.which("dipkb") or sys.exit("dipkb is not on PATH")
    server = subprocess.Popen([dipkb, "--kb", str(args.kb), "serve", "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        url = None
        while url is None:
            line = server.stderr.readline()
            if not line:
                sys.exit("dipkb serve ended before serving")
            url = (match := re.search(r"(http://127\.0\.0\.1:\d+)/", line)) and match[1]

        def get() -> tuple[float, str | None]:
            started = time.monotonic()
            with urllib.request.urlopen(url + PATH, timeout=600) as response:
                response.read()
                return time.monotonic() - started, response.headers.get("X-Dipkb-Stale")

        print(f"warm request: {get()[0]:.3f} s; index {disk_mb(args.kb)} MB")
        for path in sorted((args.kb / "kb").glob("events-*.ttl"))[:args.files]:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"\n# touched at {time.time()}\n")
        answers: dict[str, tuple[float, str | None]] = {}
        refreshing = threading.Thread(target=lambda: answers.update(refreshing=get()))
        refreshing.start()
        time.sleep(0.3)
        answers["other"] = get()
        refreshing.join()
        time.sleep(1)
        print(f"the request that refreshed: {answers['refreshing'][0]:.3f} s")
        print(f"another request meanwhile: {answers['other'][0]:.3f} s, stale: {answers['other'][1] is not None}")
        stores = sorted(p.name for p in (args.kb / "kb" / ".dipkb").glob("store-*") if p.is_dir())
        print(f"index after the refresh: {disk_mb(args.kb)} MB in {', '.join(stores)}")
    finally:
        server.terminate()
        server.wait(60)


def disk_mb(kb: Path) -> int:
    index = kb / "kb" / ".dipkb"
    return sum(p.stat().st_size for p in index.rglob("*") if p.is_file()) >> 20


if __name__ == "__main__":
    main()
