"""Which of a thing's labels is shown (the timeline, `show`, the pages and the findings all pick so),
and how a name typed is compared with labels."""
from __future__ import annotations

import unicodedata


def is_english(language: str | None) -> bool:
    """Whether a label in ``language`` is one read first: English, or no language given."""
    return not language or language == "en" or language.startswith("en-")


def label_order(value: str, language: str | None) -> tuple[bool, str]:
    """The key of the label shown, the least: of those in English or in no language, else of the
    others, the first alphabetically."""
    return not is_english(language), value


def composed(name: str) -> str:
    """A name with its characters composed (NFC), as labels are written: a name pasted from macOS is
    often decomposed ("Erdog\u0306an" for "Erdoğan"), and matched nothing."""
    return unicodedata.normalize("NFC", name)
