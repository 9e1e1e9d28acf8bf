"""dipkb: a knowledge base of diplomatic events in RDF, checked with SHACL, queried with SPARQL."""
from __future__ import annotations

__version__ = "0.1.0"

from dipkb.errors import DipkbError
from dipkb.store.kb import KnowledgeBase
from dipkb.store.layout import KBLayout

__all__ = ["DipkbError", "KBLayout", "KnowledgeBase", "__version__"]
