"""What every command shares: the group, the error handling, the KB it opens, the output options."""
from __future__ import annotations

import errno
import functools
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import NamedTuple

import click

from dipkb import __version__
from dipkb.errors import DipkbError, IndexDamagedError, ParameterError, WriteError
from dipkb.model.modality import MODALITIES, modality_name
from dipkb.store.layout import DATA_SUFFIXES, KB_ENV_VAR, KBLayout
from dipkb.util.paths import display_path, shown_bytes
from dipkb.util.terminal import terminal_lines, terminal_text
from dipkb.views.render import Output, OutputFormat, choose_format


EXIT_OK, EXIT_FINDINGS, EXIT_INTERRUPTED = 0, 1, 130
ENDPOINT_ENV_VAR = "DIPKB_ENDPOINT"


class FilePath(click.Path):
    """click.Path that also refuses what the system cannot take as a path, a NUL byte or a name
    longer than the file system allows, as a usage error: Python raises ValueError or OSError there,
    wherever the path is first used."""

    def convert(self, value, param, ctx):
        try:
            os.stat(value)
        except ValueError:
            self.fail("a path cannot contain a NUL character.", param, ctx)
        except OSError as error:
            if error.errno == errno.ENAMETOOLONG:
                self.fail("the path is longer than the file system allows.", param, ctx)
        return super().convert(value, param, ctx)


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands, each imported from its "module:attribute" when first looked up (run, or
    listed by --help), so that a command pays at start-up for its own module's imports only, not for
    those of the twelve others (the server's, the importers', the SHACL engine's)."""

    def __init__(self, paths: Mapping[str, str]):
        self._entries: dict[str, click.Command | str] = dict(paths)

    def __getitem__(self, name: str) -> click.Command:
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attribute = entry.partition(":")
            entry = self._entries[name] = getattr(importlib.import_module(module), attribute)
        return entry

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


COMMANDS = LazyCommands({
    "validate": "dipkb.cli.reading:validate", "query": "dipkb.cli.reading:query",
    "queries": "dipkb.cli.reading:list_queries", "timeline": "dipkb.cli.timeline:timeline_command",
    "show": "dipkb.cli.reading:show", "export": "dipkb.cli.reading:export", "stats": "dipkb.cli.reading:stats",
    "index": "dipkb.cli.writing:index_command", "init": "dipkb.cli.writing:init_command",
    "add": "dipkb.cli.writing:add", "import": "dipkb.cli.writing:import_command",
    "serve": "dipkb.cli.serving:serve", "push": "dipkb.cli.remote:push"})


class DipkbGroup(click.Group):
    """Turns every library error into one line on stderr with its documented exit code."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        _text_arguments(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DipkbError as error:
            self.fail(ctx, error)
        except RuntimeError as error:
            damaged = IndexDamagedError.of(error)
            if damaged is None:
                raise
            self.fail(ctx, damaged)
        except KeyboardInterrupt:
            # Not click's "Aborted!" and exit 1, the code of findings: a script took an interrupted
            # validate for violations. 130 is the shell's for SIGINT; nothing was left half-written.
            click.echo("\nInterrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # `dipkb timeline | head` closes the pipe early; that is not an error.
            sys.stderr.close()
            ctx.exit(EXIT_OK)
        except OSError as error:
            # A full disk where no write names its place (a short report to a redirected stdout): the
            # machine's state, not a bug to show a traceback for. Every KB write says its own place;
            # the index's RocksDB says it in its message, with no errno.
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                self.fail(ctx, WriteError(f"cannot write: {error.strerror}."))
            elif error.errno is None and "No space left on device" in str(error):
                self.fail(ctx, WriteError(f"cannot write the index: {' '.join(str(error).split())}"))
            else:
                raise

    @staticmethod
    def fail(ctx: click.Context, error: DipkbError) -> None:
        if getattr(error, "findings", ()):
            from dipkb.shacl.findings import finding_lines

            click.echo("\n".join(finding_lines(error.findings)), err=True)
        # What went wrong may quote a file's or the user's text: its control characters are not sent.
        click.echo(f"Error: {terminal_lines(str(error))}", err=True)
        ctx.exit(error.exit_code)


@click.group(cls=DipkbGroup, commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dipkb")
@click.option("--kb", "kb_dir", envvar=KB_ENV_VAR, type=FilePath(file_okay=False),
              help=f"Knowledge-base directory. Default: ${KB_ENV_VAR}, else the nearest directory at or above "
                   "this one made by `dipkb init`, else the bundled example.")
@click.option("--endpoint", envvar=ENDPOINT_ENV_VAR, metavar="URL",
              help=f"Answer timeline, show, query, stats and serve from this SPARQL 1.1 endpoint (after `dipkb push`) "
                   f"instead of the local index. Default: ${ENDPOINT_ENV_VAR}. Credentials: $DIPKB_ENDPOINT_USER "
                   "and $DIPKB_ENDPOINT_PASSWORD, or ~/.netrc.")
@click.pass_context
def cli(ctx: click.Context, kb_dir: str | None, endpoint: str | None) -> None:
    """dipkb: a knowledge base of diplomatic events, queried with SPARQL.

    \b
    Example:
      dipkb timeline --actor Russia --from 2021-07 --to 2021-07
    """
    ctx.obj = GlobalOptions(kb_dir, endpoint or None)


class GlobalOptions(NamedTuple):  # not a dataclass: every command builds one, and a dataclass costs 0.8 ms
    kb_dir: str | None
    endpoint: str | None  # the query URL of a SPARQL endpoint to read from, instead of the index


class _ArgumentError(click.ClickException):
    exit_code = 2  # a usage error, said in one line without the usage


_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # how Python holds, in sys.argv, bytes that are not UTF-8


def _text_arguments(arguments: Sequence[str]) -> None:
    """Refuse an argument with bytes that are not UTF-8 (Python holds them as lone surrogates), unless
    it names an existing file: a label, a name or a -p value that cannot become RDF text, where each
    ended in a traceback of its own."""
    for argument in arguments:
        value = argument.partition("=")[2] if argument.startswith("--") and "=" in argument else argument
        if not value.isascii() and _NOT_UTF8.search(value) and not os.path.lexists(value):
            raise _ArgumentError(f"'{shown_bytes(value)}' is not UTF-8 text, which dipkb reads its arguments as "
                                 "(a file name may be other bytes when the file exists).")


def layout_of(ctx: click.Context) -> KBLayout:
    return KBLayout.locate(ctx.obj.kb_dir)


class ModalityChoice(click.Choice):
    """A modality as people write it (dipkb.model.modality): planned, Planned, dip:Planned."""

    def __init__(self) -> None:
        super().__init__(MODALITIES)

    def convert(self, value, param, ctx):  # type: ignore[override]
        return super().convert(modality_name(value) or value if isinstance(value, str) else value, param, ctx)


def note_unread_files(layout: KBLayout) -> None:
    """A note on stderr for each file of kb/ that looks like RDF but is not read: its events were
    missing from every view, and validate said the KB conforms."""
    for path in layout.unread_files():
        click.echo(terminal_text(f"Note: {display_path(path)} is not read: dipkb reads the .ttl and .nt files "
                                 f"of kb/, not hidden ones."), err=True)


def open_kb(ctx: click.Context, *, local: bool = False):
    """The KB for this command, entered as a context manager that click exits (releasing the
    index lease) when the command ends, as a ``with`` around the command would. With --endpoint it
    is answered by that endpoint, unless ``local``: commands that write the files need the index."""
    from dipkb.store.kb import KnowledgeBase

    if ctx.obj.endpoint and not local:
        from dipkb.store.remote import open_remote

        return KnowledgeBase(layout_of(ctx), open_remote(ctx.obj.endpoint))
    kb = ctx.with_resource(KnowledgeBase.open(layout=layout_of(ctx)))
    # Also held by the root context, which outlives the command: the lease is released when the
    # command ends, but the store is not dropped (15 ms at a million events), as main() then ends the
    # process without dropping anything.
    ctx.find_root().meta.setdefault("dipkb.opened", []).append(kb)
    return kb


def not_blank(ctx: click.Context, param: click.Parameter, value):
    """The callback of a filter option: given empty, most often an unset shell variable (--actor
    "$ACTOR"), it is an error, not "filter nothing" (the whole KB's timeline, every row of an import).
    The web timeline's empty fields, read by the same library, filter nothing."""
    if any(text is not None and not text.strip() for text in (value if isinstance(value, tuple) else (value,))):
        raise ParameterError(f"{param.opts[0]} is empty: give a value, or leave the option out to not filter by it.")
    return value


def outside_the_kb(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Callback of an option naming a file to write besides the KB's own (-o, --report, --rejected):
    refused when the KB reads that file as its data (an export written to kb/all.ttl came back as a
    second copy of every statement, and `import --report kb/events.ttl` wrote JSON over the events),
    or when its directory does not exist (found out only after the work it reports on)."""
    if value is None:
        return None
    path, option = Path(value), param.opts[0]
    try:
        path.resolve()
    except RuntimeError:  # Python's "Symlink loop"
        raise ParameterError(f"{option} {display_path(path)}: a symbolic link that leads back to itself.") from None
    try:
        layout = layout_of(ctx)
    except DipkbError:  # no KB to read it back
        layout = None
    if layout is not None and layout.reads(path):
        raise ParameterError(f"{option} {display_path(path)}: the KB reads this file as part of its data "
                             f"(every {' and '.join(DATA_SUFFIXES)} file under its kb/, every .ttl file of its "
                             "ontology/). Write it elsewhere; 'dipkb add' and 'dipkb import' change the KB.")
    if not (directory := path.resolve().parent).is_dir():  # resolved: a link's own directory may be there
        raise ParameterError(f"{option} {display_path(path)}: there is no directory {display_path(directory)}.")
    return value


def output_options(formats: Sequence[OutputFormat], default: OutputFormat) -> Callable:
    """The shared -f/--format and -o/--output of every command that prints rows or RDF."""
    names = [f.value for f in formats]

    def decorator(command: Callable) -> Callable:
        @click.option("-o", "--output", type=FilePath(dir_okay=False), default=None, callback=outside_the_kb,
                      help="Write to this file (atomically) instead of stdout (-); its extension picks the format.")
        @click.option("-f", "--format", "fmt", type=click.Choice(names, case_sensitive=False), default=None,
                      help=f"Output format (default: from -o's extension, else {default.value}).")
        @functools.wraps(command)
        def wrapper(*args, fmt: str | None, output: str | None, **kwargs):
            output = None if output == "-" else output  # as every tool reads it; it wrote a file named "-"
            return command(*args, out=Output(choose_format(formats, default, fmt, output), output), **kwargs)

        return wrapper

    return decorator

