"""SHACL-SPARQL bodies as SPARQL algebra (rdflib's parser): what dipkb.shacl.shapes and
dipkb.shacl.reach read of a constraint's query, from its structure rather than its text."""
from __future__ import annotations

import functools

import rdflib
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue


def always_binds(node: CompValue, var: rdflib.Variable) -> bool:
    """Whether every solution of the algebra ``node`` binds ``var``; False when unsure."""
    if node.name == "BGP":
        return any(var in (s, p, o) for s, p, o in node.triples)
    if node.name == "Join":
        return always_binds(node.p1, var) or always_binds(node.p2, var)
    if node.name == "Union":
        return always_binds(node.p1, var) and always_binds(node.p2, var)
    if node.name in ("LeftJoin", "Minus"):
        return always_binds(node.p1, var)
    if node.name in ("Filter", "Extend", "Project", "Distinct", "Reduced", "ToMultiSet", "Graph"):
        return always_binds(node.p, var)
    return False


@functools.lru_cache(maxsize=64)
def body(text: str, prefixes: tuple[tuple[str, str], ...]) -> CompValue | None:
    """The algebra of a SHACL-SPARQL body (the group of its SELECT) with ``prefixes`` declared, as
    rdflib parses it; None if rdflib cannot (Oxigraph reports the query's own errors). ~50 ms a
    body: parsed once per process (forked batches of a validation inherit it)."""
    try:
        return prepareQuery(f"SELECT * WHERE {{{text}}}", initNs=dict(prefixes)).algebra.p
    except Exception:  # pyparsing's errors, or rdflib's for a prefix
        return None
