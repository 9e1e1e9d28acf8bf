"""IRIs and prefixes used across dipkb. Plain strings: no RDF library is imported here."""
from __future__ import annotations

DIP = "https://w3id.org/dipkb/ontology#"
KB = "https://w3id.org/dipkb/kb/"
# Relative IRIs in every KB and ontology file resolve against this, in every parser that reads them,
# so that `<actor/x>` means actor:x wherever the KB lives (a file's own location would make it
# mean something else in every copy). A file's @base / BASE overrides it, as Turtle says.
KB_BASE = KB
SH = "http://www.w3.org/ns/shacl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"

# Graph names. Each source file is its own named graph, so a file can be replaced on its own;
# triples the index computes live in DERIVED_GRAPH + ":" + the file graph they come from, and never
# reach an export of the KB.
FILE_GRAPH_PREFIX = "urn:dipkb:file:"
DERIVED_GRAPH = "urn:dipkb:derived"

# Order matters: the first matching namespace gives the CURIE, so longer IRIs come first.
PREFIXES: dict[str, str] = {
    "actor": KB + "actor/",
    "event": KB + "event/",
    "place": KB + "place/",
    "source": KB + "source/",
    "position": KB + "position/",
    "kb": KB,
    "dip": DIP,
    "dsh": "https://w3id.org/dipkb/shapes#",
    "cameo": "https://w3id.org/dipkb/cameo/",
    "plover": "https://w3id.org/dipkb/plover/",
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": XSD,
    "skos": SKOS,
    "dct": DCT,
    "prov": "http://www.w3.org/ns/prov#",
    "time": "http://www.w3.org/2006/time#",
    "sem": "http://semanticweb.cs.vu.nl/2009/11/sem/",
    "schema": "https://schema.org/",
    "geo": "http://www.w3.org/2003/01/geo/wgs84_pos#",
    "sh": SH,
}


def curie(iri: str) -> str:
    """Shorten an IRI with the known prefixes; return it unchanged when none fits."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace):
            local = iri[len(namespace):]
            if local and "/" not in local and "#" not in local:
                return f"{prefix}:{local}"
    return iri


def expand(text: str) -> str | None:
    """Expand a CURIE or <IRI> or absolute IRI to a full IRI; None if the text is neither."""
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1]
    if "://" in text or text.startswith("urn:"):
        return text
    prefix, sep, local = text.partition(":")
    if sep and prefix in PREFIXES and local:
        return PREFIXES[prefix] + local
    return None
