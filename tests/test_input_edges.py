"""Inputs at the edges of the KB directory (issue 8, items 3 and 6): symbolic links, directories named
like data files, and a literal longer than pyoxigraph's 16 MiB parser buffer. Every command must
end in exit 0 or in one "Error: ..." line and exit 2, never a traceback, and must not read (or
quote) a file outside the KB."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pyoxigraph import RdfFormat, parse

from dipkb.cli import cli
from dipkb.errors import KBFileError, KBSyntaxError
from dipkb.model.namespaces import KB
from dipkb.store import index
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout
from dipkb.store.loading import check_syntax, read_quads
from dipkb.views import export

SECRET = "root:x:0:0:SECRET-FIRST-LINE"
# Each reads the KB its own way: the index, the in-memory load of validate, the exports and tallies.
COMMANDS = (["index"], ["validate"], ["timeline"], ["stats"], ["export", "-f", "ntriples"],
            ["query", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"])


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--kb", str(root), *args])


def assert_one_line_error(result: Result, *parts: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    for part in parts:
        assert part in line, line


@pytest.fixture()
def kb_root(kb_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped KB's copy, as the working directory, so that messages name kb/... as users see it."""
    monkeypatch.chdir(kb_copy)
    return kb_copy


# --- Symbolic links and directories -----------------------------------------------------------------


def test_a_link_out_of_the_kb_is_refused_by_every_command_and_never_read(kb_root: Path, tmp_path_factory):
    secret = tmp_path_factory.mktemp("elsewhere") / "passwd"
    secret.write_text(SECRET + "\n")
    (kb_root / "kb" / "x.ttl").symlink_to(secret)
    for command in COMMANDS:
        result = run(kb_root, *command)
        assert_one_line_error(result, "kb/x.ttl is a symbolic link to", str(secret), "outside")
        assert "SECRET" not in result.output
    with pytest.raises(KBFileError):
        KnowledgeBase.open(kb_root, index=False)


def test_a_link_to_a_directory_out_of_the_kb_is_refused(kb_root: Path, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "more.ttl").write_text(SECRET + "\n")
    (kb_root / "kb" / "shared").symlink_to(elsewhere, target_is_directory=True)
    assert_one_line_error(run(kb_root, "validate"), "kb/shared is a symbolic link to", str(elsewhere))


def test_a_chain_of_links_that_ends_outside_is_refused(kb_root: Path, tmp_path_factory):
    secret = tmp_path_factory.mktemp("elsewhere") / "passwd"
    secret.write_text(SECRET + "\n")
    (kb_root / "kb" / "hop.nt").symlink_to(secret)
    (kb_root / "kb" / "a.ttl").symlink_to("hop.nt")  # inside the KB, but leads out of it
    result = run(kb_root, "stats")
    assert_one_line_error(result, "kb/a.ttl is a symbolic link to", str(secret))
    assert "SECRET" not in result.output


def test_links_inside_the_kb_keep_working(kb_root: Path):
    kb_dir = kb_root / "kb"
    (kb_dir / "notes").mkdir()
    (kb_dir / "notes" / "extra.turtle").write_text(f"<{KB}actor/linked> <http://www.w3.org/2000/01/rdf-schema#label> "
                                                   '"Linked actor" .\n')
    (kb_dir / "extra.ttl").symlink_to(Path("notes") / "extra.turtle")  # the only way to its triples
    (kb_dir / "actors-again.ttl").symlink_to("actors.ttl")  # the same file twice: read once
    (kb_dir / "mirror").symlink_to(kb_dir / "notes", target_is_directory=True)
    files = KBLayout.locate(kb_root).kb_files()
    assert kb_dir / "extra.ttl" in files and kb_dir / "actors.ttl" in files
    assert kb_dir / "actors-again.ttl" not in files
    result = run(kb_root, "query", f"SELECT ?l WHERE {{ <{KB}actor/linked> rdfs:label ?l }}", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["l", "Linked actor"]
    assert run(kb_root, "validate").exit_code == 0


@pytest.mark.parametrize("make, says", [
    (lambda kb: (kb / "x.ttl").mkdir(), "kb/x.ttl is a directory"),
    (lambda kb: (kb / "deeper" / "y.nt").mkdir(parents=True), "kb/deeper/y.nt is a directory"),
    (lambda kb: (kb / "gone.ttl").symlink_to(kb / "missing.ttl"), "kb/gone.ttl is a symbolic link to"),
    (lambda kb: os.mkfifo(kb / "pipe.ttl"), "kb/pipe.ttl is not a regular file"),  # reading it would hang
], ids=["directory", "nested-directory", "dangling-link", "fifo"])
def test_a_path_named_like_a_data_file_that_is_not_one_is_an_error(kb_root: Path, make, says: str):
    make(kb_root / "kb")
    for command in (["index"], ["validate"], ["timeline"]):
        assert_one_line_error(run(kb_root, *command), says)


def test_a_directory_that_cannot_be_listed_is_one_line(kb_root: Path, tmp_path: Path):
    """os.scandir's PermissionError (`DIPKB_KB=/proc`) was a traceback: as root in the tests, a
    directory that is a file instead stands for one that cannot be listed."""
    layout = KBLayout.locate(kb_root)
    broken = KBLayout(layout.root, tmp_path / "not-a-directory", layout.ontology_dir, layout.queries_dir)
    broken.kb_dir.write_text("")
    with pytest.raises(KBFileError, match=r"not-a-directory: cannot list the directory \(Not a directory\)\.$"):
        broken.kb_files()


def test_hidden_paths_are_still_skipped(kb_root: Path):
    (kb_root / "kb" / ".drafts" / "x.ttl").mkdir(parents=True)  # a hidden directory is never looked into
    (kb_root / "kb" / ".#events.ttl").symlink_to("user@host.1234")  # an editor's lock file
    assert run(kb_root, "validate").exit_code == 0


# --- A literal longer than the parser's buffer -------------------------------------------------------

BIG = 17 << 20  # over pyoxigraph's 16 MiB stream-parser buffer, which made validate end in MemoryError
LENGTH_QUERY = f"SELECT (STRLEN(?c) AS ?n) WHERE {{ <{KB}note/big> rdfs:comment ?c }}"


@pytest.fixture(scope="module")
def big_kb(tmp_path_factory) -> Path:
    """The shipped KB plus a file with one 17 MiB literal, on a subject written as a relative IRI."""
    root = tmp_path_factory.mktemp("big")
    (root / "kb").mkdir()
    for path in (Path(__file__).resolve().parent.parent / "kb").glob("*.ttl"):
        (root / "kb" / path.name).write_bytes(path.read_bytes())
    with open(root / "kb" / "big.ttl", "w") as out:
        out.write("@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n<note/big> rdfs:comment \"")
        out.write("x" * BIG)
        out.write('" .\n')
    return root


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_every_command_reads_a_literal_over_the_parser_buffer(big_kb: Path, command: list[str], tmp_path: Path):
    args = command + (["-o", str(tmp_path / "out.nt")] if command[0] == "export" else [])
    result = run(big_kb, *args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output[:500]
    if command[0] == "export":
        assert ("x" * BIG) in (tmp_path / "out.nt").read_text()


@pytest.mark.parametrize("fmt", ["jsonld", "rdfxml"])
def test_the_syntaxes_written_from_parsed_triples_hold_it_too(big_kb: Path, fmt: str, tmp_path: Path):
    """JSON-LD and RDF/XML read the sorted N-Triples back as triples: a MemoryError traceback at 17 MiB."""
    out = tmp_path / f"out.{'jsonld' if fmt == 'jsonld' else 'rdf'}"
    assert run(big_kb, "export", "-o", str(out)).exit_code == 0
    assert ("x" * BIG) in out.read_text(encoding="utf-8")
    constructed = run(big_kb, "query", f"CONSTRUCT WHERE {{ <{KB}note/big> ?p ?o }}", "-f", fmt)
    assert constructed.exit_code == 0 and ("x" * BIG) in constructed.stdout
    table = run(big_kb, "query", f"CONSTRUCT WHERE {{ <{KB}note/big> ?p ?o }}").stdout.splitlines()
    assert len(table[1]) < 200 and len(table[2]) > BIG  # the last column's value whole, its rule not as long


@pytest.mark.parametrize("threshold", ["bulk_load", "load", "large_file"])
def test_the_index_keeps_the_whole_literal_whichever_loader_reads_it(big_kb: Path, tmp_path: Path, threshold: str,
                                                                     monkeypatch: pytest.MonkeyPatch):
    """The index reads a file from bytes with the bulk loader (the default at this size), in a
    transaction, or from its path as it does files of 64 MiB and more: the last two hit the buffer."""
    root = tmp_path / "copy"
    (root / "kb").mkdir(parents=True)
    (root / "kb" / "big.ttl").symlink_to(big_kb / "kb" / "big.ttl")  # refused: it leads out of the KB
    assert_one_line_error(run(root, "index"), "outside")
    (root / "kb" / "big.ttl").unlink()
    os.link(big_kb / "kb" / "big.ttl", root / "kb" / "big.ttl")  # a hard link is the file itself
    if threshold == "load":
        monkeypatch.setattr(index, "BULK_LOAD_BYTES", BIG * 2)
    elif threshold == "large_file":
        monkeypatch.setattr(index, "LARGE_FILE_BYTES", 1 << 20)
    result = run(root, "query", LENGTH_QUERY, "-f", "csv")
    assert result.exit_code == 0, result.output[:500]
    assert result.stdout.splitlines() == ["n", str(BIG)]


def test_files_converted_in_other_processes_give_the_same_export(big_kb: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch):
    """From export._PARALLEL_BYTES of files, worker processes convert them to N-Triples; the file over
    the buffer comes back to this process, which reads it as the serial path does. N-Quads name each
    file's graph: a file's text paired with another's name would show."""
    serial = run(big_kb, "export", "-f", "nquads", "-o", str(tmp_path / "serial.nq"))
    monkeypatch.setattr(export, "_PARALLEL_BYTES", 0)
    parallel = run(big_kb, "export", "-f", "nquads", "-o", str(tmp_path / "parallel.nq"))
    assert serial.exit_code == parallel.exit_code == 0, parallel.output[:500]
    assert (tmp_path / "parallel.nq").read_bytes() == (tmp_path / "serial.nq").read_bytes()


def test_the_parse_paths_keep_the_whole_literal(big_kb: Path):
    path = big_kb / "kb" / "big.ttl"
    [quad] = read_quads(path)
    assert quad.subject.value == KB + "note/big" and len(quad.object.value) == BIG
    check_syntax(path)  # the check before a write: no MemoryError either


def test_a_syntax_error_after_the_literal_is_placed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "big.nt").write_text(f'<{KB}note/big> <http://www.w3.org/2000/01/rdf-schema#comment> "'
                                            + "y" * BIG + '" .\n<a> <b> <c> .\n')
    for command in (["index"], ["validate"]):
        result = run(tmp_path, *command)
        assert result.exit_code == 2, result.output[:500]
        first, = result.stderr.splitlines()  # one file, one line
        assert first.startswith("Error: kb/big.nt:2:1: "), first[:200]
    with pytest.raises(KBSyntaxError, match=r"^kb/big\.nt:2:1: "):
        read_quads(tmp_path / "kb" / "big.nt")


# --- A byte order mark ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, text", [
    ("bom.ttl", "@prefix ex: <http://example.org/> .\nex:a ex:p 1 .\n"),
    ("bom.nt", "<http://example.org/a> <http://example.org/p> \"1\" .\n"),
    ("bom-comment.ttl", "# a comment first\n"),
])
def test_a_file_that_starts_with_a_byte_order_mark_is_an_error_that_says_so(kb_root: Path, name: str, text: str):
    # Windows editors write one; the parser's own message quoted the invisible character.
    (kb_root / "kb" / name).write_bytes(b"\xef\xbb\xbf" + text.encode())
    for command in COMMANDS:
        result = run(kb_root, *command)
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines()[0] == (
            f"Error: kb/{name}:1:1: the file starts with a byte order mark (U+FEFF), which the RDF parser does not "
            "accept: save it as UTF-8 without BOM"), command
    (kb_root / "kb" / name).write_bytes(text.encode())
    assert run(kb_root, "index").exit_code == 0


# --- Mistakes of hand-written Turtle -----------------------------------------------------------------

HAND = ("@prefix dip: <https://w3id.org/dipkb/ontology#> .\n@prefix event: <https://w3id.org/dipkb/kb/event/> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n")


@pytest.mark.parametrize("line, error", [
    ("event:x rdfs:label “Talks”@en .", "4:20: '“' is not allowed at the beginning of a prefix name "
     '(typographic quotes are not Turtle\'s: write "…" with straight quotes)'),
    ('event:x rdfs:label "Talks in 2021-07"@en ; dip:date 2021-07-08 .', "4:57: -07 is not a valid subject or "
     'graph name (a date is a quoted literal with its type: "2021-07-08"^^xsd:date)'),
    ("// talks\nevent:x rdfs:label 'x' .", "4:1: '/' is not allowed at the beginning of a prefix name "
     "(a Turtle comment starts with #)"),
    ('event:x rdfs:label "Talks .', '4:20: Unexpected end of file (a string\'s closing " is missing)'),
    ('event:x dip:date "2021"^^xsd:gYear .', "4:26: The prefix xsd: has not been declared (declare it: "
     "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .)"),
    ('event:x dip:date "2021"^^ex:year .', "4:26: The prefix ex: has not been declared"),
])
def test_the_usual_mistakes_of_hand_written_turtle_are_explained(kb_root: Path, line: str, error: str):
    (kb_root / "kb" / "hand.ttl").write_text(HAND + line + "\n", encoding="utf-8")
    result = run(kb_root, "validate")
    assert result.exit_code == 2 and result.stderr == f"Error: kb/hand.ttl:{error}\n"


@pytest.mark.parametrize("line", [
    'event:a rdfs:seeAlso <https://example.org/2021-07-08/talks> rdfs:label "x"@en .',  # a ';' missing
    'event:a rdfs:label "x"@en ; rdfs:comment "a" "b" . # the 12" gun',  # a ',' missing
    'event:a rdfs:seeAlso <https://example.org/a//b> rdfs:label "x" .',
    'event:a rdfs:comment """Long, with "quotes" in it,\nand 2021-07-08""" ; dip:x .',
])
def test_what_the_hints_look_for_in_an_iri_a_string_or_a_comment_gives_none(kb_root: Path, line: str):
    (kb_root / "kb" / "hand.ttl").write_text(HAND + line + "\n", encoding="utf-8")
    result = run(kb_root, "validate")
    assert result.exit_code == 2 and "(" not in result.stderr.split(": ", 2)[2], result.stderr


def test_a_file_in_windows_1252_is_said_not_to_be_utf_8(kb_root: Path):
    (kb_root / "kb" / "hand.ttl").write_bytes((HAND + 'event:x rdfs:label "Café"@en .\n').encode("cp1252"))
    result = run(kb_root, "validate")
    assert result.exit_code == 2
    assert result.stderr == ("Error: kb/hand.ttl:4:24: Invalid UTF-8: incomplete utf-8 byte sequence from index 3 "
                             "(the file is not UTF-8 here: save it as UTF-8; Windows-1252 and Latin-1 write accents "
                             "so)\n")


# --- Files that look like data but are not read ---------------------------------------------------------


def test_a_file_that_looks_like_data_but_is_not_read_gets_a_note(kb_root: Path):
    """Their events were missing from every view while validate said the KB conforms."""
    line = '<http://example.org/a> <http://example.org/p> "1" .\n'
    for name in ("a.TTL", "b.turtle", "c.trig", ".hidden.ttl", "sub/d.rdf", "read.nt", "notes.txt"):
        (kb_root / "kb" / name).parent.mkdir(exist_ok=True)
        (kb_root / "kb" / name).write_text(line, encoding="utf-8")
    (kb_root / "kb" / ".#lock.ttl").symlink_to("nowhere")  # an editor's lock while a file is open
    for command in (["validate"], ["stats"]):
        result = run(kb_root, *command)
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines() == [
            f"Note: kb/{name} is not read: dipkb reads the .ttl and .nt files of kb/, not hidden ones."
            for name in (".hidden.ttl", "a.TTL", "b.turtle", "c.trig", "sub/d.rdf")]
    for name in (".hidden.ttl", "a.TTL", "b.turtle", "c.trig", "sub/d.rdf"):
        (kb_root / "kb" / name).unlink()
    assert run(kb_root, "validate").stderr == ""


# --- File names an IRI cannot hold as they are --------------------------------------------------------

ODD_NAMES = ["events 2022.ttl", '"quote".ttl', "h#x.ttl", "q?x.ttl", "{a}.ttl", "back\\slash.nt", "new\nline.ttl",
             "ü.ttl", "%20.ttl", " .ttl", "dir with space/inner.ttl", "bad\udcff.ttl"]


def test_a_file_name_an_iri_cannot_hold_gets_a_graph_of_its_own(kb_root: Path):
    # A space in a file name made every command end in pyoxigraph's ValueError.
    for number, name in enumerate(ODD_NAMES):
        path = kb_root / "kb" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(f'<http://example.org/odd> <http://example.org/file> "{number}" .\n', encoding="utf-8")
    for command in (*COMMANDS, ["stats", "-f", "json"], ["export", "-f", "trig"]):
        result = run(kb_root, *command)
        assert result.exit_code == 0, (command, result.output)
    quads = list(parse(run(kb_root, "export", "-f", "nquads").stdout_bytes, format=RdfFormat.N_QUADS))
    graphs = {quad.object.value: quad.graph_name.value for quad in quads if quad.predicate.value == "http://example.org/file"}
    assert len(set(graphs.values())) == len(ODD_NAMES)  # "%20.ttl" and " .ttl" apart
    assert graphs[str(ODD_NAMES.index("events 2022.ttl"))] == "urn:dipkb:file:kb/events%202022.ttl"
    assert graphs[str(ODD_NAMES.index("%20.ttl"))] == "urn:dipkb:file:kb/%2520.ttl"
    assert graphs[str(ODD_NAMES.index("ü.ttl"))] == "urn:dipkb:file:kb/ü.ttl"  # an IRI holds it as it is
    assert graphs[str(ODD_NAMES.index("bad\udcff.ttl"))] == "urn:dipkb:file:kb/bad%FF.ttl"
    files = {entry["path"] for entry in json.loads(run(kb_root, "stats", "-f", "json").stdout)["files"]}
    assert {"kb/events 2022.ttl", "kb/bad\\xff.ttl", "kb/dir with space/inner.ttl"} <= files
    (kb_root / "kb" / "events 2022.ttl").write_text('<http://example.org/odd> <http://example.org/file> "99" .\n')
    assert "1 changed" in run(kb_root, "index").output
