"""The modalities of an event (dip:Modality), by the names people type for them."""
from __future__ import annotations

from dipkb.model.namespaces import DIP, curie

MODALITIES = ("occurred", "ongoing", "planned", "possible", "claimed", "denied")


def modality_name(text: str) -> str | None:
    """'planned' for 'planned', 'Planned', 'dip:Planned' or dip:Planned's IRI (bare or in <>), in any
    case; None for anything else."""
    name = text.strip().lower()
    if name.startswith("<") and name.endswith(">"):
        name = name[1:-1]
    for prefix in (DIP.lower(), "dip:"):
        name = name.removeprefix(prefix)
    return name if name in MODALITIES else None


def modality_iri(name: str) -> str:
    return DIP + name.capitalize()


_NAMES = {modality_iri(name): name for name in MODALITIES}


def shown_modality(stated: str | None) -> str:
    """The name of the modality ``stated`` (an IRI; a literal in N-Triples or [] for a blank node),
    "occurred" for none. A value that is no dipkb modality is shown as written, not as the modality
    it resembles: the selection by modality does not take it for one either."""
    if stated is None:
        return "occurred"
    return _NAMES.get(stated) or (stated if stated.startswith(('"', "[")) else curie(stated))
