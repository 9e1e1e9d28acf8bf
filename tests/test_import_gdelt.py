"""Importing GDELT: the real 2,111-row 2.0 export, its 1.0 layouts, zips, filters, de-duplication."""
from __future__ import annotations

import csv
import io
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode

from dipkb import KnowledgeBase
from dipkb.authoring.codes import CodeBook
from dipkb.authoring.importing import ImportFormat, ImportOptions, commit_import, run_import, validate_import
from dipkb.errors import ImportInputError
from dipkb.model.namespaces import KB
from dipkb.model.records import Scheme
from dipkb.store.layout import KBLayout

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "fixtures" / "gdelt2-20191024143000.export.tsv"
CODEBOOK = REPO / "data" / "reference" / "cameo-codes.csv"


def copy_kb(tmp_path: Path) -> KBLayout:
    """A private copy of the KB's data files; ontology and queries are the bundled ones."""
    shutil.copytree(REPO / "kb", tmp_path / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    return KBLayout.locate(tmp_path)


@pytest.fixture
def layout(tmp_path: Path) -> KBLayout:
    return copy_kb(tmp_path)


@pytest.fixture(scope="module")
def kb(shipped_kb: Path) -> KnowledgeBase:
    return KnowledgeBase.open(shipped_kb)  # the session's copy: its index is not written into the checkout


@pytest.fixture(scope="module")
def sample_result(kb):
    return run_import(kb, SAMPLE, ImportFormat.GDELT)


def rows() -> list[list[str]]:
    return [line.split("\t") for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def known_codes() -> set[str]:
    # The codebook itself, not the generated scheme the importer reads: an independent list.
    text = CODEBOOK.read_bytes().decode("cp1252")
    return {row["code"] for row in csv.DictReader(io.StringIO(text, newline=""))}


def expected_rejections() -> Counter:
    """What must be rejected, by simple checks on the raw columns."""
    reasons = Counter()
    codes = known_codes()
    for r in rows():
        actor1, actor2, code = r[5], r[15], r[26]
        if code not in codes:
            reasons["unknown CAMEO code"] += 1
        elif not actor1:
            reasons["missing actor"] += 1
        elif code.startswith("04") and (not actor2 or actor2 == actor1):
            reasons["too few participants"] += 1
    return reasons


def test_every_row_is_accounted_for(sample_result):
    report = sample_result.report
    assert report.rows == len(rows()) == 2111
    assert report.reasons == expected_rejections()
    assert report.rejected == sum(expected_rejections().values()) == 233
    # 1878 accepted rows: 1577 distinct identity keys, the other 301 rows merge into one of them.
    assert (report.imported, report.merged, report.filtered) == (1577, 301, 0)
    assert report.as_json() == {"rows": 2111, "imported": 1577, "merged": 301,
                                "rejected": 233, "filtered": 0, "reasons": dict(sorted(expected_rejections().items())),
                                "events_created": 1577, "events_extended": 0, "header_lines": []}


def test_events_are_the_distinct_identity_keys(kb, sample_result):
    """De-duplication recomputed from the raw columns: type, participants (a set for meetings),
    place, day, and the code where the type is coarser. One event per distinct key; every other
    accepted row merged."""
    codebook = CodeBook(kb)
    rejected = {row.line for row in sample_result.report.rejected_rows}
    keys = set()
    for line, r in enumerate(rows(), start=1):
        if line in rejected:
            continue
        match = codebook.match(Scheme.CAMEO, r[26])
        cls = match.event_class
        meeting = r[26].startswith("04")
        actors = frozenset({r[5], r[15]} - {""}) if meeting else (r[5], r[15])
        code = None if meeting or codebook.is_exact_match(cls, match.concept.iri) else r[26]
        keys.add((cls, actors, r[51], r[52], r[1], code))
    assert sample_result.report.imported == len(keys)
    assert sample_result.report.merged == 2111 - 233 - len(keys)


def event_of(kb: KnowledgeBase, record: str) -> str:
    rows = kb.select("SELECT ?e ?r WHERE { ?e dip:source ?r }", {"r": NamedNode(KB + "source/" + record)})
    assert len(rows) == 1, rows
    return rows[0]["e"].value


@pytest.fixture(scope="module")
def imported(tmp_path_factory, sample_result):
    """The sample committed into a copy of the KB, reopened."""
    layout = copy_kb(tmp_path_factory.mktemp("gdelt"))
    result = run_import(KnowledgeBase.open(layout=layout), SAMPLE)
    commit_import(layout, result)
    return layout, KnowledgeBase.open(layout=layout)


def test_a_visit_and_its_hosting_row_are_one_visit(imported):
    _, kb = imported
    # 881992268: NOR makes a visit (042) to RUS in Moscow; 881992380: RUS hosts (043) NOR there.
    event = event_of(kb, "gdelt2-881992268")
    assert event == event_of(kb, "gdelt2-881992380")
    rows = kb.select("""SELECT ?e ?class ?visitor ?host ?place ?date ?modality WHERE {
        ?e a ?class ; dip:visitor ?visitor ; dip:host ?host ; dip:place ?place ; dip:date ?date ;
           dip:modality ?modality }""", {"e": NamedNode(event)})
    assert [{k: v.value for k, v in row.items() if k != "e"} for row in rows] == [{
        "class": "https://w3id.org/dipkb/ontology#Visit", "visitor": KB + "actor/cameo-nor",
        "host": KB + "actor/russia", "place": KB + "place/moscow", "date": "2019-10-24",
        "modality": "https://w3id.org/dipkb/ontology#Occurred"}]
    assert rows[0]["date"].datatype.value.endswith("#date")  # a day, as SQLDATE gives it
    codes = {r["c"].value for r in kb.select("SELECT ?e ?c WHERE { ?e dip:eventCode ?c }", {"e": NamedNode(event)})}
    assert codes == {"https://w3id.org/dipkb/cameo/042", "https://w3id.org/dipkb/cameo/043"}
    merged = {r["r"].value for r in kb.select("SELECT ?e ?r WHERE { ?e dip:mergedFrom ?r }", {"e": NamedNode(event)})}
    assert merged == {KB + "source/gdelt2-881992268", KB + "source/gdelt2-881992380"}


def test_a_reciprocal_negotiation_is_one_meeting_with_both_records(imported):
    _, kb = imported
    event = event_of(kb, "gdelt2-881991062")  # AFG negotiates with RUS
    assert event == event_of(kb, "gdelt2-881992358")  # RUS negotiates with AFG
    attendees = {r["a"].value for r in kb.select("SELECT ?e ?a WHERE { ?e dip:attendee ?a }", {"e": NamedNode(event)})}
    assert attendees == {KB + "actor/afghanistan", KB + "actor/russia"}


def test_records_keep_their_provenance(imported):
    _, kb = imported
    # DATEADDED is when GDELT made the record (dct:created), not when a story was published (dct:issued).
    rows = kb.select("""SELECT ?r ?dataset ?id ?url ?created WHERE {
        ?r a dip:DatasetRecord ; dip:dataset ?dataset ; dip:recordId ?id ; dip:url ?url ; dct:created ?created
        FILTER NOT EXISTS { ?r dct:issued ?issued } }""",
                     {"r": NamedNode(KB + "source/gdelt2-881992380")})
    assert [{k: v.value for k, v in row.items() if k != "r"} for row in rows] == [{
        "dataset": "GDELT 2.0 events (gdelt2-20191024143000.export.tsv)", "id": "881992380",
        "url": "https://www.reuters.com/article/us-russia-norway-pardon/putin-urged-to-pardon-norwegian-jailed-for-"
               "spying-amid-hopes-of-swap-idUSKBN1X312Z",
        "created": "2019-10-24T14:30:00Z"}]
    assert kb.select("SELECT (COUNT(?r) AS ?n) WHERE { ?r a dip:DatasetRecord }")[0]["n"].value == str(2111 - 233)


def test_actors_reconcile_to_curated_ones_by_code(imported):
    _, kb = imported
    coded_as_rus = kb.select("SELECT ?a ?code WHERE { ?a dip:actorCode ?code }", {"code": Literal("RUS")})
    assert [r["a"].value for r in coded_as_rus] == [KB + "actor/russia"]
    assert kb.select("SELECT ?s ?p WHERE { ?s ?p ?o }", {"s": NamedNode(KB + "actor/cameo-rus")}) == []
    # RUSGOV is a new actor, named after its code, acting for Russia; Taliban code to the curated actor
    rows = kb.select("SELECT ?a ?label ?for ?sector WHERE { ?a rdfs:label ?label ; dip:actsFor ?for ; dip:sector ?sector }",
                     {"a": NamedNode(KB + "actor/cameo-rusgov")})
    assert [(r["label"].value, r["for"].value, r["sector"].value) for r in rows] == [
        ("Russia government (RUSGOV)", KB + "actor/russia", "GOV")]
    assert kb.select("SELECT ?e WHERE { ?e dip:participant actor:taliban }")


def test_new_places_have_coordinates_only_when_they_are_cities(imported):
    _, kb = imported
    rows = kb.select("SELECT ?p ?label ?lat ?long ?country WHERE { ?p rdfs:label ?label ; geo:lat ?lat ; geo:long ?long ;"
                     " dip:inCountry ?country }", {"p": NamedNode(KB + "place/kremlin-moskva-russia")})
    assert [{k: v.value for k, v in r.items() if k != "p"} for r in rows] == [
        {"label": "Kremlin, Moskva, Russia", "lat": "55.7522", "long": "37.6156", "country": KB + "place/russia"}]
    countries_with_points = kb.select("SELECT ?c WHERE { ?c a dip:Country ; geo:lat ?lat }")
    assert countries_with_points == []


def test_coded_statements_are_attributed_to_the_dataset(imported):
    _, kb = imported
    rows = kb.select("""SELECT ?content WHERE { ?e a dip:ExpressionOfIntent ; dip:content ?content ;
                        dip:eventCode cameo:036 } LIMIT 1""")
    assert rows[0]["content"].value == "Coded as CAMEO 036 (Express intent to meet or negotiate) by GDELT 2.0."


def test_a_subset_conforms_node_by_node(kb, tmp_path):
    """Full validation of every node (not one per form) for the first 300 rows."""
    subset = tmp_path / "subset.tsv"
    subset.write_text("".join(line + "\n" for line in SAMPLE.read_text(encoding="utf-8").splitlines()[:300]))
    result = run_import(kb, subset, ImportFormat.GDELT)
    findings = validate_import(kb, result, full=True)
    assert [f for f in findings if f.severity.value == "Violation"] == []


def test_importing_twice_adds_nothing(imported):
    layout, kb = imported
    again = run_import(kb, SAMPLE)
    assert (again.report.imported, again.report.merged, again.report.rejected) == (0, 2111 - 233, 233)
    assert again.turtle == ""


@pytest.mark.parametrize("drop, columns, name", [((38, 46, 54), 58, "GDELT 1.0 daily events"),
                                                  ((38, 46, 54, 60), 57, "GDELT 1.0 back-file events")])
def test_gdelt_1_layouts(kb, tmp_path, sample_result, drop, columns, name):
    """The same rows without the ADM2 columns (and SOURCEURL) read as GDELT 1.0."""
    path = tmp_path / "gdelt1.tsv"
    lines = ["\t".join(v for i, v in enumerate(r) if i not in drop) for r in rows()]
    assert {len(line.split("\t")) for line in lines} == {columns}
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_import(kb, path)
    assert result.report.as_json() == sample_result.report.as_json()
    assert f'dip:dataset "{name} (gdelt1.tsv)"' in result.turtle
    assert "source:gdelt1-881992380" in result.turtle
    assert ("dip:url" in result.turtle) == (columns == 58)


def test_a_zip_with_one_member_is_read(kb, tmp_path, sample_result):
    archive = tmp_path / "20191024143000.export.CSV.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(SAMPLE, "20191024143000.export.CSV")
    result = run_import(kb, archive)
    assert result.report.as_json() == sample_result.report.as_json()
    assert result.target.name == "gdelt-20191024143000-export.ttl"
    assert "GDELT 2.0 events (20191024143000.export.CSV)" in result.turtle


def test_a_zip_with_two_members_is_refused(kb, tmp_path):
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.CSV", "x")
        z.writestr("b.CSV", "y")
    with pytest.raises(ImportInputError, match="holds 2 files"):
        run_import(kb, archive, ImportFormat.GDELT)


def test_filter_by_actor_code(kb):
    wanted = sum(1 for r in rows() if any(v.startswith("RUS") for v in (r[5], r[7], r[15], r[17])))
    result = run_import(kb, SAMPLE, options=ImportOptions(actor_codes=("rus",)))
    assert wanted == 91 and result.report.filtered == 2111 - wanted
    assert (result.report.imported, result.report.merged, result.report.rejected) == (61, 27, 3)


def test_filter_by_date_and_code(kb):
    wanted = sum(1 for r in rows() if r[1] >= "20191024" and r[26].startswith(("04", "19")))
    result = run_import(kb, SAMPLE, options=ImportOptions(date_from="2019-10-24", date_to="2019-10",
                                                          event_codes=("04", "19")))
    assert result.report.rows == 2111
    assert result.report.filtered == 2111 - wanted


def test_a_bad_filter_date_is_an_input_error(kb):
    with pytest.raises(ImportInputError, match="2019-13"):
        run_import(kb, SAMPLE, options=ImportOptions(date_from="2019-13"))



def test_a_new_record_of_an_event_in_the_kb_merges_into_it(layout, tmp_path):
    """Identity is by key, not by record: another record of the same visit joins the KB's event."""
    visit = next(line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.startswith("881992268\t"))
    first, second = tmp_path / "first.tsv", tmp_path / "second.tsv"
    first.write_text(visit + "\n", encoding="utf-8")
    second.write_text(visit.replace("881992268", "999999999", 1) + "\n", encoding="utf-8")
    commit_import(layout, run_import(KnowledgeBase.open(layout=layout), first))
    result = run_import(KnowledgeBase.open(layout=layout), second)
    assert (result.report.imported, result.report.merged, result.report.events_extended) == (0, 1, 1)
    commit_import(layout, result)
    kb = KnowledgeBase.open(layout=layout)
    event = event_of(kb, "gdelt2-999999999")
    assert event == event_of(kb, "gdelt2-881992268")
    merged = kb.select("SELECT ?e ?r WHERE { ?e dip:mergedFrom ?r }", {"e": NamedNode(event)})
    assert sorted(r["r"].value.rsplit("/")[-1] for r in merged) == ["gdelt2-881992268", "gdelt2-999999999"]
    labels = kb.select("SELECT ?e ?l WHERE { ?e rdfs:label ?l }", {"e": NamedNode(event)})
    assert len(labels) == 1  # the second import described nothing twice
