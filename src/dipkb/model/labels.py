"""Which of a thing's labels is shown (the timeline, `show`, the pages and the findings all pick so),
and how a name typed is compared with labels."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import fields, is_dataclass


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


# C0 controls but tab, line feed and carriage return, and DEL: pasted from a terminal or a binary
# file, they passed into labels, then into CSV cells as raw bytes, and XML refused the whole export.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_characters(value: object, name: str = "") -> Iterator[tuple[str, str]]:
    """(field, character as U+XXXX) for each text of ``value`` (a string, a dataclass of them, or a
    tuple of either) that holds a control character no text should."""
    if isinstance(value, str):
        if found := _CONTROL.search(value):
            yield name, f"U+{ord(found.group()):04X}"
    elif is_dataclass(value):
        for field in fields(value):
            yield from control_characters(getattr(value, field.name), field.name)
    elif isinstance(value, tuple):
        for item in value:
            yield from control_characters(item, name)
