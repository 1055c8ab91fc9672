"""Okta events that beat their user's SCIM create: kept, then applied once the user exists.

The hook can deliver an event before Okta's SCIM create reaches us. Such an event is closed as
``pending_user``; the user's create re-opens it (the worker then applies it in ``published``
order), and after OKTA_PENDING_EVENT_HOURS it becomes ``unknown_user``.
"""

from __future__ import annotations

import time

from peewee import fn

from models import OktaEvent, User, utcnow
from services import wakeup
from services.settings import hours

PENDING_USER = "pending_user"
EXPIRY_INTERVAL_SECONDS = 60.0
_last_expiry = [0.0]


def reopen_for(user: User) -> int:
    """Re-open the pending events that target a just-provisioned user; returns how many."""
    matches = []
    if user.external_id:
        matches.append(OktaEvent.target_id == user.external_id)
    if user.user_name_key:
        matches.append(fn.LOWER(OktaEvent.target_login) == user.user_name_key)
    if not matches:
        return 0
    target = matches[0] if len(matches) == 1 else (matches[0] | matches[1])
    count = (
        OktaEvent.update(processed_at=None)
        .where(
            OktaEvent.integration == user.integration_id,
            OktaEvent.outcome == PENDING_USER,
            OktaEvent.received > utcnow() - hours("OKTA_PENDING_EVENT_HOURS"),
            target,
        )
        .execute()
    )
    if count:
        wakeup.wake()
    return int(count)


def expire() -> int:
    """Events whose user never came: ``unknown_user`` from now on; returns how many.

    Runs at most once a minute per process (the worker calls it on every poll).
    """
    if time.monotonic() - _last_expiry[0] < EXPIRY_INTERVAL_SECONDS:
        return 0
    _last_expiry[0] = time.monotonic()
    return int(
        OktaEvent.update(
            outcome="unknown_user",
            outcome_detail="no provisioned user matched within OKTA_PENDING_EVENT_HOURS",
        )
        .where(
            OktaEvent.outcome == PENDING_USER,
            OktaEvent.received <= utcnow() - hours("OKTA_PENDING_EVENT_HOURS"),
        )
        .execute()
    )
