"""Rollout progress: the onboarding funnel per integration, activity per day, import rate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from peewee import JOIN, Case, ModelSelect, fn

from models import Integration, Invitation, User
from models.base import utcnow

FUNNEL_STEPS = ("provisioned", "email delivered", "link opened", "enrolled")
CHART_DAYS = 30
# How far back the import rate looks: long enough to smooth bursts, short enough to be "now".
RATE_WINDOW = dt.timedelta(minutes=5)
# How often the dashboard reloads itself while an import runs.
REFRESH_SECONDS = 15


@dataclass(frozen=True)
class Funnel:
    """How many of an integration's live users reached each onboarding step."""

    integration: Integration
    counts: tuple[int, ...]

    def steps(self) -> list[tuple[str, int, int]]:
        """Each step's name, count and share of the provisioned users in whole percent."""
        total = self.counts[0]
        return [
            (name, count, round(100 * count / total) if total else 0)
            for name, count in zip(FUNNEL_STEPS, self.counts, strict=True)
        ]


@dataclass(frozen=True)
class DailyActivity:
    """Invitations and enrollments per UTC day, oldest first, over the last ``CHART_DAYS``."""

    days: list[dt.date]
    invitations: list[int]
    enrollments: list[int]


def _stage_per_user() -> ModelSelect:
    # 0 provisioned, 1 email delivered, 2 link opened, 3 enrolled: each user counts once, at
    # the furthest step any of their invitations reached (an enrolled user got the link).
    invitation_stage = fn.MAX(
        Case(
            None,
            (
                (Invitation.opened_at.is_null(False), 2),
                (Invitation.email_status == "delivered", 1),
            ),
            0,
        )
    )
    stage = Case(None, ((User.enrolled_at.is_null(False), 3),), fn.COALESCE(invitation_stage, 0))
    return (
        User.select(User.integration.alias("integration_id"), stage.alias("stage"))
        .join(Invitation, JOIN.LEFT_OUTER, on=(Invitation.user == User.id))
        .where(User.deleted_at.is_null())
        .group_by(User.id, User.integration, User.enrolled_at)
    )


def funnels() -> list[Funnel]:
    """The onboarding funnel of every integration, in two aggregate queries."""
    per_user = _stage_per_user().alias("per_user")
    rows = (
        User.select(per_user.c.integration_id, per_user.c.stage, fn.COUNT(per_user.c.stage))
        .from_(per_user)
        .group_by(per_user.c.integration_id, per_user.c.stage)
        .tuples()
    )
    reached: dict[str, list[int]] = {}
    for integration_id, stage, count in rows:
        at_stage = reached.setdefault(integration_id, [0] * len(FUNNEL_STEPS))
        for step in range(int(stage) + 1):
            at_stage[step] += count
    return [
        Funnel(integration, tuple(reached.get(integration.id, [0] * len(FUNNEL_STEPS))))
        for integration in Integration.select().order_by(Integration.name)
    ]


def _per_day(column: Any, since: dt.datetime) -> dict[dt.date, int]:
    day = fn.DATE(column)
    model = column.model
    rows = model.select(day, fn.COUNT(model.id)).where(column >= since).group_by(day).tuples()
    # SQLite answers the day as text, Postgres as a date.
    return {dt.date.fromisoformat(str(value)[:10]): count for value, count in rows}


def daily_activity(today: dt.date | None = None) -> DailyActivity:
    """Invitations issued and users enrolled per day over the last ``CHART_DAYS`` days."""
    today = today or utcnow().date()
    days = [today - dt.timedelta(days=back) for back in range(CHART_DAYS - 1, -1, -1)]
    since = dt.datetime.combine(days[0], dt.time())
    invited = _per_day(Invitation.created, since)
    enrolled = _per_day(User.enrolled_at, since)
    return DailyActivity(
        days=days,
        invitations=[invited.get(day, 0) for day in days],
        enrollments=[enrolled.get(day, 0) for day in days],
    )


def import_rate(now: dt.datetime | None = None) -> float:
    """SCIM creates per minute over the last ``RATE_WINDOW``."""
    now = now or utcnow()
    created = User.select().where(User.created >= now - RATE_WINDOW).count()
    return created / (RATE_WINDOW.total_seconds() / 60)


@dataclass(frozen=True)
class RolloutOverview:
    """What the dashboard's rollout section shows."""

    funnels: list[Funnel]
    activity: DailyActivity
    import_rate: float
    refresh_seconds: int = REFRESH_SECONDS
    window_minutes: int = int(RATE_WINDOW.total_seconds() // 60)


def rollout_overview() -> RolloutOverview:
    """The funnels, the 30-day activity and the current import rate."""
    return RolloutOverview(funnels(), daily_activity(), import_rate())
