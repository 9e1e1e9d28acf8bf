"""`dipkb import EVENTS --mentions MENTIONS`: a GDELT 2.0 mentions file joined to its events. The
mentions file is written here in GDELT's layout, with GlobalEventIDs of the sample export."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import NamedNode

from dipkb import KnowledgeBase
from dipkb.authoring.importing import ImportFormat, ImportOptions, commit_import, run_import
from dipkb.cli import cli
from dipkb.errors import ImportInputError
from dipkb.model.namespaces import KB
from dipkb.store.layout import KBLayout

REPO = Path(__file__).resolve().parent.parent
GDELT = REPO / "tests" / "fixtures" / "gdelt2-20191024143000.export.tsv"
ICEWS = REPO / "tests" / "fixtures" / "icews-synthetic.tab"
EVENTS = GDELT.read_text(encoding="utf-8").splitlines()[:40]
SOURCE = KB + "source/"


def mention(event_id: str, kind: str, outlet: str, identifier: str, *, found: str = "20191024144500",
            sentence: str = "2", confidence: str = "80", tone: str = "-2.5") -> str:
    """One row of the 16 tab-separated columns of a GDELT 2.0 mentions file."""
    return "\t".join([event_id, "20191024143000", found, kind, outlet, identifier, sentence, "-1", "54", "37", "1",
                      confidence, "3012", tone, "", ""])


MENTIONS = [
    mention("881990835", "1", "example.com", "https://example.com/malaysia-visit"),
    mention("881990835", "1", "example.net", "https://example.net/visit", confidence="100", tone="1.25"),
    mention("881990835", "2", "", "Journal of Examples 12(3)", found="20191024150000", sentence=""),
    mention("881990837", "1", "example.de", "https://example.de/polizei"),
    mention("881990832", "1", "example.org", "https://example.org/no-actor"),  # its event row is rejected
    mention("1", "1", "example.org", "https://example.org/elsewhere"),  # no such event in the export
    mention("881990838", "1", "example.de", "https://example.de/x", confidence="high"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("mentions")
    events = root / "20191024143000.export.CSV"
    events.write_text("\n".join(EVENTS) + "\n", encoding="utf-8")
    mentions = root / "20191024143000.mentions.CSV"
    mentions.write_text("\n".join(MENTIONS) + "\n", encoding="utf-8")
    return events, mentions


@pytest.fixture(scope="module")
def imported(tmp_path_factory, files):
    root = tmp_path_factory.mktemp("kb")
    shutil.copytree(REPO / "kb", root / "kb", ignore=shutil.ignore_patterns(".*", "imports"))
    layout = KBLayout.locate(root)
    events, mentions = files
    result = run_import(KnowledgeBase.open(layout=layout), events, ImportFormat.GDELT, ImportOptions(mentions=mentions))
    assert commit_import(layout, result, full_validation=True) == []
    return result, KnowledgeBase.open(layout=layout)


def sources_of_event_of(kb: KnowledgeBase, record: str) -> dict[str, dict[str, str]]:
    """Every mention record of the event that ``record`` is a source of, with its properties."""
    rows = kb.select("""SELECT ?r ?m ?p ?o WHERE { ?e dip:source ?r . ?e dip:source ?m . ?m a dip:MentionRecord ; ?p ?o }""",
                     {"r": NamedNode(SOURCE + record)})
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(row["m"].value, {})[row["p"].value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]] = row["o"].value
    return found


def test_every_mention_row_is_accounted_for(imported):
    result, _ = imported
    assert result.report.as_json()["mentions"] == {
        "rows": 7, "joined": 4, "unmatched": 2, "rejected": 1, "reasons": {"malformed mention": 1}}
    assert "  mentions: 7 rows, 4 joined, 2 of events not in this import, 1 rejected" in \
        result.report.summary("x.ttl", dry_run=True).splitlines()


def test_mentions_become_further_sources_with_url_time_and_confidence(imported):
    _, kb = imported
    mentions = sources_of_event_of(kb, "gdelt2-881990835")
    assert len(mentions) == 3
    web = next(m for m in mentions.values() if m.get("url") == "https://example.com/malaysia-visit")
    assert (web["created"], web["mentionConfidence"], web["storyPublisher"], web["averageTone"],
            web["sentenceNumber"], web["recordId"]) == ("2019-10-24T14:45:00Z", "80", "example.com", "-2.5", "2",
                                                        "881990835")
    assert "issued" not in web  # when GDELT found the document is not when it was published
    citation = next(m for m in mentions.values() if "identifier" in m)
    assert (citation["identifier"], citation["created"]) == ("Journal of Examples 12(3)", "2019-10-24T15:00:00Z")
    assert "url" not in citation


def test_mentions_are_not_merges_and_the_counts_are_kept(imported):
    _, kb = imported
    # 881990835 (BUS hosts MYS) and 881990854 (the visit itself) are one visit, merged from both records.
    merged = kb.select("SELECT ?r ?merged WHERE { ?e dip:source ?r ; dip:mergedFrom ?merged }",
                       {"r": NamedNode(SOURCE + "gdelt2-881990835")})
    assert sorted(row["merged"].value.rsplit("/", 1)[-1] for row in merged) == ["gdelt2-881990835", "gdelt2-881990854"]
    counts = kb.select("SELECT ?r ?n WHERE { ?r dip:numMentions ?n }", {"r": NamedNode(SOURCE + "gdelt2-881990835")})
    assert [row["n"].value for row in counts] == [EVENTS[3].split("\t")[31]] == ["8"]


def test_the_mentions_of_a_merged_record_join_its_event(imported):
    _, kb = imported
    assert [m["url"] for m in sources_of_event_of(kb, "gdelt2-881990837").values()] == ["https://example.de/polizei"]


def test_mentions_go_with_gdelt_only(shipped_kb, files):
    _, mentions = files
    result = CliRunner().invoke(cli, ["--kb", str(shipped_kb), "import", str(ICEWS), "--mentions", str(mentions),
                                      "--dry-run"])
    assert result.exit_code == 2
    assert "--mentions, --min-mentions and --root-only read GDELT's columns" in result.output


def test_an_events_file_given_as_mentions_is_named(shipped_kb, files):
    events, _ = files
    with pytest.raises(ImportInputError) as caught:
        run_import(KnowledgeBase.open(shipped_kb), events, ImportFormat.GDELT, ImportOptions(mentions=events))
    assert str(caught.value).endswith("is not a GDELT 2.0 mentions file (no row has its 16 tab-separated columns); "
                                      "it looks like a GDELT event export.")
