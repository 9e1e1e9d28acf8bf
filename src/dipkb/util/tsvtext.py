"""Tab-separated lines as IANA's text/tab-separated-values has them: a field holds no tab and no line
break. They are escaped as `\\t`, `\\n` and `\\r`, a backslash as `\\\\` (PostgreSQL's COPY text, the
"linear TSV" convention); no quoting. Excel's tab dialect quoted such fields instead, with the raw tab
and line breaks inside them, which split the row for `cut`, `awk` and every reader of TSV as TSV.
"""
from __future__ import annotations

from collections.abc import Iterable

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def tsv_line(fields: Iterable[object]) -> str:
    """One line of fields, each escaped, ending in a line feed."""
    return "\t".join(str(field).translate(_ESCAPES) for field in fields) + "\n"
