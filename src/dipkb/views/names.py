"""Names to IRIs: the actor, place or event type a user typed, resolved against the KB's labels."""
from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode

from dipkb.errors import AmbiguousNameError, UnknownNameError
from dipkb.model.countries import country_table
from dipkb.model.labels import composed, label_order
from dipkb.model.namespaces import DIP, KB, curie, expand
from dipkb.model.terms import iri_node
from dipkb.sparql.saved import SavedQuery
from dipkb.store.kb import KnowledgeBase

# Name look-ups in any case compare lower-cased labels; the name is a bound literal, never part of the
# text. pyoxigraph substitutes only variables of the SELECT projection, hence ?needle there. The
# kind's classes come as VALUES of store IRIs: pyoxigraph plans a query before substituting, and a
# path from an unbound ?kind joined to every typed thing took a minute at a million events.
_KIND_NAME_QUERY = """
SELECT DISTINCT ?thing ?label ?needle WHERE {
  VALUES ?class { %s } ?thing a ?class .
  ?thing rdfs:label|skos:altLabel|skos:prefLabel ?name . FILTER(LCASE(STR(?name)) = ?needle)
  OPTIONAL { ?thing rdfs:label ?label }
}"""
# Of any kind: every label read once (6 s at a million events), the few that match typed after.
_ANY_NAME_QUERY = """
SELECT DISTINCT ?thing ?needle WHERE {
  ?thing rdfs:label|skos:altLabel|skos:prefLabel ?name . FILTER(LCASE(STR(?name)) = ?needle)
}"""
_EXISTS_QUERY = "ASK { ?thing a ?class . ?class rdfs:subClassOf* ?kind }"
# A node of the KB (actor:, event:...) that triples point at but that none describes (a misspelt or
# forgotten actor). A web page or a licence is not the KB's to describe.
NAMED_ONLY_QUERY = "ASK { GRAPH ?g { ?s ?p ?thing } FILTER NOT EXISTS { GRAPH ?h { ?thing ?q ?o } } }"


def named_only(text: str) -> str:
    """The message for an IRI that triples point at but that none describes."""
    return (f"{text!r} is named in the knowledge base but not described: give it an rdf:type and a label; "
            f"`dipkb validate` shows where it is named.")


def resolve(kb: KnowledgeBase, text: str, kind: str = DIP + "Actor", noun: str = "actor") -> str:
    """An IRI, CURIE or name (label or alternative label, any case) to the one matching IRI."""
    text = composed(text)
    kind_node = NamedNode(kind)
    iri = expand(text.strip())
    if iri is not None:
        node = iri_node(iri)
        if node is None:
            raise UnknownNameError(f"{text!r} is not a valid IRI.")
        if kb.ask(_EXISTS_QUERY, {"thing": node, "kind": kind_node}):
            return iri
        if iri.startswith(KB) and kb.ask(NAMED_ONLY_QUERY, {"thing": node}):
            raise UnknownNameError(named_only(text))
        raise UnknownNameError(f"No {noun} {text!r} in the knowledge base.")
    found = _exact_label_matches(kb, text.strip(), kind_node)
    if not found and kind == DIP + "Actor":
        found = _country_actors(kb, text)
    if not found:
        rows = kb.select_values(_KIND_NAME_QUERY, _class_rows(kb, kind_node), {"needle": _needle(text)})
        found = sorted(_shown_labels(rows).items())
    if not found:
        raise UnknownNameError(f"No {noun} named {text!r}." + _advice(kb, text, kind_node, noun))
    if len(found) > 1:
        raise AmbiguousNameError(text, [(curie(i), label) for i, label in found])
    return found[0][0]


def resolve_among(kb: KnowledgeBase, text: str, kinds: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The things an IRI, CURIE or name stands for among several kinds ((class IRI, noun) pairs), by
    IRI with their noun; AmbiguousNameError for several of one kind, empty for none. A name is looked
    up as typed (and in its usual casings) in every kind first; only when that finds nothing, as a
    country's name and in any case, reading every label once for all the kinds: :func:`resolve` kind
    by kind read them once a kind, minutes at a million events, to find no more than the first look-up."""
    text = composed(text)
    if expand(text.strip()) is not None:
        found: dict[str, str] = {}
        for kind, noun in kinds:
            try:
                found.setdefault(resolve(kb, text, kind, noun), noun)
            except UnknownNameError:
                continue
        return found
    exact = _typed(kb, _labelled_as_typed(kb, text.strip()))
    matches = [(kind, noun, _of_kind(kb, exact, NamedNode(kind))) for kind, noun in kinds]
    if not any(found for _, _, found in matches):
        needle = {"needle": _needle(text)}
        any_case = _typed(kb, {row["thing"].value for row in kb.select(_ANY_NAME_QUERY, needle)})
        matches = [(kind, noun, (_country_actors(kb, text) if kind == DIP + "Actor" else [])
                    or _of_kind(kb, any_case, NamedNode(kind))) for kind, noun, _ in matches]
    found = {}
    for _, noun, of_kind in matches:
        if len(of_kind) > 1:
            raise AmbiguousNameError(text, [(curie(i), label) for i, label in of_kind])
        found.update((iri, noun) for iri, _ in of_kind if iri not in found)
    return found


def _needle(text: str) -> Literal:
    return Literal(text.strip().lower())


def _class_rows(kb: KnowledgeBase, kind: NamedNode) -> list[tuple[NamedNode]]:
    """The kind and its subclasses, as rows of a VALUES block (store IRIs, and the code's own kind)."""
    return [(c,) for c in sorted(_subclasses(kb, kind), key=str)]


# Plain triple patterns with the name bound: the engine answers from its object index.
_LABEL_QUERY = """
SELECT ?thing ?name WHERE {
  { ?thing rdfs:label ?name } UNION { ?thing skos:altLabel ?name } UNION { ?thing skos:prefLabel ?name }
}"""
_TYPES_QUERY = "SELECT ?thing ?class ?label WHERE { VALUES ?thing { %s } ?thing a ?class OPTIONAL { ?thing rdfs:label ?label } }"


def _exact_label_matches(kb: KnowledgeBase, text: str, kind: NamedNode) -> list[tuple[str, str]]:
    """Matches of the name as typed or in its usual casings (:func:`_labelled_as_typed`) of ``kind``."""
    return _of_kind(kb, _typed(kb, _labelled_as_typed(kb, text)), kind)


def _labelled_as_typed(kb: KnowledgeBase, text: str) -> set[str]:
    """What has the name as typed or in its usual casings as a label, each looked up by the label itself.

    A case-insensitive FILTER must read every label of the KB (a minute at a million events), so the
    common spellings are looked up directly first; the full scan runs only when they find nothing.
    """
    things = set()
    for variant in {text, text.lower(), text.title(), text.capitalize(), text.upper()}:
        for literal in (Literal(variant, language="en"), Literal(variant)):
            things.update(row["thing"].value for row in kb.select(_LABEL_QUERY, {"name": literal}))
    return things


def _typed(kb: KnowledgeBase, things: set[str]) -> dict[str, tuple[set[NamedNode], str]]:
    """The classes and shown label of each of ``things`` (IRIs from the store, never user text)."""
    rows = list(kb.select_for_each(_TYPES_QUERY, sorted(things)))
    classes: dict[str, set[NamedNode]] = {}
    for row in rows:
        classes.setdefault(row["thing"].value, set()).add(row["class"])
    labels = _shown_labels(rows)
    return {thing: (its_classes, labels[thing]) for thing, its_classes in classes.items()}


def _shown_labels(rows) -> dict[str, str]:
    """Each thing's label (``thing`` and ``label`` of the rows) as dipkb.model.labels picks it, "" for
    none: a thing labelled in two languages is one thing, not two for a name to be ambiguous between."""
    keys: dict[str, tuple[bool, str] | None] = {}
    for row in rows:
        thing, label = row["thing"].value, row["label"]
        key = label_order(label.value, label.language) if label is not None else None
        known = keys.get(thing)
        keys[thing] = key if known is None else known if key is None else min(known, key)
    return {thing: key[1] if key else "" for thing, key in keys.items()}


def _of_kind(kb: KnowledgeBase, typed: dict[str, tuple[set[NamedNode], str]],
             kind: NamedNode) -> list[tuple[str, str]]:
    """The things among ``typed`` of ``kind`` or a subclass, with their labels."""
    kinds = _subclasses(kb, kind)
    return sorted((iri, label) for iri, (classes, label) in typed.items() if classes & kinds)


def _subclasses(kb: KnowledgeBase, kind: NamedNode) -> set[NamedNode]:
    rows = kb.select("SELECT ?c ?kind WHERE { ?c rdfs:subClassOf* ?kind }", {"kind": kind})
    return {r["c"] for r in rows} | {kind}


_SUGGEST_QUERY = """
SELECT DISTINCT ?thing ?label ?needle WHERE {
  VALUES ?class { %s } ?thing a ?class .
  ?thing rdfs:label ?label . FILTER(CONTAINS(LCASE(STR(?label)), ?needle))
} ORDER BY ?label LIMIT 5"""


# Every name of the kinds, for names spelt like one typed; events are left out: a million labels.
_NAMES_QUERY = """SELECT DISTINCT ?thing ?name WHERE {
  VALUES ?class { %s } ?thing a ?class ; rdfs:label|skos:altLabel ?name
}"""
_EXAMPLE_QUERY = "SELECT ?thing WHERE { VALUES ?class { %s } ?thing a ?class } ORDER BY ?thing LIMIT 1"


def named_like(kb: KnowledgeBase, text: str, kinds: Sequence[str]) -> list[tuple[str, str]]:
    """Up to five things of ``kinds`` whose label holds ``text`` in any case, as (IRI, label), by label;
    when none does, those with a name (label or alternative label) spelt like it: "Rusia", "Kabulow"."""
    found = {(r["label"].value, r["thing"].value) for kind in kinds
             for r in kb.select_values(_SUGGEST_QUERY, _class_rows(kb, NamedNode(kind)), {"needle": _needle(text)})}
    if not found:
        return _spelt_like(kb, text, [kind for kind in kinds if kind != DIP + "Event"])
    return [(iri, label) for label, iri in sorted(found)[:5]]


def _spelt_like(kb: KnowledgeBase, text: str, kinds: Sequence[str]) -> list[tuple[str, str]]:
    """Up to five things of ``kinds`` with a name close to ``text`` (difflib's ratio of at least 0.8, in
    any case: one letter wrong or missing in a short name), closest first."""
    things_named: dict[str, set[str]] = {}
    for kind in kinds:
        for row in kb.select_values(_NAMES_QUERY, _class_rows(kb, NamedNode(kind))):
            things_named.setdefault(composed(row["name"].value).lower(), set()).add(row["thing"].value)
    close = difflib.get_close_matches(composed(text).strip().lower(), things_named, n=5, cutoff=0.8)
    things = list(dict.fromkeys(thing for name in close for thing in sorted(things_named[name])))[:5]
    labels = {iri: label for iri, (_, label) in _typed(kb, set(things)).items()}
    return [(iri, labels.get(iri) or curie(iri)) for iri in things]


def _advice(kb: KnowledgeBase, text: str, kind: NamedNode, noun: str) -> str:
    """What to try after a name that names no ``noun``: the names like it, else an IRI of the kind."""
    hint = did_you_mean(kb, text, [kind.value])
    if hint:
        return f" Did you mean: {hint}?"
    example = next(kb.select_values(_EXAMPLE_QUERY, _class_rows(kb, kind)), None)
    if example is None:
        return f" The knowledge base has no {noun} yet."
    return f" Give a label, an alternative label or an IRI such as {curie(example['thing'].value)}."


def did_you_mean(kb: KnowledgeBase, text: str, kinds: Sequence[str]) -> str:
    """:func:`named_like`'s labels, quoted, for a message."""
    return ", ".join(f"'{label}'" for label in dict.fromkeys(label for _, label in named_like(kb, text, kinds)))


_OWN_NAMES_QUERY = "SELECT ?thing ?name WHERE { ?thing rdfs:label|skos:prefLabel ?name }"


def is_own_name(kb: KnowledgeBase, iri: str, text: str) -> bool:
    """Whether ``text`` (any case) is a label of ``iri`` rather than only one of its alternative labels:
    "Moscow" is the city's name, and only another name of Russia."""
    wanted = text.strip().lower()
    rows = kb.select(_OWN_NAMES_QUERY, {"thing": NamedNode(iri)})
    return any(r["name"].value.strip().lower() == wanted for r in rows)


_CODED_QUERY = "SELECT ?thing ?label ?code WHERE { ?thing dip:actorCode ?code OPTIONAL { ?thing rdfs:label ?label } }"


def _country_actors(kb: KnowledgeBase, text: str) -> list[tuple[str, str]]:
    """The actor of the country ``text`` names (ISO or CAMEO code, or one of its names that no label of
    the KB has): the actor with one of its codes, a state first, else the state with one of its names."""
    country = country_table().find(text)
    if country is None:
        return []
    coded: dict[str, str] = {}
    for code in country.codes:
        for row in kb.select(_CODED_QUERY, {"code": Literal(code)}):
            coded.setdefault(row["thing"].value, row["label"].value if "label" in row else "")
    state = NamedNode(DIP + "State")
    states = _subclasses(kb, state)
    coded_states = {row["thing"].value for row in kb.select_for_each(_TYPES_QUERY, sorted(coded))
                    if row["class"] in states}
    chosen = sorted((iri, label) for iri, label in coded.items() if iri in coded_states) or sorted(coded.items())
    return chosen or sorted({match for name in (country.label, *country.names)
                             for match in _exact_label_matches(kb, name, state)})


def resolve_actor(kb: KnowledgeBase, text: str) -> str:
    return resolve(kb, text, DIP + "Actor", "actor")


def resolve_place(kb: KnowledgeBase, text: str) -> str:
    return resolve(kb, text, DIP + "Place", "place")


@dataclass(frozen=True)
class TypeFilter:
    """An event-type filter: a dipkb class, or a CAMEO/PLOVER concept whose descendants count too."""

    iri: str
    is_code: bool


_CODE_QUERY = """
SELECT ?concept ?code WHERE {
  ?concept skos:notation ?notation ; skos:inScheme ?scheme .
  FILTER(STR(?notation) = ?code)
  VALUES ?scheme { <https://w3id.org/dipkb/cameo/scheme> <https://w3id.org/dipkb/plover/scheme> }
}"""
_CLASS_QUERY = "SELECT ?class ?needle WHERE { ?class skos:inScheme dip:EventTypeScheme ; rdfs:label ?label . FILTER(LCASE(STR(?label)) = ?needle) }"
_EXACT_CLASS_QUERY = "SELECT ?class ?needle WHERE { ?class skos:inScheme dip:EventTypeScheme ; rdfs:label ?label . FILTER(STR(?label) = ?needle) }"
_CONCEPT_ASK = """ASK { ?c skos:inScheme ?scheme
  VALUES ?scheme { <https://w3id.org/dipkb/cameo/scheme> <https://w3id.org/dipkb/plover/scheme> } }"""


def resolve_event_type(kb: KnowledgeBase, text: str) -> TypeFilter:
    """``Meeting``, ``dip:Meeting``, ``meeting``, a CAMEO code (``04``, ``042``, ``cameo:042``) or a PLOVER
    type (``CONSULT``, ``plover:CONSULT``). A name as typed wins over one that matches only in another
    case: ``RETREAT`` is PLOVER's type, ``retreat`` the class dip:Retreat."""
    text = text.strip()
    for candidate in (text, f"dip:{text}"):
        node = iri_node(expand(candidate) or "")
        if node and kb.ask("ASK { ?c skos:inScheme dip:EventTypeScheme }", {"c": node}):
            return TypeFilter(node.value, is_code=False)
        if node and candidate == text and kb.ask(_CONCEPT_ASK, {"c": node}):
            return TypeFilter(node.value, is_code=True)
    for query, needle, is_code in ((_EXACT_CLASS_QUERY, text, False), (_CODE_QUERY, text, True),
                                   (_CLASS_QUERY, text.lower(), False)):
        rows = kb.select(query, {"code" if is_code else "needle": Literal(needle)})
        if len(rows) == 1:
            return TypeFilter(rows[0]["concept" if is_code else "class"].value, is_code=is_code)
    raise UnknownNameError(
        f"Unknown event type {text!r}: use a dipkb class (Meeting, TroopMovement), a CAMEO code (04, 042) "
        "or a PLOVER type (CONSULT)."
    )


_ROLES_QUERY = """
SELECT ?role ?label WHERE {
  ?role rdfs:subPropertyOf+ dip:participant
  OPTIONAL { ?role rdfs:label ?label }
}"""


def resolve_role(kb: KnowledgeBase, text: str) -> str:
    """A participant role: ``host``, ``dip:host``, its IRI or its label (``moving force``, ``movingForce``)."""
    def squashed(name: str) -> str:  # spaces, '-' and '_' aside, as `add` reads a role: 'host> #' is no role
        return re.sub(r"[\s_-]", "", name.lower())

    wanted = squashed(text.strip().removeprefix("dip:"))
    iri = expand(text.strip())
    roles: dict[str, str] = {}
    for row in kb.select(_ROLES_QUERY):
        role = row["role"].value
        roles.setdefault(role, role.rsplit("#", 1)[-1])
        names = (roles[role], row["label"].value if "label" in row else "")
        if role == iri or (wanted and wanted in map(squashed, names)):
            return role
    raise UnknownNameError(f"Unknown role {text!r}: use one of {', '.join(sorted(set(roles.values())))}.")


def bound_saved_query(kb: KnowledgeBase, query: SavedQuery, values: Mapping[str, str]) -> str:
    """A saved query's text with ``values`` bound (actors by name, as `timeline --actor`): an IRI
    that names nothing of the KB is an error, not a query that answers nothing as if it had looked."""
    bound = query.bind(values, lambda name: resolve_actor(kb, name))
    for name, term in bound.items():
        if isinstance(term, NamedNode) and not kb.ask("ASK { ?thing ?p ?o }", {"thing": term}):
            raise UnknownNameError(f"Nothing is {curie(term.value)} in the knowledge base (parameter {name!r} of "
                                   f"query '{query.name}').")
    return query.with_values(bound)
