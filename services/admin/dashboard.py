"""What the admin dashboard shows: users by state, last requests, work and email counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import SQL, Case, fn

from models import (
    STATES,
    GroupSync,
    HookDelivery,
    Integration,
    Invitation,
    OktaEvent,
    User,
    utcnow,
)
from services.admin.setup_status import PRINTED, SetupStatus, mail_is_delivered, setup_status
from services.okta.reconciliation import last_report, open_drift


@dataclass(frozen=True)
class IntegrationStatus:
    """One integration's health at a glance."""

    integration: Integration
    users: dict[str, int]
    last_delivery: HookDelivery | None
    setup: SetupStatus
    # The last reconciliation report (services.okta.reconciliation.last_report) and its open drift.
    reconciliation: dict | None = None
    drift: int = 0


@dataclass(frozen=True)
class Dashboard:
    """Everything on the dashboard."""

    users_by_state: dict[str, int]
    integrations: list[IntegrationStatus]
    emails_by_status: dict[str, int]
    work: dict[str, int] = field(default_factory=dict)
    # The newest group changes that failed (refused grants among them), with their reasons.
    failed_group_changes: list[tuple[str, str, str]] = field(default_factory=list)
    # Integration name → events of the last day that only System Log backfill found.
    missed_by_hook: dict[str, int] = field(default_factory=dict)
    # False in console-mail mode (no SENDGRID_API_KEY): emails are printed, not delivered.
    mail_delivered: bool = True


def _counts_by_state() -> dict[str, dict[str, int]]:
    rows = (
        User.select(User.integration, User.state, fn.COUNT(User.id))
        .group_by(User.integration, User.state)
        .tuples()
    )
    counts: dict[str, dict[str, int]] = {}
    for integration_id, state, count in rows:
        counts.setdefault(integration_id, dict.fromkeys(STATES, 0))[state] = count
    return counts


def _last_deliveries() -> dict[str, HookDelivery]:
    latest = (
        HookDelivery.select(HookDelivery.integration, fn.MAX(HookDelivery.id).alias("last_id"))
        .group_by(HookDelivery.integration)
        .tuples()
    )
    ids = [last_id for _, last_id in latest]
    if not ids:
        return {}
    return {d.integration_id: d for d in HookDelivery.select().where(HookDelivery.id.in_(ids))}


def _status(
    integration: Integration,
    by_integration: dict[str, dict[str, int]],
    deliveries: dict[str, HookDelivery],
) -> IntegrationStatus:
    report = last_report(integration)
    return IntegrationStatus(
        integration=integration,
        users=by_integration.get(integration.id, dict.fromkeys(STATES, 0)),
        last_delivery=deliveries.get(integration.id),
        setup=setup_status(integration),
        reconciliation=report,
        drift=open_drift(report),
    )


def dashboard() -> Dashboard:
    """Gather the dashboard in a handful of aggregate queries."""
    by_integration = _counts_by_state()
    deliveries = _last_deliveries()
    totals = dict.fromkeys(STATES, 0)
    for counts in by_integration.values():
        for state, count in counts.items():
            totals[state] = totals.get(state, 0) + count
    integrations = [
        _status(integration, by_integration, deliveries)
        for integration in Integration.select().order_by(Integration.name)
    ]
    emails = _emails_by_status()
    sync = dict(
        GroupSync.select(GroupSync.status, fn.COUNT(GroupSync.id))
        .where(GroupSync.status != "done")
        .group_by(GroupSync.status)
        .tuples()
    )
    work = {
        "emails_queued": emails.get("queued", 0) + emails.get("sending", 0),
        "emails_failed": emails.get("failed", 0),
        "group_sync_pending": sync.get("pending", 0),
        "group_sync_waiting": sync.get("waiting", 0),
        "group_sync_failed": sync.get("failed", 0),
        "events_unprocessed": OktaEvent.select().where(OktaEvent.processed_at.is_null()).count(),
    }
    return Dashboard(
        users_by_state=totals,
        integrations=integrations,
        emails_by_status=emails,
        work=work,
        failed_group_changes=_failed_group_changes(),
        missed_by_hook=_missed_by_hook(),
        mail_delivered=mail_is_delivered(),
    )


def _emails_by_status() -> dict[str, int]:
    """Invitations by email status, a "sent" the console mailer only printed counted apart.

    One query: counted in two, an email the worker printed in between was taken from a
    "sent" count that did not include it yet.
    """
    printed = (Invitation.email_status == "sent") & Invitation.message_id.startswith("console-")
    status = Case(None, [(printed, PRINTED)], Invitation.email_status)
    # Grouped by position: Postgres sees the CASE's bound values as parameters, so the same
    # expression written again in GROUP BY would not match the one selected.
    counts = Invitation.select(status, fn.COUNT(Invitation.id)).group_by(SQL("1")).tuples()
    return {str(key): int(count) for key, count in counts}


def _missed_by_hook(within: dt.timedelta = dt.timedelta(hours=24)) -> dict[str, int]:
    """Events found only by backfill in the last day, per integration name: the event hook
    was down or is broken."""
    rows = (
        HookDelivery.select(Integration.name, fn.SUM(HookDelivery.new_events))
        .join(Integration)
        .where(HookDelivery.source == "backfill", HookDelivery.received > utcnow() - within)
        .group_by(Integration.name)
        .tuples()
    )
    return {name: int(count) for name, count in rows if count}


def _failed_group_changes(limit: int = 5) -> list[tuple[str, str, str]]:
    """(SCIM id, user name, reason) of the newest failed group changes."""
    rows = (
        GroupSync.select(User.scim_id, User.user_name, GroupSync.last_error)
        .join(User)
        .where(GroupSync.status == "failed")
        .order_by(GroupSync.updated.desc())
        .limit(limit)
        .tuples()
    )
    return [(scim_id, name or scim_id, reason or "") for scim_id, name, reason in rows]
