"""What each Okta event type does: HANDLERS = {eventType: Handler}.

Events may only take access away; SCIM grants it. ``reactivate`` and ``activate`` are recorded
and change nothing (Okta strips app assignments on deactivation and fires ``reactivate`` when
it merely resends an activation email): only SCIM ``active: true`` brings a user back.
``unsuspend`` restores the state from before the suspension, which is never more than SCIM
says. An unassignment from this integration's Okta app deactivates, as SCIM ``active: false``
would.

Types that change state name a *concern*, by which services/users/event_order tells a stale
event from a current one (Okta delivers at least once, in any order: docs/okta.md §3.4).
Delete has no concern: it is final in Okta, so it applies whatever came before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from models import Integration, OktaEvent, User
from services.platform.audit import Actor
from services.users import lifecycle

Apply = Callable[[User, Actor, dt.datetime], bool]
# Why an event of an acting type is only recorded this time (None: act on it).
Condition = Callable[[OktaEvent, Integration], str | None]


@dataclass(frozen=True)
class Handler:
    """``concern`` is "status", "suspension" or None (applied in any order); record-only
    types have no ``apply``; ``condition`` may turn one event into a record-only one."""

    concern: str | None = None
    apply: Apply | None = None
    condition: Condition | None = None
    note: str = "recorded on the user's timeline"


def _active(value: bool) -> Apply:
    return lambda user, actor, at: lifecycle.set_active(user, value, actor, at)


def _suspended(value: bool) -> Apply:
    return lambda user, actor, at: lifecycle.set_suspended(user, value, actor, at)


def app_instance_ids(event: OktaEvent) -> list[str]:
    """The ids of the ``AppInstance`` targets of an event (chosen by type, not position)."""
    targets = (event.payload or {}).get("target") or []
    return [
        str(target.get("id"))
        for target in targets
        if isinstance(target, dict) and (target.get("type") or "").lower() == "appinstance"
    ]


def _for_our_app(event: OktaEvent, integration: Integration) -> str | None:
    if not integration.okta_app_id:
        return (
            "recorded only: no Okta app id is set on the integration, so an unassignment "
            "offboards only through SCIM (Okta's Deactivate Users setting)"
        )
    apps = app_instance_ids(event)
    if integration.okta_app_id not in apps:
        shown = ", ".join(apps) or "no app"
        return f"recorded only: the event is for {shown}, not this integration's app"
    return None


_ONLY_SCIM_GRANTS = "recorded only: only SCIM (active: true) brings a user back"

HANDLERS: dict[str, Handler] = {
    "user.lifecycle.deactivate": Handler("status", _active(False)),
    "user.lifecycle.reactivate": Handler(note=_ONLY_SCIM_GRANTS),
    "user.lifecycle.activate": Handler(note=_ONLY_SCIM_GRANTS),
    "user.lifecycle.suspend": Handler("suspension", _suspended(True)),
    "user.lifecycle.unsuspend": Handler("suspension", _suspended(False)),
    "user.lifecycle.delete.initiated": Handler(None, lifecycle.delete),
    # Recorded for the timeline; SCIM calls carry the state (docs/okta.md §1.2).
    "user.account.update_profile": Handler(),
    "application.user_membership.add": Handler(note=_ONLY_SCIM_GRANTS),
    "application.user_membership.remove": Handler("status", _active(False), _for_our_app),
}
