"""Validating a big KB in batches of files, two at a time, each in a store of its own: the findings
of the whole KB in a fraction of its memory, and loaded on both cores (Oxigraph's memory store takes
one writer at a time, and ~300 bytes a quad).

A batch checks the subjects of its own files, in a store that also holds the ontology and whatever
else they need: every file describing one of those subjects, or a node one triple away from them
(dipkb.shacl.reach says the shapes read no further, or only predicates it names, and the files holding
those are added too). Which files those are is known for sure only once every batch has said what its
files describe. So the files without a number (actors.nt, places.ttl: what numbered files tend to
refer to) are checked first, alone; files numbered alike (events-00007.nt, sources-00007.nt) go in
one batch; and a batch that turns out to have missed a file is checked again with it. Where that
would fetch more than the whole KB again, there are no findings from batches: validate it in one store.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from dipkb.errors import KBSyntaxError, SyntaxProblem
from dipkb.shacl.findings import Finding
from dipkb.store.written_forms import Originals, WrittenForms
from dipkb.shacl.reach import Reach
from dipkb.shacl.vocabulary import checked_terms, used_terms
from dipkb.store.layout import KBLayout
from dipkb.store.loading import load_files
from dipkb.util import forked
from dipkb.util.paths import display_path

# From about this many bytes of data files a batch is full (1M events in N-Triples: 12 batches of
# ~1M triples, ~330 MB of store each).
BATCH_BYTES = 128 << 20

# Checks a store holding ``files`` (in the whole KB's order, each in its graph, nothing else) with
# the written forms of their literals and the terms of dipkb's namespaces the batch's files use.
Check = Callable[[ox.Store, list[Path], Originals, set[str]], list[Finding]]


@dataclass
class _Batch:
    own: list[Path]
    context: list[Path] = field(default_factory=list)


@dataclass
class _Done:
    """What a batch found, and what it learnt about its own files for the others."""

    findings: list[Finding]
    loaded: set[Path]
    describes: dict[int, Path]  # hash of each subject IRI of its own files -> one file describing it
    also: dict[int, set[Path]]  # ... and, for the few that several own files describe, all of them
    needs: set[int]  # hashes of the IRIs whose describing files must all be loaded
    reaching: set[Path]  # own files holding a triple of a predicate read about any node
    problems: list[SyntaxProblem]  # the files that did not parse


def findings(layout: KBLayout, data_files: Sequence[Path], reach: Reach, check: Check, *,
             batch_bytes: int = BATCH_BYTES, workers: int = 2) -> list[Finding] | None:
    """The findings of ``check`` over the whole KB (its ontology and ``data_files``), in batches; None
    where the batches would fetch more than the KB again. Raises KBSyntaxError listing every file
    that does not parse."""
    ontology = layout.ontology_files()
    order = {path: i for i, path in enumerate([*data_files, *ontology])}
    batches = [_Batch(own) for own in _plan(data_files, batch_bytes, workers)]
    batches[0].own += ontology  # in every store; their subjects checked once
    directory = _Directory()
    fork = workers > 1 and forked.can_fork()

    def run(batch: _Batch) -> _Done:
        work = functools.partial(_run, layout, batch, reach, check, order, directory)
        # Each batch in a child of its own: its Python does not wait on the other's for the GIL,
        # and its store is never freed (dipkb.util.forked), ~0.4 s a batch.
        return forked.in_child(functools.partial(work, in_child=True)) if fork else work()

    # The first batch (the files without a number, such as actors.nt, if there are any) is checked
    # alone: the others then know which of its files describe what they refer to.
    done = [run(batches[0])]
    directory.add(done[0])
    with ThreadPoolExecutor(workers if fork else 1) as pool:
        done += pool.map(run, batches[1:])
        problems = [p for d in done for p in d.problems]
        if problems:
            position = {display_path(path): i for path, i in order.items()}
            raise KBSyntaxError(sorted(dict.fromkeys(problems), key=lambda p: position.get(p.path, len(order))))
        for d in done[1:]:
            directory.add(d)
        again: dict[int, set[Path]] = {}  # batch index -> the files it missed
        for index, (batch, d) in enumerate(zip(batches, done)):
            if missing := directory.needed(d.needs) - d.loaded:
                batch.context = sorted({*batch.context, *missing}, key=order.__getitem__)
                again[index] = missing
        refetched = sum(p.stat().st_size for missing in again.values() for p in missing)
        if refetched > sum(p.stat().st_size for p in data_files):
            return None  # shapes read far, or files refer to each other across the KB
        for index, d in zip(again, pool.map(run, [batches[index] for index in again])):
            done[index] = d
    batch_of = {path: i for i, batch in enumerate(batches) for path in batch.own}
    found = []
    for index, d in enumerate(done):
        # A subject that files of several batches describe is reported by the first of them.
        found += [f for f in d.findings if min((batch_of[p] for p in directory.more.get(hash(f.focus), ())),
                                               default=index) == index]
    return found


def _plan(files: Sequence[Path], batch_bytes: int, workers: int = 1) -> list[list[Path]]:
    """The data files in batches: first those without a number, then the others, files numbered alike
    in the same batch, in batches of about the same size, at most about ``batch_bytes``, as many as
    a multiple of ``workers``: at a million events, 12 batches of 129 MB and one of 25 MB left a core
    idle while the last full one ran."""
    sizes = {path: path.stat().st_size for path in files}
    numbered = sum(size for path, size in sizes.items() if _number_first(path)[0] >= 0)
    count = -(-numbered // batch_bytes)
    share = numbered / (count + -count % workers) if count else numbered
    batches: list[list[Path]] = [[]]
    done, cut, last = 0, share, None
    for path in sorted(files, key=_number_first):
        number = _number_first(path)[0]
        if batches[-1] and number != last and (done >= cut or last == -1):
            batches.append([])
            while cut <= done:
                cut += share
        batches[-1].append(path)
        done += sizes[path] if number >= 0 else 0
        last = number
    return batches


def _number_first(path: Path) -> tuple[int, str]:
    numbers = re.findall(r"\d+", path.stem)
    return (int(numbers[-1]) if numbers else -1, str(path))


class _Directory:
    """Which files describe which subject IRIs (by hash), from the batches checked so far; and the
    files holding triples of predicates the shapes read about any node."""

    def __init__(self) -> None:
        self.owner: dict[int, Path] = {}  # a file describing each subject
        self.more: dict[int, set[Path]] = {}  # all of them, for the few several files describe
        self.reaching: set[Path] = set()

    def add(self, done: _Done) -> None:
        for h, path in done.describes.items():
            if self.owner.setdefault(h, path) != path:
                self.more.setdefault(h, {self.owner[h]}).add(path)
        for h, paths in done.also.items():
            self.more.setdefault(h, {self.owner[h]}).update(paths)
        self.reaching |= done.reaching
        done.describes, done.also = {}, {}  # ~100 bytes a subject

    def needed(self, needs: set[int]) -> set[Path]:
        """The files known to describe ``needs``, and those holding triples read about any node."""
        owner, more = self.owner, self.more
        return self.reaching | {f for h in needs if h in owner for f in more.get(h, (owner[h],))}


def _run(layout: KBLayout, batch: _Batch, reach: Reach, check: Check, order: dict[Path, int],
         directory: _Directory, *, in_child: bool = False) -> _Done:
    ontology = set(layout.ontology_files())
    files = sorted(set(batch.own) | set(batch.context) | ontology, key=order.__getitem__)
    store = ox.Store()
    try:
        load_files(store, layout, files)
    except KBSyntaxError as error:
        return _Done([], set(files), {}, {}, set(), set(), error.problems)
    graphs = {layout.graph_name(p): p for p in batch.own}
    own = " ".join(f"<{g}>" for g in graphs)
    describes: dict[int, Path] = {}
    also: dict[int, set[Path]] = {}
    focus: set[str] = set()
    for graph, path in graphs.items():  # a query a graph: a third faster than one with ?g for all
        for row in store.query(f"SELECT DISTINCT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"):
            subject = row[0]
            if isinstance(subject, ox.BlankNode):  # a blank node is its file's own
                focus.add(f"_:{subject.value}")
                continue
            focus.add(subject.value)
            h = hash(subject.value)
            if describes.setdefault(h, path) != path:
                also.setdefault(h, {describes[h]}).add(path)
    # What the own files' triples point at, and (the store's: a few more is no harm) their predicates;
    # the terms of dipkb's namespaces among them are checked against the ontology (dipkb.shacl.vocabulary).
    used = {row[0].value for row in store.query(
        f"SELECT DISTINCT ?o WHERE {{ VALUES ?g {{ {own} }} GRAPH ?g {{ ?s ?p ?o FILTER(isIRI(?o)) }} }}")}
    # ... and what the files of other batches say of the own subjects points at: its descriptions are
    # read too (an event another file adds to, citing a source of a third).
    if context := " ".join(f"<{layout.graph_name(p)}>" for p in batch.context):
        used |= {row[0].value for row in store.query(
            f"SELECT DISTINCT ?o WHERE {{ VALUES ?h {{ {context} }} GRAPH ?h {{ ?s ?p ?o FILTER(isIRI(?o)) }} "
            f"FILTER EXISTS {{ VALUES ?g {{ {own} }} GRAPH ?g {{ ?s ?q ?x }} }} }}")}
    used |= {row[0].value for row in store.query("SELECT DISTINCT ?p WHERE { GRAPH ?g { ?s ?p ?o } }")}
    needs = {hash(iri) for iri in used} | describes.keys()
    predicates = " ".join(f"<{p}>" for p in sorted(reach.everywhere))
    reaching = {graphs[row[0].value] for row in store.query(
        f"SELECT DISTINCT ?g WHERE {{ VALUES ?g {{ {own} }} VALUES ?p {{ {predicates} }} GRAPH ?g {{ ?s ?p ?o }} }}")}
    # Files an earlier batch loaded without a problem (one edited since raises KBSyntaxError here).
    known = sorted(directory.needed(needs) - set(files), key=order.__getitem__)
    load_files(store, layout, known)
    files = sorted([*files, *known], key=order.__getitem__)
    originals = WrittenForms.read(files, layout.graph_name).originals(store)
    # A file of another batch may say something of an own subject, which this batch reports.
    others = [layout.graph_name(p) for p in files if p not in batch.own and p not in ontology]
    found = [f for f in check(store, files, originals, checked_terms(used) | used_terms(store, others))
             if f.focus in focus]
    if in_child:
        forked.keep_until_exit(store)
    return _Done(found, set(files), describes, also, needs, reaching, [])
