"""Users stuck in onboarding: invited a while ago, not enrolled, and why if we know."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import fn

from models import Integration, Invitation, User
from models.base import utcnow
from services.errors import ConflictError
from services.platform.audit import Actor
from services.platform.settings import setting
from services.users import lifecycle

# One page of the list, and the most users one bulk resend may take: the emails then go
# out through the worker's queue at the pace the mail provider allows.
STUCK_PAGE_SIZE = 200
BULK_RESEND_LIMIT = STUCK_PAGE_SIZE

_BOUNCED = ("bounced", "dropped", "blocked")


@dataclass(frozen=True)
class StuckUser:
    """A user waiting to enroll, their latest invitation and the likely reason."""

    user: User
    invitation: Invitation
    integration_name: str
    reason: str


def reason_for(invitation: Invitation, now: dt.datetime) -> str:
    """Why the latest invitation has not led to an enrollment, as far as we know."""
    if invitation.email_status in _BOUNCED:
        return "bounced"
    if invitation.email_status == "spamreport":
        return "spam report"
    if invitation.email_status == "failed":
        return "email failed"
    if invitation.revoked_at is not None:
        return "link withdrawn"
    if invitation.expires_at <= now:
        return "link expired"
    if invitation.opened_at is None:
        return "never opened"
    return "opened, not enrolled"


def stuck_after() -> dt.timedelta:
    """How long an invited user may wait before the list calls them stuck."""
    return dt.timedelta(days=int(setting("STUCK_AFTER_DAYS")))


def stuck_users(integration_id: str | None = None) -> tuple[list[StuckUser], int]:
    """The stuck users whose latest invitation is oldest first (one page), and how many in all."""
    now = utcnow()
    latest = (
        Invitation.select(Invitation.user, fn.MAX(Invitation.id).alias("latest_id"))
        .group_by(Invitation.user)
        .alias("latest")
    )
    condition = (
        (User.state == "invited")
        & User.deleted_at.is_null()
        & (Invitation.created <= now - stuck_after())
    )
    if integration_id:
        condition &= User.integration == integration_id
    query = (
        Invitation.select(Invitation, User, Integration.name)
        .join(latest, on=(Invitation.id == latest.c.latest_id))
        .switch(Invitation)
        .join(User, on=(Invitation.user == User.id))
        .join(Integration, on=(User.integration == Integration.id))
        .where(condition)
    )
    total = query.count()
    rows = query.order_by(Invitation.created, Invitation.id).limit(STUCK_PAGE_SIZE)
    found = [
        StuckUser(row.user, row, row.user.integration.name, reason_for(row, now)) for row in rows
    ]
    return found, total


@dataclass(frozen=True)
class BulkResend:
    """What a bulk resend did."""

    sent: int
    skipped: list[str]


def resend_to(scim_ids: list[str], actor: Actor) -> BulkResend:
    """Send each selected user a new welcome email, one audited resend each.

    The same resend as the user page's (old links revoked, the email queued), so the worker
    sends them no faster than the mail provider allows. Users no longer waiting to enroll
    are skipped and named.

    :raises ValueError: more than ``BULK_RESEND_LIMIT`` users at once.
    """
    if len(scim_ids) > BULK_RESEND_LIMIT:
        raise ValueError(f"at most {BULK_RESEND_LIMIT} users at a time")
    users = User.select(User.id, User.scim_id, User.user_name).where(User.scim_id.in_(scim_ids))
    sent, skipped = 0, []
    for user in users:
        try:
            lifecycle.resend_welcome_email(user.id, actor)
        except ConflictError:
            skipped.append(user.user_name or user.scim_id)
        else:
            sent += 1
    return BulkResend(sent, skipped)
