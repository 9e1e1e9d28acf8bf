"""Sorted N-Triples lines written out as Turtle and TriG, grouped and prefixed, or read back as
triples for the JSON-LD and RDF/XML writers (views/export.py, views/jsonld.py).

The lines come in "sort-key" form (:func:`sort_key_text`): N-Triples text with two bytes swapped in
so that a plain bytes sort gives the export's documented order; the writers swap them back.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from itertools import groupby, islice
from typing import BinaryIO

from pyoxigraph import RdfFormat, Store, Triple, parse

from dipkb.errors import NotAcceptableError
from dipkb.model.namespaces import PREFIXES, RDF
from dipkb.model.terms import prefixed
from dipkb.views.sorting import temporary_writes

class ExportSyntaxError(NotAcceptableError):
    """The triples hold something the chosen syntax cannot write (RDF/XML needs every predicate to
    end in an XML name, and no control character in a value): over HTTP, a 406, as the format asked
    for cannot carry the answer."""


# Before each TriG line, its graph's name and this byte (the default graph's name is empty): sorted,
# the default graph comes first, then the graphs by name, each graph's lines together.
_GRAPH_END = b"\x02"


# Sorting tricks, applied to the whole N-Triples text before it is split into lines so that a plain
# bytes sort gives the documented order, and undone on the way out. Both bytes can only come from
# here: Oxigraph escapes every control character in literals (as \u0000, \u0001) and IRIs cannot
# hold them. '>' -> NUL makes an IRI sort before any longer IRI it is a prefix of; the rdf:type
# predicate -> SOH makes it sort before every other predicate of its subject.
_IRI_END, _IRI_END_KEY = b">", b"\x00"
_TYPE = b"<" + (RDF + "type").encode() + b">"
_TYPE_KEY = b"\x01"


def sort_key_text(text: bytes) -> bytes:
    return text.replace(b" " + _TYPE + b" ", b" " + _TYPE_KEY + b" ").replace(_IRI_END, _IRI_END_KEY)


def _undo_sort_key_text(text: bytes) -> bytes:
    return text.replace(_IRI_END_KEY, _IRI_END).replace(_TYPE_KEY, _TYPE)


def with_graph_key(text: bytes, graph_name: str) -> bytes:
    """Each line of ``text`` after its graph's sort key (see _GRAPH_END)."""
    key = graph_name.encode() + _GRAPH_END
    return (key + text.replace(b"\n", b"\n" + key))[:-len(key)]


def triples_of(lines: Iterator[bytes], *, sort_keyed: bool = True) -> Iterator[Triple]:
    """The triples of N-Triples lines (in sort-key form unless not ``sort_keyed``), parsed as they
    are read, in their order: a writer that takes them as they come holds a few MB of text."""
    for batch in iter(lambda: list(islice(lines, BATCH)), []):
        text = b"".join(batch)
        text = _undo_sort_key_text(text) if sort_keyed else text
        try:
            triples = [quad.triple for quad in parse(text, format=RdfFormat.N_TRIPLES)]
        except SyntaxError as error:  # what a query may make and no RDF syntax reads: "x"^^rdf:langString
            reason = error.msg.partition(": ")[2] or error.msg
            raise ExportSyntaxError(f"This answer holds a term that is not RDF ({reason}): only Turtle and "
                                    "N-Triples write it, as the engine made it.") from None
        except MemoryError:  # a term over the parser's 16 MiB buffer (a 50 MB literal): line by line
            triples = [triple for line in text.split(b"\n") for triple in _line_triples(line)]
        yield from triples


def _line_triples(line: bytes) -> list[Triple]:
    try:
        return [quad.triple for quad in parse(line, format=RdfFormat.N_TRIPLES)]
    except MemoryError:  # the bulk loader's parser has no such limit (its store keeps canonical values)
        scratch = Store()
        scratch.bulk_load(input=line, format=RdfFormat.N_TRIPLES)
        return [quad.triple for quad in scratch]


def _graph_of(line: bytes) -> bytes:
    return line[:line.index(_GRAPH_END)]


BATCH = 8192  # lines written at once


def write_turtle(lines: Iterator[bytes], out: BinaryIO) -> int:
    """Sort-key lines as Turtle: the body first, to a temporary file, as the prefix header it needs
    is known only at its end."""
    writer = _TurtleWriter()
    with tempfile.SpooledTemporaryFile(SPOOLED, prefix="dipkb-export-") as body:
        with temporary_writes():
            count = writer.statements(lines, b"", body)
            body.flush()
        out.write(writer.prefix_header())
        body.seek(0)
        shutil.copyfileobj(body, out, COPY)
    return count


def write_trig(lines: Iterator[bytes], out: BinaryIO) -> int:
    """One block per non-empty graph, the default graph first, under one prefix header."""
    writer = _TurtleWriter()
    count = 0
    with tempfile.SpooledTemporaryFile(SPOOLED, prefix="dipkb-export-") as body:
        with temporary_writes():
            for graph, graph_lines in groupby(lines, _graph_of):
                if count:
                    body.write(b"\n")
                body.write((b"<" + graph + b"> " if graph else b"") + b"{\n")
                skip = len(graph) + len(_GRAPH_END)
                count += writer.statements((line[skip:] for line in graph_lines), b"    ", body)
                body.write(b"}\n")
            body.flush()
        out.write(writer.prefix_header())
        body.seek(0)
        shutil.copyfileobj(body, out, COPY)
    return count


SPOOLED = 16 * 1024 * 1024  # a body written before its header stays in memory up to this size
COPY = 1024 * 1024


_CACHED_TERMS = 100_000


class _TurtleWriter:
    """Turns sorted sort-key N-Triples lines into grouped Turtle, remembering which prefixes it used.

    Terms are rendered once each and cached: a KB repeats its predicates, classes and actors often.
    """

    def __init__(self) -> None:
        self.used: set[str] = set()
        # rdf:type's sort key only ever stands for rdf:type, which Turtle writes 'a' as a predicate;
        # as an object (rare, e.g. a property of rdf:type itself) it is written as an IRI.
        self._terms: dict[bytes, bytes] = {_TYPE_KEY: b"a"}

    def prefix_header(self) -> bytes:
        if not self.used:
            return b""
        lines = [f"@prefix {prefix}: <{PREFIXES[prefix]}> .\n" for prefix in sorted(self.used)]
        return "".join(lines).encode() + b"\n"

    def statements(self, lines: Iterable[bytes], indent: bytes, out: BinaryIO) -> int:
        """Write sort-key lines to ``out`` as Turtle: subjects grouped with ';', objects with ',', a
        blank line between subjects. Return the number of lines.

        The hot loop of a large export (a million lines): plain literals skip every lookup, and
        predicates and IRI objects come from the cache after their first use.
        """
        chunks: list[bytes] = []
        append = chunks.append
        cached, term, obj = self._terms.get, self._term, self._object
        next_predicate = b" ;\n" + indent + b"    "
        previous_subject = previous_predicate = None
        count = 0
        for count, line in enumerate(lines, 1):
            subject, predicate, rendered = line.split(b" ", 2)
            rendered = rendered[:-3]  # the object, without " .\n"
            # An IRI comes from the cache, mostly; a literal without datatype is written as it is.
            if rendered[0] == 0x3C:
                rendered = cached(rendered) or term(rendered)
            elif rendered[0] != 0x22 or rendered[-1] == 0:
                rendered = obj(rendered)
            if subject != previous_subject:
                if previous_subject is not None:
                    append(b" .\n\n")
                    if len(chunks) > BATCH:
                        out.write(_undo_sort_key_text(b"".join(chunks)))
                        chunks.clear()
                append(indent + term(subject) + b" " + (cached(predicate) or term(predicate)) + b" " + rendered)
                previous_subject, previous_predicate = subject, predicate
            elif predicate != previous_predicate:
                append(next_predicate + (cached(predicate) or term(predicate)) + b" " + rendered)
                previous_predicate = predicate
            else:
                append(b", " + rendered)
        if previous_subject is not None:
            append(b" .\n")
        out.write(_undo_sort_key_text(b"".join(chunks)))
        return count

    def _object(self, token: bytes) -> bytes:
        if token == _TYPE_KEY:
            return _TYPE
        if token[:1] != b'"':
            return self._term(token)
        if token[-1:] != _IRI_END_KEY:
            return token  # plain or language-tagged literal: N-Triples syntax is Turtle syntax
        at = token.rfind(b"^^<")
        return token[: at + 2] + self._term(token[at + 2:])

    def _term(self, token: bytes) -> bytes:
        """An IRI (in sort-key form) as a CURIE when a known prefix fits, else unchanged; blank nodes unchanged."""
        cached = self._terms.get(token)
        if cached is not None:
            return cached
        rendered = token
        if token[:1] == b"<":
            rendered = self._curie(token[1:-1].decode()) or token
        if len(self._terms) >= _CACHED_TERMS:
            # Most subjects and objects occur a few times, close together; predicates and classes
            # come back at once. Starting afresh keeps memory flat at a million subjects.
            self._terms.clear()
            self._terms[_TYPE_KEY] = b"a"
        self._terms[token] = rendered
        return rendered

    def _curie(self, iri: str) -> bytes | None:
        found = prefixed(iri)
        if found is None:
            return None
        self.used.add(found[0])
        return f"{found[0]}:{found[1]}".encode()
