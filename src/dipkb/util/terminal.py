"""Text as a terminal shows it: without the control characters it would obey, in its columns."""
from __future__ import annotations

import functools
from types import ModuleType

# A control character written to a terminal is a command: an escape sequence in a label imported from
# the web could clear the screen, retitle the window or hide the lines before it. Text for a terminal
# shows the whitespace ones (a newline in a cell, a tab) as a space and the others as U+FFFD.
_WHITESPACE_CONTROLS = (0x09, 0x0A, 0x0B, 0x0C, 0x0D)
_FOR_TERMINALS = str.maketrans({code: " " if code in _WHITESPACE_CONTROLS else "\ufffd"
                                for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))})


def terminal_text(text: str) -> str:
    """``text`` without the control characters that a terminal would obey, on one line."""
    return text if text.isprintable() else text.translate(_FOR_TERMINALS)


def terminal_lines(text: str) -> str:
    """:func:`terminal_text` of each of ``text``'s lines, on their lines."""
    return "\n".join(map(terminal_text, text.split("\n")))


def display_width(text: str) -> int:
    """The columns a terminal gives ``text``: two for a Chinese character, none for a combining accent."""
    if text.isascii():
        return len(text)
    width = _wcwidth().wcswidth(text)  # -1 when a control character is in it
    return width if width >= 0 else sum(_columns(char) for char in text)


@functools.cache
def _wcwidth() -> ModuleType:
    # Imported when a text first needs it: its Unicode tables take 11 ms to load, which every command
    # paid at start-up, ASCII tables or not.
    import wcwidth

    return wcwidth


def _columns(char: str) -> int:
    width = _wcwidth().wcwidth(char)
    return 1 if width < 0 else width  # wcwidth's -1, a control character: counted as one


def padded(text: str, width: int) -> str:
    """``text`` and the spaces that make it ``width`` terminal columns wide."""
    return text + " " * (width - display_width(text))


def cut_to(text: str, width: int, marker: str) -> str:
    """``text`` cut to ``width`` columns, its last one ``marker`` (one column wide)."""
    if text.isascii():
        return text[:width - 1] + marker
    end, used = 0, 0
    for char in text:
        used += _columns(char)
        if used > width - 1:
            break
        end += 1
    # Character by character is an estimate: a terminal shows an emoji and its variation selector
    # as two columns, where each alone counts one.
    while end and display_width(text[:end]) > width - 1:
        end -= 1
    return text[:end] + marker
