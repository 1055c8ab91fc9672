"""The one reader of JSON request bodies: every door that takes JSON applies the same rules.

Bodies are bounded in size, must be UTF-8, may not nest deeper than ``MAX_DEPTH``, may not
hold integers longer than ``MAX_INTEGER_DIGITS`` digits (Python refuses past 4,300 digits
with a ValueError that would otherwise surface as a 500), NaN or Infinity, and their strings
must be storable by every database (no NUL, no unpaired surrogate).
"""

from __future__ import annotations

import json
from typing import Any

from services.platform.storable_json import finite_float, reject_constant, text_problem

# Deeper nesting than any SCIM resource, hook delivery or enrollment needs.
MAX_DEPTH = 32
# No identifier or count we accept is longer; the digits are checked before int() runs.
MAX_INTEGER_DIGITS = 300


class InboundJsonError(ValueError):
    """A request body that is refused; ``kind`` is "too_large", "value" or "syntax"."""

    def __init__(self, message: str, kind: str = "syntax") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise InboundJsonError(
            f"a number of {digits} digits is too long (at most {MAX_INTEGER_DIGITS})"
        )
    return int(text)


def _check_tree(value: Any, limit: int) -> None:
    """Refuse nesting deeper than ``limit`` and strings no database can store (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise InboundJsonError(f"JSON nesting deeper than {limit} levels")
        if isinstance(node, dict):
            for key, child in node.items():
                stack.append((key, depth))
                stack.append((child, depth + 1))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str) and (problem := text_problem(node)):
            raise InboundJsonError(problem, kind="value" if "NUL" in problem else "syntax")


def parse_body(raw: bytes, max_bytes: int | None = None) -> Any:
    """Parse a request body under the shared rules.

    :raises InboundJsonError: for a body that is too large, not UTF-8, not JSON, too deep,
        holds an over-long integer, NaN or Infinity, or a string no database can store.
    """
    if max_bytes is not None and len(raw) > max_bytes:
        raise InboundJsonError(f"request body is larger than {max_bytes} bytes", "too_large")
    if not raw.strip():
        raise InboundJsonError("request body is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InboundJsonError(f"request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(
            text,
            parse_constant=reject_constant,
            parse_float=finite_float,
            parse_int=_bounded_int,
        )
    except InboundJsonError:
        raise
    except json.JSONDecodeError as exc:
        raise InboundJsonError(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:  # NaN, Infinity, a float too large (UnstorableJsonError)
        raise InboundJsonError(str(exc)) from None
    except RecursionError:
        # The parser gives up long before the stack does; anything it parsed is walked below.
        raise InboundJsonError(f"JSON nesting deeper than {MAX_DEPTH} levels") from None
    _check_tree(value, MAX_DEPTH)
    return value
