"""Sorting the users list and keyset paging over any sort, both ways.

A cursor names the row at a page's edge by its sort value and id; the next page is the rows
after it, the previous page the rows before it, so no page costs an OFFSET scan.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from peewee import Expression, Node, fn

from models import User

# Sort name -> (expression, how a cursor value is read back). Nulls sort as the lowest value
# so that the comparison in a cursor never meets NULL.
_NEVER = dt.datetime(1970, 1, 1)  # naive UTC, as every stored timestamp


def _text(value: Any) -> Any:
    return str(value)


def _time(value: Any) -> Any:
    return dt.datetime.fromisoformat(str(value))


SORTS: dict[str, tuple[Node, Any]] = {
    "name": (fn.COALESCE(User.user_name_key, ""), _text),
    "state": (User.state, _text),
    "invited": (User.created, _time),
    "enrolled": (fn.COALESCE(User.enrolled_at, _NEVER), _time),
}
DEFAULT_SORT = ("invited", "desc")


@dataclass(frozen=True)
class Order:
    """A sort key and direction."""

    sort: str = DEFAULT_SORT[0]
    direction: str = DEFAULT_SORT[1]

    @classmethod
    def parse(cls, sort: str | None, direction: str | None) -> Order:
        """An order from query-string values; anything unknown means the default."""
        if sort not in SORTS:
            return cls()
        return cls(sort, direction if direction in ("asc", "desc") else "asc")

    @property
    def key(self) -> Node:
        """The sort expression."""
        return SORTS[self.sort][0]

    def clauses(self, reverse: bool = False) -> list[Node]:
        """ORDER BY clauses, id breaking ties; reversed to read a previous page."""
        ascending = (self.direction == "asc") != reverse
        return [self.key.asc(), User.id.asc()] if ascending else [self.key.desc(), User.id.desc()]

    def beyond(self, cursor: tuple[Any, int], reverse: bool = False) -> Expression:
        """Rows after ``cursor`` in this order (before it when ``reverse``)."""
        value, last_id = cursor
        ascending = (self.direction == "asc") != reverse
        if ascending:
            return (self.key > value) | ((self.key == value) & (User.id > last_id))
        return (self.key < value) | ((self.key == value) & (User.id < last_id))

    def cursor_of(self, user: User) -> str:
        """The opaque cursor naming ``user``'s place in this order."""
        value = {
            "name": user.user_name_key or "",
            "state": user.state,
            "invited": user.created,
            "enrolled": user.enrolled_at or _NEVER,
        }[self.sort]
        raw = json.dumps(
            [
                self.sort,
                str(value) if self.sort in ("name", "state") else value.isoformat(),
                user.id,
            ]
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def read_cursor(self, cursor: str | None) -> tuple[Any, int] | None:
        """A cursor made by ``cursor_of`` for this sort; anything else is None."""
        if not cursor or len(cursor) > 400:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            sort, value, last_id = json.loads(raw)
            if sort != self.sort or not isinstance(last_id, int) or isinstance(last_id, bool):
                return None
            return SORTS[self.sort][1](value), last_id
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            return None
