"""Which of a thing's labels is shown: the timeline, `show`, the pages and the findings all pick so."""
from __future__ import annotations


def is_english(language: str | None) -> bool:
    """Whether a label in ``language`` is one read first: English, or no language given."""
    return not language or language == "en" or language.startswith("en-")


def label_order(value: str, language: str | None) -> tuple[bool, str]:
    """The key of the label shown, the least: of those in English or in no language, else of the
    others, the first alphabetically."""
    return not is_english(language), value
