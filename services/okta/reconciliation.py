"""Make the passwordless Okta group hold exactly the users whose desired membership is "in".

Group sync trusts that each change it made stuck; this pass checks. It lists the group's
members from Okta (``limit=200`` pages, following ``Link: rel="next"``) and compares them with
our desired set:

- a *stray* (in the group, but nobody we want in it, including people added by hand in Okta)
  is removed;
- a *missing* member (we confirmed the addition, but Okta no longer has it) is queued again
  and re-added through the same path as every addition, so the grant checks of
  services/okta/grant_checks.py apply to it too.

Every change is audited with actor ``system`` and its reason. In ``report`` mode nothing is
changed. The report is kept on the integration for the dashboard and the integration page.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from prometheus_client.core import GaugeMetricFamily

from extensions import db
from models import GroupSync, Integration, User, utcnow
from services.okta import group_sync
from services.okta.connection import client_for, okta_ready
from services.okta.errors import OktaError
from services.okta.periodic import take_turn
from services.platform import audit, metrics, wakeup
from services.platform.claims import claim
from services.platform.job_runner import JobContext
from services.platform.settings import seconds, setting

log = logging.getLogger(__name__)

STRAYS_KEPT_IN_REPORT = 20


@dataclass
class Report:
    """What one pass found and did."""

    mode: str
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    strays: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        """The CLI's last line."""
        return f"added {self.added}, removed {self.removed}, unchanged {self.unchanged}"


def _wanted(integration: Integration) -> dict[str, GroupSync]:
    """Okta id → sync row of every user we want in the group. A refused grant (``failed``)
    wants nobody in: the Okta id it names is whoever it names, not a confirmed person."""
    rows = GroupSync.select().where(
        GroupSync.integration == integration.id,
        GroupSync.desired == "in",
        GroupSync.status != "failed",
    )
    return {row.okta_user_id: row for row in rows if row.okta_user_id}


def _audit_change(integration: Integration, action: str, okta_id: str, reason: str) -> None:
    user = (
        User.select(User.scim_id)
        .join(GroupSync, on=GroupSync.user == User.id)
        .where(GroupSync.okta_user_id == okta_id, GroupSync.integration == integration.id)
        .first()
    )
    audit.record(
        integration.id,
        audit.SYSTEM,
        action,
        target_type="User",
        target_id=user.scim_id if user else None,
        detail={"okta_group": integration.group_id, "okta_user": okta_id, "reason": reason},
    )


def _requeue(integration: Integration, rows: list[GroupSync], owner: str) -> int:
    """Queue the missing members again and add them now; returns how many were added."""
    ids = [row.id for row in rows]
    with db.atomic():
        GroupSync.update(
            status="pending", confirmed=None, attempts=0, next_attempt_at=utcnow(), last_error=None
        ).where(GroupSync.id.in_(ids), GroupSync.desired == "in").execute()
        for row in rows:
            _audit_change(integration, "group.member_missing", row.okta_user_id, "missing member")
    claimed = claim(
        GroupSync,
        GroupSync.id.in_(ids) & (GroupSync.status == "pending"),
        [GroupSync.id],
        owner,
        seconds("WORKER_LEASE_SECONDS"),
        len(ids),
    )
    added = sum(1 for row in claimed if group_sync.sync_one(row) == "done")
    wakeup.wake()  # whatever could not be added now is retried by group sync
    return added


def reconcile(
    integration: Integration, mode: str | None = None, owner: str = "reconcile"
) -> Report:
    """One pass over the integration's group; the report is also stored on the integration.

    :raises OktaError: when Okta cannot be read (nothing is changed then).
    """
    report = Report(mode=mode or setting("OKTA_RECONCILE_MODE"))
    client = client_for(integration)
    members = set(client.group_member_ids(integration.group_id))
    wanted = _wanted(integration)
    strays = sorted(members - wanted.keys())
    missing = [
        row for okta_id, row in wanted.items() if okta_id not in members and row.status == "done"
    ]
    report.unchanged = len(members & wanted.keys())
    report.strays = strays[:STRAYS_KEPT_IN_REPORT]
    report.missing = [row.okta_user_id for row in missing][:STRAYS_KEPT_IN_REPORT]
    if report.mode == "fix":
        for okta_id in strays:
            client.remove_user_from_group(integration.group_id, okta_id)
            _audit_change(integration, "group.member_removed", okta_id, "stray member")
            report.removed += 1
        if missing:
            report.added = _requeue(integration, missing, owner)
    _store(integration, report, len(strays), len(missing))
    return report


def _store(integration: Integration, report: Report, strays: int, missing: int) -> None:
    kept = asdict(report) | {"strays_total": strays, "missing_total": missing}
    Integration.update(reconciled_at=utcnow(), reconcile_report=json.dumps(kept)).where(
        Integration.id == integration.id
    ).execute()


def last_report(integration: Integration) -> dict | None:
    """The stored report of the last pass (with ``strays_total``, ``missing_total``), if any."""
    if not integration.reconcile_report:
        return None
    return dict(json.loads(integration.reconcile_report))


def open_drift(report: dict | None) -> int:
    """Strays and missing members the last pass left in place (report mode, or failures)."""
    if not report:
        return 0
    return max(0, report["strays_total"] - report["removed"]) + max(
        0, report["missing_total"] - report["added"]
    )


def reconcile_due(context: JobContext) -> int:
    """Worker job: reconcile each ready integration every OKTA_RECONCILE_MINUTES."""
    minutes = setting("OKTA_RECONCILE_MINUTES")
    if not minutes:
        return 0
    done = 0
    interval = dt.timedelta(minutes=minutes)
    for integration in Integration.select().where(Integration.group_id.is_null(False)):
        if okta_ready(integration) or integration.unhealthy_reason:
            continue
        if not take_turn(integration, Integration.reconciled_at, interval):
            continue
        try:
            reconcile(integration, owner=context.owner)
            done += 1
        except OktaError as exc:
            log.warning("reconciling %s failed: %s", integration.name, exc)
            report = Report(mode=setting("OKTA_RECONCILE_MODE"), error=str(exc)[:500])
            _store(integration, report, 0, 0)
    return done


def drift_gauges() -> Iterator[GaugeMetricFamily]:
    """What the last reconciliation pass of each integration found, and left in place
    (counted at each scrape of /metrics)."""
    reports = [
        last_report(integration)
        for integration in Integration.select(Integration.id, Integration.reconcile_report)
    ]
    found = metrics.gauge(
        "reconcile_drift",
        "Drift the last reconciliation pass found, summed over integrations: strays in the "
        "passwordless group, and members it lost.",
        "kind",
    )
    found.add_metric(["stray"], sum(r["strays_total"] for r in reports if r))
    found.add_metric(["missing"], sum(r["missing_total"] for r in reports if r))
    yield found
    left = metrics.gauge(
        "reconcile_open_drift",
        "Strays and missing members the last pass left in place (report mode, or failures).",
    )
    left.add_metric([], sum(open_drift(r) for r in reports))
    yield left
