"""Queued and failed background work, and the admin's retry buttons."""

from __future__ import annotations

from dataclasses import dataclass

from models import GroupSync, Invitation, OktaEvent, User, utcnow
from services.email import email_status
from services.errors import ConflictError, NotFoundError
from services.platform import wakeup

LIMIT = 100


@dataclass(frozen=True)
class WorkQueue:
    """Work that is waiting or has failed."""

    emails: list[Invitation]
    group_syncs: list[GroupSync]
    events: list[OktaEvent]
    users: dict[int, User]


def work_queue() -> WorkQueue:
    """Emails not yet out or failed, group changes not done, events not yet applied."""
    emails = list(
        Invitation.select()
        .where(Invitation.email_status.in_(["queued", "sending", "failed"]))
        .order_by(Invitation.id.desc())
        .limit(LIMIT)
    )
    syncs = list(
        GroupSync.select()
        .where(GroupSync.status != "done")
        .order_by(GroupSync.id.desc())
        .limit(LIMIT)
    )
    events = list(
        OktaEvent.select()
        .where(OktaEvent.processed_at.is_null())
        .order_by(OktaEvent.id.desc())
        .limit(LIMIT)
    )
    user_ids = {i.user_id for i in emails} | {s.user_id for s in syncs}
    users = {u.id: u for u in User.select().where(User.id.in_(list(user_ids)))} if user_ids else {}
    return WorkQueue(emails, syncs, events, users)


def retry_email(invitation_id: int) -> Invitation:
    """Send a failed welcome email again (same link), if its link is still good.

    :raises NotFoundError: no such invitation.
    :raises ConflictError: the email did not fail, or its link can no longer be used.
    """
    invitation = Invitation.get_or_none(Invitation.id == invitation_id)
    if invitation is None:
        raise NotFoundError(f"no invitation {invitation_id}")
    if invitation.email_status != "failed":
        raise ConflictError(f"the email is {invitation.email_status}, not failed")
    if invitation.revoked_at or invitation.expires_at <= utcnow() or not invitation.token_encrypted:
        raise ConflictError("this link can no longer be used: resend a new welcome email instead")
    email_status.queue_again(invitation.id, utcnow())
    wakeup.wake()
    return Invitation.get_by_id(invitation.id)


def retry_group_sync(sync_id: int) -> None:
    """Try a group membership change again now.

    :raises NotFoundError: no such pending change.
    """
    updated = (
        GroupSync.update(status="pending", attempts=0, next_attempt_at=utcnow(), last_error=None)
        .where(GroupSync.id == sync_id, GroupSync.status != "done")
        .execute()
    )
    if not updated:
        raise NotFoundError(f"no unfinished group change {sync_id}")
    wakeup.wake()


def retry_event(event_id: int) -> None:
    """Release a stuck Okta event so the worker applies it now.

    :raises NotFoundError: no such unprocessed event.
    """
    updated = (
        OktaEvent.update(lease_owner=None, lease_until=None)
        .where(OktaEvent.id == event_id, OktaEvent.processed_at.is_null())
        .execute()
    )
    if not updated:
        raise NotFoundError(f"no unprocessed event {event_id}")
    wakeup.wake()
