"""Versions of users and groups that show each other (RFC 7644 §3.14 ETags).

A user's GET lists its groups by name and a group's GET lists its members by display name,
so a change on one side changes what the other side returns: the other side's ``version``
and ``last_modified`` move in the same transaction. Each function is one set-based UPDATE,
whatever the number of rows (renaming a group of 10,000 members is one statement).
Callers hold the transaction; nothing here commits.
"""

from __future__ import annotations

from typing import Any

import database
from models import Group, GroupMember, User, utcnow


def _touch(model: type[User] | type[Group], condition: Any) -> int:
    """Move the version and last-modified time of the rows matching ``condition``."""
    # Postgres: lock the rows in id order first, so two transactions touching overlapping
    # rows (two groups gaining the same users) queue instead of deadlocking.
    ids = database.for_update(model.select(model.id).where(condition).order_by(model.id))
    return int(
        model.update(version=model.version + 1, last_modified=utcnow())
        .where(model.id.in_(ids))
        .execute()
    )


def touch_users(condition: Any) -> int:
    """Move the versions of the users ``condition`` selects (their groups changed)."""
    return _touch(User, condition)


def touch_members_of(group_id: int) -> int:
    """Move the versions of the group's members (the group was renamed or deleted)."""
    return touch_users(
        User.id.in_(GroupMember.select(GroupMember.user).where(GroupMember.group == group_id))
    )


def touch_groups_of(user_id: int) -> int:
    """Move the versions of the user's groups (the member was renamed or deleted)."""
    return _touch(
        Group,
        Group.id.in_(GroupMember.select(GroupMember.group).where(GroupMember.user == user_id)),
    )
