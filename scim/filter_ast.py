"""The SCIM filter and attribute-path syntax tree (RFC 7644 §3.4.2.2, §3.5.2).

Produced by ``scim.filter`` and consumed by ``scim.matching`` (in-memory evaluation),
``scim.patch`` (PATCH paths) and ``scim.query`` (SQL translation). Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

# JSON literal allowed on the right of a comparison: string, number, true, false, null.
Literal = str | int | float | bool | None

COMPARISON_OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")


@dataclass(frozen=True)
class AttrPath:
    """An attribute reference: ``[urn:]attr[.subAttr]``.

    ``uri`` is the schema URN when the client wrote a fully qualified name (e.g.
    ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User``), else None.
    ``attr`` and ``sub_attr`` keep the client's spelling; compare them case-insensitively
    (RFC 7643 §2.1: attribute names are case-insensitive).
    """

    uri: str | None
    attr: str
    sub_attr: str | None = None

    def key(self) -> str:
        """The lowercased dotted name used for lookups, e.g. ``name.familyname``."""
        base = self.attr if self.sub_attr is None else f"{self.attr}.{self.sub_attr}"
        base = base.lower()
        return f"{self.uri.lower()}:{base}" if self.uri else base


@dataclass(frozen=True)
class Compare:
    """``attrPath op value`` where op is one of COMPARISON_OPERATORS."""

    path: AttrPath
    op: str
    value: Literal


@dataclass(frozen=True)
class Present:
    """``attrPath pr``."""

    path: AttrPath


@dataclass(frozen=True)
class And:
    """``left and right``."""

    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    """``left or right``."""

    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    """``not (expr)``."""

    expr: Filter


@dataclass(frozen=True)
class ValuePath:
    """``attr[filter]``: elements of a multi-valued attribute matching an inner filter.

    Paths inside ``filter`` are relative to one element (``type`` means ``emails.type``).
    """

    path: AttrPath
    filter: Filter


Filter = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True)
class PatchPath:
    """A PATCH ``path`` (RFC 7644 §3.5.2): ``attrPath`` or ``valuePath [ "." subAttr ]``.

    ``emails[type eq "work"].value`` is ``PatchPath(AttrPath(None, "emails"),
    value_filter=Compare(AttrPath(None, "type"), "eq", "work"), sub_attr="value")``.
    For a plain ``name.givenName`` the sub-attribute lives in ``attr.sub_attr`` and
    ``value_filter``/``sub_attr`` are None.
    """

    attr: AttrPath
    value_filter: Filter | None = None
    sub_attr: str | None = None
