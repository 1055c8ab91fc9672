"""The admin users list: search, filters and keyset paging that stay fast at 100,000 users."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from peewee import SQL, NodeList, Value

from models import STATES, Integration, User
from services.admin.user_order import Order

PAGE_SIZE = 50
# Counting every match of a broad search costs a full scan; past this many we say "10,000+".
COUNT_CAP = 10_000


@dataclass(frozen=True)
class UserQuery:
    """Search text, state and integration filters, the order, and the paging cursor."""

    text: str = ""
    state: str | None = None
    integration_id: str | None = None
    order: Order = field(default_factory=Order)
    after: str | None = None
    before: str | None = None
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class UserPage:
    """One page in the query's order, with the cursors of the pages on either side."""

    users: list[User]
    next_cursor: str | None
    previous_cursor: str | None
    total: int
    total_capped: bool


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: UserQuery, columns: Sequence[Any] = ()) -> Any:
    selection = User.select(*columns)
    if query.state in STATES:
        selection = selection.where(User.state == query.state)
    if query.integration_id:
        selection = selection.where(User.integration == query.integration_id)
    text = query.text.strip().casefold()
    if text:
        pattern = f"%{_escape_like(text)}%"
        # Substring match over user name, email, names and Okta id (one folded column).
        selection = selection.where(
            NodeList((User.search_key, SQL("LIKE"), Value(pattern), SQL("ESCAPE '\\'")))
        )
    return selection


def search_users(query: UserQuery, count: bool = True, columns: Sequence[Any] = ()) -> UserPage:
    """A page of users matching the query, in its order (keyset paging both ways).

    ``count=False`` skips counting the matches and ``columns`` reads only those (the CSV
    export reads page after page, and has no use for the SCIM documents).
    """
    selection = _filtered(query, columns)
    order = query.order
    after, before = order.read_cursor(query.after), order.read_cursor(query.before)
    page = selection
    if before is not None:
        page = page.where(order.beyond(before, reverse=True)).order_by(*order.clauses(True))
    else:
        if after is not None:
            page = page.where(order.beyond(after))
        page = page.order_by(*order.clauses())
    users = list(page.limit(query.limit + 1))
    more = len(users) > query.limit
    users = users[: query.limit]
    if before is not None:
        users.reverse()
    # Coming from one side proves there are rows on that side.
    has_next = more if before is None else True
    has_previous = after is not None or (before is not None and more)
    counted = selection.select(User.id).limit(COUNT_CAP + 1).count() if count else 0
    return UserPage(
        users=users,
        next_cursor=order.cursor_of(users[-1]) if users and has_next else None,
        previous_cursor=order.cursor_of(users[0]) if users and has_previous else None,
        total=min(counted, COUNT_CAP),
        total_capped=counted > COUNT_CAP,
    )


def integration_names() -> dict[str, str]:
    """Integration id → name, for filters and labels."""
    return dict(Integration.select(Integration.id, Integration.name).tuples())
