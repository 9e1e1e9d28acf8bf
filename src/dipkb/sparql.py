"""Running user SPARQL safely: refuse what could reach the network or change data, bind parameters."""
from __future__ import annotations

import re

from dipkb.errors import ForbiddenQueryError

# Strings, IRIs and comments are blanked out before looking for keywords, so a label that contains
# the word "service" is not refused and a keyword hidden in a comment does not slip through.
_NOT_CODE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\s]*>"
    r"|#[^\n]*",
)
_FORBIDDEN = {
    "SERVICE": "SERVICE calls a remote endpoint",
    "LOAD": "LOAD fetches a remote document",
}
_UPDATE = re.compile(r"\b(INSERT|DELETE|CLEAR|DROP|CREATE|ADD|MOVE|COPY)\b(?=\s*(DATA|WHERE|GRAPH|SILENT|DEFAULT|ALL|NAMED|\{|<|\w+:))", re.I)


def code_only(query: str) -> str:
    return _NOT_CODE.sub(" ", query)


def check_query(query: str, *, allow_service: bool = False) -> None:
    """Raise ForbiddenQueryError for SERVICE, LOAD and update operations."""
    code = code_only(query)
    for keyword, why in _FORBIDDEN.items():
        if keyword == "SERVICE" and allow_service:
            continue
        if re.search(rf"\b{keyword}\b", code, re.I):
            raise ForbiddenQueryError(
                f"{keyword} is not allowed in queries: {why}, and dipkb does not reach the network "
                "unless asked to. Query the local knowledge base instead."
            )
    if _UPDATE.search(code):
        raise ForbiddenQueryError(
            "Update operations (INSERT, DELETE, ...) are not allowed in queries: the Turtle files in kb/ "
            "are the source of truth; edit them or use 'dipkb add'."
        )


def query_form(query: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first form keyword in the query's code."""
    match = re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", code_only(query), re.I)
    return match.group(1).upper() if match else "SELECT"
