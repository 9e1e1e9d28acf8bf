"""The modalities of an event (dip:Modality), by the names people type for them."""
from __future__ import annotations

from dipkb.model.namespaces import DIP

MODALITIES = ("occurred", "ongoing", "planned", "possible", "claimed", "denied")


def modality_name(text: str) -> str | None:
    """'planned' for 'planned', 'Planned', 'dip:Planned' or dip:Planned's IRI; None for anything else."""
    name = text.strip()
    for prefix in (DIP, "dip:"):
        name = name.removeprefix(prefix)
    return name.lower() if name.lower() in MODALITIES else None


def modality_iri(name: str) -> str:
    return DIP + name.capitalize()
