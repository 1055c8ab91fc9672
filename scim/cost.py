"""Refuse, before any SQL runs, filters whose cost is plainly too high (RFC 7644 §3.12 tooMany).

Size limits (``scim.filter``) bound how long a filter is, not what it costs: a substring
match (``co``, ``sw``, ``ew``) inside a multi-valued attribute can use no index, so the
database unpacks every element of every resource's array once per such comparison. 45 of
them over 20,000 users ran for half a minute.
"""

from __future__ import annotations

from typing import Final

from scim.errors import TooManyError
from scim.filter_ast import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from scim.query import FieldMap, JsonMultiAttr, RelatedAttr

MAX_MULTI_VALUED_SUBSTRINGS: Final = 10
"""Most ``co``/``sw``/``ew`` comparisons over multi-valued attributes in one filter."""

_SUBSTRING = frozenset({"co", "sw", "ew"})


def _is_multi_valued(path: AttrPath, fields: FieldMap) -> bool:
    uri = path.uri.lower() if path.uri else None
    key = path.attr.lower() if uri in (None, fields.core_uri.lower()) else f"{uri}:{path.attr}"
    return isinstance(fields.attrs.get(key.lower()), JsonMultiAttr | RelatedAttr)


def _substrings(flt: Filter, fields: FieldMap, inside_multi: bool) -> int:
    if isinstance(flt, And | Or):
        return _substrings(flt.left, fields, inside_multi) + _substrings(
            flt.right, fields, inside_multi
        )
    if isinstance(flt, Not):
        return _substrings(flt.expr, fields, inside_multi)
    if isinstance(flt, ValuePath):
        return _substrings(flt.filter, fields, _is_multi_valued(flt.path, fields))
    if isinstance(flt, Compare) and flt.op.lower() in _SUBSTRING:
        return 1 if inside_multi or _is_multi_valued(flt.path, fields) else 0
    if isinstance(flt, Compare | Present):
        return 0
    return 0


def check_cost(flt: Filter, fields: FieldMap) -> None:
    """Refuse a filter with more substring matches over multi-valued attributes than allowed.

    :raises TooManyError: the filter is too expensive; the detail says how to narrow it.
    """
    count = _substrings(flt, fields, inside_multi=False)
    if count > MAX_MULTI_VALUED_SUBSTRINGS:
        raise TooManyError(
            f"the filter is too expensive, narrow it: {count} 'co'/'sw'/'ew' comparisons over"
            f" multi-valued attributes such as emails; at most {MAX_MULTI_VALUED_SUBSTRINGS}"
            " are allowed (use 'eq' where you can)"
        )
