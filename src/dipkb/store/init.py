"""`dipkb init`: a knowledge base the user owns, outside the installed package.

The new directory holds the data (``kb/``), copies of the saved queries (``queries/``), the marker
by which commands run inside it find it (``layout.MARKER_NAME``), a ``.gitignore`` for what dipkb
writes beside the data, and a README. The ontology and shapes are not copied: KBLayout falls back
to the installed ones, so they follow dipkb's upgrades.
"""
from __future__ import annotations

import enum
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from dipkb.errors import KBInitError
from dipkb.store.layout import MARKER_NAME, KBLayout, bundled_root, loose_data_files
from dipkb.util.paths import display_path, reporting_write_errors

# What dipkb writes beside the data and must never be committed: the index and the lock files
# (``.dipkb/`` matches ``kb/.dipkb/`` at any depth) and the hidden temporary files of a write
# (``.events-2021.ttl.k2j4.tmp``) that a killed writer may leave until the next one cleans up.
GITIGNORE_LINES = (".dipkb/", ".*.tmp")
GITIGNORE_HEADER = "# dipkb: the index, rebuilt from kb/ by any command, and the files of writers at work."
MARKER_TEXT = ("This file marks a dipkb knowledge base: dipkb commands run in this directory or below it\n"
               "use its kb/ and queries/ (`dipkb init` writes it). Commit it with the KB.\n")
# Runs as it is on a new, empty KB: tests/test_init.py runs it.
FIRST_EVENT = ('dipkb add "Lavrov meets Jaishankar in Moscow" --type Meeting --date 2021-07-09 '
               '--participant host=Lavrov --participant visitor=Jaishankar '
               '--new-actor Lavrov=Person --new-actor Jaishankar=Person '
               '--source-title "Jaishankar in Moscow" --source-url https://example.org/jaishankar-moscow '
               '--source-date 2021-07-09')
NEXT_COMMANDS = (FIRST_EVENT, "dipkb timeline", "dipkb validate")

README_TEXT = f"""# A dipkb knowledge base

Made by `dipkb init`. dipkb commands run in this directory or in any directory below it use this
knowledge base (the `{MARKER_NAME}` file marks it); from elsewhere, pass `--kb PATH` or set
`$DIPKB_KB`.

- `kb/`: the data, as Turtle files. They are the source of truth: write them by hand or with
  `dipkb add` and `dipkb import`, and commit them.
- `queries/`: saved SPARQL queries, copied from dipkb's own. `dipkb queries` lists them,
  `dipkb query NAME -p NAME=VALUE` runs one; add your own `.rq` files here.
- The ontology and the SHACL shapes are the ones installed with dipkb. They are not copied here,
  so they follow dipkb's upgrades.
- `.gitignore`: keeps out of git the index (`kb/.dipkb/`, which any command rebuilds from the
  files) and the lock and temporary files of writers at work.

Next, add a first event, read the timeline and check the KB against the shapes:

```sh
{chr(10).join(NEXT_COMMANDS)}
```
"""


class GitignoreChange(enum.Enum):
    CREATED = "created"
    EXTENDED = "extended"  # the directory had a .gitignore: the missing lines were appended
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class InitResult:
    root: Path
    kb_files: tuple[Path, ...]  # copied from the bundled example (none without ``example``)
    query_files: tuple[Path, ...]
    gitignore: GitignoreChange
    readme_written: bool  # False when a README.md was there already: it is kept as it was
    kept_files: int = 0  # data files kb/ held already, left as they were

    def summary(self) -> str:
        """What was created and what to run next, as the CLI prints it."""
        where = display_path(self.root)
        kb = (f"{len(self.kb_files)} files of the bundled example" if self.kb_files
              else f"{self.kept_files} data file{'s' if self.kept_files > 1 else ''} of yours, left as they were"
              if self.kept_files
              else "empty: your Turtle files go here")
        gitignore = {GitignoreChange.CREATED: "keeps the index and lock files out of git",
                     GitignoreChange.EXTENDED: "your .gitignore, with the index and lock files added",
                     GitignoreChange.UNCHANGED: "your .gitignore, which already ignores them"}[self.gitignore]
        readme = "what is here and what to run next" if self.readme_written else "yours, left as it was"
        here = where == "."
        lines = [f"Created a dipkb knowledge base in {'the current directory' if here else where}:",
                 f"  kb/          {kb}",
                 f"  queries/     {len(self.query_files)} saved queries (dipkb queries lists them)",
                 f"  .gitignore   {gitignore}",
                 f"  README.md    {readme}",
                 f"  {MARKER_NAME:<12} marks the KB: dipkb commands run {'here' if here else f'in {where}'} or below use it",
                 "The ontology and shapes are the installed ones. Next:"]
        if not here:
            lines.append(f"  cd {shlex.quote(where)}")
        commands = NEXT_COMMANDS[1:] if self.kb_files else NEXT_COMMANDS
        return "\n".join(lines + [f"  {command}" for command in commands]) + "\n"


def init_kb(directory: str | os.PathLike[str], *, example: bool = False) -> InitResult:
    """Create a knowledge base in ``directory`` (made if missing): an empty ``kb/``, or with
    ``example`` a copy of the bundled one, and the saved queries, .gitignore, README and marker.

    Raises KBInitError, changing nothing, when the directory already holds a dipkb KB or when a
    file would be overwritten; an existing README.md is kept and an existing .gitignore extended."""
    root = Path(directory).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise KBInitError(f"{display_path(root)} is a file; give `dipkb init` a new or empty directory.")
    if (root / MARKER_NAME).exists():
        shown = "the current directory" if root == Path.cwd() else display_path(root)
        raise KBInitError(f"{shown} already holds a dipkb knowledge base ({MARKER_NAME} is there); "
                          "nothing was changed.")
    if not (root / "kb").is_dir() and (loose := loose_data_files(root)):
        more = f" and {len(loose) - 1} more" if len(loose) > 1 else ""
        raise KBInitError(f"{display_path(loose[0])}{more}: dipkb reads a directory of data files as a KB, and an init "
                          f"would hide them behind an empty kb/. Move them into {display_path(root / 'kb')} first; "
                          "nothing was changed.")
    bundled = bundled_root()
    kb_copies = _copies(bundled / "kb", root / "kb") if example else []
    query_copies = [(p, root / "queries" / p.name) for p in sorted((bundled / "queries").glob("*.rq"))]
    if (bundled / "queries" / "README.md").is_file():
        query_copies.append((bundled / "queries" / "README.md", root / "queries" / "README.md"))
    clashes = [target for _, target in kb_copies + query_copies if os.path.lexists(target)]
    clashes += [root / name for name, is_kind in (("kb", Path.is_dir), ("queries", Path.is_dir),
                                                   (".gitignore", Path.is_file))
                if os.path.lexists(root / name) and not is_kind(root / name)]
    if clashes:
        more = f" and {len(clashes) - 1} more" if len(clashes) > 1 else ""
        raise KBInitError(f"`dipkb init` would overwrite {display_path(clashes[0])}{more}; nothing was changed. "
                          "Give it a new or empty directory.")
    with reporting_write_errors(root, "give `dipkb init` a directory you can write to"):
        (root / "kb").mkdir(parents=True, exist_ok=True)
        (root / "queries").mkdir(exist_ok=True)
        for source, target in kb_copies + query_copies:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)  # not copy2: the user owns the copies, whatever the package's modes
        gitignore = _write_gitignore(root / ".gitignore")
        readme_written = not os.path.lexists(root / "README.md")
        if readme_written:
            (root / "README.md").write_text(README_TEXT, encoding="utf-8")
        # Last: a directory with the marker counts as a KB, so an init that failed midway is not one.
        (root / MARKER_NAME).write_text(MARKER_TEXT, encoding="utf-8")
    return InitResult(root, tuple(t for _, t in kb_copies), tuple(t for _, t in query_copies if t.suffix == ".rq"),
                      gitignore, readme_written, 0 if example else len(KBLayout.locate(root).kb_files()))


def _copies(source_dir: Path, target_dir: Path) -> list[tuple[Path, Path]]:
    """Every file under ``source_dir`` except hidden ones (the index, locks, temporary files)."""
    pairs = []
    for path in sorted(source_dir.rglob("*")):
        relative = path.relative_to(source_dir)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            pairs.append((path, target_dir / relative))
    return pairs


def _write_gitignore(path: Path) -> GitignoreChange:
    if not os.path.lexists(path):
        path.write_text("\n".join((GITIGNORE_HEADER, *GITIGNORE_LINES)) + "\n", encoding="utf-8")
        return GitignoreChange.CREATED
    existing = path.read_text(encoding="utf-8", errors="surrogateescape")
    missing = [line for line in GITIGNORE_LINES if line not in existing.splitlines()]
    if not missing:
        return GitignoreChange.UNCHANGED
    with path.open("a", encoding="utf-8") as stream:  # appended: the user's own lines stay untouched
        separator = "\n" if existing and not existing.endswith("\n") else ""
        stream.write(separator + "\n".join((GITIGNORE_HEADER, *missing)) + "\n")
    return GitignoreChange.EXTENDED
