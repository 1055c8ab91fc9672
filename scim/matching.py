"""Evaluate a parsed SCIM filter against one JSON object in memory (RFC 7644 §3.4.2.2).

Used by the PATCH engine for value paths (``emails[type eq "work"]``) and by tests. Any
shape mismatch between filter and object is "no match", never an exception.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from scim.filter_ast import And, AttrPath, Compare, Filter, Literal, Not, Or, Present, ValuePath

__all__ = ["CaseExact", "matches"]

# RFC 7644 §3.10: attributes of a resource's core schema may be written with or without
# their schema URN, so a core URN that is not a key of the object means "top level".
_CORE_SCHEMA_PREFIX: Final = "urn:ietf:params:scim:schemas:core:"
# Only strings shaped like RFC 7643 §2.3.5 dateTime (xsd:dateTime) get datetime ordering,
# so that e.g. "20200101" keeps sorting as a plain string.
_DATETIME_SHAPE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}")
_SEQUENCES: Final = (list, tuple)

CaseExact = Callable[[str], bool]


def _case_insensitive(key: str) -> bool:
    """Default ``case_exact``: RFC 7643 §2.2 makes caseExact false unless a schema says so."""
    return False


def matches(
    flt: Filter, element: Mapping[str, Any], *, case_exact: CaseExact = _case_insensitive
) -> bool:
    """Whether ``element`` satisfies ``flt``; ``case_exact(AttrPath.key())`` picks string case."""
    if not isinstance(element, Mapping):
        return False
    return _Evaluator(case_exact).test(flt, element, "")


class _Evaluator:
    """Walks a filter tree; ``prefix`` is the enclosing value path's key plus '.'."""

    def __init__(self, case_exact: CaseExact) -> None:
        self._case_exact = case_exact

    def test(self, flt: Filter, obj: Mapping[str, Any], prefix: str) -> bool:
        """Evaluate one node against one object."""
        if isinstance(flt, And):
            return all(self.test(part, obj, prefix) for part in _operands(flt))
        if isinstance(flt, Or):
            return any(self.test(part, obj, prefix) for part in _operands(flt))
        if isinstance(flt, Not):
            return not self.test(flt.expr, obj, prefix)
        if isinstance(flt, Present):
            return any(_is_present(value) for value in _lookup(obj, flt.path))
        if isinstance(flt, Compare):
            return self._compare(flt, obj, prefix)
        if isinstance(flt, ValuePath):
            inner_prefix = f"{prefix}{flt.path.key()}."
            items = _complex_items(_lookup(obj, flt.path))
            return any(self.test(flt.filter, item, inner_prefix) for item in items)
        return False

    def _compare(self, node: Compare, obj: Mapping[str, Any], prefix: str) -> bool:
        found = _lookup(obj, node.path)
        if node.value is None:
            # RFC 7644 §3.4.2.2 has no null semantics; "eq null" reads as "is absent".
            present = any(_is_present(value) for value in found)
            return {"eq": not present, "ne": present}.get(node.op, False)
        scalars = list(_scalars(found))
        exact = bool(self._case_exact(prefix + node.path.key()))
        if node.op == "ne":
            # An absent attribute is "not equal" to every value.
            return not scalars or any(not _equal(s, node.value, exact) for s in scalars)
        test = _OPERATORS.get(node.op)
        if test is None:
            return False
        # RFC 7644 §3.4.2.2: a multi-valued attribute matches if any of its values does.
        return any(test(s, node.value, exact) for s in scalars)


def _operands(node: And | Or) -> Iterator[Filter]:
    """The operands of a chain of the same connective, left to right, without recursion.

    The parser builds ``a and b and c ...`` as a left-deep tree hundreds of levels deep.
    """
    stack: list[Filter] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, And | Or) and type(current) is type(node):
            stack.append(current.right)
            stack.append(current.left)
        else:
            yield current


# --- attribute lookup -------------------------------------------------------------------


def _get(obj: Mapping[Any, Any], name: str) -> tuple[bool, Any]:
    """Look a key up case-insensitively (RFC 7643 §2.1); return (found, value)."""
    if name in obj:
        return True, obj[name]
    folded = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == folded:
            return True, value
    return False, None


def _schema_base(obj: Mapping[str, Any], uri: str | None) -> Mapping[str, Any] | None:
    """The object that holds attributes of schema ``uri`` (RFC 7644 §3.10)."""
    if uri is None:
        return obj
    found, extension = _get(obj, uri)
    if found and isinstance(extension, Mapping):
        return extension
    if uri.lower().startswith(_CORE_SCHEMA_PREFIX):
        return obj
    return None


def _lookup(obj: Mapping[str, Any], path: AttrPath) -> list[Any]:
    """The raw values at ``path``: [] when absent, one per element for ``multi.sub``."""
    base = _schema_base(obj, path.uri)
    if base is None:
        return []
    found, value = _get(base, path.attr)
    if not found:
        return []
    if path.sub_attr is None:
        return [value]
    items = value if isinstance(value, _SEQUENCES) else [value]
    values = []
    for item in items:
        if isinstance(item, Mapping):
            found, sub_value = _get(item, path.sub_attr)
            if found:
                values.append(sub_value)
    return values


def _complex_items(found: list[Any]) -> Iterator[Mapping[str, Any]]:
    """The objects a value path filters: elements of a multi-valued complex attribute."""
    for value in found:
        if isinstance(value, Mapping):
            yield value
        elif isinstance(value, _SEQUENCES):
            yield from (item for item in value if isinstance(item, Mapping))


def _scalars(found: list[Any]) -> Iterator[Any]:
    """The comparable values: list elements, and a complex value's ``value`` sub-attribute.

    RFC 7643 §2.4: comparing a multi-valued complex attribute without a sub-attribute
    compares its ``value`` sub-attribute.
    """
    for value in found:
        for item in value if isinstance(value, _SEQUENCES) else [value]:
            scalar = _get(item, "value")[1] if isinstance(item, Mapping) else item
            if scalar is not None and not isinstance(scalar, (Mapping, *_SEQUENCES)):
                yield scalar


def _is_present(value: Any) -> bool:
    """RFC 7644 §3.4.2.2 ``pr``: has a non-empty, non-null value."""
    if value is None:
        return False
    if isinstance(value, (str, Mapping, *_SEQUENCES)):
        return len(value) > 0
    return True


# --- comparisons ------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_bool(value: Any) -> bool | None:
    """A JSON boolean, or the strings "true"/"false" that Microsoft Entra sends."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.lower())
    return None


def _fold(text: str, exact: bool) -> str:
    return text if exact else text.casefold()


def _equal(actual: Any, expected: Literal, exact: bool) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        left, right = _as_bool(actual), _as_bool(expected)
        return left is not None and left == right
    if _is_number(actual) and _is_number(expected):
        return bool(actual == expected)
    if isinstance(actual, str) and isinstance(expected, str):
        return _fold(actual, exact) == _fold(expected, exact)
    return False


def _strings(actual: Any, expected: Literal, exact: bool) -> tuple[str, str] | None:
    """Both sides folded for substring tests, or None when either is not a string."""
    if isinstance(actual, str) and isinstance(expected, str):
        return _fold(actual, exact), _fold(expected, exact)
    return None


def _contains(actual: Any, expected: Literal, exact: bool) -> bool:
    pair = _strings(actual, expected, exact)
    return pair is not None and pair[1] in pair[0]


def _starts_with(actual: Any, expected: Literal, exact: bool) -> bool:
    pair = _strings(actual, expected, exact)
    return pair is not None and pair[0].startswith(pair[1])


def _ends_with(actual: Any, expected: Literal, exact: bool) -> bool:
    pair = _strings(actual, expected, exact)
    return pair is not None and pair[0].endswith(pair[1])


def _datetime(text: str) -> datetime | None:
    """Parse an xsd:dateTime as an aware UTC datetime; naive values are taken as UTC."""
    if not _DATETIME_SHAPE.match(text):
        return None
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _order(actual: Any, expected: Literal) -> tuple[Any, Any] | None:
    """Two values ordered by type: numbers, then dateTimes; None when not comparable."""
    if _is_number(actual) and _is_number(expected):
        if any(isinstance(v, float) and math.isnan(v) for v in (actual, expected)):
            return None
        return actual, expected
    if isinstance(actual, str) and isinstance(expected, str):
        left, right = _datetime(actual), _datetime(expected)
        if left is not None and right is not None:
            return left, right
    return None


def _ordering(keep: Callable[[int], bool]) -> Callable[[Any, Literal, bool], bool]:
    """Build gt/ge/lt/le from a test on the sign of ``actual - expected``."""

    def compare(actual: Any, expected: Literal, exact: bool) -> bool:
        pair = _order(actual, expected)
        if pair is None:
            strings = _strings(actual, expected, exact)
            if strings is None:
                # Booleans, nulls and mixed types have no order: no match.
                return False
            pair = strings
        left, right = pair
        return keep((left > right) - (left < right))

    return compare


_OPERATORS: Final[dict[str, Callable[[Any, Literal, bool], bool]]] = {
    "eq": _equal,
    "co": _contains,
    "sw": _starts_with,
    "ew": _ends_with,
    "gt": _ordering(lambda sign: sign > 0),
    "ge": _ordering(lambda sign: sign >= 0),
    "lt": _ordering(lambda sign: sign < 0),
    "le": _ordering(lambda sign: sign <= 0),
}
