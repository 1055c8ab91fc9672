"""What each Okta event type does: HANDLERS = {eventType: Handler}.

Types that change state name a *concern*; an event older (by ``published``) than the last
event applied to the user for the same concern (whether or not it changed anything) is
recorded but not applied, so a late ``suspend`` never overrides a newer ``unsuspend`` (Okta
delivers at least once, in any order: OKTA.md §3.4). Delete has no concern: it is final in
Okta, so it applies whatever came before it, including a SCIM deactivation that reached us
after Okta published the delete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from models import User
from services import lifecycle
from services.audit import Actor

Apply = Callable[[User, Actor, dt.datetime], bool]


@dataclass(frozen=True)
class Handler:
    """``concern`` is "status", "suspension" or None (applied in any order); record-only
    types have no ``apply``."""

    concern: str | None = None
    apply: Apply | None = None


def _active(value: bool) -> Apply:
    return lambda user, actor, at: lifecycle.set_active(user, value, actor, at)


def _suspended(value: bool) -> Apply:
    return lambda user, actor, at: lifecycle.set_suspended(user, value, actor, at)


HANDLERS: dict[str, Handler] = {
    "user.lifecycle.deactivate": Handler("status", _active(False)),
    "user.lifecycle.reactivate": Handler("status", _active(True)),
    "user.lifecycle.activate": Handler("status", _active(True)),
    "user.lifecycle.suspend": Handler("suspension", _suspended(True)),
    "user.lifecycle.unsuspend": Handler("suspension", _suspended(False)),
    "user.lifecycle.delete.initiated": Handler(None, lifecycle.delete),
    # Recorded for the timeline; SCIM calls carry the state (OKTA.md §1.2).
    "user.account.update_profile": Handler(),
    "application.user_membership.add": Handler(),
    "application.user_membership.remove": Handler(),
}

CONCERN_COLUMNS = {"status": "status_changed_at", "suspension": "suspension_changed_at"}
