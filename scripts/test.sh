#!/bin/sh
# Install everything the tests need on a fresh Debian/Ubuntu machine, as root or not, then run them.
# Debian packages: the independent RDF parsers (rapper, serdi) the export tests check our output with,
# the headless Chromium the web pages are tested in, and OpenLink Virtuoso 7, one of the SPARQL servers
# `dipkb push` and `--endpoint` are tested against (each test starts its own, on free loopback ports).
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
if ! command -v rapper >/dev/null || ! command -v serdi >/dev/null || ! command -v chromium >/dev/null \
        || ! command -v virtuoso-t >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq raptor2-utils serdi chromium virtuoso-opensource \
        python3-venv >/dev/null
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'
# Three workers (pytest-xdist) on CI's two cores: with two, the cores sat idle part of the time while
# tests waited on servers, browsers and killed processes. Measured on two cores, one clean clone run
# after the other: 791 s with two workers, 772 s with three; in the checkout, 782, 647 and (four) 740 s.
.venv/bin/pytest -q -n 3 "$@"
