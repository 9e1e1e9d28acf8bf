"""The SPARQL 1.1 Service Description of /sparql (https://www.w3.org/TR/sparql11-service-description/):
what a GET without a query answers a client that asks for RDF, so that a tool learns without trying
that the endpoint reads SPARQL 1.1 queries, takes no update, and which formats it writes."""
from __future__ import annotations

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Store

from dipkb.model.namespaces import DCT, RDF
from dipkb.views import render
from dipkb.web.query_workers import GRAPH_FORMATS, SOLUTION_FORMATS, ResultFormat

_SD = "http://www.w3.org/ns/sparql-service-description#"
_FORMATS = "http://www.w3.org/ns/formats/"
# The W3C's IRI of each format the endpoint writes.
_FORMAT_IRIS = {
    ResultFormat.SPARQL_JSON: "SPARQL_Results_JSON", ResultFormat.SPARQL_XML: "SPARQL_Results_XML",
    ResultFormat.CSV: "SPARQL_Results_CSV", ResultFormat.TSV: "SPARQL_Results_TSV", ResultFormat.TURTLE: "Turtle",
    ResultFormat.NTRIPLES: "N-Triples", ResultFormat.JSONLD: "JSON-LD", ResultFormat.RDFXML: "RDF_XML",
}
_DESCRIPTION = ("The events, statements, actors, places and sources of a dipkb knowledge base, as its Turtle "
                "files state them. Read-only: SPARQL updates are refused.")


def service_description(endpoint: str, fmt: ResultFormat) -> bytes:
    """The description of the endpoint at ``endpoint`` (the request's own URL), in ``fmt``, one of
    GRAPH_FORMATS, written as a CONSTRUCT answer is."""
    service = BlankNode()
    statements = [(RDF + "type", NamedNode(_SD + "Service")),
                  (_SD + "supportedLanguage", NamedNode(_SD + "SPARQL11Query")),
                  (DCT + "title", Literal("dipkb SPARQL endpoint", language="en")),
                  (DCT + "description", Literal(_DESCRIPTION, language="en"))]
    statements += [(_SD + "resultFormat", NamedNode(_FORMATS + _FORMAT_IRIS[f])) for f in SOLUTION_FORMATS + GRAPH_FORMATS]
    try:  # the Host header a proxy passed may make no IRI: the description then names no endpoint
        statements.append((_SD + "endpoint", NamedNode(endpoint)))
    except ValueError:
        pass
    store = Store()
    store.extend(Quad(service, NamedNode(predicate), value) for predicate, value in statements)
    return render.query_result(store.query("CONSTRUCT WHERE { ?s ?p ?o }"), render.OutputFormat[fmt.name])
