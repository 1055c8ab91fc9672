"""The user lifecycle (docs/architecture.md): every state change of a user goes through this module.

A user's state is derived from a few facts on its row (deleted > deactivated > suspended >
enrolled > invited), so each transition changes facts, is idempotent, and writes one audit
entry. Side effects are rows written in the caller's transaction (an invitation whose email
is queued, a desired Okta group membership) that the worker then carries out.
Callers hold the transaction (``db.atomic()``) and the row lock; nothing here commits.

Transitions, as in docs/architecture.md's table:

=============  =====================  ==================================================
transition     new state              side effects
=============  =====================  ==================================================
provisioned    invited / deactivated  an invitation with its welcome email, if active
deactivate     deactivated            invitations revoked; group membership out (SCIM, or
                                      the events deactivate / unassigned from our app)
reactivate     invited                enrollment reset; suspension cleared; new invitation
                                      (SCIM only: reactivate/activate events change nothing)
suspend        suspended              invitations revoked (the link stops working)
unsuspend      the state before       a new invitation if the user had not enrolled yet
delete         deleted                personal data erased (tombstone kept); membership out
enroll         enrolled               group membership in
resend         invited                old invitations revoked, a new one sent
=============  =====================  ==================================================
"""

from __future__ import annotations

import datetime as dt

import database
import row_writes
from extensions import db
from models import AuditEntry, GroupMember, Invitation, User, utcnow
from row_writes import RowWrites
from services.email import invitations
from services.errors import ConflictError, NotFoundError
from services.okta import group_sync
from services.platform import audit
from services.platform.audit import Actor
from services.resources import versions
from services.resources.user_columns import PERSONAL_COLUMNS
from services.users import erasure, pending_events


def derive_state(user: User) -> str:
    """The lifecycle state the user's facts imply."""
    if user.deleted_at is not None:
        return "deleted"
    if not user.active:
        return "deactivated"
    if user.suspended:
        return "suspended"
    if user.enrolled_at is not None:
        return "enrolled"
    return "invited"


def desired_membership(user: User) -> str:
    """Whether the user belongs in the passwordless group: only once enrolled, and never
    when deactivated or deleted (a suspended user keeps it; Okta blocks their sign-in)."""
    enrolled = user.enrolled_at is not None
    return "in" if enrolled and user.active and user.deleted_at is None else "out"


def locked_user(user_id: int) -> User:
    """The user row, locked for the rest of the transaction.

    :raises NotFoundError: when there is no such user.
    """
    user = database.for_update(User.select().where(User.id == user_id)).first()
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    return user


def _settle(user: User) -> None:
    user.state = derive_state(user)
    group_sync.want(user, desired_membership(user))


def _record(
    user: User, actor: Actor, action: str, changed: list[str] | None = None, **detail: object
) -> None:
    row_writes.insert_row(_entry(user, actor, action, changed, **detail))


def _entry(
    user: User, actor: Actor, action: str, changed: list[str] | None = None, **detail: object
) -> AuditEntry:
    if changed is None:
        changed = ["active"] if action in {"user.deactivate", "user.reactivate"} else []
    return audit.entry(
        user.integration_id,
        actor,
        action,
        target_type="User",
        target_id=user.scim_id,
        changed=changed,
        detail={"state": user.state, **detail},
    )


def prepare_provisioned(user: User) -> Invitation | None:
    """Derive a new, unsaved user's state and draft its invitation (an active user gets one).

    Called before the write transaction, so that :func:`provisioned` holds the write lock
    for the INSERTs alone.
    """
    user.status_changed_at = user.created
    user.state = derive_state(user)
    return invitations.draft_invitation(user, "created") if user.state == "invited" else None


def provisioned(user: User, actor: Actor, invitation: Invitation | None) -> None:
    """Insert a user just created over SCIM (active or not), with its side effects.

    ``user`` and ``invitation`` come from :func:`prepare_provisioned`, so the row is
    written once. A new user has not enrolled, so it never belongs in the passwordless
    group and there is no membership to record.
    """
    writes = RowWrites()
    writes.insert(user)
    if invitation is not None:
        invitations.add_invitation(writes, invitation)
    attributes = [k for k in user.document if k != "schemas"]
    writes.insert(_entry(user, actor, "user.create", changed=attributes))
    pending_events.reopen_for(writes, user)
    writes.run()


def set_active(user: User, active: bool, actor: Actor, at: dt.datetime | None = None) -> bool:
    """Deactivate or reactivate; returns whether anything changed (idempotent)."""
    if user.deleted_at is not None or bool(user.active) == active:
        return False
    user.active = active
    user.status_changed_at = at or utcnow()
    if active:
        # Reactivation starts over: a new invitation, enrollment reset (docs/architecture.md).
        user.enrolled_at = None
        user.suspended = False
        _settle(user)
        invitations.revoke_invitations(user, "reactivated")
        invitations.issue_invitation(user, "reactivated")
    else:
        invitations.revoke_invitations(user, "deactivated")
        _settle(user)
    _record(user, actor, "user.reactivate" if active else "user.deactivate")
    return True


def set_suspended(user: User, suspended: bool, actor: Actor, at: dt.datetime | None = None) -> bool:
    """Suspend or unsuspend (Okta events only; SCIM never says); returns whether it changed."""
    if user.deleted_at is not None or bool(user.suspended) == suspended:
        return False
    user.suspended = suspended
    user.suspension_changed_at = at or utcnow()
    if suspended:
        invitations.revoke_invitations(user, "suspended")
    _settle(user)
    if not suspended and user.state == "invited" and invitations.live_invitation(user) is None:
        # The link was revoked on suspension; someone who never enrolled needs a new one.
        invitations.issue_invitation(user, "unsuspended")
    _record(user, actor, "user.suspend" if suspended else "user.unsuspend")
    return True


def delete(user: User, actor: Actor, at: dt.datetime | None = None) -> bool:
    """Erase the user's personal data and keep a tombstone; returns whether it changed."""
    if user.deleted_at is not None:
        return False
    now = at or utcnow()
    invitations.revoke_invitations(user, "deleted")
    user.deleted_at = now
    user.deleted_by = f"{actor.type}:{actor.id}" if actor.id else actor.type
    user.status_changed_at = now
    # Membership must leave Okta before the Okta id below is erased.
    user.active = False
    _settle(user)
    erasure.erase_copies(user)
    for column in PERSONAL_COLUMNS:
        setattr(user, column, None)
    user.document = {}
    # The user's groups no longer list it: their versions move (RFC 7644 §3.14).
    versions.touch_groups_of(user.id)
    GroupMember.delete().where(GroupMember.user == user.id).execute()
    _record(user, actor, "user.delete")
    return True


def enroll(user: User, actor: Actor, at: dt.datetime | None = None) -> None:
    """The authenticator app completed enrollment.

    :raises ConflictError: when the user is not in a state that can enroll.
    """
    if user.state not in {"invited", "enrolled"}:
        raise ConflictError(f"a {user.state} user cannot enroll")
    if user.enrolled_at is None:
        user.enrolled_at = at or utcnow()
        _settle(user)
    _record(user, actor, "user.enroll")


def resend_welcome_email(user_id: int, actor: Actor) -> User:
    """Admin action: a new welcome email for the user, in its own transaction.

    :raises ConflictError: when the user is not waiting to enroll.
    """
    with db.atomic():
        user = locked_user(user_id)
        resend_invitation(user, actor)
        user.save()
    return user


def resend_invitation(user: User, actor: Actor) -> None:
    """Revoke the user's invitations and send a new welcome email.

    :raises ConflictError: when the user is not waiting to enroll.
    """
    if user.state != "invited":
        raise ConflictError(f"a {user.state} user is not waiting for an invitation")
    invitations.revoke_invitations(user, "reissued")
    invitations.issue_invitation(user, "resend")
    _record(user, actor, "user.invitation_resent")
