"""Okta events that beat their user's SCIM create: kept, then applied once the user exists.

The hook can deliver an event before Okta's SCIM create reaches us. Such an event is closed as
``pending_user``; the user's create re-opens it (the worker then applies it in ``published``
order), and after OKTA_PENDING_EVENT_HOURS it becomes ``unknown_user``.
"""

from __future__ import annotations

import time

from peewee import fn

from database import CompiledQuery
from models import OktaEvent, User, utcnow
from row_writes import RowWrites
from services.platform import wakeup
from services.platform.settings import hours

PENDING_USER = "pending_user"
EXPIRY_INTERVAL_SECONDS = 60.0
_last_expiry = [0.0]


# Built once: every SCIM create runs it. A missing externalId or userName is bound as NULL,
# which matches no event.
_reopen = CompiledQuery(
    OktaEvent,
    lambda integration_id, since, okta_id, login_key: OktaEvent.update(processed_at=None).where(
        OktaEvent.integration == integration_id,
        OktaEvent.outcome == PENDING_USER,
        OktaEvent.received > since,
        (OktaEvent.target_id == okta_id) | (fn.LOWER(OktaEvent.target_login) == login_key),
    ),
)


def reopen_for(writes: RowWrites, user: User) -> None:
    """Re-open, with the user's own INSERT, the pending events that target it."""
    if not (user.external_id or user.user_name_key):
        return
    since = OktaEvent.received.db_value(utcnow() - hours("OKTA_PENDING_EVENT_HOURS"))
    writes.update(
        _reopen,
        user.integration_id,
        since,
        user.external_id or None,
        user.user_name_key or None,
        counted=_wake_if_any,
    )


def _wake_if_any(reopened: int) -> None:
    if reopened:
        wakeup.wake()


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
