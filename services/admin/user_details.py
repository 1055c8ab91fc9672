"""The admin user page's read model: a stored SCIM document as labelled rows, and the page."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from models import EmailMessage, GroupSync, Integration, Invitation, User
from scim.schemas import ENTERPRISE_USER_URN, USER_URN
from services.admin.timeline import Entry, user_timeline
from services.admin.troubleshooting import Finding, diagnose

# Never part of what Okta synced, or shown elsewhere on the page.
_SKIPPED = frozenset({"schemas", "id", "meta", "password"})
# The core attributes in the order people read a profile; the rest follow alphabetically.
_CORE_ORDER = (
    "userName",
    "externalId",
    "name",
    "displayName",
    "nickName",
    "title",
    "userType",
    "emails",
    "phoneNumbers",
    "addresses",
    "preferredLanguage",
    "locale",
    "timezone",
    "profileUrl",
)
_NAME_ORDER = (
    "formatted",
    "honorificPrefix",
    "givenName",
    "middleName",
    "familyName",
    "honorificSuffix",
)
# Words of an extension URN that say nothing to a reader ("urn:ietf:params:scim:...:2.0:User").
_URN_NOISE = frozenset({"urn", "ietf", "params", "scim", "schemas", "extension", "user"})
GROUP_SYNC_RETRYABLE = frozenset({"pending", "waiting", "failed"})


@dataclass(frozen=True)
class AttributeRow:
    """One synced attribute: a readable path and its value as text."""

    label: str
    value: str


@dataclass(frozen=True)
class UserDetails:
    """Everything the admin user page shows."""

    user: User
    integration_name: str
    attributes: list[AttributeRow]
    document_json: str
    findings: list[Finding]
    timeline: list[Entry]
    group_sync: GroupSync | None
    invitations: list[Invitation] = field(default_factory=list)
    # Invitation ids whose email the console mailer kept (viewable instead of sent).
    kept: frozenset[int] = frozenset()

    @property
    def can_resend(self) -> bool:
        """Whether a new welcome email can be sent (only to a user waiting to enroll)."""
        return bool(self.user.state == "invited")

    @property
    def can_retry_group_sync(self) -> bool:
        """Whether a group membership change is unfinished."""
        return self.group_sync is not None and self.group_sync.status in GROUP_SYNC_RETRYABLE


def urn_label(urn: str) -> str:
    """A short label for a schema extension URN (``enterprise``, ``okta acme custom``)."""
    if urn == ENTERPRISE_USER_URN:
        return "enterprise"
    words = [
        word
        for word in urn.split(":")
        if word and word.casefold() not in _URN_NOISE and not word.replace(".", "").isdigit()
    ]
    return " ".join(words) or urn


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _ordered_keys(mapping: Mapping[str, Any], preferred: Iterable[str] = ()) -> list[str]:
    first = [key for key in preferred if key in mapping]
    return first + sorted(key for key in mapping if key not in first)


def _qualifier(item: Mapping[str, Any]) -> str:
    """The label suffix, e.g. " (work, primary)", from a value's type and primary flag."""
    words = [str(item["type"])] if item.get("type") not in (None, "") else []
    if item.get("primary") is True:
        words.append("primary")
    return f" ({', '.join(words)})" if words else ""


def _rows(path: str, value: Any, suffix: str = "") -> Iterator[AttributeRow]:
    if isinstance(value, Mapping):
        if not value:
            yield AttributeRow(path + suffix, "(empty)")
        preferred = _NAME_ORDER if path == "name" else ("value", "display")
        for key in _ordered_keys(value, preferred):
            yield from _rows(f"{path}.{key}", value[key], suffix)
    elif isinstance(value, list):
        if not value:
            yield AttributeRow(path + suffix, "(empty)")
        elif not any(isinstance(item, Mapping | list) for item in value):
            yield AttributeRow(path + suffix, ", ".join(_text(item) for item in value))
        else:
            for index, item in enumerate(value):
                yield from _item_rows(f"{path}[{index}]", item)
    else:
        yield AttributeRow(path + suffix, _text(value))


def _item_rows(path: str, item: Any) -> Iterator[AttributeRow]:
    """One value of a multi-valued attribute; its type and primary flag label the others."""
    if not isinstance(item, Mapping):
        yield from _rows(path, item)
        return
    qualifier = _qualifier(item)
    rest = {k: v for k, v in item.items() if not (qualifier and k in {"type", "primary"})}
    if not rest:
        yield AttributeRow(path + qualifier, "(empty)")
    for key in _ordered_keys(rest, ("value", "display")):
        yield from _rows(f"{path}.{key}", rest[key], qualifier)


def flatten_document(document: Mapping[str, Any]) -> list[AttributeRow]:
    """Rows for every attribute in a stored SCIM user document: core attributes first,
    then each schema extension's, labelled with a short form of its URN."""
    core = {k: v for k, v in document.items() if ":" not in k and k not in _SKIPPED}
    extensions = {k: v for k, v in document.items() if ":" in k and k != USER_URN}
    rows = [row for key in _ordered_keys(core, _CORE_ORDER) for row in _rows(key, core[key])]
    urns = _ordered_keys(extensions, (ENTERPRISE_USER_URN,))
    for urn in urns:
        label = urn_label(urn)
        value = extensions[urn]
        if isinstance(value, Mapping) and value:
            for key in _ordered_keys(value, ("employeeNumber", "department")):
                rows.extend(_rows(f"{label}:{key}", value[key]))
        else:
            rows.extend(_rows(label, value))
    return rows


def find_user(scim_id: str) -> User | None:
    """The user (or tombstone) with this SCIM id, in any integration."""
    return User.get_or_none(User.scim_id == scim_id)


def unfinished_group_sync(user: User) -> GroupSync | None:
    """The user's group membership change, if it is pending, waiting or failed."""
    return GroupSync.get_or_none(
        GroupSync.user == user.id, GroupSync.status.in_(sorted(GROUP_SYNC_RETRYABLE))
    )


def user_details(scim_id: str) -> UserDetails | None:
    """The user page for the user (or tombstone) with this SCIM id, or None."""
    user = find_user(scim_id)
    if user is None:
        return None
    document = user.document or {}
    invitations = list(
        Invitation.select().where(Invitation.user == user.id).order_by(Invitation.id.desc())
    )
    return UserDetails(
        user=user,
        integration_name=Integration.select(Integration.name)
        .where(Integration.id == user.integration_id)
        .scalar()
        or user.integration_id,
        attributes=flatten_document(document),
        document_json=json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False),
        findings=diagnose(user),
        timeline=user_timeline(user),
        group_sync=GroupSync.get_or_none(GroupSync.user == user.id),
        invitations=invitations,
        kept=frozenset(
            invitation_id
            for (invitation_id,) in EmailMessage.select(EmailMessage.invitation)
            .where(EmailMessage.invitation.in_([i.id for i in invitations]))
            .tuples()
        )
        if invitations
        else frozenset(),
    )


def scim_ids(user_ids: Iterable[int | None]) -> dict[int, str]:
    """User row id → SCIM id, for linking rows that name a user to the user's page."""
    wanted = sorted({user_id for user_id in user_ids if user_id is not None})
    if not wanted:
        return {}
    return dict(User.select(User.id, User.scim_id).where(User.id.in_(wanted)).tuples())
