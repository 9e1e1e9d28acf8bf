"""The bundled ontology, KB and queries travel inside the wheel and are found from any directory;
installed, the package is never written to: the user's own KB is made with `dipkb init`."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pyoxigraph
import pyshacl
import pytest
import rdflib
import yaml

REPO = Path(__file__).resolve().parent.parent
DEPENDENCIES = (click, pyoxigraph, pyshacl, rdflib, yaml)  # dipkb's, which the test venv reaches outside


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        check=True, capture_output=True,
    )
    (built,) = out.glob("dipkb-*.whl")
    return built


def test_wheel_carries_ontology_kb_and_queries(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for directory in ("ontology", "kb", "queries"):
        shipped = {p.relative_to(REPO).as_posix() for p in (REPO / directory).rglob("*")
                   if p.is_file() and ".dipkb" not in p.parts}
        assert shipped, directory
        assert {f"dipkb/data/{name}" for name in shipped} <= names
    assert not [n for n in names if "/.dipkb" in n], "the index must not be packaged"


def test_installed_package_runs_from_another_directory(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("DIPKB_KB", None)
    result = subprocess.run(
        [sys.executable, "-m", "dipkb", "timeline", "--actor", "Kabulov", "-f", "csv"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Zamir Kabulov meets the Taliban delegation in Moscow" in result.stdout
    located = subprocess.run(
        [sys.executable, "-c", "from dipkb.store.layout import bundled_root; print(bundled_root())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )
    assert Path(located.stdout.strip()) == site / "dipkb" / "data"
    # The web timeline's templates, style and script travel too: the one-file export is drawn by them.
    page = subprocess.run([sys.executable, "-m", "dipkb", "export", "-o", str(tmp_path / "timeline.html")],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert page.returncode == 0, page.stderr
    assert "Zamir Kabulov meets the Taliban delegation in Moscow" in (tmp_path / "timeline.html").read_text()


def test_wheel_carries_the_web_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    web = REPO / "src" / "dipkb" / "web"
    shipped = {p.relative_to(REPO / "src").as_posix() for folder in ("static", "templates")
               for p in (web / folder).rglob("*") if p.is_file()}
    assert {"dipkb/web/static/dipkb.js", "dipkb/web/templates/timeline.html"} <= shipped <= names


# The example of `dipkb add --help`: it resolves against the bundled KB and its copy.
ADD = ["add", "Packaging test: Lavrov meets Jaishankar", "--type", "Meeting",
       "--participant", "host=actor:russian-foreign-minister", "--participant", "visitor=S Jaishankar",
       "--date", "2021-07-09", "--place", "Moscow", "--source-title", "Jaishankar in Moscow",
       "--source-url", "https://example.org/a", "--source-date", "2021-07"]


def _installed_venv(wheel: Path, directory: Path) -> Path:
    """A venv holding the wheel, installed as a user would (not editable), without the network.

    The outer environment is itself a venv, so `--system-site-packages` would give the base
    interpreter's packages, not dipkb's dependencies: a .pth file adds the directories they are in.
    It is written after pip has run, so pip never sees (nor offers to replace) the outer dipkb."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True)
    python = directory / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "-q", str(wheel)], check=True, capture_output=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    homes = dict.fromkeys(str(Path(m.__file__).resolve().parent.parent) for m in DEPENDENCIES)
    (site / "outer-dependencies.pth").write_text("".join(f"{home}\n" for home in homes))
    return site


def _tree(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory under ``directory`` with its size and mtime."""
    return {str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns) for p in directory.rglob("*")}


def test_installed_wheel_writes_nothing_into_site_packages(wheel, tmp_path):
    site = _installed_venv(wheel, tmp_path / "venv")
    dipkb = str(tmp_path / "venv" / "bin" / "dipkb")
    cache, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "HOME": str(tmp_path / "home")}
    env.pop("DIPKB_KB", None)

    def run(*args: str, cwd: Path = elsewhere) -> subprocess.CompletedProcess:
        result = subprocess.run([dipkb, *args], cwd=cwd, env=env, capture_output=True, text=True)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    located = subprocess.run([str(tmp_path / "venv" / "bin" / "python"), "-c", "import dipkb; print(dipkb.__file__)"],
                             cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert Path(located.stdout.strip()).is_relative_to(site), "the test must run the installed copy"
    before = _tree(site)

    timeline = run("timeline", "--actor", "Kabulov", "-f", "csv")
    assert timeline.returncode == 0, timeline.stderr
    assert "Zamir Kabulov meets the Taliban delegation in Moscow" in timeline.stdout
    (manifest,) = cache.glob("dipkb/*/manifest.json")  # the bundled KB's index is in the user's cache
    index = run("index")
    assert index.returncode == 0 and index.stdout.startswith(f"Up to date: {manifest.parent}, ")
    assert run("validate").returncode == 0
    assert "Events:" in run("stats").stdout
    for refused in (run(*ADD), run("import", str(REPO / "examples" / "events.csv"))):
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("Error: The bundled example KB is read-only")
        assert "`dipkb init mykb --example`" in refused.stderr

    created = run("init", "mykb", "--example")
    assert created.returncode == 0, created.stderr
    mykb = elsewhere / "mykb"
    added = run(*ADD, cwd=mykb)
    assert added.returncode == 0, added.stderr
    assert "to kb/events-2021.ttl" in added.stdout
    assert "Packaging test: Lavrov meets Jaishankar" in (mykb / "kb" / "events-2021.ttl").read_text(encoding="utf-8")
    mine = run("timeline", "--from", "2021-07-09", "--to", "2021-07-09", "-f", "csv", cwd=mykb / "kb" / "texts")
    assert "Packaging test: Lavrov meets Jaishankar" in mine.stdout, mine.stderr  # found by the upward search
    assert (mykb / "kb" / ".dipkb" / "manifest.json").is_file()

    assert _tree(site) == before, "a command wrote into site-packages"
    assert not [p for p in site.rglob("*") if p.name.startswith(".dipkb")]
