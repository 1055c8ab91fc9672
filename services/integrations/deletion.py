"""Deleting an integration: stop Okta's access at once, erase its users as SCIM DELETE
does (in batches, with progress, by the worker for large ones), then drop every row of it.

Erasing each user the way a SCIM DELETE would revokes its invitation links and takes it out
of the passwordless group in Okta, so nobody keeps skipping MFA because of an org this
service no longer serves. The integration's rows go once those removals have settled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import database
from extensions import db
from models import (
    Group,
    GroupSync,
    HookDelivery,
    Integration,
    Invitation,
    OktaEvent,
    ScimToken,
    User,
    utcnow,
)
from services.errors import ConflictError
from services.integrations.scim_tokens import revoke_token
from services.platform import audit
from services.platform.audit import Actor
from services.platform.settings import setting
from services.resources import versions
from services.users import lifecycle

if TYPE_CHECKING:
    from services.platform.job_runner import JobContext

# Users erased per transaction: short write transactions, so SCIM and hooks of other
# integrations keep their turn.
BATCH_SIZE = 100
# Up to this many users, the admin's request erases them itself; more go to the worker.
INLINE_LIMIT = 200


@dataclass(frozen=True)
class DeletionSummary:
    """What deleting an integration erases, for the confirmation page and the CLI."""

    name: str
    users: int
    groups: int
    tokens: int
    events: int
    invitations: int


def deletion_summary(integration: Integration) -> DeletionSummary:
    """Counts of what deleting ``integration`` erases."""
    live = User.integration == integration.id
    return DeletionSummary(
        name=integration.name,
        users=User.select().where(live, User.deleted_at.is_null()).count(),
        groups=Group.select().where(Group.integration == integration.id).count(),
        tokens=ScimToken.select()
        .where(ScimToken.integration == integration.id, ScimToken.revoked_at.is_null())
        .count(),
        events=OktaEvent.select().where(OktaEvent.integration == integration.id).count()
        + HookDelivery.select().where(HookDelivery.integration == integration.id).count(),
        invitations=Invitation.select().where(Invitation.integration == integration.id).count(),
    )


def start_deletion(integration: Integration, actor: Actor) -> Integration:
    """Begin deleting ``integration``: its tokens and hook secret stop working now.

    Small integrations are erased before this returns; larger ones by the worker.

    :raises ConflictError: it is already being deleted.
    """
    summary = deletion_summary(integration)
    with db.atomic():
        started = (
            Integration.update(
                deleting_at=utcnow(),
                deleted_by=f"{actor.type}:{actor.id}" if actor.id else actor.type,
                delete_total=summary.users,
                delete_done=0,
                hook_secret_hash=None,
                hook_secret_previous_hash=None,
                hook_secret_previous_expires=None,
            )
            .where(Integration.id == integration.id, Integration.deleting_at.is_null())
            .execute()
        )
        if started != 1:
            raise ConflictError(f"integration {integration.name!r} is already being deleted")
        audit.record(
            None,
            actor,
            "integration.delete",
            target_type="Integration",
            target_id=integration.id,
            detail={
                "name": integration.name,
                "users": summary.users,
                "groups": summary.groups,
                "tokens": summary.tokens,
            },
        )
    tokens = ScimToken.select(ScimToken.id).where(
        ScimToken.integration == integration.id, ScimToken.revoked_at.is_null()
    )
    for token in tokens:
        revoke_token(token.id, actor=actor)
    if summary.users <= INLINE_LIMIT:
        while erase_batch(integration.id):
            pass
        finish_if_settled(integration.id)
    return Integration.get_or_none(Integration.id == integration.id) or integration


def erase_batch(integration_id: str, size: int = BATCH_SIZE) -> int:
    """Erase up to ``size`` more users of an integration being deleted; returns how many."""
    with db.atomic():
        integration = database.for_update(
            Integration.select().where(
                Integration.id == integration_id, Integration.deleting_at.is_null(False)
            )
        ).first()
        if integration is None:
            return 0
        actor = _actor_of(integration)
        users = list(
            User.select()
            .where(User.integration == integration_id, User.deleted_at.is_null())
            .order_by(User.id)
            .limit(size)
        )
        for user in users:
            lifecycle.delete(user, actor)
            versions.bump(user)
            user.save()
        if users:
            Integration.update(delete_done=Integration.delete_done + len(users)).where(
                Integration.id == integration_id
            ).execute()
    return len(users)


def finish_if_settled(integration_id: str) -> bool:
    """Drop the integration's rows once no user is left, no group removal is pending and no
    process can still hold one of its tokens in its cache."""
    with db.atomic():
        integration = database.for_update(
            Integration.select().where(
                Integration.id == integration_id, Integration.deleting_at.is_null(False)
            )
        ).first()
        if integration is None:
            return False
        left = User.select().where(User.integration == integration_id, User.deleted_at.is_null())
        pending = GroupSync.select().where(
            GroupSync.integration == integration_id, GroupSync.status == "pending"
        )
        # Another process may still accept a revoked token from its cache for a few seconds
        # (SCIM_TOKEN_CACHE_SECONDS): wait that long, so that whatever it creates meanwhile
        # is erased by the next batch rather than refused for a missing integration.
        cached_until = integration.deleting_at + dt.timedelta(
            seconds=setting("SCIM_TOKEN_CACHE_SECONDS")
        )
        if left.exists() or pending.exists() or utcnow() < cached_until:
            return False
        # Every row of it goes with it: the foreign keys cascade.
        Integration.delete().where(Integration.id == integration_id).execute()
        audit.record(
            None,
            _actor_of(integration),
            "integration.deleted",
            target_type="Integration",
            target_id=integration_id,
            detail={"name": integration.name, "users": integration.delete_total},
        )
    return True


def erase_deleting_integrations(context: JobContext) -> int:
    """Worker job: erase the next batch of every integration being deleted, and drop those
    that are done."""
    handled = 0
    ids = [
        row.id
        for row in Integration.select(Integration.id).where(Integration.deleting_at.is_null(False))
    ]
    for integration_id in ids:
        erased = erase_batch(integration_id, context.batch_size * 5)
        handled += erased
        if not erased and finish_if_settled(integration_id):
            handled += 1
    return handled


def _actor_of(integration: Integration) -> Actor:
    kind, _, who = (integration.deleted_by or "system").partition(":")
    return Actor(kind, who or None)
