"""Every change of an invitation's ``email_status``: queued, sending, sent, failed,
cancelled, and what SendGrid's events report after the send.

The worker's send and SendGrid's events both mark an email sent here, with its audit entry;
the revocation that cancels an unsent email with its link is one statement in
``invitations`` (``_end_open``), since it changes both in one pass.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from models import Invitation, User
from services.platform import audit
from services.platform.claims import release

#: A status moves only to an equal or higher rank, so late or redelivered SendGrid events
#: (SendGrid neither orders nor deduplicates them) never undo a final outcome.
STATUS_RANK: Final = {
    "queued": 0,
    "sending": 0,
    "sent": 0,
    "processed": 1,
    "deferred": 2,
    "delivered": 3,
    "bounced": 4,
    "dropped": 4,
    "spamreport": 5,
    "unsubscribed": 5,
}
# An invitation in these states may already be out: the worker died mid-send, or the send
# timed out after SendGrid took the request. Any event about it proves SendGrid has it.
IN_DOUBT: Final = ("queued", "sending")
_ERROR_LIMIT: Final = 1000


def start_sending(ids: list[int], owner: str, at: dt.datetime) -> None:
    """Queued → sending for the leased invitations ``ids``, one more attempt each.

    Committed before the provider is called: if this worker dies, the next one knows the
    email may already be out.
    """
    (
        Invitation.update(
            email_status="sending", email_status_at=at, attempts=Invitation.attempts + 1
        )
        .where(Invitation.id.in_(ids), Invitation.lease_owner == owner)
        .execute()
    )


def requeue(
    invitation: Invitation,
    next_attempt_at: dt.datetime,
    *,
    at: dt.datetime | None = None,
    error: str | None = None,
) -> None:
    """Back to queued (sent again at ``next_attempt_at``), giving the lease back.

    ``at`` moves the status time; without it the status keeps its time (an internal error).
    """
    changes: dict[str, Any] = {"email_status": "queued", "next_attempt_at": next_attempt_at}
    if at is not None:
        changes["email_status_at"] = at
    if error is not None:
        changes["last_error"] = error[:_ERROR_LIMIT]
    release(invitation, **changes)


def keep_in_doubt(
    invitation: Invitation, at: dt.datetime, recheck_at: dt.datetime, error: str
) -> None:
    """Sending, in doubt: the provider may have the message; look again at ``recheck_at``."""
    release(
        invitation,
        email_status="sending",
        email_status_at=at,
        next_attempt_at=recheck_at,
        last_error=error[:_ERROR_LIMIT],
    )


def cancel(invitation: Invitation, at: dt.datetime) -> None:
    """Cancelled: the link is gone or the user no longer waits for it."""
    release(invitation, email_status="cancelled", email_status_at=at)


def fail(invitation: Invitation, at: dt.datetime, reason: str, user_scim_id: str | None) -> None:
    """Failed for good (the provider refused it), with its audit entry."""
    release(invitation, email_status="failed", email_status_at=at, last_error=reason[:_ERROR_LIMIT])
    audit.record(
        invitation.integration_id,
        audit.SYSTEM,
        "email.failed",
        target_type="User",
        target_id=user_scim_id,
        detail={"invitation": invitation.id, "reason": reason[:500]},
    )


def queue_again(invitation_id: int, at: dt.datetime) -> None:
    """Failed → queued with its attempts reset (an admin's retry)."""
    Invitation.update(
        email_status="queued", email_status_at=at, next_attempt_at=at, attempts=0
    ).where(Invitation.id == invitation_id).execute()


def report(invitation_id: int, status: str, at: dt.datetime, error: str | None) -> int:
    """What the provider's events say happened at ``at``, if it outranks the status now;
    returns the rows changed (0 or 1).

    ``error``: the reason kept with a deferral, bounce or drop; a delivery clears it.
    One conditional UPDATE, so concurrent deliveries (SendGrid posts batches from several
    servers at once) cannot interleave a read and a write. failed/cancelled have no rank.
    """
    rank = STATUS_RANK[status]
    # Queued or sending only once resolved as sent: an unresolved one was not sent by us.
    lower = [name for name, other in STATUS_RANK.items() if other < rank and name not in IN_DOUBT]
    same = [name for name, other in STATUS_RANK.items() if other == rank]
    changes: dict[str, Any] = {"email_status": status, "email_status_at": at}
    if error is not None:
        changes["last_error"] = error[:_ERROR_LIMIT]
    elif status == "delivered":
        changes["last_error"] = None  # an earlier deferral's reason no longer matters
    newer = Invitation.email_status.in_(lower) | (
        Invitation.email_status.in_(same) & (Invitation.email_status_at <= at)
    )
    return int(Invitation.update(**changes).where(Invitation.id == invitation_id, newer).execute())


def mark_sent(
    invitation: Invitation,
    message_id: str | None,
    at: dt.datetime,
    *,
    only_if: Any,
    source: str | None = None,
) -> bool:
    """Mark the email sent at ``at``, drop the link's token (it is in the mail now) and the
    lease, and audit it; returns whether the row changed.

    ``only_if``: the condition under which this caller may (the worker: it still holds the
    lease; SendGrid's events: the send is still in doubt). ``source``: where we learnt it,
    when not from our own send.
    """
    changed = (
        Invitation.update(
            email_status="sent",
            email_status_at=at,
            sent_at=at,
            message_id=message_id,
            token_encrypted=None,
            last_error=None,
            lease_owner=None,
            lease_until=None,
        )
        .where(Invitation.id == invitation.id, only_if)
        .execute()
    )
    if not changed:
        return False
    user = User.select(User.scim_id).where(User.id == invitation.user_id).first()
    detail: dict[str, Any] = {"invitation": invitation.id, "message_id": message_id}
    if source:
        detail["source"] = source
    audit.record(
        invitation.integration_id,
        audit.SYSTEM,
        "email.sent",
        target_type="User",
        target_id=user.scim_id if user else None,
        detail=detail,
    )
    return True
