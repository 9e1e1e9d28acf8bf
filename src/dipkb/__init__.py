"""dipkb: a knowledge base of diplomatic events in RDF, checked with SHACL, queried with SPARQL."""
from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from dipkb.errors import DipkbError

if TYPE_CHECKING:
    from dipkb.store.kb import KnowledgeBase
    from dipkb.store.layout import KBLayout

__all__ = ["DipkbError", "KBLayout", "KnowledgeBase", "__version__"]


def __getattr__(name: str):
    # Imported on first use (PEP 562): every `import dipkb.x` runs this file, and `dipkb --help` or
    # `dipkb init` need neither the store nor the SPARQL guard it loads.
    if name == "KnowledgeBase":
        from dipkb.store.kb import KnowledgeBase

        return KnowledgeBase
    if name == "KBLayout":
        from dipkb.store.layout import KBLayout

        return KBLayout
    raise AttributeError(f"module 'dipkb' has no attribute {name!r}")
