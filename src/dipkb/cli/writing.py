"""The commands that write: index, init, add, import."""
from __future__ import annotations

import json
from pathlib import Path

import click

from dipkb.cli.base import EXIT_FINDINGS, FilePath, ModalityChoice, layout_of, not_blank, open_kb, outside_the_kb
from dipkb.errors import WriteError
from dipkb.util.paths import display_path
from dipkb.util.terminal import terminal_lines
from dipkb.views.render import Output, OutputFormat


@click.command("index")
@click.option("--rebuild", is_flag=True, help="Build the index again from scratch.")
@click.pass_context
def index_command(ctx: click.Context, rebuild: bool) -> None:
    """Bring the on-disk index up to date with the KB files (every command does this first).

    The Turtle files stay the source of truth; the index (kb/.dipkb/; for the example inside an
    installed package, or a read-only kb/, the user's cache directory) holds one named graph per
    file and reloads only the files that changed, or builds it again when they are most of the KB
    (a graph is deleted more slowly than it is loaded).

    \b
    Example:
      dipkb index
      dipkb index --rebuild
    """
    from dipkb.store import index

    layout = layout_of(ctx)
    if rebuild:
        report = index.rebuild(layout)
    else:
        opened = index.open_index(layout)
        report = opened.report
        opened.lease.close()
    click.echo(report.summary())


@click.command("init")
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
    from dipkb.store.init import init_kb

    click.echo(init_kb(directory, example=example).summary(), nl=False)


@click.command()
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
@click.option("--modality", type=ModalityChoice(), default="occurred", show_default=True)
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
@click.option("--acts-for", "acts_for", multiple=True, metavar="NAME=ACTOR",
              help="The new actor NAME acts for ACTOR, of the KB or new (--new-actor Russia=State), and so shows in "
                   "its timeline.")
@click.option("--position", "positions", multiple=True, metavar="NAME=TITLE",
              help="The new actor NAME holds this position for the actor it acts for ('Foreign Minister').")
@click.option("--new-place", "new_places", multiple=True, metavar="NAME[=CLASS]",
              help="Create this place if no place has the name (CLASS: Place, the default, or Country).")
@click.option("--in-country", "in_country", multiple=True, metavar="NAME=COUNTRY",
              help="The new place NAME lies in COUNTRY, a country of the KB (a name, or an ISO or CAMEO code) or a "
                   "new one (--new-place Russia=Country).")
@click.option("--into", type=FilePath(dir_okay=False), help="The KB file to append to (default kb/events-YEAR.ttl).")
@click.option("--dry-run", is_flag=True, help="Print the Turtle that would be written; write nothing.")
@click.pass_context
def add(ctx: click.Context, label: str, event_type: str, participants, sources, new_actors, acts_for, positions,
        new_places, in_country, dry_run: bool, into: str | None, **fields) -> None:
    """Add one event: validated with the shapes first, then appended atomically under a lock.

    Names resolve like `timeline --actor`; an unknown name is an error unless --new-actor or --new-place
    asks for it.
    A new source (--source-*) is a source of the KB with the same URL, or with the same title (untagged
    or in --language) and no other URL, when there is one. The shapes' warnings are printed; a
    rejected event prints the findings, exits 1 and changes nothing.

    \b
    Examples:
      dipkb add "Lavrov meets Jaishankar" --type Meeting --participant host=actor:russian-foreign-minister \\
        --participant "visitor=S Jaishankar" --date 2021-07-09 --place Moscow \\
        --source-title "Jaishankar in Moscow" --source-url https://example.org/a --source-date 2021-07 --dry-run
      dipkb add "Lavrov receives Zarif" --type Meeting --participant "host=Lavrov; visitor=Zarif" \\
        --new-actor Lavrov=Person --acts-for Lavrov=Russia --position "Lavrov=Foreign Minister" \\
        --date 2021-07 --source source:founding-article --dry-run
      dipkb add "Russia and Tajikistan hold talks in Dushanbe" --type Meeting \\
        --participant "participant=Russia; participant=Tajikistan" --date 2021-07 --place Dushanbe \\
        --new-place Dushanbe --in-country Dushanbe=Tajikistan --source source:founding-article --dry-run
    """
    from dipkb.authoring import add as authoring
    from dipkb.authoring.drafts import actor_drafts
    from dipkb.authoring.new_places import place_drafts
    from dipkb.shacl.findings import finding_lines

    source = authoring.SourceDraft.from_options(**{key: fields.pop(f"source_{key}") for key in
                                                   ("title", "url", "publisher", "date", "kind")})
    draft = authoring.EventDraft(
        label=label, event_type=event_type, sources=sources, new_sources=(source,) if source else (),
        participants=tuple(p for text in participants for p in authoring.parse_participants(text)),
        new_actors=actor_drafts(new_actors, acts_for, positions), new_places=place_drafts(new_places, in_country),
        **fields)
    result = authoring.add_event(open_kb(ctx, local=True), draft, into=Path(into) if into else None, dry_run=dry_run)
    if result.findings:
        click.echo("\n".join(finding_lines(result.findings)), err=True)
    if not result.accepted:
        click.echo("Error: the event was rejected by the shapes; nothing was written.", err=True)
        ctx.exit(EXIT_FINDINGS)
    from dipkb.model.namespaces import curie

    if dry_run:
        click.echo(result.turtle, nl=False)
    else:  # named as `show` and the other commands take it
        click.echo(f"Added {curie(result.iri)} to {display_path(result.target)}.")
    reused = [(known, "--new-actor") for known in result.reused_actors] + \
        [(known, "--new-place") for known in result.reused_places]
    for known, option in reused:
        # Another add may have made it meanwhile: what this one asked of it (a class, a country) is not applied.
        click.echo(f"Note: {curie(known)} is in the knowledge base already, and is used as it is: {option} "
                   "for it made nothing.", err=True)
    for known in result.reused_sources:  # the title, date or publisher given may not be the KB's
        click.echo(f"Note: {curie(known)} is in the knowledge base already, with that URL or title, and is cited "
                   "as it is there: the title, date and publisher given for it made nothing.", err=True)
    if result.same_as:  # a dry run is when it helps most
        click.echo(f"Note: it has the same identity key as {curie(result.same_as)}; check it is not a duplicate.",
                   err=True)


@click.command("import")
@click.argument("file", type=FilePath(exists=True, dir_okay=False))
@click.option("--format", "fmt",
              type=click.Choice(["csv", "yaml", "gdelt", "icews", "plover", "acled"], case_sensitive=False),
              help="Input format (default: guessed from the content; .zip, .gz and .bz2 are read through).")
@click.option("--into", type=FilePath(dir_okay=False), help="KB file to add to (default kb/imports/FORMAT-FILE.ttl).")
@click.option("--report", type=FilePath(dir_okay=False), callback=outside_the_kb,
              help="Write the row accounting as JSON here.")
@click.option("--rejected", type=FilePath(dir_okay=False), callback=outside_the_kb,
              help="Write the rejected rows with reasons (TSV) here.")
@click.option("--dry-run", is_flag=True, help="Count and check, write nothing to the KB.")
@click.option("--actor", "actor_codes", multiple=True, callback=not_blank,
              help="Keep rows with an actor code starting so (RUS, AFGGOV).")
@click.option("--country", "country_codes", multiple=True, callback=not_blank,
              help="Keep rows with an actor of this country: a name, ISO 3166 or CAMEO code (Russia, RU, RUS).")
@click.option("--from", "date_from", callback=not_blank,
              help="Keep rows dated on or after: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--to", "date_to", callback=not_blank, help="Keep rows dated on or before.")
@click.option("--code", "event_codes", multiple=True, callback=not_blank,
              help="Keep rows with this CAMEO prefix (04, 190) or PLOVER type.")
@click.option("--min-mentions", type=click.IntRange(min=0), help="GDELT: keep rows with at least this NumMentions.")
@click.option("--root-only", is_flag=True, help="GDELT: keep only root events (IsRootEvent 1, a lead paragraph).")
@click.option("--mentions", type=FilePath(exists=True, dir_okay=False),
              help="GDELT 2.0: a mentions file whose documents become further sources of their events.")
@click.option("--full-validation", is_flag=True, help="Check every new node with the shapes, not one of each shape.")
@click.pass_context
def import_command(ctx: click.Context, file: str, fmt: str | None, into: str | None, report: str | None,
                   rejected: str | None, dry_run: bool, actor_codes, country_codes, date_from, date_to,
                   event_codes, min_mentions: int | None, root_only: bool, mentions: str | None,
                   full_validation: bool) -> None:
    """Import events from CSV/YAML or coded datasets (GDELT, ICEWS, PLOVER, ACLED), accounting for every row.

    Each row is imported, merged into an existing event (duplicate) or rejected with a reason.
    ACLED's event types map to dipkb classes through the CAMEO codes listed in the table
    dipkb/authoring/importers/acled-types.tsv; a week-precise ACLED date becomes earliest/latest dates.
    Atomic: a failed import leaves the KB as it was. Exit 0 when imported, 1 when the shapes refuse
    the result (nothing written) or every row not filtered out was rejected, 2 for unreadable input.

    \b
    Example:
      dipkb import 20191024143000.export.CSV --format gdelt --country RUS --report report.json
      dipkb import 20191024143000.export.CSV.zip --mentions 20191024143000.mentions.CSV.zip --min-mentions 5
    """
    from dipkb.authoring.importing import (ImportFormat, ImportOptions, check_import, commit_import, rejected_lines,
                                          run_import)
    from dipkb.store.writing import check_writable

    kb = open_kb(ctx, local=True)
    if not dry_run:
        check_writable(kb.layout)  # before reading a file of millions of rows for nothing
    options = ImportOptions(actor_codes=actor_codes, countries=country_codes, date_from=date_from, date_to=date_to,
                            event_codes=event_codes, into=Path(into) if into else None,
                            min_mentions=min_mentions, root_only=root_only, mentions=Path(mentions) if mentions else None)
    result = run_import(kb, Path(file), ImportFormat(fmt) if fmt else None, options)
    accounting = result.report
    if dry_run:
        check_import(kb, result, full_validation=full_validation)
    else:
        commit_import(kb.layout, result, kb=kb, full_validation=full_validation)
    # Its rejection reasons may quote the file's cells, text from the web.
    click.echo(terminal_lines(accounting.summary(display_path(result.target), dry_run=dry_run)))
    try:
        if report:
            Output(OutputFormat.JSON, report).write(json.dumps(accounting.as_json(), indent=2, sort_keys=True) + "\n")
        if rejected:
            Output(OutputFormat.TSV, rejected).write_pieces(rejected_lines(result))
    except WriteError as error:
        if dry_run:
            raise
        # An error alone read as a failed import: the KB has it, and the same command again adds nothing.
        raise WriteError(f"{error}. The import itself is done, as said above.") from error
    if accounting.rejected and not (accounting.imported or accounting.merged):  # for a script: nothing came in
        ctx.exit(EXIT_FINDINGS)
