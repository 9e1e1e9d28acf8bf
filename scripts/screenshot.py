#!/usr/bin/env python3
"""Take docs/timeline.png: the web timeline of `dipkb serve`, filtered to Russia in July 2021, as a
person sees it in Chromium.

    .venv/bin/python scripts/screenshot.py [--kb DIR] [--out docs/timeline.png]

Starts `dipkb serve --port 0` on the KB (default: the one dipkb finds from here, in a checkout the
bundled one), opens the page in headless Chromium through Playwright (Debian's /usr/bin/chromium,
never a downloaded browser), writes the PNG and stops the server.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
PAGE = "/?actor=Russia&from=2021-07&to=2021-07"
SERVING = re.compile(r"Serving .* at (http://[^/\s]+)/")


def start_server(kb: str | None, log: Path, within: float = 60.0) -> tuple[subprocess.Popen, str]:
    """`dipkb serve` on a free port; its URL, read from the line it prints on stderr."""
    command = [sys.executable, "-m", "dipkb", *(["--kb", kb] if kb else []), "serve", "--port", "0"]
    with log.open("w") as stderr:
        server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and server.poll() is None:
        if found := SERVING.search(log.read_text()):
            return server, found[1]
        time.sleep(0.1)
    server.kill()
    server.wait()
    raise SystemExit(f"dipkb serve did not start:\n{log.read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb", help="the KB directory to serve (default: as dipkb finds it)")
    parser.add_argument("--out", default="docs/timeline.png", type=Path, help="where to write the PNG")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        server, url = start_server(args.kb, Path(scratch) / "serve.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = browser.new_page(viewport={"width": 1200, "height": 1100}, device_scale_factor=1)
                page.goto(url + PAGE)
                page.wait_for_selector("li.event")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    print(f"Wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
