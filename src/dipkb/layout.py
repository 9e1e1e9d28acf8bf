"""Where a knowledge base lives on disk: its data, ontology, shapes and saved queries."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dipkb.errors import KBNotFoundError
from dipkb.namespaces import FILE_GRAPH_PREFIX

KB_ENV_VAR = "DIPKB_KB"
DATA_SUFFIXES = {".ttl": "turtle", ".nt": "ntriples"}
INDEX_DIR_NAME = ".dipkb"


def bundled_root() -> Path:
    """The directory holding the bundled ontology/, kb/ and queries/.

    A wheel carries them inside the package (``dipkb/data``); a checkout or an editable install
    finds them at the repository root, two levels above ``src/dipkb``.
    """
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "data", package_dir.parent.parent):
        if (candidate / "kb").is_dir() and (candidate / "ontology").is_dir():
            return candidate
    raise KBNotFoundError("The bundled knowledge base is missing from this installation; reinstall dipkb.")


@dataclass(frozen=True)
class KBLayout:
    """A knowledge base: ``root/kb`` holds the data; ontology and queries default to the bundled ones.

    ``root`` may also be a directory of data files itself (no ``kb/`` inside), as the benchmark
    generator writes them.
    """

    root: Path
    kb_dir: Path
    ontology_dir: Path
    queries_dir: Path

    @classmethod
    def locate(cls, kb: str | os.PathLike[str] | None = None) -> KBLayout:
        """The KB named by ``kb``, else by $DIPKB_KB, else the bundled one."""
        chosen = kb if kb is not None else os.environ.get(KB_ENV_VAR) or None
        bundled = bundled_root()
        if chosen is None:
            root = bundled
        else:
            root = Path(chosen).expanduser().resolve()
            if not root.is_dir():
                raise KBNotFoundError(f"Knowledge base directory not found: {chosen}")
        kb_dir = root / "kb" if (root / "kb").is_dir() else root
        ontology_dir = root / "ontology" if (root / "ontology").is_dir() else bundled / "ontology"
        queries_dir = root / "queries" if (root / "queries").is_dir() else bundled / "queries"
        return cls(root=root, kb_dir=kb_dir, ontology_dir=ontology_dir, queries_dir=queries_dir)

    @property
    def index_dir(self) -> Path:
        return self.kb_dir / INDEX_DIR_NAME

    def kb_files(self) -> list[Path]:
        """Every data file of the KB, sorted, skipping hidden directories such as the index."""
        found = []
        for path in self.kb_dir.rglob("*"):
            relative = path.relative_to(self.kb_dir)
            if any(part.startswith(".") for part in relative.parts):
                continue
            if path.suffix in DATA_SUFFIXES and path.is_file():
                found.append(path)
        return sorted(found)

    def ontology_files(self) -> list[Path]:
        return sorted(p for p in self.ontology_dir.glob("*.ttl") if not p.name.startswith("shapes"))

    def shapes_files(self) -> list[Path]:
        return sorted(self.ontology_dir.glob("shapes*.ttl"))

    def graph_name(self, path: Path) -> str:
        """The named graph a file is loaded into: stable whichever directory the KB is in."""
        path = path.resolve()
        for base, label in ((self.kb_dir, "kb"), (self.ontology_dir, "ontology")):
            if path.is_relative_to(base):
                return f"{FILE_GRAPH_PREFIX}{label}/{path.relative_to(base).as_posix()}"
        return f"{FILE_GRAPH_PREFIX}{path.as_posix()}"


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
