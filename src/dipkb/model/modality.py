"""The modalities of an event (dip:Modality), by the names people type for them."""
from __future__ import annotations

from dipkb.model.namespaces import DIP

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
