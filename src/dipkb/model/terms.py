"""RDF terms as Turtle text: the one place that decides how IRIs, literals and a subject's block are
spelt, for every writer (imports, `dipkb add`, the findings report, export).

Written directly as text, without an RDF library's graph: imports of 100,000 rows must stream. The
escaping is pyoxigraph's own (the N-Triples form of a term, which is valid Turtle), so that what is
written is exactly what Oxigraph reads back; IRIs are checked by it too, and shortened to a CURIE
only when the local name needs no escape in any Turtle parser.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode

from dipkb.model.namespaces import PREFIXES

if TYPE_CHECKING:
    from dipkb.model.temporal import DateValue

# The prefixes a streamed file declares (prefix_block) and so the only ones its CURIEs may use.
STREAM_PREFIXES = ("dip", "actor", "event", "place", "source", "cameo", "plover", "rdfs", "skos", "dct",
                   "xsd", "geo")
# A conservative PN_LOCAL, what every Turtle parser accepts without escapes: letters, digits, '_',
# '-', and '.' inside (a local name ending in '.' would end the statement). Other IRIs stay <...>.
LOCAL_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?")
# Every namespace ends in '/' or '#' and a safe local name holds neither, so the namespace of an IRI
# is what comes before its last '/' or '#': one lookup, where export's hot loop needs speed.
_PREFIX_OF = {namespace: prefix for prefix, namespace in PREFIXES.items()}


def prefixed(iri: str, allowed: Iterable[str] | None = None) -> tuple[str, str] | None:
    """``(prefix, local name)`` when a known prefix (one of ``allowed``, if given) fits ``iri`` and
    the local name is safe, else None."""
    cut = max(iri.rfind("/"), iri.rfind("#")) + 1
    prefix = _PREFIX_OF.get(iri[:cut])
    if prefix is None or (allowed is not None and prefix not in allowed) or not LOCAL_NAME.fullmatch(iri[cut:]):
        return None
    return prefix, iri[cut:]


def iri(value: str, allowed: Iterable[str] | None = None) -> str:
    """An IRI as a CURIE when a prefix fits, else as <IRI>; ValueError if it is not a valid IRI."""
    found = prefixed(value, allowed)
    return f"{found[0]}:{found[1]}" if found else str(NamedNode(value))


def term(value: str) -> str:
    """An IRI in a streamed file: CURIEs only of the prefixes prefix_block declares."""
    return iri(value, STREAM_PREFIXES)


def prefix_block(names: Iterable[str] = STREAM_PREFIXES) -> str:
    return "".join(f"@prefix {name}: <{PREFIXES[name]}> .\n" for name in names)


def string(text: str) -> str:
    """A plain literal, quoted and escaped."""
    return str(Literal(text))


def lang(text: str, language: str = "en") -> str:
    # The tag is appended as given: pyoxigraph would write it in lower case.
    return f"{string(text)}@{language}"


def iri_node(iri: str) -> NamedNode | None:
    """The IRI as a term, None when it is no valid IRI (a space, a quote, '<'...): text a user typed
    must end in a message, not in pyoxigraph's ValueError."""
    try:
        return NamedNode(iri)
    except ValueError:
        return None


def is_language_tag(text: str) -> bool:
    """Whether ``text`` is a well-formed BCP 47 language tag (en, fr, zh-Hans), as RDF requires."""
    try:
        Literal("", language=text)
    except ValueError:
        return False
    return True


def typed(text: str, datatype: str) -> str:
    return f"{string(text)}^^{term(datatype)}"


def date(value: DateValue) -> str:
    return typed(value.lexical, value.datatype)


def block(subject: str, pairs: list[tuple[str, str]]) -> str:
    """One subject with its predicate-object pairs, objects of a repeated predicate joined by commas."""
    grouped: dict[str, list[str]] = {}
    for predicate, obj in pairs:
        objects = grouped.setdefault(predicate, [])
        if obj not in objects:
            objects.append(obj)
    lines = [f"    {predicate} {', '.join(objects)}" for predicate, objects in grouped.items()]
    return f"{term(subject)}\n" + " ;\n".join(lines) + " .\n"


def actor(subject: str, cls: str, label: str, language: str = "en", *, codes: Iterable[str] = (),
          sectors: Iterable[str] = (), acts_for: str | None = None, of_state: str | None = None) -> str:
    """A new actor, whether an import or `dipkb add` creates it."""
    pairs = [("a", term(cls)), ("rdfs:label", lang(label, language))]
    pairs += [("dip:actorCode", string(code)) for code in codes]
    pairs += [("dip:sector", string(sector)) for sector in sectors]
    if acts_for:
        pairs.append(("dip:actsFor", term(acts_for)))
    if of_state:
        pairs.append(("dip:ofState", term(of_state)))
    return block(subject, pairs)
