"""The index derives each file from its parsed text while loading it; the in-memory KB derives from
the store. Both must give the same triples, on the cases where text and store differ: a triple
stated twice, two values of one time property in either order, blank-node events and participants,
and a KB file that declares a new role."""
from __future__ import annotations

import re
from pathlib import Path

from dipkb import KnowledgeBase
from dipkb.store.derivation import is_derived_graph
from dipkb.store.eventrows import ROW

TRICKY = """\
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@base <https://w3id.org/dipkb/kb/> .

<event/twice> a dip:Meeting ; a dip:Meeting ; dip:date "2021-07"^^xsd:gYearMonth ;
    dip:source <source/s1> , <source/s1> ; dip:host <actor/a> .
<event/late-first> a dip:Statement ; dip:startDate "2021-09-01"^^xsd:date , "2021-03-01"^^xsd:date .
<event/early-first> a dip:Statement ; dip:startDate "2021-03-01"^^xsd:date , "2021-09-01"^^xsd:date .
[] a dip:Meeting ; dip:date "2020"^^xsd:gYear ; dip:host <actor/b> .
<event/blank-guest> a dip:Meeting ; dip:date "2019-05-05"^^xsd:date ; dip:visitor [ rdfs:label "someone" ] ;
    dip:modality dip:Planned , dip:Planned .
"""
NEW_ROLE = """\
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/dipkb/kb/role/witness> rdfs:subPropertyOf dip:participant .
<https://w3id.org/dipkb/kb/event/twice> <https://w3id.org/dipkb/kb/role/witness> <https://w3id.org/dipkb/kb/actor/w> .
"""


def derived(store) -> list[tuple[str, str, str, str]]:
    """The derived quads, blank nodes named alike (each store names them its own way)."""
    def term(t) -> str:
        return re.sub(r"^_:.*", "_:b", str(t))
    return sorted((term(q.subject), str(q.predicate), term(q.object), q.graph_name.value)
                  for q in store if is_derived_graph(q.graph_name))


def test_the_index_derives_what_the_store_path_derives(kb_copy: Path) -> None:
    (kb_copy / "kb" / "tricky.ttl").write_text(TRICKY)
    with KnowledgeBase.open(kb_copy) as kb:
        built = derived(kb.store)
    expected = derived(KnowledgeBase.open(kb_copy, index=False).store)
    assert built == expected
    rows = {(s, p.strip("<>").rsplit("#", 1)[-1], o) for s, p, o, _ in built}
    assert ("<https://w3id.org/dipkb/kb/event/late-first>", "earliestDay",
            '"2021-09-01"^^<http://www.w3.org/2001/XMLSchema#date>') in rows  # the greater value, either order
    assert ("<https://w3id.org/dipkb/kb/event/early-first>", "earliestDay",
            '"2021-09-01"^^<http://www.w3.org/2001/XMLSchema#date>') in rows
    assert ("_:b", "participant", "<https://w3id.org/dipkb/kb/actor/b>") in rows
    assert ("<https://w3id.org/dipkb/kb/event/blank-guest>", "participant", "_:b") in rows
    assert any(p == "tallyCitations" and o.startswith('"1"') for _, p, o in rows)  # the citation stated twice


def test_a_role_declared_in_a_kb_file_reaches_the_files_loaded_before_it(kb_copy: Path) -> None:
    """The index derives a file as it loads it, with the ontology's roles: a KB file that declares
    one more makes the build derive every file again."""
    (kb_copy / "kb" / "a-tricky.ttl").write_text(TRICKY)
    (kb_copy / "kb" / "z-role.ttl").write_text(NEW_ROLE)
    with KnowledgeBase.open(kb_copy) as kb:
        built = derived(kb.store)
    assert built == derived(KnowledgeBase.open(kb_copy, index=False).store)
    assert ("<https://w3id.org/dipkb/kb/event/twice>", "https://w3id.org/dipkb/ontology#participant",
            "<https://w3id.org/dipkb/kb/actor/w>") in {(s, p.strip("<>"), o) for s, p, o, _ in built}


NEW_CLASS = """\
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/dipkb/kb/class/Summit> rdfs:subClassOf dip:Meeting .
"""
SUMMIT = """\
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/dipkb/kb/event/summit> a <https://w3id.org/dipkb/kb/class/Summit> ; rdfs:label "A summit" ;
    dip:date "2021-07"^^xsd:gYearMonth ; dip:host <https://w3id.org/dipkb/kb/actor/russia> .
"""


def test_an_event_class_declared_in_a_kb_file_reaches_the_events_of_every_file(kb_copy: Path) -> None:
    """A build asks the store for the roles and event classes again only when a KB file declares a
    subclass or a subproperty: this one does, so the summit, typed with it, gets its timeline row."""
    (kb_copy / "kb" / "a-summit.ttl").write_text(SUMMIT)
    (kb_copy / "kb" / "z-class.ttl").write_text(NEW_CLASS)
    with KnowledgeBase.open(kb_copy) as kb:
        built = derived(kb.store)
    assert built == derived(KnowledgeBase.open(kb_copy, index=False).store)
    assert any(s == "<https://w3id.org/dipkb/kb/event/summit>" and p == f"<{ROW}>" for s, p, _, _ in built)


BLANK_EVENT = """\
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
[] a dip:Meeting ; dip:date "2020"^^xsd:gYear ; dip:host <https://w3id.org/dipkb/kb/actor/b> .
"""
BLANK_GUEST = """\
@prefix dip: <https://w3id.org/dipkb/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/dipkb/kb/event/blank-guest> a dip:Meeting ; dip:visitor [ rdfs:label "someone" ] .
"""


def test_what_is_derived_of_a_blank_node_is_said_of_the_node_the_file_loaded(kb_copy: Path) -> None:
    """The parser and the store name a blank node differently: a file with one blank event, or one
    blank participant, is derived from the store, so that its derived triples join its own."""
    (kb_copy / "kb" / "blank-event.ttl").write_text(BLANK_EVENT)
    (kb_copy / "kb" / "blank-guest.ttl").write_text(BLANK_GUEST)
    with KnowledgeBase.open(kb_copy) as kb:
        days = [str(row["day"].value) for row in kb.store.query(
            "SELECT ?day WHERE { ?e dip:host <https://w3id.org/dipkb/kb/actor/b> ; dip:earliestDay ?day }",
            prefixes={"dip": "https://w3id.org/dipkb/ontology#"}, use_default_graph_as_union=True)]
        guests = list(kb.store.query(
            'SELECT ?g WHERE { <https://w3id.org/dipkb/kb/event/blank-guest> dip:participant ?g . ?g rdfs:label "someone" }',
            prefixes={"dip": "https://w3id.org/dipkb/ontology#", "rdfs": "http://www.w3.org/2000/01/rdf-schema#"},
            use_default_graph_as_union=True))
    assert days == ["2020-01-01"] and len(guests) == 1


def test_a_time_property_with_an_iri_for_a_value_leaves_the_event_undated(kb_copy: Path) -> None:
    """Not a date (the shapes report it): the index is built all the same, the event in no range."""
    (kb_copy / "kb" / "odd.ttl").write_text(
        '<https://w3id.org/dipkb/kb/event/odd> a <https://w3id.org/dipkb/ontology#Meeting> ;'
        ' <https://w3id.org/dipkb/ontology#date> <https://example.org/some-day> .\n')
    with KnowledgeBase.open(kb_copy) as kb:
        built = derived(kb.store)
    assert not any(s == "<https://w3id.org/dipkb/kb/event/odd>" and p.endswith("Day>") for s, p, _, _ in built)
    assert any(s == "<https://w3id.org/dipkb/kb/event/odd>" and p == f"<{ROW}>" for s, p, _, _ in built)
