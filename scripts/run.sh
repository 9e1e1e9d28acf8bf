#!/bin/sh
# Install dipkb from this checkout into .venv and print the bundled knowledge base's timeline.
# Works on a fresh Debian/Ubuntu machine as root or not (Python >= 3.11 with venv).
set -eu
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q .
.venv/bin/dipkb timeline
