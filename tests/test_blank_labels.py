"""The export's blank-node labels: RDFC-1.0's, except in clusters of alike, linked nodes, where its
work grows exponentially and the nodes are labelled in the files' order (views/blank_labels.py)."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from pyoxigraph import BlankNode, CanonicalizationAlgorithm, Dataset, NamedNode, RdfFormat, parse, serialize
from rdflib.collection import Collection

from dipkb.store.kb import KnowledgeBase
from dipkb.views.blank_labels import LARGEST_CLUSTER, STAND_IN
from dipkb.views.export import ExportFormat, export
from test_export import rapper_count, serdi_count

EX = "http://example.org/"
PREFIX = f"@prefix ex: <{EX}> .\n"
EQUAL_ITEMS = 1000
RDFLIB_SYNTAX = {ExportFormat.TURTLE: "turtle", ExportFormat.NTRIPLES: "nt", ExportFormat.NQUADS: "nquads",
                 ExportFormat.TRIG: "trig", ExportFormat.JSONLD: "json-ld", ExportFormat.RDFXML: "xml"}


def kb_with(root: Path, text: str, name: str = "a.nt") -> Path:
    (root / "kb").mkdir(parents=True)
    (root / "kb" / name).write_text(text, encoding="utf-8")
    return root


def exported(root: Path, fmt: ExportFormat = ExportFormat.NTRIPLES) -> tuple[bytes, int]:
    """The export's bytes, and how many blank nodes it labelled in the files' order."""
    out = io.BytesIO()
    done = export(KnowledgeBase.open(root), fmt, out)
    return out.getvalue(), done.blank_nodes_in_file_order


def labels(data: bytes) -> set[str]:
    return set(re.findall(rb"_:(\S+)", data))


def rdflib_graph(data: bytes, fmt: ExportFormat) -> rdflib.Graph:
    if not fmt.keeps_graphs:
        return rdflib.Graph().parse(data=data, format=RDFLIB_SYNTAX[fmt])
    union = rdflib.Graph()
    for graph in rdflib.Dataset().parse(data=data, format=RDFLIB_SYNTAX[fmt]).graphs():
        union += graph
    return union


@pytest.mark.parametrize("fmt", list(ExportFormat), ids=lambda fmt: fmt.value)
def test_a_list_of_a_thousand_equal_items_is_exported_whole(tmp_path: Path, fmt: ExportFormat):
    # pyoxigraph's RDFC-1.0 crashed the process on this list (SIGSEGV); 500 items took it 12 s.
    root = kb_with(tmp_path, PREFIX + f"ex:a ex:p ({' 1' * EQUAL_ITEMS} ) .\n", "list.ttl")
    done = subprocess.run([sys.executable, "-m", "dipkb", "--kb", str(root), "export", "-f", fmt.value],
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # The list's first and last cells are told apart by what they link to; the others are alike.
    assert done.stderr.decode().startswith(f"Note: {EQUAL_ITEMS - 2} blank nodes, alike and linked to one another, "
                                           "are labelled in the files' order")
    graph = rdflib_graph(done.stdout, fmt)
    head = graph.value(rdflib.URIRef(EX + "a"), rdflib.URIRef(EX + "p"))
    assert [item.toPython() for item in Collection(graph, head)] == [1] * EQUAL_ITEMS
    assert len(graph) == 1 + 2 * EQUAL_ITEMS
    if fmt in (ExportFormat.TURTLE, ExportFormat.NTRIPLES, ExportFormat.RDFXML):
        assert rapper_count(done.stdout, fmt) == len(graph)
    if fmt is not ExportFormat.RDFXML and fmt is not ExportFormat.JSONLD:
        assert serdi_count(done.stdout, fmt) == len(graph)


def test_a_list_of_a_thousand_different_items_keeps_the_rdfc_labels(tmp_path: Path):
    text = PREFIX + f"ex:a ex:p ({''.join(f' {i}' for i in range(EQUAL_ITEMS))} ) .\n"
    data, in_file_order = exported(kb_with(tmp_path, text, "list.ttl"))
    assert in_file_order == 0
    assert labels(data) == {f"c14n{i}".encode() for i in range(EQUAL_ITEMS)}


def nested_chain(depth: int, label: str, order: range) -> str:
    """``ex:a ex:p [ ex:p [ ... ex:p 1 ] ]`` as N-Triples: each node alike but the first and last."""
    lines = {0: f"<{EX}a> <{EX}p> _:{label}0 .\n", depth: f"_:{label}{depth - 1} <{EX}p> \"1\" .\n"}
    lines |= {i: f"_:{label}{i - 1} <{EX}p> _:{label}{i} .\n" for i in range(1, depth)}
    return "".join(lines[i] for i in order)


def test_a_deep_chain_of_alike_nodes_is_labelled_in_the_files_order_not_by_their_labels(tmp_path: Path):
    # RDFC-1.0 took 90 s on a chain of 1,000.
    depth = 1000
    data, in_file_order = exported(kb_with(tmp_path / "one", nested_chain(depth, "n", range(depth + 1))))
    assert in_file_order == depth - 2
    assert labels(data) == {b"c14n0", b"c14n1"} | {f"b{i}".encode() for i in range(depth - 2)}
    assert chain_of(data) == [EX + "a"] + ["blank"] * depth + ["1"]
    # Other labels for the same nodes in the same order: the same bytes.
    assert exported(kb_with(tmp_path / "relabelled", nested_chain(depth, "other", range(depth + 1))))[0] == data
    # The same statements in another order: labelled otherwise, still the same graph.
    reordered, _ = exported(kb_with(tmp_path / "reordered", nested_chain(depth, "n", range(depth, -1, -1))))
    assert reordered != data
    assert chain_of(reordered) == chain_of(data)


def chain_of(data: bytes) -> list[str]:
    """The nodes met from ex:a along ex:p (the data holds one chain, each node of it once)."""
    following = {quad.subject: quad.object for quad in parse(data, format=RdfFormat.N_TRIPLES)}
    assert len(following) == len(set(following.values()))
    node, met = NamedNode(EX + "a"), []
    while node is not None:
        met.append("blank" if isinstance(node, BlankNode) else node.value)
        node = following.get(node)
    return met


def all_linked(size: int, label: str) -> str:
    """``size`` blank nodes each linked to every other: all alike, one cluster."""
    return "".join(f"_:{label}{i} <{EX}p> _:{label}{j} .\n" for i in range(size) for j in range(size) if i != j)


def rdfc_1_0(text: str) -> bytes:
    dataset = Dataset(parse(text, format=RdfFormat.N_TRIPLES))
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    return b"".join(sorted(serialize([quad.triple for quad in dataset], format=RdfFormat.N_TRIPLES).splitlines(True)))


def test_a_cluster_as_large_as_allowed_keeps_the_rdfc_labels(tmp_path: Path):
    text = all_linked(LARGEST_CLUSTER, "x") + all_linked(LARGEST_CLUSTER, "y")
    data, in_file_order = exported(kb_with(tmp_path, text))
    assert in_file_order == 0
    assert data == rdfc_1_0(text)
    assert labels(data) == {f"c14n{i}".encode() for i in range(2 * LARGEST_CLUSTER)}


def test_a_cluster_larger_than_allowed_is_labelled_in_the_files_order(tmp_path: Path):
    text = all_linked(LARGEST_CLUSTER, "small") + all_linked(LARGEST_CLUSTER + 1, "large")
    data, in_file_order = exported(kb_with(tmp_path, text))
    assert in_file_order == LARGEST_CLUSTER + 1
    assert labels(data) == ({f"c14n{i}".encode() for i in range(LARGEST_CLUSTER)}
                            | {f"b{i}".encode() for i in range(LARGEST_CLUSTER + 1)})
    # The small cluster keeps the labels RDFC-1.0 gives it alone.
    small = rdfc_1_0(all_linked(LARGEST_CLUSTER, "small"))
    assert b"".join(line for line in data.splitlines(True) if b"_:c14n" in line) == small


def test_alike_nodes_not_linked_to_one_another_keep_the_rdfc_labels(tmp_path: Path):
    # Each inner node is like every other; its one blank neighbour is told apart by its event.
    lines = [f"<{EX}e{i}> <{EX}p> _:outer{i} .\n_:outer{i} <{EX}q> _:inner{i} .\n_:inner{i} <{EX}r> \"1\" .\n"
             for i in range(200)]
    data, in_file_order = exported(kb_with(tmp_path / "forward", "".join(lines)))
    assert in_file_order == 0
    assert len(labels(data)) == 400 and all(label.startswith(b"c14n") for label in labels(data))
    assert exported(kb_with(tmp_path / "backward", "".join(reversed(lines))))[0] == data


def test_an_iri_like_a_stand_in_is_kept_as_written(tmp_path: Path):
    # While RDFC-1.0 runs, the nodes labelled in the files' order are IRIs of a prefix no IRI uses.
    taken = [f"{STAND_IN}{i}" for i in range(LARGEST_CLUSTER + 1)]
    text = all_linked(LARGEST_CLUSTER + 1, "n") + "".join(f"_:other <{EX}q> <{iri}> .\n" for iri in taken)
    data, in_file_order = exported(kb_with(tmp_path, text))
    assert in_file_order == LARGEST_CLUSTER + 1
    written = {quad.object.value for quad in parse(data, format=RdfFormat.N_TRIPLES) if isinstance(quad.object, NamedNode)}
    assert written == set(taken)
    assert labels(data) == {b"c14n0"} | {f"b{i}".encode() for i in range(LARGEST_CLUSTER + 1)}
