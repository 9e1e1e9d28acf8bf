"""The command that publishes the KB to a SPARQL server: push."""
from __future__ import annotations

import click

from dipkb.cli.base import EXIT_FINDINGS, layout_of


@click.command()
@click.option("--update", "update_url", metavar="URL",
              help="SPARQL 1.1 Update endpoint (Oxigraph: http://HOST:7878/update; Virtuoso: http://HOST:8890/sparql, "
                   "or /sparql-auth with a user).")
@click.option("--store", "store_url", metavar="URL",
              help="SPARQL 1.1 Graph Store endpoint (Oxigraph: http://HOST:7878/store): one PUT per graph. With "
                   "--update too (faster, and atomic), a graph new to the server is one POST, the others are "
                   "replaced through --update.")
@click.option("--user", help="User for the server's authentication. Default: $DIPKB_ENDPOINT_USER, else ~/.netrc.")
@click.option("--password", help="Its password (other users of this machine can see options: prefer "
                                 "$DIPKB_ENDPOINT_PASSWORD or ~/.netrc).")
@click.option("--all", "everything", is_flag=True,
              help="Send every graph, even those the last push to this URL sent unchanged, and with --update "
                   "empty the server's other dipkb graphs (after the server was emptied or restored, or kb/.dipkb "
                   "deleted).")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Graphs sent at a time. Oxigraph loads faster with 2-4; Virtuoso 7.2.5 corrupts its language "
                   "tags when sent two at once: keep 1 there.")
@click.option("--timeout", default=300.0, show_default=True, type=click.FloatRange(1, 24 * 3600),
              help="Seconds to wait for the server's answer to one request.")
@click.pass_context
def push(ctx: click.Context, update_url: str | None, store_url: str | None, user: str | None, password: str | None,
         everything: bool, jobs: int, timeout: float) -> None:
    """Publish the KB to a SPARQL server: each file in its graph, the ontology, and the derived data, so that
    the saved queries and `dipkb --endpoint` answer there as here.

    Incremental: only the graphs of files changed since the last push to that URL are sent, those of
    removed files are dropped. With --update, each graph is replaced in one transaction (Oxigraph's
    readers see it whole, before or after); --store alone is not atomic. Exit 1 when a graph failed.

    \b
    Examples:
      dipkb push --update http://127.0.0.1:7878/update
      dipkb push --store http://127.0.0.1:7878/store --update http://127.0.0.1:7878/update
    """
    from dipkb.publish.push import push as run_push
    from dipkb.publish.sending import destination

    to = destination(update_url, store_url, user=user, password=password, timeout=timeout)
    if not to.writer.atomic:
        click.echo("Note: without --update, each graph is replaced by a Graph Store PUT, which some servers "
                   "(Oxigraph) do in two steps: a reader may see a graph empty meanwhile.", err=True)
    report = run_push(layout_of(ctx), to, everything=everything, workers=jobs)
    for graph, why in report.failed:
        click.echo(f"Failed: {graph}: {why}", err=True)
    click.echo(report.summary())
    if not report.ok:
        ctx.exit(EXIT_FINDINGS)
