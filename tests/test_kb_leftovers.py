"""A KB writer killed midway leaves a hidden temporary file beside the data file it was replacing;
the next command that only reads deletes it, for a Turtle and an N-Triples data file alike, and
leaves every other hidden file alone."""
from __future__ import annotations

from pathlib import Path

from dipkb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.writing import FileWrite, write_files


def test_a_dead_writers_temporaries_beside_turtle_and_n_triples_files_go_with_the_next_read(kb_copy: Path):
    layout = KBLayout.locate(kb_copy)
    write_files(layout, [FileWrite(layout.kb_dir / "notes.nt",
                                   '<https://example.org/a> <https://example.org/p> "x" .\n')])
    # As durable.temporary_beside names them: mkstemp's eight characters between prefix and suffix.
    dead = [layout.kb_dir / ".notes.nt.k1ll3d_9.tmp", layout.kb_dir / ".actors.ttl.k1ll3d_9.tmp"]
    kept = [layout.kb_dir / ".notes.txt", layout.kb_dir / ".notes.nt.tmp"]
    for path in dead + kept:
        path.write_text("half written")
    with KnowledgeBase.open(layout=layout) as kb:
        assert kb.select("SELECT (COUNT(*) AS ?n) WHERE { <https://example.org/a> ?p ?o }")[0]["n"].value == "1"
    assert [path.exists() for path in dead] == [False, False]
    assert [path.exists() for path in kept] == [True, True]
