"""Event-hook deliveries and the audit log, filtered and paged for the admin pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models import AuditEntry, HookDelivery, OktaEvent

PAGE_SIZE = 50
EMAIL_SENT = "email.sent"


@dataclass(frozen=True)
class Page:
    """Rows, newest first, and the cursor for older ones."""

    rows: list[Any]
    next_before: int | None


def _page(query: Any, model: Any, before: int | None, limit: int) -> Page:
    if before is not None:
        query = query.where(model.id < before)
    rows = list(query.order_by(model.id.desc()).limit(limit + 1))
    return Page(rows[:limit], rows[limit - 1].id if len(rows) > limit else None)


def deliveries(
    integration_id: str | None = None,
    status: int | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """Event-hook deliveries, optionally for one integration or one HTTP status."""
    query = HookDelivery.select()
    if integration_id:
        query = query.where(HookDelivery.integration == integration_id)
    if status is not None:
        query = query.where(HookDelivery.status == status)
    return _page(query, HookDelivery, before, limit)


def events_of(delivery_ids: list[int]) -> dict[int, list[OktaEvent]]:
    """The events each delivery carried (first seen in it)."""
    found: dict[int, list[OktaEvent]] = {d: [] for d in delivery_ids}
    if delivery_ids:
        for event in (
            OktaEvent.select()
            .where(OktaEvent.delivery.in_(delivery_ids))
            .order_by(OktaEvent.published)
        ):
            found[event.delivery_id].append(event)
    return found


def audit_log(
    integration_id: str | None = None,
    action: str | None = None,
    actor_type: str | None = None,
    target_id: str | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
    actor_id: str | None = None,
    show_sent: bool = False,
) -> Page:
    """Audit entries, filtered by integration, action prefix, actor or target.

    ``email.sent`` rows (one per welcome email, the bulk of a large import's log) are left
    out unless ``show_sent`` or an ``email.`` action filter asks for them.
    """
    query = AuditEntry.select()
    if integration_id:
        query = query.where(AuditEntry.integration == integration_id)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    if actor_type:
        query = query.where(AuditEntry.actor_type == actor_type)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if not show_sent and not (action or "").startswith("email."):
        query = query.where(AuditEntry.action != EMAIL_SENT)
    return _page(query, AuditEntry, before, limit)
