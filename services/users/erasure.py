"""Erase a deleted user's personal data from every table that holds a copy of it.

The user row itself is blanked by ``lifecycle.delete``; this takes the rest: the welcome
emails we kept, SendGrid's events about them (which name the recipient), the Okta events
that targeted the user (login and display name), and mail errors that may quote the address.
What stays is what the audit trail needs: ids, times, types and outcomes.
"""

from __future__ import annotations

from models import EmailEvent, EmailMessage, Invitation, OktaEvent, User
from services.okta import group_sync

_EVENT_KEYS_KEPT = ("uuid", "eventType", "published")


def erase_copies(user: User) -> None:
    """Erase the user's personal data outside its own row (call before the row is blanked)."""
    invitations = Invitation.select(Invitation.id).where(Invitation.user == user.id)
    EmailMessage.delete().where(EmailMessage.invitation.in_(invitations)).execute()
    (
        EmailEvent.update(payload={}, reason=None)
        .where(EmailEvent.invitation.in_(invitations))
        .execute()
    )
    Invitation.update(last_error=None, sent_to=None).where(Invitation.user == user.id).execute()
    _erase_okta_events(user)
    group_sync.forget_okta_identity(user.id)


def _erase_okta_events(user: User) -> None:
    targets = OktaEvent.user == user.id
    if user.external_id:
        targets |= OktaEvent.target_id == user.external_id
    if user.user_name:
        targets |= OktaEvent.target_login == user.user_name
    events = OktaEvent.select(OktaEvent.id, OktaEvent.payload).where(
        OktaEvent.integration == user.integration_id, targets
    )
    for event in events:
        kept = {key: (event.payload or {}).get(key) for key in _EVENT_KEYS_KEPT}
        OktaEvent.update(payload=kept, target_login=None).where(OktaEvent.id == event.id).execute()
