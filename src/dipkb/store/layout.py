"""Where a knowledge base lives on disk: its data, ontology, shapes and saved queries."""
from __future__ import annotations

import hashlib
import os
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dipkb.errors import KBFileError, KBNotFoundError
from dipkb.model.namespaces import FILE_GRAPH_PREFIX
from dipkb.util.paths import display_path, shown_bytes

KB_ENV_VAR = "DIPKB_KB"
DATA_SUFFIXES = {".ttl": "turtle", ".nt": "ntriples"}
_OTHER_RDF_SUFFIXES = {".turtle", ".trig", ".n3", ".nq", ".nquads", ".ntriples", ".rdf", ".owl", ".jsonld"}
INDEX_DIR_NAME = ".dipkb"
# The file `dipkb init` writes at a KB's root, and the repository carries, so that commands run in it
# or below find the KB the way git finds a repository.
MARKER_NAME = ".dipkb-kb"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/dipkb, above this wing
# What a file's path may keep as it is in its graph's IRI: RFC 3987's ipath characters (iunreserved,
# sub-delims, ":", "@", "/"). Any other character (a space, a quote, "%", "#"...) is percent-encoded,
# "%" included, so that no two paths share a graph.
_UCSCHAR = ((0xA0, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFEF),
            *((plane << 16, plane << 16 | 0xFFFD) for plane in range(1, 14)), (0xE1000, 0xEFFFD))
_NOT_IN_IRI = re.compile("[^A-Za-z0-9._~!$&'()*+,;=:@/\\-"
                         + "".join(f"{chr(low)}-{chr(high)}" for low, high in _UCSCHAR) + "]")


def installed_data_dir() -> Path | None:
    """``dipkb/data`` of an installed wheel, or None in a checkout or an editable install."""
    candidate = _PACKAGE_DIR / "data"
    return candidate if (candidate / "kb").is_dir() else None


def bundled_root() -> Path:
    """The directory holding the bundled ontology/, kb/ and queries/.

    A wheel carries them inside the package (``dipkb/data``); a checkout or an editable install
    finds them at the repository root, two levels above ``src/dipkb``.
    """
    for candidate in (_PACKAGE_DIR / "data", _PACKAGE_DIR.parent.parent):
        if (candidate / "kb").is_dir() and (candidate / "ontology").is_dir():
            return candidate
    raise KBNotFoundError("The bundled knowledge base is missing from this installation; reinstall dipkb.")


def is_kb_root(directory: Path) -> bool:
    """Whether ``directory`` holds a dipkb KB: a ``kb/`` directory and the marker file beside it.
    A ``kb/`` alone is not enough: many projects have one, and they must not be taken for ours."""
    return (directory / MARKER_NAME).is_file() and (directory / "kb").is_dir()


def loose_data_files(directory: Path) -> list[Path]:
    """The data files right in ``directory``, which dipkb reads as a KB when it has no ``kb/``."""
    try:
        return sorted(Path(e.path) for e in os.scandir(directory)
                      if os.path.splitext(e.name)[1] in DATA_SUFFIXES and not e.name.startswith(".") and e.is_file())
    except OSError:  # not a directory one may list: no data files to read either
        return []


def discover_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds a dipkb KB, or None."""
    start = start.resolve()
    return next((d for d in (start, *start.parents) if is_kb_root(d)), None)


def cache_dir(kb_dir: Path) -> Path:
    """A directory of the user's cache for the index of ``kb_dir``: ``$XDG_CACHE_HOME/dipkb/<hash>``,
    ``~/.cache/dipkb/<hash>`` when the variable is unset (or, against the XDG spec, relative)."""
    configured = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(configured) if os.path.isabs(configured) else Path.home() / ".cache"
    return base / "dipkb" / hashlib.sha256(str(kb_dir.resolve()).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class KBLayout:
    """A knowledge base: ``root/kb`` holds the data; ontology and queries default to the bundled ones.

    ``root`` may also be a directory of data files itself (no ``kb/`` inside, a data file in it): its
    own files are read, not its subdirectories'.
    """

    root: Path
    kb_dir: Path
    ontology_dir: Path
    queries_dir: Path

    @classmethod
    def locate(cls, kb: str | os.PathLike[str] | None = None) -> KBLayout:
        """The KB a command uses, the first of:

        1. ``kb`` (the CLI's ``--kb``);
        2. ``$DIPKB_KB``;
        3. the nearest directory at or above the working directory that holds a dipkb KB: one with
           a ``kb/`` directory and a ``.dipkb-kb`` marker file, as ``dipkb init`` writes them and the
           repository carries them (so commands run in a checkout use its kb/);
        4. the bundled example, read-only when it is the copy inside an installed package.
        """
        chosen = kb if kb is not None else os.environ.get(KB_ENV_VAR) or None
        bundled = bundled_root()
        if chosen is None:
            try:
                root = discover_root(Path.cwd()) or bundled
            except FileNotFoundError:  # the working directory was deleted under us
                root = bundled
        else:
            shown = shown_bytes(os.fspath(chosen))
            try:
                root = Path(chosen).expanduser().resolve()
            except RuntimeError:  # Python's "Symlink loop"
                raise KBNotFoundError(f"Knowledge base directory not found: {shown} is a symbolic link that leads "
                                      "back to itself.") from None
            if not root.is_dir():
                raise KBNotFoundError(f"Knowledge base directory not found: {shown}")
            # Not any directory: taken for a KB, a home directory would be searched to the bottom for
            # data files, and an index written into it.
            if not ((root / "kb").is_dir() or loose_data_files(root)):
                raise KBNotFoundError(f"{shown} holds no knowledge base: it has no kb/ directory and no .ttl or .nt "
                                      f"file. `dipkb init {shlex.quote(shown)}` makes one there.")
        kb_dir = root / "kb" if (root / "kb").is_dir() else root
        ontology_dir = root / "ontology" if (root / "ontology").is_dir() else bundled / "ontology"
        queries_dir = root / "queries" if (root / "queries").is_dir() else bundled / "queries"
        return cls(root=root, kb_dir=kb_dir, ontology_dir=ontology_dir, queries_dir=queries_dir)

    @property
    def is_installed_example(self) -> bool:
        """Whether this is the example KB inside an installed package (site-packages/dipkb/data):
        read-only, since pip would delete what is written there with the package. In a checkout or
        an editable install the bundled kb/ is the developer's own and stays writable."""
        installed = installed_data_dir()
        return installed is not None and self.kb_dir.resolve().is_relative_to(installed)

    @property
    def index_dir(self) -> Path:
        """``kb/.dipkb``; for the installed example a directory of the user's cache, never site-packages."""
        return cache_dir(self.kb_dir) if self.is_installed_example else self.kb_dir / INDEX_DIR_NAME

    def kb_files(self) -> list[Path]:
        """Every data file of the KB, sorted, skipping hidden files and directories such as the index.
        KBFileError for a path named like a data file that must not be read (see :func:`data_file_links`)."""
        return sorted(self._kb_links())

    def unread_files(self) -> list[Path]:
        """Files of kb/ that look like RDF but that dipkb does not read, for a note: another format
        (.trig, .n3, .rdf...), a data suffix in upper case (.TTL), a hidden file named like a data file."""
        found = []
        for directory, dirs, files in os.walk(self.kb_dir):
            dirs[:] = [d for d in sorted(dirs) if not d.startswith(".")] if not self.is_loose else []
            for name in sorted(files):
                suffix = os.path.splitext(name)[1]
                looks_like_rdf = suffix.lower() in DATA_SUFFIXES or suffix.lower() in _OTHER_RDF_SUFFIXES
                if looks_like_rdf and (suffix not in DATA_SUFFIXES or name.startswith(".")):
                    path = Path(directory) / name
                    if not path.is_symlink():  # an editor's lock file (.#events.ttl) is a link
                        found.append(path)
        return found

    def ontology_files(self) -> list[Path]:
        return sorted(self._ontology_links())

    def shapes_files(self) -> list[Path]:
        return [p for p in sorted(self._ontology_dir_links()) if p.name.startswith("shapes")]

    @property
    def is_loose(self) -> bool:
        """Whether the KB is a directory of data files (no ``kb/``): only the files right in it are
        read, not those of its subdirectories (a home directory with a stray .ttl was read to the bottom)."""
        return self.kb_dir == self.root

    def _kb_links(self) -> dict[Path, bool]:
        return data_file_links(self.kb_dir, "knowledge base", _entries(self.kb_dir, recursive=not self.is_loose))

    def _ontology_links(self) -> dict[Path, bool]:
        return {p: link for p, link in self._ontology_dir_links().items() if not p.name.startswith("shapes")}

    def _ontology_dir_links(self) -> dict[Path, bool]:
        turtle = (e for e in _entries(self.ontology_dir, recursive=False) if e.name.endswith(".ttl"))
        return data_file_links(self.ontology_dir, "ontology", turtle)

    def reads(self, path: Path) -> bool:
        """Whether a file at ``path`` is read as part of the KB: a data file anywhere under kb/, or a
        Turtle file in ontology/, neither hidden nor below a hidden directory (the listing skips them)."""
        target, kb_dir = path.resolve(), self.kb_dir.resolve()
        if target.is_relative_to(kb_dir):
            parts = target.relative_to(kb_dir).parts
            hidden = any(part.startswith(".") for part in parts)
            return target.suffix in DATA_SUFFIXES and not hidden and (len(parts) == 1 or not self.is_loose)
        return (target.parent == self.ontology_dir.resolve() and target.suffix == ".ttl"
                and not target.name.startswith("."))

    def is_turtle_target(self, path: Path) -> bool:
        """Whether `add` or `import` may write to ``path``: a Turtle file of kb/ that the KB reads."""
        return path.suffix == ".ttl" and path.resolve().is_relative_to(self.kb_dir.resolve()) and self.reads(path)

    def file_graphs(self) -> dict[str, Path]:
        """Every ontology and KB data file by the graph it is loaded into: :meth:`graph_name` of each,
        without resolving every path (seven lstat calls each; a server checks this before each request).
        The listing walks into no directory link, so below a real directory only a file that is itself
        a link needs resolving, and the listing says which files are links."""
        graphs: dict[str, Path] = {}
        for base, label, files in ((self.ontology_dir, "ontology", self._ontology_links()),
                                   (self.kb_dir, "kb", self._kb_links())):
            real = os.path.realpath(base)
            for path in sorted(files):
                text = str(path)
                if text.startswith(real + os.sep) and not files[path]:
                    graphs[f"{FILE_GRAPH_PREFIX}{label}/{_in_iri(text[len(real) + 1:].replace(os.sep, '/'))}"] = path
                else:
                    graphs[self.graph_name(path)] = path
        return graphs

    def graph_name(self, path: Path) -> str:
        """The named graph a file is loaded into: stable whichever directory the KB is in."""
        path = path.resolve()
        for base, label in ((self.kb_dir, "kb"), (self.ontology_dir, "ontology")):
            if path.is_relative_to(base):
                return f"{FILE_GRAPH_PREFIX}{label}/{_in_iri(path.relative_to(base).as_posix())}"
        return f"{FILE_GRAPH_PREFIX}{_in_iri(path.as_posix())}"


def _in_iri(path: str) -> str:
    """``path`` as it is written in an IRI (see _NOT_IN_IRI); a name the filesystem gave as bytes
    that are not UTF-8 is encoded byte by byte."""
    return _NOT_IN_IRI.sub(_percent_encoded, path)


def _percent_encoded(found: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in found[0].encode("utf-8", "surrogateescape"))


def _entries(directory: Path, recursive: bool) -> Iterator[os.DirEntry]:
    """The entries in ``directory`` (and below if ``recursive``) named like data files, and the
    links to directories, never followed; hidden names are skipped. A DirEntry knows its type from
    the directory listing: a KB of thousands of files is checked without a stat call for each."""
    try:
        with os.scandir(directory) as listing:
            entries = list(listing)
    except FileNotFoundError:
        return
    except OSError as error:  # a directory of the KB one may not list: its files cannot be known
        raise KBFileError(f"{display_path(directory)}: cannot list the directory ({error.strerror or error}).") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        named = os.path.splitext(entry.name)[1] in DATA_SUFFIXES
        if entry.is_dir(follow_symlinks=False):
            if recursive:
                yield from _entries(Path(entry.path), recursive)
            if named:
                yield entry
        elif named or entry.is_symlink():
            yield entry


def data_file_links(directory: Path, what: str, entries: Iterable[os.DirEntry]) -> dict[Path, bool]:
    """The data files among ``entries`` (of ``directory``), each file once, with whether it is a
    symbolic link; KBFileError for the first that must not be read. A symbolic link is followed only
    when it leads to a file inside ``directory``: a KB is shared and copied, and a link out of it (to
    /etc/passwd, to another user's file) would be read, or quoted in a syntax error, by whoever runs
    dipkb on it. Names of the targets are given, never their content. A directory named ``*.ttl`` is
    an error, not skipped."""
    inside = os.path.realpath(directory)
    chosen: dict[Path, tuple[Path, bool]] = {}  # by the file they lead to, the real file preferred to a link
    for entry in sorted(entries, key=lambda e: e.path):
        path, link = Path(entry.path), entry.is_symlink()
        # No directory link is walked into, so only a link itself can lead elsewhere (realpath never
        # raises, even on a loop).
        target = Path(os.path.realpath(path)) if link else None
        if target is not None and not target.is_relative_to(inside):
            raise KBFileError(f"{display_path(path)} is a symbolic link to {target}, outside the {what} directory "
                              f"{display_path(directory)}; dipkb reads nothing outside it: copy what it points to "
                              "into the directory instead.")
        if path.suffix not in DATA_SUFFIXES:
            continue  # a link to a directory of the KB: its files are found where they are
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()
        except OSError:  # a loop of links
            is_dir = is_file = False
        if is_dir:
            raise KBFileError(f"{display_path(path)} is a directory; in the {what} directory only data files may be "
                              f"named *{path.suffix}: rename it.")
        if not is_file:
            kind = f"a symbolic link to {target}, which is not a file" if link else "not a regular file"
            raise KBFileError(f"{display_path(path)} is {kind}; remove it or replace it with a data file.")
        key = directory / target.relative_to(inside) if target is not None else path
        if key not in chosen or not link:
            chosen[key] = (path, link)
    return dict(chosen.values())
