"""The dipkb command line: parses arguments, calls the library, renders. Nothing else lives here."""
from __future__ import annotations

import errno
import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from dipkb import __version__
from dipkb.errors import DipkbError, ParameterError
from dipkb.layout import KB_ENV_VAR, KBLayout
from dipkb.render import (SOLUTION_FORMATS, TIMELINE_HEADERS, Output, OutputFormat, choose_format, rows_output,
                          timeline_rows)

EXIT_OK, EXIT_FINDINGS = 0, 1


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


class DipkbGroup(click.Group):
    """Turns every library error into one line on stderr with its documented exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DipkbError as error:
            for finding in getattr(error, "findings", ()):
                from dipkb.findings import render_finding

                click.echo(render_finding(finding), err=True)
            click.echo(f"Error: {error}", err=True)
            ctx.exit(error.exit_code)
        except BrokenPipeError:
            # `dipkb timeline | head` closes the pipe early; that is not an error.
            sys.stderr.close()
            ctx.exit(EXIT_OK)


@click.group(cls=DipkbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dipkb")
@click.option("--kb", "kb_dir", envvar=KB_ENV_VAR, type=FilePath(file_okay=False),
              help=f"Knowledge-base directory. Default: ${KB_ENV_VAR}, else the nearest directory at or above "
                   "this one made by `dipkb init`, else the bundled example.")
@click.pass_context
def cli(ctx: click.Context, kb_dir: str | None) -> None:
    """dipkb: a knowledge base of diplomatic events, queried with SPARQL.

    \b
    Example:
      dipkb timeline --actor Russia --from 2021-07 --to 2021-07
    """
    ctx.obj = kb_dir


def _layout(ctx: click.Context) -> KBLayout:
    return KBLayout.locate(ctx.obj)


def _open_kb(ctx: click.Context):
    """The KB for this command, entered as a context manager that click exits (releasing the
    index lease) when the command ends, as a ``with`` around the command would."""
    from dipkb.kb import KnowledgeBase

    return ctx.with_resource(KnowledgeBase.open(layout=_layout(ctx)))


def output_options(formats: Sequence[OutputFormat], default: OutputFormat) -> Callable:
    """The shared -f/--format and -o/--output of every command that prints rows or RDF."""
    names = [f.value for f in formats]

    def decorator(command: Callable) -> Callable:
        @click.option("-o", "--output", type=FilePath(dir_okay=False), default=None,
                      help="Write to this file (atomically) instead of stdout; its extension picks the format.")
        @click.option("-f", "--format", "fmt", type=click.Choice(names), default=None,
                      help=f"Output format (default: from -o's extension, else {default.value}).")
        @functools.wraps(command)
        def wrapper(*args, fmt: str | None, output: str | None, **kwargs):
            return command(*args, out=Output(choose_format(formats, default, fmt, output), output), **kwargs)

        return wrapper

    return decorator


# --------------------------------------------------------------------------------------------
@cli.command()
@click.argument("paths", nargs=-1, type=FilePath(exists=True, dir_okay=False))
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text",
              help="Findings as text (default), JSON, or a SHACL validation report in Turtle.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...], fmt: str, strict: bool) -> None:
    """Check the KB (or the given files, in the KB's context) against the SHACL shapes.

    Exit 0 when it conforms (warnings are shown), 1 on violations (--strict: on warnings too),
    2 when a file does not parse.

    \b
    Example:
      dipkb validate
      dipkb validate kb/events-2021.ttl --strict
    """
    from dipkb import findings, validation

    report = validation.validate(_layout(ctx), [Path(p) for p in paths] or None)
    renderer = {"text": findings.render_text, "json": findings.render_json, "turtle": findings.render_turtle}[fmt]
    click.echo(renderer(report), nl=False)
    ctx.exit(EXIT_OK if report.conforms(strict=strict) else EXIT_FINDINGS)


@cli.command()
@click.argument("query")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of a saved query, typed by its header and bound, never spliced.")
@click.option("--with-derived", is_flag=True,
              help="CONSTRUCT/DESCRIBE: include the triples the index derives (dip:participant, days, tallies).")
@output_options((*SOLUTION_FORMATS, OutputFormat.TURTLE, OutputFormat.NTRIPLES), OutputFormat.TABLE)
@click.pass_context
def query(ctx: click.Context, query: str, params: tuple[str, ...], with_derived: bool, out: Output) -> None:
    """Run SPARQL: inline text, a .rq file, - for stdin, or a saved query by name.

    SELECT/ASK print as a table or in the W3C results formats (csv, tsv, json, xml);
    CONSTRUCT/DESCRIBE as RDF, without the index's derived triples unless --with-derived.
    FROM and FROM NAMED are honoured. SERVICE and LOAD are refused.

    \b
    Examples:
      dipkb query actor-timeline -p actor=Russia -p from=2021-07 -p to=2021-07
      dipkb query 'SELECT ?e ?label WHERE { ?e a dip:Meeting ; rdfs:label ?label }' -f csv
    """
    from dipkb import queries, render
    from dipkb.timeline import resolve_actor

    kb = _open_kb(ctx)
    saved = None
    if query == "-":
        text = sys.stdin.read()
    elif query.endswith(".rq") and Path(query).is_file():
        saved = queries.load_query_file(Path(query))
    elif queries.is_query_name(query):
        saved = queries.find_query(kb.layout.queries_dir, query)
    else:
        text = query
    if saved:
        # Bound by a VALUES block in the text (standard SPARQL 1.1), as any other engine would run it.
        text = saved.with_values(saved.bind(queries.parse_assignments(params), lambda name: resolve_actor(kb, name)))
    elif params:
        raise ParameterError("-p works with saved queries (a name or a .rq file) that declare parameters.")
    out.write(render.query_result(kb.query(text, with_derived=with_derived), out.format))


@cli.command("queries")
@output_options((OutputFormat.TABLE, OutputFormat.CSV, OutputFormat.TSV, OutputFormat.JSON), OutputFormat.TABLE)
@click.pass_context
def list_queries(ctx: click.Context, out: Output) -> None:
    """List the saved queries with their titles and parameters.

    \b
    Example:
      dipkb queries
    """
    from dipkb import queries

    catalogue = queries.load_catalogue(_layout(ctx).queries_dir)
    rows = [[q.name, q.title, ", ".join(p.signature() for p in q.parameters)] for q in catalogue]
    out.write(rows_output(["name", "title", "parameters"], rows, out.format))


@cli.command("timeline")
@click.option("--actor", "actors", multiple=True, help="IRI, CURIE or name; repeat for several (any of them).")
@click.option("--direct", is_flag=True, help="Only the actor's own events, not those of actors acting for it.")
@click.option("--type", "event_type", help="Event class (Meeting), CAMEO code (04, 042) or PLOVER type (CONSULT).")
@click.option("--place", help="Place IRI, CURIE or name; places inside it count too.")
@click.option("--from", "start", help="Start: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--to", "end", help="End: YYYY, YYYY-MM or YYYY-MM-DD (the whole period is included).")
@output_options((OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.CSV, OutputFormat.TSV), OutputFormat.TABLE)
@click.pass_context
def timeline_command(ctx: click.Context, actors, direct, event_type, place, start, end, out: Output) -> None:
    """Events in chronological order, with date at its real precision, roles, place and sources.

    Date filters match events whose time overlaps the range.

    \b
    Examples:
      dipkb timeline --actor Russia --from 2021-07 --to 2021-07
      dipkb timeline --type Meeting -f json
    """
    from dipkb import timeline as tl
    from dipkb.temporal import parse_partial_date

    kb = _open_kb(ctx)
    start_day = parse_partial_date(start).first_day if start else None
    end_day = parse_partial_date(end).last_day if end else None
    filt = tl.TimelineFilter(
        actors=tuple(tl.resolve_actor(kb, a) for a in actors),
        via_agents=not direct,
        event_type=tl.resolve_event_type(kb, event_type) if event_type else None,
        place=tl.resolve_place(kb, place) if place else None,
        start=start_day,
        end=end_day,
    )
    entries = tl.timeline(kb, filt)
    for note in tl.empty_actor_notes(kb, filt, entries):
        click.echo(f"Note: {note}", err=True)
    if out.format is OutputFormat.JSON:
        out.write(json.dumps([e.as_dict() for e in entries], ensure_ascii=False, indent=2) + "\n")
        return
    out.write(rows_output(TIMELINE_HEADERS, timeline_rows(entries, out.format), out.format))


@cli.command()
@click.argument("name")
@output_options((OutputFormat.TEXT, OutputFormat.JSON), OutputFormat.TEXT)
@click.pass_context
def show(ctx: click.Context, name: str, out: Output) -> None:
    """Everything about one event, actor, place or source.

    \b
    Examples:
      dipkb show Kabulov
      dipkb show event:kabulov-taliban-meeting-2021-07 -f json
    """
    from dipkb import describe

    description = describe.describe(_open_kb(ctx), name)
    if out.format is OutputFormat.JSON:
        out.write(json.dumps(description.as_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(describe.render_text(description))


@cli.command()
@output_options((OutputFormat.TURTLE, OutputFormat.NTRIPLES, OutputFormat.NQUADS, OutputFormat.TRIG,
                 OutputFormat.JSONLD, OutputFormat.RDFXML), OutputFormat.TURTLE)
@click.option("--with-ontology", is_flag=True, help="Include the ontology and the shapes.")
@click.option("--with-derived", is_flag=True,
              help="Include what the index derives (participants, days, time buckets, tallies), so that "
                   "any SPARQL server answers the saved queries; N-Quads/TriG also get the union as default graph.")
@click.pass_context
def export(ctx: click.Context, out: Output, with_ontology: bool, with_derived: bool) -> None:
    """Write the KB's files as RDF, literals as written: deterministic, byte-identical for the same KB.

    Formats: turtle, ntriples, nquads, trig, jsonld (compact, against ontology/context.jsonld),
    rdfxml; -o's extension (.ttl .nt .nq .trig .jsonld .rdf) picks one.

    \b
    Examples:
      dipkb export -o dipkb.ttl
      dipkb export --with-derived --with-ontology -o dipkb-full.ttl
      dipkb export -f nquads --with-ontology
    """
    from dipkb import export as exporter

    kb = _open_kb(ctx)
    with out.stream() as stream:
        count = exporter.export(kb, exporter.ExportFormat(out.format.value), stream, with_ontology=with_ontology,
                                with_derived=with_derived)
    if out.path:
        click.echo(f"Wrote {count} statements to {out.path} ({out.format.value}).", err=True)


@cli.command()
@output_options((OutputFormat.TEXT, OutputFormat.JSON), OutputFormat.TEXT)
@click.pass_context
def stats(ctx: click.Context, out: Output) -> None:
    """Counts by class and event type, the date range, and the sources.

    \b
    Example:
      dipkb stats
    """
    from dipkb import stats as statistics

    result = statistics.compute_stats(_open_kb(ctx))
    if out.format is OutputFormat.JSON:
        out.write(json.dumps(statistics.stats_as_dict(result), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(statistics.render_stats_text(result))


@cli.command("index")
@click.option("--rebuild", is_flag=True, help="Build the index again from scratch.")
@click.pass_context
def index_command(ctx: click.Context, rebuild: bool) -> None:
    """Bring the on-disk index up to date with the KB files (every command does this first).

    The Turtle files stay the source of truth; the index (kb/.dipkb/; for the example inside an
    installed package, or a read-only kb/, the user's cache directory) holds one named graph per
    file and reloads only the files that changed.

    \b
    Example:
      dipkb index
      dipkb --kb bench/out/kb-1000 index --rebuild
    """
    from dipkb import index

    layout = _layout(ctx)
    if rebuild:
        report = index.rebuild(layout)
    else:
        opened = index.open_index(layout)
        report = opened.report
        opened.lease.close()
    click.echo(report.summary())


@cli.command("init")
@click.argument("directory", default=".", type=FilePath())
@click.option("--example", is_flag=True, help="Start from a copy of the bundled example instead of an empty kb/.")
def init_command(directory: str, example: bool) -> None:
    """Create a knowledge base of your own in DIRECTORY (default: the current one).

    It gets kb/ (empty, or the bundled example with --example), the saved queries in queries/,
    a .gitignore for the index and lock files, a README and the .dipkb-kb marker: commands run
    inside DIRECTORY use this KB. Nothing is overwritten: a directory that already holds a KB,
    or files init would replace, is an error.

    \b
    Example:
      dipkb init mykb --example
      cd mykb && dipkb timeline
    """
    from dipkb.init import init_kb

    click.echo(init_kb(directory, example=example).summary(), nl=False)


@cli.command()
@click.argument("label")
@click.option("--type", "event_type", required=True, help="Event class (Meeting, Visit...), CAMEO code or PLOVER type.")
@click.option("--participant", "participants", multiple=True, metavar="ROLE=ACTOR",
              help="A role and an actor name or IRI, e.g. host=Russia; repeat, or separate with ';'.")
@click.option("--date", help="When, at the precision known: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--start", help="Start of an interval.")
@click.option("--end", help="End of an interval.")
@click.option("--earliest", help="Bound: it began no earlier than this.")
@click.option("--latest", help="Bound: it began no later than this.")
@click.option("--time-expression", help="The source's wording of the time ('this week').")
@click.option("--place", help="Where: a place name or IRI.")
@click.option("--origin", help="Where a movement started.")
@click.option("--destination", help="Where a movement went.")
@click.option("--modality", type=click.Choice(["occurred", "ongoing", "planned", "possible", "claimed", "denied"]),
              default="occurred", show_default=True)
@click.option("--quote", help="A statement's words, verbatim.")
@click.option("--content", help="A paraphrase of what was said or done.")
@click.option("--purpose", help="What the event was for, as the source says.")
@click.option("--note", help="A curator's note.")
@click.option("--language", default="en", show_default=True, help="Language tag of the texts.")
@click.option("--source", "sources", multiple=True, help="An existing source: IRI, CURIE or title. Repeatable.")
@click.option("--source-url", help="A new source's URL (http or https).")
@click.option("--source-title", help="A new source's title.")
@click.option("--source-publisher", help="A new source's publisher.")
@click.option("--source-date", help="A new source's publication date: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--source-kind", type=click.Choice(["article", "agency", "official"]), default="article", show_default=True)
@click.option("--new-actor", "new_actors", multiple=True, metavar="NAME[=CLASS]",
              help="Create this actor if no actor has the name (CLASS: State, Person, Organisation, ...).")
@click.option("--into", type=FilePath(dir_okay=False), help="The KB file to append to (default kb/events-YEAR.ttl).")
@click.option("--dry-run", is_flag=True, help="Print the Turtle that would be written; write nothing.")
@click.pass_context
def add(ctx: click.Context, label: str, event_type: str, participants, sources, new_actors, dry_run: bool,
        into: str | None, **fields) -> None:
    """Add one event: validated with the shapes first, then appended atomically under a lock.

    Names resolve like `timeline --actor`; an unknown name is an error unless --new-actor asks for it.
    A rejected event prints the findings, exits 1 and changes nothing.

    \b
    Example:
      dipkb add "Lavrov meets Jaishankar" --type Meeting --participant host=actor:russian-foreign-minister \\
        --participant "visitor=S Jaishankar" --date 2021-07-09 --place Moscow \\
        --source-title "Jaishankar in Moscow" --source-url https://example.org/a --source-date 2021-07 --dry-run
    """
    from dipkb import authoring

    source = authoring.SourceDraft.from_options(**{key: fields.pop(f"source_{key}") for key in
                                                   ("title", "url", "publisher", "date", "kind")})
    draft = authoring.EventDraft(
        label=label, event_type=event_type, sources=sources, new_sources=(source,) if source else (),
        participants=tuple(p for text in participants for p in authoring.parse_participants(text)),
        new_actors=tuple(authoring.ActorDraft.parse(text) for text in new_actors), **fields)
    result = authoring.add_event(_open_kb(ctx), draft, into=Path(into) if into else None, dry_run=dry_run)
    if not result.accepted:
        from dipkb.findings import render_finding

        for finding in result.findings:
            click.echo(render_finding(finding), err=True)
        click.echo("Error: the event was rejected by the shapes; nothing was written.", err=True)
        ctx.exit(EXIT_FINDINGS)
    if dry_run:
        click.echo(result.turtle, nl=False)
        return
    where = os.path.relpath(result.target)
    click.echo(f"Added {result.iri.rsplit('/', 1)[-1]} to {where}.")
    if result.same_as:
        from dipkb.namespaces import curie

        click.echo(f"Note: it has the same identity key as {curie(result.same_as)}; check it is not a duplicate.",
                   err=True)


@cli.command("import")
@click.argument("file", type=FilePath(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv", "yaml", "gdelt", "icews", "plover"]),
              help="Input format (default: guessed from the name and first line).")
@click.option("--into", type=FilePath(dir_okay=False), help="KB file to add to (default kb/imports/FORMAT-FILE.ttl).")
@click.option("--report", type=FilePath(dir_okay=False), help="Write the row accounting as JSON here.")
@click.option("--rejected", type=FilePath(dir_okay=False), help="Write the rejected rows with reasons (TSV) here.")
@click.option("--dry-run", is_flag=True, help="Count and check, write nothing to the KB.")
@click.option("--actor", "actor_codes", multiple=True, help="Keep rows with an actor code starting so (RUS, AFGGOV).")
@click.option("--country", "country_codes", multiple=True, help="Keep rows with an actor of this country (ISO-3 / CAMEO).")
@click.option("--from", "date_from", help="Keep rows dated on or after: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--to", "date_to", help="Keep rows dated on or before.")
@click.option("--code", "event_codes", multiple=True, help="Keep rows with this CAMEO prefix (04, 190) or PLOVER type.")
@click.option("--full-validation", is_flag=True, help="Check every new node with the shapes, not one of each shape.")
@click.pass_context
def import_command(ctx: click.Context, file: str, fmt: str | None, into: str | None, report: str | None,
                   rejected: str | None, dry_run: bool, actor_codes, country_codes, date_from, date_to,
                   event_codes, full_validation: bool) -> None:
    """Import events from CSV/YAML or coded datasets (GDELT, ICEWS, PLOVER), accounting for every row.

    Each row is imported, merged into an existing event (duplicate) or rejected with a reason.
    Atomic: a failed import leaves the KB as it was. Exit 0 when imported, 1 when the shapes refuse
    the result (nothing written), 2 for unreadable input.

    \b
    Example:
      dipkb import 20191024143000.export.CSV --format gdelt --country RUS --report report.json
    """
    from dipkb.importers.pipeline import ImportFormat, ImportOptions, commit_import, run_import, write_rejected
    from dipkb.writing import check_writable

    kb = _open_kb(ctx)
    if not dry_run:
        check_writable(kb.layout)  # before reading a file of millions of rows for nothing
    options = ImportOptions(actor_codes=actor_codes + country_codes, date_from=date_from, date_to=date_to,
                            event_codes=event_codes, into=Path(into) if into else None)
    result = run_import(kb, Path(file), ImportFormat(fmt) if fmt else None, options)
    accounting = result.report
    if not dry_run:
        commit_import(kb.layout, result, kb=kb, full_validation=full_validation)
    if report:
        Output(OutputFormat.JSON, report).write(json.dumps(accounting.as_json(), indent=2, sort_keys=True) + "\n")
    if rejected:
        write_rejected(result, Path(rejected))
    click.echo(accounting.summary(os.path.relpath(result.target), dry_run=dry_run))


def main() -> None:
    cli(prog_name="dipkb")
