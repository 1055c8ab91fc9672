"""An invitation's email marked sent, and the audit entry that says so: the one place both
happen, whether the worker's send returned or SendGrid's events later showed the message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models import Invitation, User
from services.platform import audit


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
