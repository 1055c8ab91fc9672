"""SCIM list requests over any resource table: filter in SQL, count, sort, page stably."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import fn

from extensions import db
from scim.cost import check_cost
from scim.filter_ast import AttrPath, Filter
from scim.query import FieldMap, dialect_of, sort_expression, to_expression


@dataclass(frozen=True)
class ListQuery:
    """A SCIM list request: filter, 1-based ``start_index``, ``count``, optional sort."""

    filter: Filter | None = None
    start_index: int = 1
    count: int = 100
    sort_by: AttrPath | None = None
    descending: bool = False


@dataclass(frozen=True)
class Page:
    """One page of a list: ``total`` matches, the items from ``start_index``."""

    total: int
    start_index: int
    items: list[Any]


def page_of(selection: Any, model: Any, fields: FieldMap, query: ListQuery) -> Page:
    """The page of ``selection`` (rows of ``model``) that ``query`` asks for.

    :raises InvalidFilterError: when the filter or sortBy cannot be evaluated.
    :raises TooManyError: when the filter is plainly too expensive to run.
    """
    dialect = dialect_of(db)
    if query.filter is not None:
        check_cost(query.filter, fields)
        selection = selection.where(to_expression(query.filter, fields, dialect))
    # COUNT over the id only: peewee's .count() would wrap the whole SELECT (every column),
    # which stops the database from answering from an index.
    total = selection.select(fn.COUNT(model.id)).scalar() or 0
    if query.count <= 0 or query.start_index > total:
        return Page(total=total, start_index=query.start_index, items=[])
    # Ties (and the unsorted case) fall back to insertion order, so paging is stable
    # (Okta imports with count=100 and startIndex += 100: docs/okta.md §1.5).
    order: list[Any] = []
    if query.sort_by is not None:
        key = sort_expression(query.sort_by, fields, dialect)
        order.append(key.desc() if query.descending else key.asc())
    order.append(model.id.asc())
    # Find the page's ids first, then load those rows: skipping to the last page of an
    # import then walks an index instead of reading (and discarding) every wide row before it.
    page_ids = [
        row_id
        for (row_id,) in selection.select(model.id)
        .order_by(*order)
        .offset(query.start_index - 1)
        .limit(query.count)
        .tuples()
    ]
    position = {row_id: i for i, row_id in enumerate(page_ids)}
    rows = model.select().where(model.id.in_(page_ids)) if page_ids else []
    items = sorted(rows, key=lambda row: position[row.id])
    return Page(total=total, start_index=query.start_index, items=items)
