"""JSON that every database can store: finite numbers, and text without NUL characters or
unpaired UTF-16 surrogates (Postgres refuses both; SQLite stops reading text at NUL)."""

from __future__ import annotations

import math
from typing import Any


class UnstorableJsonError(ValueError):
    """The JSON is valid but holds something no database column can keep; says what."""


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored, or None."""
    if "\x00" in text:
        return "NUL characters are not allowed in values"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "the body contains an unpaired UTF-16 surrogate escape"
    return None


def reject_constant(name: str) -> Any:
    """``json.loads``' parse_constant: NaN and Infinity are not JSON."""
    raise UnstorableJsonError(f"{name} is not valid JSON")


def finite_float(text: str) -> float:
    """``json.loads``' parse_float: a number too large for a float is refused."""
    value = float(text)
    if math.isinf(value):
        raise UnstorableJsonError(f"the number {text[:40]} is too large")
    return value
