"""Whole numbers read from text that users and datasets write."""
from __future__ import annotations

# Past any count, page or id dipkb reads, and far below the 4,300 digits past which int() refuses.
MAX_DIGITS = 18


def whole_number(text: str) -> int | None:
    """``text`` as a whole number when it is 1 to 18 ASCII digits, else None. ``str.isdigit`` alone is
    also true of ``²``, which int() refuses, and of ``٣`` and ``２``, which it reads as digits."""
    if ascii_digits(text) and len(text) <= MAX_DIGITS:
        return int(text)
    return None


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is ASCII digits only (a date's YYYYMMDD), which ``str.isdigit`` alone is not."""
    return text.isascii() and text.isdigit()
