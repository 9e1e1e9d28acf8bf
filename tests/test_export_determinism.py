"""The same KB gives the same export bytes: whatever the Turtle writer keeps in its cache of rendered
terms, and whatever labels the index gave the blank nodes it derived triples about."""
from __future__ import annotations

from pathlib import Path

import pytest
from test_export_formats import exported

from dipkb import KnowledgeBase
from dipkb.views import turtle_writing
from dipkb.views.export import ExportFormat


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.open()


BLANK_EVENT_TTL = """@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix actor: <https://w3id.org/dipkb/kb/actor/> .
@prefix event: <https://w3id.org/dipkb/kb/event/> .
[] a dip:Meeting ; dip:date "2021-07-10"^^xsd:date ; dip:host actor:a .
event:named a dip:Meeting ; dip:date "2021-07-11"^^xsd:date ; dip:host actor:b .
"""


@pytest.mark.parametrize("fmt", [ExportFormat.TURTLE, ExportFormat.TRIG])
def test_turtle_and_trig_are_the_same_bytes_when_the_writer_keeps_few_terms(kb, monkeypatch, fmt):
    usual = exported(kb, fmt)
    assert b" a " in usual
    monkeypatch.setattr(turtle_writing, "_CACHED_TERMS", 3)  # starts afresh every few terms
    assert exported(kb, fmt) == usual


@pytest.mark.parametrize("fmt", [ExportFormat.NQUADS, ExportFormat.TURTLE])
def test_with_derived_is_the_same_bytes_from_two_loads_of_a_kb_with_a_blank_event(tmp_path: Path, fmt):
    kb_dir = tmp_path / "kbdir"
    kb_dir.mkdir()
    (kb_dir / "events.ttl").write_text(BLANK_EVENT_TTL, encoding="utf-8")
    first, second = (exported(KnowledgeBase.open(kb_dir, index=False), fmt, with_derived=True) for _ in range(2))
    assert b"earliestDay" in first  # the named event's derived day
    assert first == second
