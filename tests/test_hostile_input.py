"""Every option of every command, driven with hostile values (issue 8, item 3).

Each run must end in exit 0, 1 or 2, with no traceback, for exit 2 with an "Error: ..." line, and
without echoing a newline, NUL or bidi override the user typed. The commands and their options are
read from the click tree, so an option added later is covered the day it is added. All runs share one KB copy (its index is built once); writes may land in it. The working
directory is four levels down a scratch directory, so a value such as ../../etc/passwd given to -o
or to init lands inside the scratch directory too.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import click
import pytest
import uvicorn
from click.testing import CliRunner, Result
from pyoxigraph import Literal

from dipkb.cli import cli
from dipkb.errors import NotAcceptableError
from dipkb.sparql import saved as queries
from dipkb.store.layout import KB_ENV_VAR, bundled_root
from dipkb.web import query_workers

REPO = Path(__file__).resolve().parent.parent
DIRECTORY = "<a directory>"  # stands for a real directory, made by the fixture

# Label -> value. Labels keep failure messages readable (the 1 MiB value is never printed).
CORPUS: dict[str, str] = {
    "single quote": "'", "double quote": '"', "backtick": "`", "greater-than": ">", "less-than": "<",
    "space": "a b", "newline": "a\nb", "tab": "a\tb", "NUL": "a\x00b", "1 MiB": "x" * (1 << 20),
    "month 13": "2021-13", "30 February": "2021-02-30", "year 0": "0000", "minus five": "-5",
    "year 99999": "99999-01", "unknown name": "Nobody Such Name 42", "dash": "-", "empty": "",
    "RTL override": "\u202eRussia\u202c", "emoji": "\U0001F3F3\ufe0f\u200d\U0001F308",
    "combining": "e\u0301\u0301\u0301", "%00": "%00", "traversal": "../../etc/passwd", "directory": DIRECTORY,
    "URL": "http://127.0.0.1:1/", "braces": "{}", "variable": "?x", "drop": '"; DROP',
    "or true": ") || true || (", "IRI with space": "<a b>", "huge number": "9" * 40,
    "superscript digit": "²", "5,000 digits": "9" * 5000,
    # Bytes that are not UTF-8, as Python holds them in sys.argv: each text option had its own traceback.
    "not UTF-8": "Russia\udcff",
}  # Backslashes and triple quotes matter where text is written: see test_hostile_text_is_written_and_read_back.

IMPORT_CSV = "events-import.csv"
FLAG = True  # in BASE: give this flag
# Valid values for the other parameters of a run, by command. `add` is given an unknown role and no
# source: every name and date is still resolved, and the event is then refused before the shapes
# run (a third of a second each, a thousand runs) and before anything is written. Its write path
# has its own test below, test_hostile_text_is_written_and_read_back.
BASE: dict[str, dict[str, list[str] | bool]] = {
    "query": {"query": ["planned-and-possible"]},
    "show": {"name": ["Russia"]},
    "add": {"label": ["Hostile probe meeting"], "event_type": ["Meeting"],
            "participants": ["visitor=S Jaishankar", "host=Zarif", "probe-role=Russia"], "date": ["2021-07"]},
    "import": {"file": [IMPORT_CSV], "dry_run": FLAG},
    "serve": {"port": ["0"]},
}
VALID_ADD = {"label": ["Hostile probe meeting"], "event_type": ["Meeting"], "participants": ["visitor=S Jaishankar",
             "host=Zarif"], "date": ["2021-07"], "sources": ["source:founding-article"], "dry_run": FLAG}
# Parameters that only act once everything else is valid.
OVERRIDES = {("add", "into"): VALID_ADD, ("add", "dry_run"): VALID_ADD}
# Options whose values are NAME=VALUE pairs: the hostile value goes on each side of the '='.
FORMS: dict[tuple[str, str], Callable[[str], list[str]]] = {
    ("add", "participants"): lambda v: [f"host={v}", f"{v}=Russia"],
    ("add", "new_actors"): lambda v: [f"{v}=Person", f"Lavrov={v}"],
    ("query", "params"): lambda v: [f"{v}=x", f"modality={v}"],
}


@dataclass(frozen=True)
class Target:
    """One parameter of one command; ``path`` is empty for the options of the group itself."""

    path: tuple[str, ...]
    command: click.Command
    param: click.Parameter

    @property
    def id(self) -> str:
        name = self.param.opts[0] if isinstance(self.param, click.Option) else self.param.name.upper()
        return " ".join(("dipkb",) + self.path + (name,))

    @property
    def is_flag(self) -> bool:
        return isinstance(self.param, click.Option) and self.param.is_flag


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, path + (name,))
        else:
            yield path + (name,), command


TARGETS = [Target((), cli, p) for p in cli.params if p.name not in ("help", "version")] + [
    Target(path, command, p) for path, command in _commands(cli) for p in command.params if p.name != "help"]


@dataclass
class Scratch:
    root: Path
    kb: Path
    cwd: Path

    def value(self, text: str) -> str:
        return str(self.root / "directory") if text == DIRECTORY else text


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(REPO / "kb", root / "kb" / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    cwd = root / "d1" / "d2" / "d3" / "cwd"
    cwd.mkdir(parents=True)
    (root / "directory").mkdir()
    (cwd / IMPORT_CSV).write_text(
        "label,type,participants,date,place,sources\n"
        "Hostile probe visit,Visit,host=actor:russia; visitor=Taliban representatives,2021-07,Moscow,"
        "source:founding-article\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        patch.delenv(KB_ENV_VAR, raising=False)
        built = CliRunner().invoke(cli, ["--kb", str(root / "kb"), "index"])
        assert built.exit_code == 0, built.output
        yield Scratch(root, root / "kb", cwd)


def invocation(target: Target, values: list[str] | None, scratch: Scratch) -> list[str]:
    """The arguments of one run: ``values`` for the parameter under test (None for a flag), valid
    values for the others the command needs."""
    if target.param.name == "kb_dir":
        return ["--kb", *values, "stats"]
    command = " ".join(target.path)
    base = dict(OVERRIDES.get((command, target.param.name), BASE.get(command, {})))
    base[target.param.name] = FLAG if values is None else values
    options, positionals = [], []
    for param in target.command.params:
        given = base.get(param.name)
        if given is None:
            continue
        if isinstance(param, click.Option):
            options += [param.opts[0]] if given is FLAG else [x for v in given for x in (param.opts[0], v)]
        else:
            positionals += given
    # After '--', values such as '-5' or '-' reach an argument instead of being read as options.
    return ["--kb", str(scratch.kb), *target.path, *options] + (["--", *positionals] if positionals else [])


# A message shows what the user typed escaped (repr), so a newline cannot split it and a bidi override
# cannot reorder the line on the terminal. File names are shown as they are, like every tool does.
RAW = ("\n", "\x00", "\u202e")


def problem(result: Result, value: str | None = None) -> str | None:
    """What is wrong with how a run ended, or None when it ended as a CLI should. ``value``: the
    hostile text given, when the message must not echo it raw."""
    error = result.exception
    if error is not None and not isinstance(error, SystemExit):
        return f"{type(error).__name__}: {str(error)[:160]}"
    if result.exit_code not in (0, 1, 2):
        return f"exit code {result.exit_code}"
    if "Traceback" in result.output:
        return "a traceback in the output"
    if result.exit_code == 2 and not result.stderr.startswith("Error: ") and "\nError: " not in result.stderr:
        return f"exit 2 without an 'Error: ' line: ...{result.stderr[-100:]!r}"
    if value and any(c in value for c in RAW) and value in result.stderr:
        return f"the value is echoed raw: ...{result.stderr[-100:]!r}"
    return None


def run_cases(cases: list[tuple[str, list[str], str | None]]) -> dict[str, list[str]]:
    """Each (label, arguments, value not to echo raw) run in-process; the labels of the failed ones,
    by what went wrong."""
    runner = CliRunner()
    failures: dict[str, list[str]] = {}
    for label, args, value in cases:
        found = problem(runner.invoke(cli, args, input=""), value)
        if found:
            failures.setdefault(found, []).append(label)
    return failures


def report(name: str, failures: dict[str, list[str]], total: int) -> str:
    count = sum(len(labels) for labels in failures.values())
    return f"{name}: {count} of {total} runs fail:\n" + "\n".join(
        f"  {found} <- {', '.join(labels)}" for found, labels in failures.items())


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.id)
def test_every_option_survives_hostile_values(target: Target, scratch: Scratch, monkeypatch: pytest.MonkeyPatch):
    if target.path == ("serve",):
        # What is under test is how serve reads its options, up to a bound socket; serving would
        # block forever, so a run that gets that far stops there.
        monkeypatch.setattr(uvicorn.Server, "run", lambda server, sockets: [s.close() for s in sockets])
    forms = FORMS.get((" ".join(target.path), target.param.name), lambda v: [v])
    is_path = isinstance(target.param.type, click.Path)
    cases = [("flag", invocation(target, None, scratch), None)] if target.is_flag else [
        (label, invocation(target, [scratch.value(form)], scratch), None if is_path else value)
        for label, value in CORPUS.items() for form in forms(value)]
    failures = run_cases(cases)
    assert not failures, report(target.id, failures, len(cases))


SAVED = queries.load_catalogue(bundled_root() / "queries")


def test_saved_query_parameters_survive_hostile_values(scratch: Scratch):
    """Values are checked and bound by parameter type: a parameter of each type, of the first saved
    query that has one (planned-and-possible's modality is swept above too)."""
    chosen: dict[queries.ParamType, tuple] = {}
    for saved in SAVED:
        for parameter in saved.parameters:
            chosen.setdefault(parameter.type, (saved, parameter))
    cases = []
    for saved, parameter in chosen.values():
        for label, value in CORPUS.items():
            values = {**saved.example_values, parameter.name: scratch.value(value)}
            args = [x for name, v in values.items() for x in ("-p", f"{name}={v}")]
            cases.append((f"{saved.name} {parameter.name}={label}",
                          ["--kb", str(scratch.kb), "query", saved.name, *args], value))
    failures = run_cases(cases)
    assert not failures, report("dipkb query", failures, len(cases))


def test_every_required_parameter_has_a_valid_value():
    for path, command in _commands(cli):
        for param in command.params:
            if param.required:
                assert param.name in BASE.get(" ".join(path), {}), \
                    f"dipkb {' '.join(path)}: give BASE a valid value for the required {param.name}"


def _run(scratch: Scratch, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--kb", str(scratch.kb), *args], catch_exceptions=False)


@pytest.mark.parametrize("args", [
    ["timeline", "--from", "2021-08", "--to", "2021-07"],
    ["timeline", "--actor", "Russia", "--from", "2021-07-02", "--to", "2021-07-01"],
    ["import", "--from", "2021-08", "--to", "2021-07", "--dry-run", IMPORT_CSV],
    *[["query", q.name, *[x for name, v in q.example_values.items() if name not in ("from", "to")
                          for x in ("-p", f"{name}={v}")], "-p", "from=2021-08", "-p", "to=2021-07"]
      for q in SAVED if {p.type for p in q.parameters} >= {queries.ParamType.DATE, queries.ParamType.DATE_END}],
], ids=lambda args: " ".join(args[:2]))
def test_a_reversed_range_is_an_error(args, scratch: Scratch):
    result = _run(scratch, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ") and "empty" in result.stderr


def test_an_actor_without_events_says_so(scratch: Scratch):
    alone = _run(scratch, "timeline", "--actor", "actor:vladimir-putin", "-f", "json")
    assert (alone.exit_code, alone.stdout) == (0, "[]\n")
    assert alone.stderr == "Note: actor:vladimir-putin has no events in the knowledge base.\n"
    out_of_range = _run(scratch, "timeline", "--actor", "Russia", "--from", "1800", "--to", "1801", "-f", "csv")
    assert (out_of_range.exit_code, out_of_range.stdout.count("\n")) == (0, 1)  # the header only
    assert out_of_range.stderr == "Note: actor:russia has no events that match the other filters.\n"
    # Among actors that have events, the one without is named, and the others' events are shown.
    mixed = _run(scratch, "timeline", "--actor", "Russia", "--actor", "actor:tajikistan", "-f", "json")
    assert mixed.exit_code == 0 and json.loads(mixed.stdout)
    assert mixed.stderr == "Note: actor:tajikistan has no events in the knowledge base.\n"
    assert _run(scratch, "timeline", "--actor", "Russia").stderr == ""


def test_a_csv_cell_over_the_field_limit_rejects_its_row(scratch: Scratch):
    path = scratch.cwd / "long-cell.csv"
    path.write_text("label,type,participants,date,place,sources\n"
                    f'"{"x" * 200_000}",Visit,host=actor:russia,2021-07,Moscow,source:founding-article\n'
                    "Hostile probe visit,Visit,host=actor:russia; visitor=Taliban representatives,2021-07,Moscow,"
                    "source:founding-article\n", encoding="utf-8")
    result = _run(scratch, "import", str(path), "--dry-run", "--report", "long.json", "--rejected", "long.tsv")
    assert result.exit_code == 0, result.output
    accounting = json.loads((scratch.cwd / "long.json").read_text())
    assert (accounting["rows"], accounting["rejected"], accounting["reasons"]) == (2, 1, {"cell too long": 1})
    line, reason, detail, _ = (scratch.cwd / "long.tsv").read_text().splitlines()[1].split("\t")
    assert (line, reason, detail) == ("2", "cell too long", "a cell of 200000 characters; the limit is 131072")


# Every character that Turtle must escape or that a naive writer would mangle, in one text.
NASTY_TEXT = "Probe ' \" ` \\ a\"\"\"b \t tab\nnewline\r > < {} ?x %00 \"; DROP ) || true || ( " \
             "\u202eRTL\u202c \U0001F3F3\ufe0f\u200d\U0001F308 e\u0301\u0301"


# A label is one line (a line break is refused): the rest of the nasty text.
NASTY_LINE = NASTY_TEXT.replace("\n", " ").replace("\r", " ")


def test_hostile_text_is_written_and_read_back(scratch: Scratch):
    texts = {"quote": NASTY_TEXT, "content": NASTY_TEXT, "purpose": NASTY_TEXT, "note": "x" * (1 << 20),
             "time-expression": NASTY_TEXT, "source-title": NASTY_TEXT, "source-publisher": NASTY_TEXT}
    result = _run(scratch, "add", NASTY_LINE, "--type", "Meeting", "--participant", "visitor=S Jaishankar",
                  "--participant", "host=Zarif", "--date", "2021-06", "--source-url", "https://example.org/probe",
                  *[x for option, text in texts.items() for x in (f"--{option}", text)])
    assert result.exit_code == 0, result.output
    event = result.stdout.split()[1]  # event:...
    assert _run(scratch, "validate").exit_code == 0
    shown = json.loads(_run(scratch, "show", event, "-f", "json").stdout)
    values = {fact["property"]: fact["value"] for fact in shown["properties"]}
    assert (values["rdfs:label"], values["dip:quote"]) == (NASTY_LINE.strip(), NASTY_TEXT.strip())
    assert values["dip:note"] == texts["note"]


DIPKB = Path(sys.executable).with_name("dipkb")


@pytest.mark.parametrize("args, stdin", [
    (["timeline", "--type", "a b"], ""),
    (["timeline", "--from", "9" * 40], ""),
    (["show", "<" + "x" * 100_000], ""),  # one argument may hold 128 KiB on Linux
    (["query", "-"], "SELECT * WHERE { ?s ?p '\x00' } #" + "{" * 10_000),
    (["export", "-o", "../../etc/passwd"], ""),
    (["--kb", "k" * 300, "stats"], ""),
], ids=["type", "year", "long-name", "stdin", "traversal", "long-kb"])
def test_the_worst_ones_in_a_real_process(args, stdin, scratch: Scratch):
    env = {**os.environ, KB_ENV_VAR: str(scratch.kb)}
    done = subprocess.run([str(DIPKB), *args], input=stdin.encode(), capture_output=True, env=env,
                          cwd=scratch.cwd, timeout=60)
    assert done.returncode in (0, 1, 2), (done.returncode, done.stderr[-500:])
    assert b"Traceback" not in done.stderr
    if done.returncode == 2:
        assert done.stderr.startswith(b"Error: ") or b"\nError: " in done.stderr


# A label that would retitle the terminal's window (OSC), clear the screen (CSI, as ESC [ and as the
# one C1 character), ring the bell and return the carriage over what was written before it.
ESCAPES = r"\u001B]0;pwned\u0007 \u001B[2J \u009B2J \r summit"
HOSTILE_EVENT = f"""\
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/dipkb/kb/event/escapes> a dip:Meeting ; rdfs:label "{ESCAPES}" ;
    dip:date "2021-07"^^xsd:gYearMonth ; dip:host <https://w3id.org/dipkb/kb/actor/russia> .
"""
CONTROLS = {*map(chr, range(0x20)), "\x7f", *map(chr, range(0x80, 0xA0))} - {"\n"}


@pytest.mark.parametrize("args", [
    ["timeline", "--actor", "Russia"], ["show", "event:escapes"], ["show", "actor:russia"], ["validate"],
    ["query", "SELECT ?label WHERE { event:escapes rdfs:label ?label }"],
    ["query", "CONSTRUCT WHERE { event:escapes rdfs:label ?label }"],
])
def test_text_for_a_terminal_carries_no_control_character_of_the_kb(kb_copy: Path, args):
    (kb_copy / "kb" / "escapes.ttl").write_text(HOSTILE_EVENT)
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), *args])
    assert result.exit_code in (0, 1), result.output
    shown = result.stdout + result.stderr
    assert "\ufffd]0;pwned\ufffd \ufffd[2J \ufffd2J   summit" in shown
    assert not CONTROLS & set(shown)


def test_xml_results_refuse_a_control_character_rather_than_write_xml_that_does_not_parse(kb_copy: Path, tmp_path):
    (kb_copy / "kb" / "escapes.ttl").write_text(HOSTILE_EVENT)
    select = "SELECT ?label WHERE { event:escapes rdfs:label ?label }"
    out = tmp_path / "labels.srx"
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), "query", select, "-o", str(out)])
    assert (result.exit_code, result.output) == (2, "Error: SPARQL's XML results cannot hold this answer: a value "
                                                    "holds a character XML 1.0 does not allow (a control character). "
                                                    "Ask for JSON, CSV or TSV instead.\n")
    assert not out.exists()
    rows = [[Literal("\x1b[2J")]]
    with pytest.raises(NotAcceptableError, match="XML 1.0 does not allow"):  # what serve answers with a 406
        query_workers.solutions(["label"], rows, query_workers.ResultFormat.SPARQL_XML, truncated=False)
    assert b"\\u001b[2J" in query_workers.solutions(["label"], rows, query_workers.ResultFormat.SPARQL_JSON, False)


def test_xml_results_keep_a_carriage_return_that_xml_parsers_would_read_as_a_line_feed(kb_copy: Path, tmp_path):
    select = 'SELECT ?v WHERE { BIND("a\\rb" AS ?v) }'
    out = tmp_path / "cr.srx"
    assert CliRunner().invoke(cli, ["--kb", str(kb_copy), "query", select, "-o", str(out)]).exit_code == 0
    served = query_workers.solutions(["v"], [[Literal("a\rb")]], query_workers.ResultFormat.SPARQL_XML, truncated=False)
    for document in (out.read_bytes(), served):
        assert ElementTree.fromstring(document).find(".//{*}literal").text == "a\rb"


def test_data_formats_keep_the_control_characters_as_written(kb_copy: Path):
    (kb_copy / "kb" / "escapes.ttl").write_text(HOSTILE_EVENT)
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), "timeline", "--actor", "Russia", "-f", "json"])
    labels = {event["label"] for event in json.loads(result.stdout)}
    assert "\x1b]0;pwned\x07 \x1b[2J \x9b2J \r summit" in labels
