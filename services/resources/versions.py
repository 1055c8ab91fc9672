"""Versions of users and groups (RFC 7644 §3.14 ETags): the one owner of how a version moves,
how it is written as an ETag, and how an ``If-Match`` is checked against it.

A user's GET lists its groups by name and a group's GET lists its members by display name,
so a change on one side changes what the other side returns: the other side's ``version``
and ``last_modified`` move in the same transaction. Each function is one set-based UPDATE,
whatever the number of rows (renaming a group of 10,000 members is one statement).
Callers hold the transaction; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import database
from models import Group, GroupMember, User, utcnow
from scim.errors import PreconditionFailedError


def etag(version: int) -> str:
    """The weak ETag of a resource version: ``W/"<version>"``."""
    return f'W/"{version}"'


@dataclass(frozen=True)
class EntityTags:
    """The entity tags an ``If-Match`` or ``If-None-Match`` header names (RFC 7232 §3),
    parsed at the HTTP edge: services get this value, never the request."""

    tags: tuple[str, ...]

    @classmethod
    def parse(cls, header: str | None) -> EntityTags | None:
        """The header's tags, or None when there is no header (no condition)."""
        if not header:
            return None
        return cls(tuple(part.strip() for part in header.split(",") if part.strip()))

    def match(self, version: int) -> bool:
        """Whether the tags name this version; ``*`` names any, and the comparison is weak
        (RFC 7232 §2.3.2: ``W/`` prefixes are ignored)."""
        current = etag(version).removeprefix("W/")
        return any(tag == "*" or tag.removeprefix("W/") == current for tag in self.tags)


def require(if_match: EntityTags | None, resource: str, scim_id: str, version: int) -> None:
    """Check a write's ``If-Match`` against the locked row's version.

    :raises PreconditionFailedError: the client's copy is out of date (412).
    """
    if if_match is not None and not if_match.match(version):
        raise PreconditionFailedError(
            f"{resource} {scim_id} has changed: its version is now {etag(version)}"
        )


def bump(record: User | Group) -> None:
    """A change that GET shows: the version and lastModified move (the caller saves)."""
    record.version += 1
    record.last_modified = utcnow()


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
