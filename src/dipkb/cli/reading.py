"""The commands that read the KB: validate, query, queries, show, export, stats (timeline has its own module)."""
from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from dipkb.cli.base import EXIT_FINDINGS, EXIT_OK, FilePath, layout_of, note_unread_files, open_kb, output_options
from dipkb.errors import ParameterError, QueryError
from dipkb.views.render import GRAPH_FORMATS, SOLUTION_FORMATS, Output, OutputFormat, json_text, rows_output


@click.command()
@click.argument("paths", nargs=-1, type=FilePath(exists=True, dir_okay=False))
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json", "turtle"], case_sensitive=False),
              default="text",
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
    from dipkb.shacl import findings
    from dipkb.shacl import validation

    layout = layout_of(ctx)
    note_unread_files(layout)
    report = validation.validate(layout, [Path(p) for p in paths] or None)
    renderer = {"text": findings.render_text, "json": findings.render_json, "turtle": findings.render_turtle}[fmt]
    click.echo(renderer(report, strict), nl=False)
    ctx.exit(EXIT_OK if report.conforms(strict=strict) else EXIT_FINDINGS)


@click.command()
@click.argument("query")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of a saved query, typed by its header and bound, never spliced.")
@click.option("--with-derived", is_flag=True,
              help="CONSTRUCT/DESCRIBE: include the triples the index derives (dip:participant, days, tallies).")
@output_options((*SOLUTION_FORMATS, *GRAPH_FORMATS), OutputFormat.TABLE)
@click.pass_context
def query(ctx: click.Context, query: str, params: tuple[str, ...], with_derived: bool, out: Output) -> None:
    """Run SPARQL: inline text, a .rq or .sparql file, - for stdin, or a saved query by name.

    SELECT/ASK print as a table or in the W3C results formats (csv, tsv, json, xml), row by row
    as they come: a table sizes its columns from its first 1,000 rows, at most 100 characters
    wide, and cuts a wider cell to fit, ending it in "…" (the last column is never cut; use csv
    for every cell in full).
    CONSTRUCT/DESCRIBE as RDF, without the index's derived triples unless --with-derived.
    FROM and FROM NAMED are honoured. SERVICE and LOAD are refused.

    \b
    Examples:
      dipkb query actor-timeline -p actor=Russia -p from=2021-07 -p to=2021-07
      dipkb query 'SELECT ?e ?label WHERE { ?e a dip:Meeting ; rdfs:label ?label }' -f csv
    """
    from dipkb.sparql import saved as queries
    from dipkb.sparql.guard import read_query
    from dipkb.views import render
    from dipkb.views.names import bound_saved_query
    from dipkb.views.written import as_written

    kb = open_kb(ctx)
    saved = None
    if query == "-":
        text = read_query(sys.stdin.buffer, "standard input")
    elif query.endswith(queries.QUERY_FILE_SUFFIXES) and "{" not in query:  # a file's name, not a query's text
        if not Path(query).is_file():
            raise ParameterError(f"{query}: no such query file" if not Path(query).exists()
                                 else f"{query}: not a file to read a query from")
        loaded = queries.read_query_file(Path(query))
        saved, text = (None, loaded) if isinstance(loaded, str) else (loaded, None)
    elif queries.is_query_name(query):
        saved = queries.find_query(kb.layout.queries_dir, query)
    elif (unknown := queries.not_sparql(kb.layout.queries_dir, query)) is not None:
        raise unknown
    else:
        text = query
    if saved:
        # Bound by a VALUES block in the text (standard SPARQL 1.1), as any other engine would run it.
        text = bound_saved_query(kb, saved, queries.parse_assignments(params))
    elif params:
        raise ParameterError("-p works with saved queries (a name or a query file) that declare parameters.")
    # The engine evaluates in Rust, where Python never sees Ctrl-C: a runaway query ran on until killed.
    # Only reading from here on (the index is refreshed), the command may end at once, as by default.
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.SIG_IGN:  # a background job of a script ignores it, and goes on doing so
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        result = as_written(kb, kb.query(text, with_derived=with_derived))
        with out.stream() as stream:
            render.write_query_result(result, out.format, stream)
    finally:
        signal.signal(signal.SIGINT, previous)


@click.command("queries")
@output_options((OutputFormat.TABLE, OutputFormat.CSV, OutputFormat.TSV, OutputFormat.JSON), OutputFormat.TABLE)
@click.pass_context
def list_queries(ctx: click.Context, out: Output) -> None:
    """List the saved queries with their titles and parameters. A query file that does not load is
    named on stderr, after the list of those that do (exit code 2).

    \b
    Example:
      dipkb queries
    """
    from dipkb.sparql import saved as queries

    catalogue, problems = queries.read_catalogue(layout_of(ctx).queries_dir)
    rows = [[q.name, q.title, ", ".join(p.signature() for p in q.parameters)] for q in catalogue]
    out.write(rows_output(["name", "title", "parameters"], rows, out.format))
    if problems:  # one bad file hid every other query
        raise QueryError(queries.unloaded(problems))


@click.command()
@click.argument("name")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="List at most N of the things that refer to it and N events of its timeline, and how many there are.")
@output_options((OutputFormat.TEXT, OutputFormat.JSON), OutputFormat.TEXT)
@click.pass_context
def show(ctx: click.Context, name: str, limit: int | None, out: Output) -> None:
    """Everything about one event, actor, place or source.

    NAME is its label or an alternative label, in any case, or its IRI or CURIE (actor:russia): a name
    two things share (Russia, the state and the country) is answered with the CURIEs to choose from.

    \b
    Examples:
      dipkb show Kabulov
      dipkb show event:kabulov-taliban-meeting-2021-07 -f json
      dipkb show actor:russia --limit 5
    """
    from dipkb.views import describe

    description = describe.describe(open_kb(ctx), name, limit=limit)
    out.write_pieces(description.json_pieces() if out.format is OutputFormat.JSON else describe.text_lines(description))


@click.command()
@output_options((OutputFormat.TURTLE, OutputFormat.NTRIPLES, OutputFormat.NQUADS, OutputFormat.TRIG,
                 OutputFormat.JSONLD, OutputFormat.RDFXML, OutputFormat.HTML), OutputFormat.TURTLE)
@click.option("--with-ontology", is_flag=True, help="Include the ontology and the shapes.")
@click.option("--with-derived", is_flag=True,
              help="Include what the index derives (participants, days, time buckets, tallies), so that "
                   "any SPARQL server answers the saved queries; N-Quads/TriG also get the union as default graph.")
@click.pass_context
def export(ctx: click.Context, out: Output, with_ontology: bool, with_derived: bool) -> None:
    """Write the KB's files as RDF, literals as written: deterministic, byte-identical for the same KB.

    Formats: turtle, ntriples, nquads, trig, jsonld (compact, against ontology/context.jsonld),
    rdfxml; -o's extension (.ttl .nt .nq .trig .jsonld .rdf) picks one. -f html (.html) writes the
    timeline instead: one page that opens offline, with the served page's look and filters.

    \b
    Examples:
      dipkb export -o dipkb.ttl
      dipkb export --with-derived --with-ontology -o dipkb-full.ttl
      dipkb export -f nquads --with-ontology
      dipkb export -f html -o timeline.html
    """
    from dipkb.views import export as exporter

    kb = open_kb(ctx)
    if out.format is OutputFormat.HTML:
        if with_ontology or with_derived:
            raise ParameterError("--with-ontology and --with-derived apply to RDF exports, not to -f html.")
        from dipkb.cli.timeline import write_page
        from dipkb.views.long_selection import select_all
        from dipkb.views.selection import TimelineFilter

        selected = select_all(kb, TimelineFilter())
        write_page(kb, selected, out)
        if out.path:  # as the RDF exports say what they wrote
            click.echo(f"Wrote {len(selected)} events to {out.path} (html).", err=True)
        return
    with out.stream() as stream:
        exported = exporter.export(kb, exporter.ExportFormat(out.format.value), stream, with_ontology=with_ontology,
                                   with_derived=with_derived)
    if exported.blank_nodes_in_file_order:
        click.echo(f"Note: {exported.blank_nodes_in_file_order} blank nodes, alike and linked to one another, are "
                   "labelled in the files' order (_:b0...): canonical labels (RDFC-1.0) for them would take "
                   "too long.", err=True)
    if out.path:
        click.echo(f"Wrote {exported.statements} statements to {out.path} ({out.format.value}).", err=True)


@click.command()
@output_options((OutputFormat.TEXT, OutputFormat.JSON), OutputFormat.TEXT)
@click.pass_context
def stats(ctx: click.Context, out: Output) -> None:
    """Counts by class and event type, the date range, and the sources.

    \b
    Example:
      dipkb stats
    """
    from dipkb.views import stats as statistics

    if not ctx.obj.endpoint:
        note_unread_files(layout_of(ctx))
    result = statistics.compute_stats(open_kb(ctx))
    if out.format is OutputFormat.JSON:
        out.write(json_text(statistics.stats_as_dict(result)))
    else:
        out.write(statistics.render_stats_text(result))

