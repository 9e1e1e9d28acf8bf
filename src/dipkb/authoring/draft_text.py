"""What text `dipkb add` and `dipkb import` refuse in a draft, whatever its field."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields, is_dataclass


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
