"""The admin users list: search, filters and keyset paging that stay fast at 100,000 users."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import SQL, NodeList, Value

from models import STATES, Integration, User

PAGE_SIZE = 50
# Counting every match of a broad search costs a full scan; past this many we say "10,000+".
COUNT_CAP = 10_000


@dataclass(frozen=True)
class UserQuery:
    """Search text, state and integration filters, and the paging cursor."""

    text: str = ""
    state: str | None = None
    integration_id: str | None = None
    before: int | None = None
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class UserPage:
    """One page, newest first, with the cursor for the next one."""

    users: list[User]
    next_before: int | None
    total: int
    total_capped: bool


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: UserQuery) -> Any:
    selection = User.select()
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


def search_users(query: UserQuery) -> UserPage:
    """A page of users matching the query, newest first (keyset paging by id)."""
    selection = _filtered(query)
    page = selection
    if query.before is not None:
        page = page.where(User.id < query.before)
    users = list(page.order_by(User.id.desc()).limit(query.limit + 1))
    next_before = users[query.limit - 1].id if len(users) > query.limit else None
    counted = selection.select(User.id).limit(COUNT_CAP + 1).count()
    return UserPage(
        users=users[: query.limit],
        next_before=next_before,
        total=min(counted, COUNT_CAP),
        total_capped=counted > COUNT_CAP,
    )


def integration_names() -> dict[str, str]:
    """Integration id → name, for filters and labels."""
    return dict(Integration.select(Integration.id, Integration.name).tuples())
