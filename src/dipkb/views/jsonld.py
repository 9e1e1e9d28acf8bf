"""The export as JSON-LD (for web developers) and RDF/XML (for the tools that still want it).

JSON-LD is written here, not by a JSON-LD processor: compact form against ontology/context.jsonld,
which goes inline into every document, so that reading it never fetches anything. The context
declares dipkb's prefixes and one term per dip: property, keyed by its CURIE ("dip:place"), not a
bare name: bare names would collide with the prefixes (``place``, ``source`` are both). Object
properties coerce their values to IRIs (``"dip:place": "place:kabul"``), datatype properties with
one XSD range to that type. Every node of the graph is one object of ``@graph``, its properties by
IRI, each value written so that it reads back to the very literal: a string stays a string, a
value whose datatype the term does not coerce to says its ``@type``, and no value becomes a JSON
number or boolean (JSON would turn "1.50" into 1.5). Subjects, properties and values are in the
Turtle export's order, so the same KB always gives the same bytes. Both writers take the export's
sorted lines and write a subject at a time, so that memory does not grow with the KB.
"""
from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import BinaryIO

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

from dipkb.model.namespaces import PREFIXES, RDF, XSD
from dipkb.model.temporal import TIME_BUCKET_PREFIX
from dipkb.store.layout import bundled_root
from dipkb.util.jsontext import pretty_json
from dipkb.views.sorting import temporary_writes
from dipkb.views.turtle_writing import COPY, SPOOLED, ExportSyntaxError, triples_of

CONTEXT_FILE = "context.jsonld"
_TYPE = RDF + "type"


def context_path() -> Path:
    """ontology/context.jsonld as shipped with dipkb: it describes dipkb's vocabulary, whichever KB."""
    return bundled_root() / "ontology" / CONTEXT_FILE


@functools.cache
def load_context() -> dict:
    """The shipped context's ``@context`` object."""
    return json.loads(context_path().read_text(encoding="utf-8"))["@context"]


class _Compactor:
    """IRIs as CURIEs of the context's prefixes, and values as the context's terms read them."""

    def __init__(self, context: dict):
        self._namespaces = {ns: prefix for prefix, ns in context.items() if isinstance(ns, str)}
        self._prefixes = set(self._namespaces.values())
        # The type each term coerces to, as a full IRI ("@id" for IRIs), by property IRI.
        self._coerced = {self.expand(definition["@id"]): self._coercion(definition.get("@type"))
                         for definition in context.values() if isinstance(definition, dict)}

    def _coercion(self, coerced: str | None) -> str | None:
        return coerced if coerced in (None, "@id") else self.expand(coerced)

    def expand(self, curie: str) -> str:
        prefix, _, local = curie.partition(":")
        return PREFIXES[prefix] + local if prefix in PREFIXES else curie

    def iri(self, node: NamedNode | BlankNode) -> str:
        if type(node) is BlankNode:
            return f"_:{node.value}"
        iri = node.value
        cut = max(iri.rfind("/"), iri.rfind("#")) + 1
        prefix = self._namespaces.get(iri[:cut])
        # A local part starting with "//" would read as an absolute IRI, not a CURIE.
        if prefix and iri[cut:] and not iri[cut:].startswith("//"):
            return f"{prefix}:{iri[cut:]}"
        if iri.partition(":")[0] in self._prefixes:  # <actor:y> would read as the CURIE actor:y
            raise ExportSyntaxError(f"JSON-LD cannot write the IRI <{iri}>: its scheme is a prefix of dipkb's context, "
                                    "so it would be read as a compact IRI. Write Turtle or N-Triples instead.")
        return iri

    def value(self, predicate: str, term) -> object:
        coerced = self._coerced.get(predicate)
        if type(term) is Triple:
            raise ExportSyntaxError(f"JSON-LD cannot write the triple term (RDF 1.2) that is the value of <{predicate}>. "
                                    "Write Turtle or N-Triples instead.")
        if type(term) is not Literal:
            return self.iri(term) if coerced == "@id" else {"@id": self.iri(term)}
        if term.language:
            direction = {"@direction": str(term.direction)} if term.direction else {}
            return {"@value": term.value, "@language": term.language, **direction}
        datatype = term.datatype.value
        if datatype == coerced or (datatype == XSD + "string" and coerced is None):
            return term.value
        if datatype == XSD + "string":
            return {"@value": term.value}
        return {"@value": term.value, "@type": self.iri(term.datatype)}


def _nodes(triples: Iterator[Triple], compactor: _Compactor) -> Iterator[dict]:
    """One node object per subject, from triples grouped by subject in the Turtle export's order."""
    for subject, its_triples in groupby(triples, attrgetter("subject")):
        node: dict = {"@id": compactor.iri(subject)}
        for triple in its_triples:
            predicate, obj = triple.predicate.value, triple.object
            if predicate == _TYPE and type(obj) is NamedNode:
                node.setdefault("@type", []).append(compactor.iri(obj))
            else:
                node.setdefault(compactor.iri(triple.predicate), []).append(compactor.value(predicate, obj))
        yield _collapse(node)


def _collapse(node: dict) -> dict:
    """A property with one value holds it directly, not in a list of one."""
    return {key: values[0] if isinstance(values, list) and len(values) == 1 else values
            for key, values in node.items()}


def write_jsonld(lines: Iterator[bytes], out: BinaryIO) -> int:
    """Sort-key lines (turtle_writing) as compact JSON-LD with the context inline, one node at a time;
    the number of triples. The bytes are those of ``json.dumps(document, indent=2)``."""
    context = load_context()
    triples = _Counted(triples_of(lines))
    # To a temporary file first, as RDF/XML: a term JSON-LD cannot write, found halfway, left half a
    # document on standard output.
    with tempfile.SpooledTemporaryFile(SPOOLED, prefix="dipkb-export-") as body, temporary_writes():
        # The document's head, without its closing brace, then "@graph" written a node at a time.
        body.write(json.dumps({"@context": context}, ensure_ascii=False, indent=2)[:-2].encode() + b',\n  "@graph": [')
        separator = b"\n    "
        for node in _nodes(triples, _Compactor(context)):
            body.write(separator + pretty_json(node).replace("\n", "\n    ").encode())
            separator = b",\n    "
        body.write(b"]\n}\n" if triples.count == 0 else b"\n  ]\n}\n")
        body.seek(0)
        shutil.copyfileobj(body, out, COPY)
    return triples.count


def write_rdfxml(lines: Iterator[bytes], out: BinaryIO) -> int:
    """Sort-key lines as RDF/XML by Oxigraph's serializer (it writes each run of one subject's triples
    as one rdf:Description), declaring the dipkb prefixes its predicates and types use; the number of
    triples. The body goes to a temporary file first, with every dipkb prefix declared, as which are
    used is known only at its end; then the start tag is written with the used ones alone. A prefix
    the body does not use changes nothing in it, so the document is the one Oxigraph writes when
    given only the used prefixes."""
    triples, predicates, classes = _Counted(triples_of(lines)), set(), set()

    def check(triple: Triple) -> None:  # and the triple terms in it, which are written as elements too
        predicate, obj = triple.predicate.value, triple.object
        if predicate not in predicates:
            _check_element_name(predicate)
            predicates.add(predicate)
        if type(obj) is Literal and _NOT_IN_XML.search(obj.value):
            raise ExportSyntaxError(
                f"RDF/XML cannot write the value of <{predicate}> of {triple.subject}: it holds a character "
                "XML 1.0 does not allow (a control character). Write Turtle, N-Triples or JSON-LD instead.")
        if type(obj) is Triple:
            check(obj)
        elif predicate == _TYPE and type(obj) is NamedNode:
            classes.add(obj.value)

    def noting_iris() -> Iterator[Triple]:
        for triple in triples:
            check(triple)
            yield triple

    with tempfile.SpooledTemporaryFile(SPOOLED, prefix="dipkb-export-") as body:
        with temporary_writes():
            serialize(noting_iris(), body, format=RdfFormat.RDF_XML, prefixes=PREFIXES)
            body.flush()
        out.write(_start_tag(_used_prefixes(predicates | classes)))
        body.seek(len(_start_tag(PREFIXES)))
        # XML parsers read a carriage return as a line feed; Oxigraph writes a literal's as it is.
        for chunk in iter(lambda: body.read(COPY), b""):
            out.write(chunk.replace(b"\r", b"&#13;"))
    return triples.count


# What XML 1.0 cannot hold, even escaped; Oxigraph 0.5 writes it as it is, which XML parsers reject.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_IN_XML_UTF8 = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")


def checked_xml_results(data: bytes) -> bytes:
    """SPARQL XML results as XML parsers read them back: refused if they hold what XML 1.0 cannot
    (Oxigraph 0.5 writes a value's control characters as they are, and then the whole answer does not
    parse), a carriage return written as a reference (a parser reads a raw one as a line feed)."""
    if _NOT_IN_XML_UTF8.search(data):
        raise ExportSyntaxError("SPARQL's XML results cannot hold this answer: a value holds a character XML 1.0 "
                                "does not allow (a control character). Ask for JSON, CSV or TSV instead.")
    return data.replace(b"\r", b"&#13;")


class XmlResultsChecked:
    """``out``, checking each piece of SPARQL XML results written to it."""

    def __init__(self, out: BinaryIO):
        self.out = out

    def write(self, data: bytes) -> int:
        self.out.write(checked_xml_results(data))
        return len(data)

    def flush(self) -> None:
        self.out.flush()


# The end of an IRI that RDF/XML can write as an element's local name: an XML name (NCName, roughly).
_LOCAL_NAME = re.compile(r"[^\W\d][\w.\-\u00B7]*\Z")


# RDF/XML's own names: as a property element each is forbidden, or read as another (rdf:li as rdf:_1).
_RESERVED = {RDF + name for name in ("RDF", "ID", "about", "bagID", "parseType", "resource", "nodeID", "li",
                                     "aboutEach", "aboutEachPrefix", "Description", "datatype")}


def _check_element_name(predicate: str) -> None:
    """RDF/XML writes a property as an element named by the end of its IRI; an IRI that does not end in
    an XML name (``http://example.org/p/``, ``urn:x:1``) cannot be written, and Oxigraph 0.5 writes
    ill-formed XML for it (``<oxprefix:>``) rather than fail."""
    if predicate in _RESERVED:
        raise ExportSyntaxError(f"RDF/XML cannot write the property <{predicate}>: RDF/XML reserves its name for its "
                                "own syntax. Write Turtle, N-Triples or JSON-LD instead.")
    if not _LOCAL_NAME.search(predicate):
        derived = (" (the index files each participation under its time bucket this way: leave out --with-derived)"
                   if predicate.startswith(TIME_BUCKET_PREFIX) else "")
        raise ExportSyntaxError(f"RDF/XML cannot write the property <{predicate}>: its IRI does not end in an "
                                f"XML name{derived}. Write Turtle, N-Triples or JSON-LD instead.")


def _start_tag(prefixes: dict[str, str]) -> bytes:
    """What Oxigraph writes of an RDF/XML document before its first description, given ``prefixes``."""
    empty = serialize([], format=RdfFormat.RDF_XML, prefixes=prefixes)
    return empty[:empty.rindex(b"</rdf:RDF>")]


def _used_prefixes(iris: set[str]) -> dict[str, str]:
    """The dipkb prefixes of ``iris`` (predicates and types), sorted: RDF/XML declares each as an XML namespace."""
    used = {prefix: ns for prefix, ns in PREFIXES.items()
            if any(iri.startswith(ns) and "/" not in iri[len(ns):] and "#" not in iri[len(ns):] for iri in iris)}
    return dict(sorted(used.items()))


class _Counted(Iterator[Triple]):
    """Triples passed on, counted."""

    def __init__(self, triples: Iterator[Triple]):
        self._triples, self.count = triples, 0

    def __next__(self) -> Triple:
        triple = next(self._triples)
        self.count += 1
        return triple
