"""An actor that an event names but nothing describes (forgotten, or misspelt where it is described): the
timeline and `show` say so, rather than that there is no such actor, or that its statements are in a
DESCRIBE that answers nothing."""
from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from dipkb.cli import cli

from conftest import TURTLE_PREFIXES, serving

EVENT = TURTLE_PREFIXES + """event:undescribed a dip:Meeting ; rdfs:label "Lavrov meets Kabulov"@en ;
    dip:host actor:lavrov ; dip:visitor actor:zamir-kabulov ; dip:date "2021-07-09"^^xsd:date ;
    dip:modality dip:Occurred ; dip:source source:founding-article ;
    rdfs:seeAlso <https://example.org/page> .
"""
SAID = ("Error: 'actor:lavrov' is named in the knowledge base but not described: give it an rdf:type and a "
        "label; `dipkb validate` shows where it is named.\n")


@pytest.mark.parametrize("args", [("timeline", "--actor", "actor:lavrov"), ("show", "actor:lavrov"),
                                  ("query", "actor-timeline", "-p", "actor=actor:lavrov")])
def test_an_actor_named_but_not_described_is_said_to_be_so(kb_copy: Path, args):
    (kb_copy / "kb" / "undescribed.ttl").write_text(EVENT, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), *args])
    assert (result.exit_code, result.stderr) == (2, SAID)


@pytest.mark.parametrize("args", [("timeline", "--actor", "actor:nobody"), ("show", "actor:nobody"),
                                  ("show", "<https://example.org/page>")])
def test_an_iri_nothing_names_or_outside_the_kb_is_not(kb_copy: Path, args):
    """A web page the KB points at is not the KB's to describe."""
    (kb_copy / "kb" / "undescribed.ttl").write_text(EVENT, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--kb", str(kb_copy), *args])
    assert result.exit_code == 2 and "not described" not in result.stderr


def test_its_page_says_so_too(kb_copy: Path):
    (kb_copy / "kb" / "undescribed.ttl").write_text(EVENT, encoding="utf-8")
    with serving(kb_copy) as served:
        for path in ("/actor/lavrov", "/actor/lavrov.json", "/api/show/actor:lavrov"):
            try:
                urllib.request.urlopen(served.url + path, timeout=30)
                raise AssertionError(f"{path} answered")
            except urllib.error.HTTPError as error:
                body = error.read().decode("utf-8")
                assert error.code == 404 and "is named in the knowledge base but not described" in body, path
