"""SCIM groups pushed by Okta: create, replace, patch (members by delta), delete, read, list."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from peewee import chunked, fn

import database
from extensions import db
from models import Group, GroupMember, Integration, User, utcnow
from scim.errors import NotFoundError
from scim.filter_ast import Filter
from scim.patch import MemberOp, apply_patch
from scim.query import dialect_of, to_expression
from scim.schemas import GROUP_RESOURCE
from services.platform import audit
from services.platform.audit import Actor
from services.resources import versions
from services.resources.resource_limits import load_bounded_resource
from services.resources.scim_fields import GROUP_FIELDS, MEMBER_FIELDS
from services.resources.scim_listing import ListQuery, Page, page_of
from services.resources.versions import EntityTags
from services.users.provisioning import member_display

# Keeps each statement's bound parameters well under SQLite's limit.
BATCH = 500


def _columns_from(document: Mapping[str, Any]) -> dict[str, Any]:
    display_name: str = document["displayName"]
    return {
        "display_name": display_name,
        "display_name_key": display_name.casefold(),
        "external_id": document.get("externalId"),
    }


def _split(document: dict[str, Any]) -> tuple[dict[str, Any], list[str] | None]:
    """Separate the member ids from the document: members are rows, not JSON."""
    members = document.pop("members", None)
    if members is None:
        return document, None
    return document, [m["value"] for m in members if isinstance(m, Mapping) and "value" in m]


# How many skipped member ids one audit entry keeps (the count is always exact).
AUDITED_UNKNOWN_IDS = 100


@dataclass
class MemberChanges:
    """What a membership change did: members added and removed, and ids it skipped."""

    added: int = 0
    removed: int = 0
    unknown: list[str] = field(default_factory=list)


def _user_ids(
    integration: Integration, scim_ids: Iterable[str], changes: MemberChanges
) -> list[int]:
    """Row ids of this integration's live users, in the order given.

    A value that names no live user of this integration (deleted, never provisioned, or of
    another integration) is skipped and noted in ``changes.unknown``: Okta and Entra push
    groups whose members may already be gone here, and one stale id must not fail the push.
    """
    wanted = list(dict.fromkeys(scim_ids))
    found: dict[str, int] = {}
    for batch in chunked(wanted, BATCH):
        rows = (
            User.select(User.scim_id, User.id)
            .where(
                User.integration == integration,
                User.deleted_at.is_null(),
                User.scim_id.in_(batch),
            )
            .tuples()
        )
        found.update(rows)
    changes.unknown += [value for value in wanted if value not in found]
    return [found[value] for value in wanted if value in found]


def _is_member(group: Group) -> Any:
    """A condition on ``User``: the user is a member of the group."""
    return fn.EXISTS(
        GroupMember.select(GroupMember.user).where(
            GroupMember.group == group.id, GroupMember.user == User.id
        )
    )


def _add_members(group: Group, user_ids: list[int]) -> int:
    added = 0
    for batch in chunked(user_ids, BATCH):
        # Newcomers' GETs now list this group; members already in it do not change.
        versions.touch_users(User.id.in_(batch) & ~_is_member(group))
        added += (
            GroupMember.insert_many([(group.id, uid) for uid in batch], fields=["group", "user"])
            .on_conflict_ignore()
            .as_rowcount()
            .execute()
        )
    return added


def _remove_members(group: Group, user_ids: list[int] | None) -> int:
    query = GroupMember.delete().where(GroupMember.group == group.id)
    if user_ids is None:
        versions.touch_members_of(group.id)
        return int(query.execute())
    removed = 0
    for batch in chunked(user_ids, BATCH):
        versions.touch_users(User.id.in_(batch) & _is_member(group))
        removed += int(
            GroupMember.delete()
            .where(GroupMember.group == group.id, GroupMember.user.in_(batch))
            .execute()
        )
    return removed


def _remove_matching(group: Group, value_filter: Filter) -> int:
    """Remove the members a ``members[...]`` filter selects, evaluated in SQL."""
    condition = to_expression(value_filter, MEMBER_FIELDS, dialect_of(db))
    doomed = (
        GroupMember.select(GroupMember.user)
        .join(User)
        .where(GroupMember.group == group.id, condition)
    )
    versions.touch_users(User.id.in_(doomed))
    return int(
        GroupMember.delete()
        .where(GroupMember.group == group.id, GroupMember.user.in_(doomed))
        .execute()
    )


def _apply_member_ops(integration: Integration, group: Group, ops: list[MemberOp]) -> MemberChanges:
    """Apply a PATCH's member operations in order, at the cost of set operations.

    A run of ``add`` and ``remove`` operations that name their members is folded into each
    member's final state (the last operation naming them wins), then written as one
    insert-ignore and one delete per batch: 1,000 operations of 20 members each cost what one
    operation of the distinct members costs. A ``replace``, a filtered ``remove`` or a
    remove-all ends the run, so the order Okta sent is kept.
    """
    changes = MemberChanges()
    wanted: dict[str, bool] = {}

    def flush() -> None:
        _apply_net(integration, group, wanted, changes)
        wanted.clear()

    for op in ops:
        if op.action == "add":
            wanted.update(dict.fromkeys(op.values or (), True))
        elif op.action == "remove" and op.value_filter is None and op.values is not None:
            # Microsoft Entra lists the members to remove as values (docs/okta.md §1.8).
            wanted.update(dict.fromkeys(op.values, False))
        elif op.action == "replace":
            flush()
            # Apply the difference only: re-pushing the same members changes nothing.
            ids = _user_ids(integration, op.values or (), changes)
            current = {
                uid
                for (uid,) in GroupMember.select(GroupMember.user)
                .where(GroupMember.group == group.id)
                .tuples()
            }
            changes.removed += _remove_members(group, sorted(current - set(ids)))
            changes.added += _add_members(group, [uid for uid in ids if uid not in current])
        elif op.value_filter is not None:
            flush()
            changes.removed += _remove_matching(group, op.value_filter)
        else:
            flush()
            changes.removed += _remove_members(group, None)
    flush()
    return changes


def _apply_net(
    integration: Integration, group: Group, wanted: Mapping[str, bool], changes: MemberChanges
) -> None:
    """Make each named user a member (True) or not (False)."""
    joining = [scim_id for scim_id, member in wanted.items() if member]
    leaving = [scim_id for scim_id, member in wanted.items() if not member]
    if joining:
        changes.added += _add_members(group, _user_ids(integration, joining, changes))
    if leaving:
        changes.removed += _remove_members(group, _known_ids(integration, leaving))


def _known_ids(integration: Integration, scim_ids: Iterable[str]) -> list[int]:
    ids = list(scim_ids)
    return [
        uid
        for batch in chunked(ids, BATCH)
        for (uid,) in User.select(User.id)
        .where(User.integration == integration, User.scim_id.in_(batch))
        .tuples()
    ]


def _live(integration: Integration) -> Any:
    return Group.select().where(Group.integration == integration)


def get_group(integration: Integration, scim_id: str) -> Group:
    """The group with this SCIM id in this integration.

    :raises NotFoundError: when there is none (or it belongs to another integration).
    """
    group = _live(integration).where(Group.scim_id == scim_id).first()
    if group is None:
        raise NotFoundError(f"Group {scim_id} not found")
    return group


def _locked_group(integration: Integration, scim_id: str, precondition: EntityTags | None) -> Group:
    group = database.for_update(_live(integration).where(Group.scim_id == scim_id)).first()
    if group is None:
        raise NotFoundError(f"Group {scim_id} not found")
    versions.require(precondition, "Group", scim_id, group.version)
    return group


def _record(
    group: Group, actor: Actor, action: str, changed: list[str], changes: MemberChanges
) -> None:
    added, removed = changes.added, changes.removed
    detail = {"members_added": added, "members_removed": removed} if added or removed else {}
    audit.record(
        group.integration_id,
        actor,
        action,
        target_type="Group",
        target_id=group.scim_id,
        changed=changed,
        detail=detail,
    )
    if changes.unknown:
        # Its own entry, so the audit log's action filter finds every skipped member.
        audit.record(
            group.integration_id,
            actor,
            "group.members_skipped",
            target_type="Group",
            target_id=group.scim_id,
            detail={
                "request": action,
                "unknown_member_count": len(changes.unknown),
                "unknown_member_ids": changes.unknown[:AUDITED_UNKNOWN_IDS],
            },
        )


def create_group(integration: Integration, actor: Actor, body: Any) -> Group:
    """Create a group (Okta Push Groups) with its initial members.

    :raises ScimError: an invalid body (400); unknown member ids are skipped and audited.
    """
    document, member_ids = _split(load_bounded_resource(body, GROUP_RESOURCE))
    now = utcnow()
    with db.atomic():
        group = Group.create(
            integration=integration,
            document=document,
            created=now,
            last_modified=now,
            **_columns_from(document),
        )
        changes = MemberChanges()
        changes.added = _add_members(group, _user_ids(integration, member_ids or [], changes))
        changed = [k for k in document if k != "schemas"] + (["members"] if changes.added else [])
        _record(group, actor, "group.create", sorted(changed), changes)
    return group


def replace_group(
    integration: Integration,
    actor: Actor,
    scim_id: str,
    body: Any,
    precondition: EntityTags | None = None,
) -> Group:
    """Replace a group with a PUT body; ``members`` in the body replaces the membership.

    :raises ScimError: 404, 412 or an invalid body (400); unknown member ids are skipped.
    """
    document, member_ids = _split(load_bounded_resource(body, GROUP_RESOURCE))
    with db.atomic():
        group = _locked_group(integration, scim_id, precondition)
        changed = sorted(
            k
            for k in set(document) | set(group.document)
            if k != "schemas" and document.get(k) != group.document.get(k)
        )
        changes = MemberChanges()
        if member_ids is not None:
            ops = [MemberOp(action="replace", values=tuple(member_ids), value_filter=None)]
            changes = _apply_member_ops(integration, group, ops)
        moved = bool(changes.added or changes.removed)
        _save(group, document, bool(changed) or moved)
        if moved:
            changed.append("members")
        _record(group, actor, "group.replace", changed, changes)
    return group


def _save(group: Group, document: dict[str, Any], changed: bool) -> None:
    renamed = document["displayName"] != group.display_name
    group.document = document
    for column, value in _columns_from(document).items():
        setattr(group, column, value)
    if changed:
        versions.bump(group)
    group.save()
    if renamed:
        # Every member's GET lists the group by its name.
        versions.touch_members_of(group.id)


def patch_group(
    integration: Integration,
    actor: Actor,
    scim_id: str,
    body: Any,
    precondition: EntityTags | None = None,
) -> Group:
    """Apply a PATCH; member changes cost in proportion to the members named, not the group.

    :raises ScimError: 404, 412 or an invalid operation (400); unknown member ids are skipped.
    """
    with db.atomic():
        group = _locked_group(integration, scim_id, precondition)
        current = {**group.document, "id": group.scim_id}
        result = apply_patch(current, body, GROUP_RESOURCE, deferred=frozenset({"members"}))
        document, _ = _split(load_bounded_resource(result.document, GROUP_RESOURCE))
        changes = _apply_member_ops(integration, group, list(result.member_ops))
        moved = bool(changes.added or changes.removed)
        changed = [c for c in result.changed if c != "members"]
        if moved:
            changed.append("members")
        # Okta re-sends the group's name with every membership change (docs/okta.md §1.8).
        _save(group, document, document != group.document or moved)
        _record(group, actor, "group.patch", changed, changes)
    return group


def delete_group(
    integration: Integration, actor: Actor, scim_id: str, precondition: EntityTags | None = None
) -> None:
    """Delete a group and its memberships (the users stay).

    :raises ScimError: 404 or 412.
    """
    with db.atomic():
        group = _locked_group(integration, scim_id, precondition)
        _record(group, actor, "group.delete", [], MemberChanges())
        versions.touch_members_of(group.id)
        GroupMember.delete().where(GroupMember.group == group.id).execute()
        group.delete_instance()


def list_groups(integration: Integration, query: ListQuery) -> Page:
    """A page of the integration's groups matching the filter, in a stable order.

    :raises InvalidFilterError: when the filter or sortBy cannot be evaluated.
    """
    return page_of(_live(integration), Group, GROUP_FIELDS, query)


def members_of(groups: list[Group]) -> dict[int, list[tuple[str, str]]]:
    """Each group's members as (user SCIM id, display), in one query."""
    found: dict[int, list[tuple[str, str]]] = {g.id: [] for g in groups}
    if not groups:
        return found
    rows = (
        GroupMember.select(GroupMember.group, User.scim_id, User.display_name, User.user_name)
        .join(User)
        .where(GroupMember.group.in_(list(found)))
        .order_by(GroupMember.group, User.id)
        .tuples()
    )
    for group_id, user_id, display_name, user_name in rows:
        found[group_id].append((user_id, member_display(display_name, user_name)))
    return found


MEMBER_BATCH = 1000


def member_batches(group_id: int, size: int = MEMBER_BATCH) -> Iterator[list[tuple[str, str]]]:
    """The group's members as (user SCIM id, display), ``size`` at a time in user order, so
    that a caller can send each batch before the next is read (a group may hold every user
    of the org). Keyset on the membership's primary key (group, user): each batch is a
    range scan, however deep into the group."""
    after = 0
    while True:
        rows = list(
            GroupMember.select(GroupMember.user, User.scim_id, User.display_name, User.user_name)
            .join(User)
            .where(GroupMember.group == group_id, GroupMember.user > after)
            .order_by(GroupMember.user)
            .limit(size)
            .tuples()
        )
        if not rows:
            return
        after = rows[-1][0]
        yield [(sid, member_display(shown, name)) for _, sid, shown, name in rows]
