"""The knowledge base: its files loaded into a pyoxigraph store, one named graph per file."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad, QuerySolutions, RdfFormat, Store, Variable

from dipkb import sparql
from dipkb.errors import KBSyntaxError, QueryError, SyntaxProblem
from dipkb.layout import DATA_SUFFIXES, KBLayout, display_path
from dipkb.namespaces import DERIVED_GRAPH, DIP, PREFIXES, XSD
from dipkb.temporal import EventTime, period_of

Term = NamedNode | Literal
_FORMATS = {"turtle": RdfFormat.TURTLE, "ntriples": RdfFormat.N_TRIPLES}
_PARSER_PREFIX = re.compile(r"^Parser error at line \d+ (?:between columns \d+ and \d+|column \d+): ")


def syntax_problem(path: Path, error: SyntaxError | UnicodeDecodeError) -> SyntaxProblem:
    """pyoxigraph's SyntaxError as file:line:col; its message repeats the place, so that part is cut."""
    if isinstance(error, UnicodeDecodeError):
        return SyntaxProblem(display_path(path), None, None, f"not valid UTF-8 ({error.reason})")
    message = _PARSER_PREFIX.sub("", error.msg or str(error))
    return SyntaxProblem(display_path(path), error.lineno, error.offset, message)


def load_files(store: Store, layout: KBLayout, paths: Iterable[Path]) -> None:
    """Load each file into its own named graph; after trying them all, fail once listing every bad one.
    A file that fails leaves nothing of itself in the store."""
    problems = []
    for path in paths:
        graph = NamedNode(layout.graph_name(path))
        try:
            store.load(path=str(path), format=_FORMATS[DATA_SUFFIXES[path.suffix]], to_graph=graph)
        except (SyntaxError, UnicodeDecodeError) as error:
            store.clear_graph(graph)
            problems.append(syntax_problem(path, error))
    if problems:
        raise KBSyntaxError(problems)


_TIME_PROPERTIES = {"date": "date", "startDate": "start", "endDate": "end",
                    "earliestDate": "earliest", "latestDate": "latest"}
_TIME_QUERY = "SELECT ?event ?p ?value WHERE { VALUES ?p { %s } ?event ?p ?value }" % " ".join(
    f"<{DIP}{name}>" for name in _TIME_PROPERTIES
)
# Updates see only the default graph, and the data sits in named graphs: hence GRAPH ?g, and the
# role hierarchy (ontology graph) fetched first by a union-graph query.
_ROLES_QUERY = f"SELECT ?role WHERE {{ ?role <http://www.w3.org/2000/01/rdf-schema#subPropertyOf>+ <{DIP}participant> }}"
_PARTICIPANT_UPDATE = f"""
INSERT {{ GRAPH <{DERIVED_GRAPH}> {{ ?event <{DIP}participant> ?actor }} }}
WHERE {{ VALUES ?role {{ %s }} GRAPH ?g {{ ?event ?role ?actor }} }}
"""


def derive(store: Store) -> None:
    """Materialise what queries need to be simple and fast, in the derived graph only:
    each event's earliest and latest possible day (so date filters are range comparisons on xsd:date
    whatever the precision), and dip:participant for every role."""
    derived = NamedNode(DERIVED_GRAPH)
    store.clear_graph(derived)
    times: dict[NamedNode, dict[str, object]] = {}
    for row in store.query(_TIME_QUERY, use_default_graph_as_union=True):
        value = row["value"]
        if not isinstance(value, Literal):
            continue
        period = period_of(value.value, value.datatype.value)
        if period:
            field = _TIME_PROPERTIES[row["p"].value[len(DIP):]]
            times.setdefault(row["event"], {})[field] = period
    day = NamedNode(XSD + "date")
    earliest, latest = NamedNode(DIP + "earliestDay"), NamedNode(DIP + "latestDay")
    quads = []
    for event, fields in times.items():
        low, high = EventTime(**fields).bounds()
        if low:
            quads.append(Quad(event, earliest, Literal(low.isoformat(), datatype=day), derived))
        if high:
            quads.append(Quad(event, latest, Literal(high.isoformat(), datatype=day), derived))
    store.extend(quads)
    roles = [str(row["role"]) for row in store.query(_ROLES_QUERY, use_default_graph_as_union=True)]
    if roles:
        store.update(_PARTICIPANT_UPDATE % " ".join(roles))


class KnowledgeBase:
    """A loaded knowledge base. Use :meth:`open`; query with :meth:`query` or :meth:`select`."""

    def __init__(self, layout: KBLayout, store: Store):
        self.layout = layout
        self.store = store

    @classmethod
    def open(cls, kb: str | Path | None = None, *, layout: KBLayout | None = None) -> KnowledgeBase:
        """Load the ontology and the KB files into an in-memory store and derive the query helpers."""
        layout = layout or KBLayout.locate(kb)
        store = Store()
        load_files(store, layout, layout.ontology_files() + layout.kb_files())
        derive(store)
        return cls(layout, store)

    def query(self, text: str, bindings: Mapping[str, Term] | None = None, *, allow_service: bool = False):
        """Run a read-only SPARQL query over the union of all graphs, with ``bindings`` substituted
        as RDF terms (never spliced into the text)."""
        sparql.check_query(text, allow_service=allow_service)
        substitutions = {Variable(name): term for name, term in (bindings or {}).items()}
        try:
            return self.store.query(text, prefixes=PREFIXES, use_default_graph_as_union=True,
                                    substitutions=substitutions or None)
        except SyntaxError as error:
            raise QueryError(f"SPARQL syntax error: {error.msg or error}") from None
        except OSError as error:
            raise QueryError(f"Query failed: {error}") from None

    def select(self, text: str, bindings: Mapping[str, Term] | None = None) -> list[dict[str, Term]]:
        """A SELECT query's rows as dicts of bound variables (unbound ones are left out)."""
        solutions = self.query(text, bindings)
        if not isinstance(solutions, QuerySolutions):
            raise QueryError("Expected a SELECT query.")
        names = [v.value for v in solutions.variables]
        return [{n: row[n] for n in names if row[n] is not None} for row in solutions]

    def data_quads(self) -> list[Quad]:
        """The KB's own triples: every file graph of kb/, without ontology or derived triples."""
        prefix = self.layout.graph_name(self.layout.kb_dir / "x")[: -len("x")]
        return [q for q in self.store if isinstance(q.graph_name, NamedNode) and q.graph_name.value.startswith(prefix)]
