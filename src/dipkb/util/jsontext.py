"""Indented JSON text, as the standard library writes it, faster: what every view's JSON goes through."""
from __future__ import annotations

import json

import orjson


def pretty_json(value: object) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)``, written by orjson where it can: a ten times
    faster encoder than the standard library's, which encodes an indented document in Python.
    orjson refuses what it cannot write as the standard library would (an integer past 64 bits, a
    key that is not a string): that goes to the standard library."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, indent=2)
