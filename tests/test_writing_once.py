"""One of each on the writing side: one Turtle/term writer for every path that writes RDF text, one
lock helper, one atomic writer, and an `add` that finds taken IRIs without reading every file."""
from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, parse

from dipkb import KnowledgeBase
from dipkb.authoring.add import EventDraft, add_event, parse_participants
from dipkb.errors import IndexLockedError, KBLockedError
from dipkb.model import terms
from dipkb.model import record_turtle as import_turtle
from dipkb.model.namespaces import DIP, KB, RDFS, SH, XSD
from dipkb.model.records import NewActor, SourceRecord
from dipkb.shacl.findings import Finding, Severity, ValidationReport, render_turtle
from dipkb.store.generations import Manifest, write_lock as index_write_lock
from dipkb.store.writing import FileWrite, write_files, write_lock
from dipkb.util.durable import replacing, write_atomically
from dipkb.views.export import ExportFormat, export

# Every character Turtle escapes or that ends a token, a quote run that closes a long string, and
# text that reads as Turtle syntax.
HOSTILE = 'He said "no" \\ """ \' \n\t\r\b\f\x00\x1f\x7f é 𝄞 @en ^^xsd:int . ; , ) ] }'
# IRIs a CURIE cannot spell: a trailing dot, a colon, a percent escape, non-ASCII, an empty local name.
HOSTILE_IRIS = [KB + "actor/a.", KB + "actor/x:y", KB + "actor/a%20b", KB + "actor/é", KB + "actor/"]


def triples(text: str | bytes) -> set:
    data = text.encode() if isinstance(text, str) else text
    return {(t.subject, t.predicate, t.object) for t in parse(data, format=RdfFormat.TURTLE)}


@pytest.mark.parametrize("iri", HOSTILE_IRIS + [KB + "actor/plain-name", KB + "actor/u.s.a"])
def test_terms_round_trip_through_pyoxigraph(iri):
    block = terms.block(iri, [("rdfs:label", terms.lang(HOSTILE, "en-GB")),
                                     ("dip:note", terms.string(HOSTILE)),
                                     ("dip:url", terms.typed(HOSTILE, XSD + "anyURI"))])
    subject = NamedNode(iri)
    assert triples(terms.prefix_block() + block) == {
        (subject, NamedNode(RDFS + "label"), Literal(HOSTILE, language="en-gb")),
        (subject, NamedNode(DIP + "note"), Literal(HOSTILE)),
        (subject, NamedNode(DIP + "url"), Literal(HOSTILE, datatype=NamedNode(XSD + "anyURI")))}


def test_one_local_name_rule():
    assert terms.term(KB + "actor/u.s.a") == "actor:u.s.a"  # a dot inside is plain Turtle
    assert [terms.term(iri) for iri in HOSTILE_IRIS] == [f"<{iri}>" for iri in HOSTILE_IRIS]
    # A streamed file declares only its own prefixes, so no CURIE may use another.
    assert terms.term("http://www.w3.org/ns/shacl#Violation") == "<http://www.w3.org/ns/shacl#Violation>"
    assert terms.iri("http://www.w3.org/ns/shacl#Violation") == "sh:Violation"


@pytest.mark.parametrize("iri", ["https://example.org/a b", "https://example.org/<a>", 'https://example.org/"', "a"])
def test_an_iri_turtle_cannot_hold_is_refused(iri):
    with pytest.raises(ValueError):
        terms.term(iri)


@pytest.mark.parametrize("iri", HOSTILE_IRIS)
def test_the_import_writer_round_trips(iri):
    actor = NewActor(iri=iri, label=HOSTILE, cls=DIP + "Person", codes=(HOSTILE,), acts_for=iri)
    record = SourceRecord(iri=iri + "r", label=HOSTILE, dataset=HOSTILE, record_id=HOSTILE, url=HOSTILE)
    found = triples(terms.prefix_block() + import_turtle.actor(actor) + import_turtle.record(record))
    subject = NamedNode(iri)
    assert (subject, NamedNode(RDFS + "label"), Literal(HOSTILE, language="en")) in found
    assert (subject, NamedNode(DIP + "actorCode"), Literal(HOSTILE)) in found
    assert (subject, NamedNode(DIP + "actsFor"), subject) in found
    assert (NamedNode(iri + "r"), NamedNode(DIP + "recordId"), Literal(HOSTILE)) in found


@pytest.mark.parametrize("iri", HOSTILE_IRIS)
def test_the_findings_report_round_trips(iri):
    finding = Finding(focus=iri, focus_label=HOSTILE, path=DIP + "note",
                      value=terms.string(HOSTILE), message=HOSTILE, severity=Severity.VIOLATION,
                      shape=iri + "Shape", constraint=SH + "DatatypeConstraintComponent", file=None, line=None)
    found = triples(render_turtle(ValidationReport([finding], 1)))
    result = next(o for s, p, o in found if p == NamedNode(SH + "result"))
    assert isinstance(result, BlankNode)
    assert {(p, o) for s, p, o in found if s == result} >= {
        (NamedNode(SH + "focusNode"), NamedNode(iri)), (NamedNode(SH + "resultMessage"), Literal(HOSTILE)),
        (NamedNode(SH + "value"), Literal(HOSTILE)), (NamedNode(SH + "sourceShape"), NamedNode(iri + "Shape"))}


def test_add_and_export_round_trip_a_hostile_text(layout):
    # add refuses the control characters but tab and line breaks (test_cli_import); the rest is text.
    hostile = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", HOSTILE)
    assert "\n" in hostile and "\t" in hostile and '"""' in hostile
    draft = EventDraft(label="Kabulov meets Shaheen", event_type="Meeting", date="2021-07-09",
                       participants=parse_participants("host=Kabulov; visitor=Mohammad Sohail Shaheen"),
                       sources=("source:founding-article",), note=hostile)
    with KnowledgeBase.open(layout=layout) as kb:
        result = add_event(kb, draft)
    assert result.written, result.findings
    event = NamedNode(result.iri)
    assert (event, NamedNode(DIP + "note"), Literal(hostile, language="en")) in triples(
        terms.prefix_block() + result.turtle)
    out = io.BytesIO()
    with KnowledgeBase.open(layout=layout) as kb:
        export(kb, ExportFormat.TURTLE, out)
    assert (event, NamedNode(DIP + "note"), Literal(hostile, language="en")) in triples(out.getvalue())


# --- one lock helper --------------------------------------------------------------------------------


def test_kb_and_index_locks_are_apart_and_say_which(layout):
    index_dir = layout.index_dir
    with write_lock(layout):
        with index_write_lock(index_dir, 1, lambda: None):  # another lock: not held by the KB writer
            with pytest.raises(KBLockedError, match="writing to"):
                with write_lock(layout, timeout=0.1):
                    pass
            waits = []
            with pytest.raises(IndexLockedError, match="updating the index"):
                with index_write_lock(index_dir, 0.2, lambda: waits.append(1)):
                    pass
            assert waits  # the caller heard that it was waiting


# --- one atomic writer ------------------------------------------------------------------------------


def test_a_failed_replacement_leaves_the_target_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    with pytest.raises(RuntimeError):
        with replacing(target) as stream:
            stream.write(b"half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["out.txt"]
    write_atomically(target, b"new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["out.txt"]


def test_the_manifest_is_saved_with_the_shared_writer(tmp_path):
    umask = os.umask(0o027)
    try:
        Manifest(3, {}, "fingerprint").save(tmp_path)
    finally:
        os.umask(umask)
    assert Manifest.load(tmp_path) == Manifest(3, {}, "fingerprint")
    assert sorted(os.listdir(tmp_path)) == ["manifest.json"]
    assert (tmp_path / "manifest.json").stat().st_mode & 0o777 == 0o640


# --- taken IRIs come from the index --------------------------------------------------------------


def test_add_finds_a_taken_iri_without_reading_unchanged_files(layout):
    """Another writer takes the new event's IRI after the KB was opened: the event gets a suffix, and
    the only KB files opened under the lock are the one that changed and the one appended to."""
    draft = EventDraft(label="Kabulov meets Shaheen again", event_type="Meeting", date="2021-07-10",
                       participants=parse_participants("host=Kabulov; visitor=Mohammad Sohail Shaheen"),
                       sources=("source:founding-article",))
    with KnowledgeBase.open(layout=layout) as kb:
        planned = add_event(kb, draft, dry_run=True).iri
    changed = layout.kb_dir / "meanwhile.ttl"
    stale = KnowledgeBase.open(layout=layout)
    write_files(layout, [FileWrite(changed, f"<{planned}> <{RDFS}label> \"taken\" .\n", append=False)])
    opened: list[Path] = []
    watching = [True]

    def audit(event: str, args: tuple) -> None:
        if watching[0] and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            opened.append(Path(os.fsdecode(args[0])).resolve())

    sys.addaudithook(audit)  # hooks cannot be removed: this one stops listening at the end
    try:
        with stale:
            result = add_event(stale, draft)
    finally:
        watching[0] = False
    assert result.written and result.iri == planned + "-2"
    kb_files = {p.resolve() for p in layout.kb_files()}
    assert kb_files - {changed.resolve(), result.target.resolve()}, "the test needs unrelated files"
    assert result.target.resolve() in opened  # the hook hears the reads it is there to catch
    assert {p for p in opened if p in kb_files} <= {changed.resolve(), result.target.resolve()}
