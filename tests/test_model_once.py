"""One of each on the model side: the date input and time maps of temporal.py, one "most specific type"
for the timeline and stats, an index fingerprint that cannot forget a module, one exception hierarchy
and no assert in a production path."""
from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from dipkb import KnowledgeBase
from dipkb.authoring.importers.filters import RowFilter
from dipkb.cli import cli
from dipkb.errors import DipkbError, ImportInputError, ParameterError
from dipkb.model.namespaces import DIP, XSD
from dipkb.model.temporal import (DATATYPE_OF, TIME_FIELDS, DateInputError, DateValue, EventTime, Precision, date_value,
                            XSD_DATE, XSD_DATETIME, XSD_GYEAR, XSD_GYEARMONTH, contradictions, parse_partial_date,
                            period_of)
from dipkb.store import derivation
from dipkb.store.tallies import EventClasses
from dipkb.views.render import UnsupportedFormat
from dipkb.views.stats import compute_stats
from dipkb.views.timeline import timeline
import dipkb

ASCII_DIGITS = {ord(c): str(i) for digits in ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩") for i, c in enumerate(digits)}

SRC = Path(dipkb.__file__).parent


# Date input and time maps: one function, one map each.

@pytest.mark.parametrize("text, expected", [
    ("2021", DateValue("2021", XSD + "gYear")),
    (" 2021-07 ", DateValue("2021-07", XSD + "gYearMonth")),
    ("2020-02-29", DateValue("2020-02-29", XSD + "date")),
])
def test_a_user_date_becomes_a_literal_at_its_own_precision(text: str, expected: DateValue) -> None:
    assert date_value(text) == expected
    assert date_value(text, instants=True) == expected


def test_an_instant_is_taken_only_where_asked() -> None:
    assert date_value("2021-07-08T10:00:00Z", instants=True) == DateValue("2021-07-08T10:00:00Z", XSD + "dateTime")
    with pytest.raises(DateInputError) as error:
        date_value("2021-07-08T10:00:00Z")
    assert error.value.detail == "'2021-07-08T10:00:00Z' is not YYYY, YYYY-MM or YYYY-MM-DD with a real day"
    with pytest.raises(DateInputError) as error:
        date_value("2021-02-30T10:00:00", instants=True)
    assert error.value.detail == "'2021-02-30T10:00:00' is not a valid xsd:dateTime"


@pytest.mark.parametrize(("written", "datatype"), [("２０２１", XSD_GYEAR), ("2021-０７", XSD_GYEARMONTH),
                                                  ("٢٠٢١-07-08", XSD_DATE)])
def test_digits_of_other_scripts_are_not_a_date(written: str, datatype: str) -> None:
    # Python's \\d took them, so "２０２１" filtered to 2021; XSD and SPARQL engines refuse them.
    with pytest.raises(DateInputError):
        parse_partial_date(written)
    assert period_of(written, datatype) is None
    assert period_of(written.translate(ASCII_DIGITS), datatype) is not None


@pytest.mark.parametrize("written", ["2021-07-08T25:00:00", "2021-07-08T24:00:00", "2021-07-08T10:60:00",
                                     "2021-07-08T10:00:00+15:00", "2021-07-08T10:00:00+05:99"])
def test_a_time_of_day_or_a_zone_xsd_has_not_is_no_instant(written: str) -> None:
    # The date part alone was checked: hour 25 passed, and TimelineJS's datetime() raised on it.
    assert period_of(written, XSD_DATETIME) is None
    with pytest.raises(DateInputError):
        date_value(written, instants=True)


@pytest.mark.parametrize("written", ["2021-07-08T23:59:59.5", "2021-07-08T00:00:00+14:00", "2021-07-08T10:00:00-13:59"])
def test_the_edges_of_a_day_and_of_the_zones_are_instants(written: str) -> None:
    assert period_of(written, XSD_DATETIME) is not None


def test_a_year_of_five_digits_has_no_leading_zero() -> None:
    # XSD's rule; "02021" was read as 2021.
    assert period_of("02021", XSD_GYEAR) is None and period_of("-02021", XSD_GYEAR) is None
    assert period_of("0044", XSD_GYEAR) is not None and period_of("2021", XSD_GYEAR) is not None


def test_spaces_around_a_date_typed_by_a_person_are_no_part_of_it() -> None:
    # `--from " 2021-07"` was an error; the HTML file's filter and `add --date` took it.
    assert parse_partial_date(" 2021-07 ") == parse_partial_date("2021-07")


def test_a_date_error_is_a_parameter_error_with_one_text() -> None:
    with pytest.raises(ParameterError) as error:
        parse_partial_date("2021-02-31")
    assert isinstance(error.value, DateInputError)
    assert str(error.value) == "'2021-02-31' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD with a real day."
    assert error.value.detail == "'2021-02-31' is not YYYY, YYYY-MM or YYYY-MM-DD with a real day"


def test_the_time_maps_cover_every_precision_and_every_event_time_field() -> None:
    assert DATATYPE_OF == {Precision.YEAR: XSD + "gYear", Precision.MONTH: XSD + "gYearMonth",
                           Precision.DAY: XSD + "date", Precision.INSTANT: XSD + "dateTime"}
    assert sorted(TIME_FIELDS.values()) == sorted(EventTime.__dataclass_fields__)
    assert sorted(TIME_FIELDS) == ["date", "earliestDate", "endDate", "latestDate", "startDate"]


def test_the_date_copies_are_gone_from_the_callers() -> None:
    """The error text, the precision map and the time-property map are written in temporal.py only."""
    for path in SRC.rglob("*.py"):
        if path.name == "temporal.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "with a real day" not in text, path
        # A map keyed by precision (``Precision.YEAR: ...``), not a comparison (``is Precision.YEAR:``).
        assert not re.search(r"(?<!is )(?<!not )Precision\.YEAR:", text), path
        assert '"earliestDate": "earliest"' not in text and '"earliest", "earliestDate"' not in text, path
        assert "XMLSchema#date" not in text, path


@pytest.mark.parametrize("text, kept", [
    ("2019-10", True),  # October overlaps a range that starts on its last day
    ("2019-09", False),
    ("2019", True),
    ("2020-01-01", False),
    ("2019-10-31T23:00:00Z", True),
    ("2019-09-30T23:00:00+05:00", False),
    ("2019-13", True),  # no such month: not read, so not filtered; the row is rejected with its reason
    ("2019-02-30", True),
    ("20191031", True),
    ("", True),
    (None, True),
])
def test_the_row_date_filter_compares_days(text: str | None, kept: bool) -> None:
    row_filter = RowFilter.build(date_from="2019-10-31", date_to="2019-12")
    assert (row_filter.first_day, row_filter.last_day) == (date(2019, 10, 31), date(2019, 12, 31))
    assert row_filter.keeps_date(text) is kept


def test_a_bad_row_date_filter_is_an_input_error() -> None:
    with pytest.raises(ImportInputError, match=r"^Bad date filter: '2019-13' is not a date: use YYYY"):
        RowFilter.build(date_from="2019-13")
    with pytest.raises(ImportInputError, match=r"^Bad date filter: The date range 2020..2019 is empty"):
        RowFilter.build(date_from="2020", date_to="2019")


# One most specific type.

def _chain_kb(directory: Path, depth: int) -> Path:
    """A KB whose event is typed with the two deepest classes of a chain under dip:Event. The old
    timeline counted a class's depth as the classes from it up to dip:Event, as text, so that these
    two were "9" and "10" and the shallower one won."""
    classes = "\n".join(f"ex:L{i} a owl:Class ; rdfs:subClassOf {'dip:Event' if i == 1 else f'ex:L{i - 1}'} ; "
                        f"skos:inScheme dip:EventTypeScheme ; rdfs:label \"Level {i}\"@en ." for i in range(1, depth + 1))
    directory.mkdir()
    (directory / "chain.ttl").write_text(f"""@prefix dip: <{DIP}> .
@prefix ex: <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <{XSD}> .
{classes}
ex:talk a ex:L{depth - 1}, ex:L{depth} ; rdfs:label "A talk"@en ; dip:date "2021-07"^^xsd:gYearMonth .
ex:visit a ex:L{depth - 1}, dip:Statement ; rdfs:label "A visit"@en ; dip:date "2021-08"^^xsd:gYearMonth .
""", encoding="utf-8")
    return directory


def test_the_deeper_of_two_types_nine_and_ten_deep_in_timeline_and_stats(tmp_path: Path) -> None:
    kb = KnowledgeBase.open(_chain_kb(tmp_path / "kb", 9))
    entries = {entry.label: entry.type for entry in timeline(kb)}
    stats = dict(compute_stats(kb).by_event_type)
    assert entries["A talk"] == "http://example.org/L9"
    # The talk counts under L9 only; the visit's two types are unrelated, and its timeline shows the
    # deeper one, one of the two it is counted under.
    assert stats == {"http://example.org/L9": 1, "http://example.org/L8": 1, "dip:Statement": 1}
    assert entries["A visit"] == "http://example.org/L8"


def test_one_most_specific_type_in_either_form_of_iri() -> None:
    rows = [("Event", None), ("Event", "A"), ("Event", "B"), ("Event", "AA"), ("A", "AA"), ("A", None),
            ("B", None), ("AA", None)]
    for wrap in (lambda iri: iri, lambda iri: f"<{iri}>"):
        classes = EventClasses.from_rows((wrap(c), wrap(s) if s else None) for c, s in rows)
        assert classes.depth == {wrap("Event"): 0, wrap("A"): 1, wrap("B"): 1, wrap("AA"): 2}
        assert classes.most_specific({wrap("A"), wrap("AA"), wrap("Event")}) == {wrap("AA")}
        assert classes.shown({wrap("A"), wrap("AA"), wrap("B")}) == wrap("AA")
        assert classes.shown({wrap("A"), wrap("B")}) == wrap("B")  # equally deep: the last by IRI
        assert classes.shown({wrap("Other")}) is None


# The index fingerprint.

def _dipkb_imports(module: ModuleType) -> set[str]:
    """The dipkb modules ``module`` imports, at its top or inside a function: ``from dipkb.x import y``
    counts as dipkb.x.y when y is a module, else as dipkb.x."""
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("dipkb.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dipkb":
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if importlib.util.find_spec(node.module).submodule_search_locations
                          and importlib.util.find_spec(submodule) else node.module)
    return found


def test_the_fingerprint_lists_every_module_the_derivation_builds_on() -> None:
    listed = {module.__name__ for module in derivation.DERIVATION_MODULES}
    reached, todo = {"dipkb.store.derivation"}, ["dipkb.store.derivation"]
    while todo:
        for name in _dipkb_imports(importlib.import_module(todo.pop())) - reached:
            reached.add(name)
            todo.append(name)
    assert reached <= listed, f"missing from DERIVATION_MODULES: {sorted(reached - listed)}"
    assert {"dipkb.store.tallies", "dipkb.model.temporal", "dipkb.model.namespaces"} <= reached


@pytest.mark.parametrize("position", range(len(derivation.DERIVATION_MODULES)))
def test_the_fingerprint_changes_with_the_source_of_each_listed_module(position: int, tmp_path: Path) -> None:
    modules = list(derivation.DERIVATION_MODULES)
    original = modules[position]
    changed = ModuleType(original.__name__)
    changed.__file__ = str(tmp_path / Path(original.__file__).name)
    Path(changed.__file__).write_text(inspect.getsource(original) + "\ndef a_new_helper() -> None:\n    pass\n",
                                      encoding="utf-8")
    before = derivation.source_text(derivation.DERIVATION_MODULES)
    assert before == derivation.derivation_source()
    modules[position] = changed
    assert derivation.source_text(modules) != before


# One exception hierarchy, no assert in production.

def test_no_assert_in_the_package() -> None:
    """An assert vanishes under python -O: a broken promise must raise a DipkbError instead."""
    found = [f"{path.relative_to(SRC)}:{node.lineno}" for path in sorted(SRC.rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Assert)]
    assert found == []


def test_format_and_date_errors_are_dipkb_errors() -> None:
    assert issubclass(UnsupportedFormat, DipkbError)
    assert issubclass(DateInputError, ParameterError)


def test_an_unsupported_format_is_a_one_line_error_with_exit_2() -> None:
    result = CliRunner().invoke(cli, ["query", "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1", "-f", "turtle"])
    assert result.exit_code == 2
    assert result.output == ("Error: SELECT and ASK results cannot be written as turtle; "
                             "use table, csv, tsv, json or xml.\n")


def test_a_bad_timeline_date_is_a_one_line_error_with_exit_2() -> None:
    result = CliRunner().invoke(cli, ["timeline", "--from", "2021-13"])
    assert (result.exit_code, result.output) == (
        2, "Error: '2021-13' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD with a real day.\n")


@pytest.mark.parametrize(("times", "found"), [
    ({"startDate": "2021-07-01T10:00:00Z", "endDate": "2021-07-30T10:00:00"}, []),  # a zone and none: by day
    ({"startDate": "2021-07-10T10:00:00", "endDate": "2021-07-01T10:00:00Z"},
     ["dip:endDate 2021-07-01T10:00:00Z is before dip:startDate 2021-07-10T10:00:00"]),
    ({"startDate": "2021-07-08T10:00:00+05:00", "endDate": "2021-07-08T08:00:00Z"}, []),  # 05:00 UTC, then 08:00
    ({"earliestDate": "2021-08", "endDate": "2021-07"}, ["dip:endDate 2021-07 is before dip:earliestDate 2021-08"]),
    ({"date": "2021", "startDate": "2021-07"}, []),
    ({"date": "2021-07", "startDate": "2021-09"}, ["dip:date 2021-07 is before dip:startDate 2021-09"]),
])
def test_times_that_contradict_each_other_are_found_as_the_shapes_find_them(times, found):
    # The importers validate one event of each form: a CSV row whose end came before its start was written.
    values = {name: date_value(text, instants=True) for name, text in times.items()}
    assert contradictions(values) == found
