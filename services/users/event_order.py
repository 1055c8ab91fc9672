"""Okta events against what a user already reflects: each state-changing event names a
*concern* (status or suspension), and an event older than the newest one applied for its
concern is stale.

Okta delivers at least once and in any order (a late ``suspend`` must not undo a newer
``unsuspend``), so events are compared with events by Okta's ``published`` time. Our own SCIM
writes of the status are on our clock: an event loses to one only when older by more than
OKTA_CLOCK_SKEW_SECONDS. An event that waited for its user's SCIM create applies whatever its
age. The timestamps live on the user row; this module is the one that reads and moves them.
"""

from __future__ import annotations

import datetime as dt

from models import User
from services.platform.settings import seconds
from services.resources import versions

# Where the newest applied event of each concern is kept (Okta's clock).
_EVENT_COLUMNS = {"status": "status_event_at", "suspension": "suspension_changed_at"}
# Our own SCIM writes of a concern (our clock), compared with the clock-skew tolerance.
_SCIM_COLUMNS = {"status": "status_changed_at"}
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def stale(user: User, concern: str | None, published: dt.datetime, waited: bool) -> str | None:
    """Why an event of ``concern`` published then is older than what the user reflects, or
    None. ``waited``: the event arrived before its user and was kept until the SCIM create."""
    column = _EVENT_COLUMNS.get(concern or "")
    last_event = getattr(user, column) if column else None
    if last_event is not None and published < last_event:
        return (
            f"published {published:{_TIME}}, before the last "
            f"{concern} change applied at {last_event:{_TIME}}"
        )
    scim_column = _SCIM_COLUMNS.get(concern or "")
    scim_write = getattr(user, scim_column) if scim_column else None
    if waited or scim_write is None:
        return None
    if published < scim_write - seconds("OKTA_CLOCK_SKEW_SECONDS"):
        return (
            f"published {published:{_TIME}}, more than the allowed clock "
            f"skew before the last {concern} change at {scim_write:{_TIME}}"
        )
    return None


def applied(user: User, concern: str | None, published: dt.datetime, changed: bool) -> None:
    """Record that an event of ``concern`` was applied (whether or not it changed anything)
    and save the user. Its time becomes the newest word on the concern, so an older event
    that arrives later cannot undo it (suspend T1, unsuspend T2, suspend T3, T2 late); a
    status change moves the version, since SCIM shows ``active`` (RFC 7644 §3.14)."""
    column = _EVENT_COLUMNS.get(concern or "")
    if column:
        setattr(user, column, published)
    if changed and concern == "status":
        versions.bump(user)
    user.save()
