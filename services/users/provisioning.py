"""SCIM user provisioning: create, replace, patch, delete, read and list one integration's users."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from peewee import JOIN, IntegrityError

import database
import row_writes
from database import CompiledQuery
from extensions import db
from models import Group, GroupMember, Integration, User, utcnow
from scim.errors import NotFoundError, UniquenessError
from scim.filter_ast import Compare, Filter
from scim.patch import apply_patch
from scim.schemas import USER_RESOURCE
from services.platform import audit
from services.platform.audit import Actor
from services.resources import versions
from services.resources.resource_limits import load_bounded_resource
from services.resources.scim_fields import USER_FIELDS
from services.resources.scim_listing import ListQuery, Page, page_of
from services.resources.user_columns import columns_from
from services.resources.versions import EntityTags
from services.users import lifecycle

# Called with the resource's current version; False means the If-Match precondition failed.


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    keys = set(before) | set(after)
    return sorted(k for k in keys if k != "schemas" and before.get(k) != after.get(k))


def _live(integration: Integration | str) -> Any:
    return User.select().where(User.integration == integration, User.deleted_at.is_null())


_user_by_id = CompiledQuery(
    User,
    lambda integration_id, scim_id: _live(integration_id).where(User.scim_id == scim_id),
)
_user_by_name = CompiledQuery(
    User,
    lambda integration_id, key: _live(integration_id).where(User.user_name_key == key),
)
_groups_of_user = CompiledQuery(
    GroupMember,
    lambda user_id: (
        GroupMember.select(GroupMember.user, Group.scim_id, Group.display_name)
        .join(Group)
        .where(GroupMember.user == user_id)
        .order_by(Group.id)
    ),
)


# A user's groups as its GET lists them: (group SCIM id, display name), in group order.
UserGroups = list[tuple[str, str]]

_user_with_groups = CompiledQuery(
    User,
    lambda integration_id, scim_id: (
        _live(integration_id)
        .select(User, Group)
        .join(GroupMember, JOIN.LEFT_OUTER, on=(GroupMember.user == User.id))
        .join(Group, JOIN.LEFT_OUTER, on=(Group.id == GroupMember.group))
        .where(User.scim_id == scim_id)
        .order_by(Group.id)
    ),
)


def get_user(integration: Integration, scim_id: str) -> User:
    """The live user with this SCIM id in this integration.

    :raises NotFoundError: when there is none (or it belongs to another integration).
    """
    found = _user_by_id(integration.id, scim_id)
    if not found:
        raise NotFoundError(f"User {scim_id} not found")
    return found[0]


def get_user_with_groups(integration: Integration, scim_id: str) -> tuple[User, UserGroups]:
    """The live user and its groups as (group SCIM id, display name), in one query.

    :raises NotFoundError: when there is none (or it belongs to another integration).
    """
    rows = _user_with_groups.joined((User, Group), integration.id, scim_id)
    return _user_and_groups(rows, scim_id)


def _user_and_groups(rows: list[tuple[User, Group]], scim_id: str) -> tuple[User, UserGroups]:
    """The user of a user-groups join and its groups; NotFoundError when there are no rows."""
    if not rows:
        raise NotFoundError(f"User {scim_id} not found")
    return rows[0][0], [(group.scim_id, group.display_name) for _, group in rows if group.scim_id]


def _user_name_lookup(flt: Filter | None) -> str | None:
    """The userName of Okta's own filter, ``userName eq "x"``, or None for any other."""
    if (
        isinstance(flt, Compare)
        and flt.op == "eq"
        and isinstance(flt.value, str)
        and flt.path.sub_attr is None
        and flt.path.attr.lower() == "username"
        and (flt.path.uri is None or flt.path.uri.lower() == USER_RESOURCE.schema.id.lower())
    ):
        return flt.value
    return None


# The user row locked, its groups beside it: neither a PUT nor a PATCH of a user changes its
# memberships, so the answer needs no second query.
_locked_user_with_groups = CompiledQuery(
    User,
    lambda integration_id, scim_id: database.for_update(
        _user_with_groups.build(integration_id, scim_id), of=User
    ),
)


def _locked_user(
    integration: Integration, scim_id: str, precondition: EntityTags | None
) -> tuple[User, UserGroups]:
    """The live user, locked for this transaction, and its groups as GET shows them.

    :raises NotFoundError: when there is none; PreconditionFailedError when If-Match fails.
    """
    rows = _locked_user_with_groups.joined((User, Group), integration.id, scim_id)
    user, groups = _user_and_groups(rows, scim_id)
    versions.require(precondition, "User", scim_id, user.version)
    return user, groups


def _taken(user_name: str) -> UniquenessError:
    return UniquenessError(f'a user with userName "{user_name}" already exists')


def create_user(integration: Integration, actor: Actor, body: Any) -> User:
    """Create a user from a SCIM POST body.

    :raises ScimError: invalid body (400) or a taken userName (409).
    """
    document = load_bounded_resource(body, USER_RESOURCE)
    # "active" lives in its column only: lifecycle events change it without a SCIM write.
    active = document.pop("active", True)
    now = utcnow()
    user = User(
        integration=integration,
        document=document,
        active=active,
        created=now,
        last_modified=now,
        **columns_from(document),
    )
    invitation = lifecycle.prepare_provisioned(user)
    try:
        # The unique index on (integration, user_name_key) decides races: no check-then-insert.
        lifecycle.provisioned(user, actor, invitation)
    except IntegrityError:
        raise _taken(document["userName"]) from None
    return user


def member_display(display_name: str | None, user_name: str | None) -> str:
    """How a group's ``members`` show a user: its displayName, else its userName."""
    return display_name or user_name or ""


def active_unassigned(user: User) -> bool:
    """Whether a SCIM client removed ``active`` (RFC 7644 §3.5.2.2 ``remove``).

    The stored document keeps ``"active": null`` for it (otherwise ``active`` lives in its
    column only). The lifecycle fails closed: an unassigned ``active`` counts as not active
    (deactivated, link revoked, out of the Okta group), GET leaves ``active`` out, and only
    ``active: true`` brings the user back.
    """
    return "active" in user.document and user.document["active"] is None


def _store(
    user: User,
    document: dict[str, Any],
    actor: Actor,
    action: str,
    unassign: bool = False,
) -> None:
    """Write a new document onto a locked user: columns, version, lifecycle, audit.

    ``unassign``: the request removed ``active``. A document without ``active`` keeps the
    current status, unassigned included.
    """
    if unassign or ("active" not in document and active_unassigned(user)):
        document.pop("active", None)
        active = False
        document["active"] = None
    else:
        active = document.pop("active", user.active)
    changed = _changed(user.document, document)
    if active != user.active:
        changed.append("active")
    shown_before = member_display(user.display_name, user.user_name)
    user.document = document
    for column, value in columns_from(document).items():
        setattr(user, column, value)
    if changed:
        versions.bump(user)
    lifecycle.set_active(user, active, actor)
    row_writes.update_row(user)
    if member_display(user.display_name, user.user_name) != shown_before:
        # The user's groups list it by this name: their GETs changed too.
        versions.touch_groups_of(user.id)
    profile_changes = [c for c in changed if c != "active"]
    if profile_changes:
        audit.record(
            user.integration_id,
            actor,
            action,
            target_type="User",
            target_id=user.scim_id,
            changed=profile_changes,
        )


def replace_user(
    integration: Integration,
    actor: Actor,
    scim_id: str,
    body: Any,
    precondition: EntityTags | None = None,
) -> tuple[User, UserGroups]:
    """Replace a user with a SCIM PUT body (Okta echoes our GET plus its changes); returns
    the user and its groups.

    :raises ScimError: 404, 412, invalid body (400) or a taken userName (409).
    """
    document = load_bounded_resource(body, USER_RESOURCE)
    try:
        with db.atomic():
            user, groups = _locked_user(integration, scim_id, precondition)
            # A PUT without "active" keeps the current status rather than inventing one.
            _store(user, document, actor, "user.replace")
    except IntegrityError:
        raise _taken(document["userName"]) from None
    return user, groups


def patch_user(
    integration: Integration,
    actor: Actor,
    scim_id: str,
    body: Any,
    precondition: EntityTags | None = None,
) -> tuple[User, UserGroups]:
    """Apply a SCIM PATCH to a user, all or nothing; returns the user and its groups.

    :raises ScimError: 404, 412, an invalid operation (400) or a taken userName (409).
    """
    document: dict[str, Any] = {}
    try:
        with db.atomic():
            user, groups = _locked_user(integration, scim_id, precondition)
            current = {**user.document, "id": user.scim_id, "active": user.active}
            if active_unassigned(user):
                del current["active"]
            result = apply_patch(current, body, USER_RESOURCE)
            removed = not any(key.lower() == "active" for key in result.document)
            document = load_bounded_resource(result.document, USER_RESOURCE)
            _store(user, document, actor, "user.patch", unassign=removed)
    except IntegrityError:
        raise _taken(document.get("userName", "")) from None
    return user, groups


def delete_user(
    integration: Integration, actor: Actor, scim_id: str, precondition: EntityTags | None = None
) -> None:
    """Delete a user: personal data erased, a tombstone kept, its userName free again.

    :raises ScimError: 404 or 412.
    """
    with db.atomic():
        user, _ = _locked_user(integration, scim_id, precondition)
        lifecycle.delete(user, actor)
        versions.bump(user)
        user.save()


def list_users(integration: Integration, query: ListQuery) -> Page:
    """A page of the integration's live users matching the filter, in a stable order.

    :raises InvalidFilterError: when the filter or sortBy cannot be evaluated.
    """
    user_name = _user_name_lookup(query.filter)
    if user_name is not None and query.sort_by is None:
        # Okta's match-before-create query: at most one row, by the unique index.
        matches = _user_by_name(integration.id, user_name.casefold())
        items = matches[query.start_index - 1 : query.start_index - 1 + query.count]
        return Page(total=len(matches), start_index=query.start_index, items=items)
    return page_of(_live(integration), User, USER_FIELDS, query)


def groups_of(users: list[User]) -> dict[int, UserGroups]:
    """Each user's groups as (group SCIM id, display name), in one query."""
    found: dict[int, UserGroups] = {u.id: [] for u in users}
    if len(users) == 1:
        rows_of_one = _groups_of_user(users[0].id)
        found[users[0].id] = [(row.scim_id, row.display_name) for row in rows_of_one]
        return found
    if not users:
        return found
    rows = (
        GroupMember.select(GroupMember.user, Group.scim_id, Group.display_name)
        .join(Group)
        .where(GroupMember.user.in_(list(found)))
        .order_by(Group.id)
        .tuples()
    )
    for user_id, group_id, display in rows:
        found[user_id].append((group_id, display))
    return found
