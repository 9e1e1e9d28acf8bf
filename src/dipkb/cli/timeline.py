"""The command people run most, timeline: in a module of its own, so that it loads only what it uses."""
from __future__ import annotations

from collections.abc import Collection

import click

from dipkb.cli.base import ModalityChoice, not_blank, open_kb, output_options
from dipkb.store.kb import KnowledgeBase
from dipkb.views.render import (TIMELINE_HEADERS, Output, OutputFormat, json_array, json_text, timeline_rows,
                                write_rows)
from dipkb.views import timeline as tl
from dipkb.views.long_selection import select_all
from dipkb.views.selected import Selected


@click.command("timeline")
@click.option("--actor", "actors", multiple=True, callback=not_blank,
              help="IRI, CURIE or name; repeat for several (any of them).")
@click.option("--direct", is_flag=True, help="Only the actor's own events, not those of actors acting for it.")
@click.option("--type", "event_type", callback=not_blank,
              help="Event class (Meeting), CAMEO code (04, 042) or PLOVER type (CONSULT).")
@click.option("--place", callback=not_blank, help="Place IRI, CURIE or name; places inside it count too.")
@click.option("--from", "start", callback=not_blank, help="Start: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--to", "end", callback=not_blank,
              help="End: YYYY, YYYY-MM or YYYY-MM-DD (the whole period is included).")
@click.option("--modality", "modalities", multiple=True, type=ModalityChoice(),
              help="Only events of this modality; repeat for several.")
@click.option("--role", "roles", multiple=True, callback=not_blank,
              help="Only events in which the actor (or, without --actor, anyone) took this role: host, visitor, "
                   "speaker, moving force...; repeat for several.")
@output_options((OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.CSV, OutputFormat.TSV, OutputFormat.TIMELINEJS,
                 OutputFormat.GEOJSON, OutputFormat.HTML), OutputFormat.TABLE)
@click.pass_context
def timeline_command(ctx: click.Context, actors, direct, event_type, place, start, end, modalities, roles,
                     out: Output) -> None:
    """Events in chronological order, with date at its real precision, roles, place and sources.

    Date filters match events whose time overlaps the range; an event known only by a bound
    ([..2021-07], [1996..]) is matched by the bound's own period, not every year before or after it.
    -f timelinejs writes TimelineJS3 JSON,
    -f geojson (or -o x.geojson) a GeoJSON FeatureCollection of the events whose place has coordinates,
    -f html (or -o x.html) one page that opens offline, as `export -f html` writes every event.

    \b
    Examples:
      dipkb timeline --actor Russia --from 2021-07 --to 2021-07
      dipkb timeline --type Meeting -f json
      dipkb timeline --actor Russia --role host --modality occurred
      dipkb timeline --actor Russia -f timelinejs -o russia-timeline.json
      dipkb timeline --actor Russia --from 2021 -o russia-2021.html
    """
    kb = open_kb(ctx)
    filt = tl.typed_filter(kb, actors=actors, direct=direct, event_type=event_type, place=place, start=start, end=end,
                           modalities=modalities)
    filt = tl.with_roles(kb, filt, roles)
    selected = select_all(kb, filt)
    for note in tl.empty_actor_notes(kb, filt, bool(selected)):
        click.echo(f"Note: {note}", err=True)
    if out.format is OutputFormat.HTML:
        from dipkb.web.html import TimelineForm

        write_page(kb, selected, out, TimelineForm(actors=tuple(actors), direct=direct, type=event_type or "",
                                                   place=place or "", start=start or "", end=end or "",
                                                   modalities=tuple(modalities), roles=tuple(roles)))
        return
    # A table names each source by its IRI's last segment (render.timeline_rows): no titles to look up.
    entries = tl.timeline_entries(kb, selected, source_titles=out.format is not OutputFormat.TABLE)
    if out.format in (OutputFormat.TIMELINEJS, OutputFormat.GEOJSON):
        from dipkb.views import geojson, timelinejs

        entries = list(entries)
        if out.format is OutputFormat.TIMELINEJS:
            shared = timelinejs.timelinejs(entries)
        else:
            shared = geojson.feature_collection(kb, entries)
        if shared.note:
            click.echo(f"Note: {shared.note}", err=True)
        out.write(json_text(shared.document))
        return
    # Written as the entries come, a chunk at a time.
    if out.format is OutputFormat.JSON:
        out.write_pieces(json_array(e.as_dict() for e in entries))
        return
    with out.stream() as handle:
        write_rows(TIMELINE_HEADERS, timeline_rows(entries, out.format), out.format,
                   lambda text: handle.write(text.encode()))


def write_page(kb: KnowledgeBase, selected: Collection[Selected], out: Output, chosen_by=None) -> None:
    """The offline one-file page of ``selected`` (`timeline -f html`, `export -f html`), with a note
    when it holds more than a browser opens comfortably; ``chosen_by``, the timeline's filters."""
    from dipkb.web import html

    if note := html.page_size_note(len(selected)):
        click.echo(f"Note: {note}", err=True)
    out.write_pieces(html.static_timeline(kb, selected, chosen_by))
