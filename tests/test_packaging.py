"""The bundled ontology, KB and queries travel inside the wheel and are found from any directory."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


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
        [sys.executable, "-c", "from dipkb.layout import bundled_root; print(bundled_root())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )
    assert Path(located.stdout.strip()) == site / "dipkb" / "data"
