"""Readable names for the audit log's actors and targets, looked up a page at a time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from models import AdminUser, AuditEntry, Group, ScimToken, User


def _digits(values: Iterable[str]) -> list[int]:
    return [int(value) for value in values if value.isascii() and value.isdigit()][:1000]


def _users(ids: set[str]) -> dict[str, str]:
    rows = User.select(User.scim_id, User.user_name, User.display_name).where(
        User.scim_id.in_(list(ids))
    )
    return {user.scim_id: user.user_name or user.display_name or "(deleted user)" for user in rows}


def _groups(ids: set[str]) -> dict[str, str]:
    rows = Group.select(Group.scim_id, Group.display_name).where(Group.scim_id.in_(list(ids)))
    return dict(rows.tuples())


def _tokens(ids: set[str]) -> dict[str, str]:
    rows = ScimToken.select(ScimToken.id, ScimToken.label, ScimToken.prefix).where(
        ScimToken.id.in_(_digits(ids))
    )
    return {str(token.id): token.label or f"token {token.prefix}" for token in rows}


def _admins(ids: set[str]) -> dict[str, str]:
    rows = AdminUser.select(AdminUser.id, AdminUser.email).where(AdminUser.id.in_(_digits(ids)))
    return {str(admin.id): admin.email for admin in rows}


_LOOKUPS: dict[str, Any] = {
    "User": _users,
    "Group": _groups,
    "ScimToken": _tokens,
    "Admin": _admins,
}


def audit_names(entries: list[AuditEntry]) -> dict[tuple[str, str], str]:
    """``(kind, id) -> name`` for the targets and SCIM-token actors of ``entries``."""
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        if entry.target_type in _LOOKUPS and entry.target_id:
            wanted.setdefault(entry.target_type, set()).add(entry.target_id)
        if entry.actor_type == "scim_token" and entry.actor_id:
            wanted.setdefault("ScimToken", set()).add(entry.actor_id)
    names: dict[tuple[str, str], str] = {}
    for kind, ids in wanted.items():
        for found_id, name in _LOOKUPS[kind](ids).items():
            names[(kind, found_id)] = name
    return names
