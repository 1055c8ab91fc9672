"""Event-hook deliveries, the audit log, and the work queue with its retry buttons."""

from __future__ import annotations

from collections.abc import Callable, Container

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from blueprints.admin.blueprint import bp
from services.admin import activity, work_queue
from services.admin.audit_names import audit_names
from services.admin.user_details import scim_ids
from services.admin.user_directory import integration_names
from services.errors import ServiceError

DELIVERY_STATUSES = (200, 400, 401)
# Suggestions for the action filter; it matches any prefix.
AUDIT_ACTIONS = ("user.", "group.", "email.", "admin.")
ACTOR_TYPES = ("scim_token", "okta_event", "admin", "enrollment", "system", "setup", "oidc")
MAX_FILTER_LENGTH = 100


def _cursor() -> int | None:
    """The paging cursor (``before``); anything but a row id means the first page."""
    value = request.args.get("before") or ""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def _text(name: str) -> str | None:
    """A free-text filter, trimmed; empty means no filter."""
    return (request.args.get(name) or "").strip()[:MAX_FILTER_LENGTH] or None


def _choice(name: str, allowed: Container[str]) -> str | None:
    """A filter that must be one of ``allowed``; anything else means no filter."""
    value = request.args.get(name)
    return value if value and value in allowed else None


def _kept(filters: dict[str, object]) -> dict[str, object]:
    """The filters in use, for paging links that keep them."""
    return {name: value for name, value in filters.items() if value}


@bp.get("/hooks")
def deliveries() -> ResponseReturnValue:
    """Okta event-hook deliveries, newest first, with the events each one carried."""
    names = integration_names()
    integration_id = _choice("integration", names)
    status = _choice("status", {str(s) for s in DELIVERY_STATUSES})
    filters: dict[str, object] = {"integration": integration_id, "status": status}
    page = activity.deliveries(
        integration_id=integration_id, status=int(status) if status else None, before=_cursor()
    )
    events = activity.events_of([delivery.id for delivery in page.rows])
    return render_template(
        "admin/activity/deliveries.html",
        page=page,
        events=events,
        users=scim_ids(event.user_id for found in events.values() for event in found),
        integrations=names,
        statuses=DELIVERY_STATUSES,
        filters=filters,
        args=_kept(filters),
        before=_cursor(),
    )


@bp.get("/audit")
def audit() -> ResponseReturnValue:
    """The audit log, newest first, filtered by integration, action, actor or target."""
    names = integration_names()
    integration_id = _choice("integration", names)
    action, actor, target = _text("action"), _choice("actor", ACTOR_TYPES), _text("target")
    actor_id, show_sent = _text("actor_id"), request.args.get("sent") == "shown"
    filters: dict[str, object] = {
        "integration": integration_id,
        "action": action,
        "actor": actor,
        "actor_id": actor_id,
        "target": target,
        "sent": "shown" if show_sent else None,
    }
    page = activity.audit_log(
        integration_id=integration_id,
        action=action,
        actor_type=actor,
        target_id=target,
        before=_cursor(),
        actor_id=actor_id,
        show_sent=show_sent,
    )
    return render_template(
        "admin/activity/audit.html",
        page=page,
        names=audit_names(page.rows),
        integrations=names,
        actions=AUDIT_ACTIONS,
        actor_types=ACTOR_TYPES,
        filters=filters,
        args=_kept(filters),
        before=_cursor(),
    )


@bp.get("/work")
def work() -> ResponseReturnValue:
    """Emails, group changes and Okta events that are queued, stuck or failed."""
    return render_template(
        "admin/activity/work.html",
        queue=work_queue.work_queue(),
        integrations=integration_names(),
    )


def _retry(action: Callable[[int], object], item_id: int, done: str) -> ResponseReturnValue:
    """Run one retry action and say what happened."""
    try:
        action(item_id)
    except ServiceError as exc:
        flash(f"Nothing was retried: {exc}.", "error")
    else:
        flash(done)
    return redirect(url_for("admin.work"))


@bp.post("/work/emails/<int:invitation_id>/retry")
def work_retry_email(invitation_id: int) -> ResponseReturnValue:
    """Send a failed welcome email again, with the same link."""
    return _retry(work_queue.retry_email, invitation_id, "The welcome email is queued again.")


@bp.post("/work/group-syncs/<int:sync_id>/retry")
def work_retry_group_sync(sync_id: int) -> ResponseReturnValue:
    """Try an unfinished Okta group membership change again now."""
    return _retry(
        work_queue.retry_group_sync, sync_id, "The group membership change will be retried now."
    )


@bp.post("/work/events/<int:event_id>/retry")
def work_retry_event(event_id: int) -> ResponseReturnValue:
    """Release a stuck Okta event so the worker applies it now."""
    return _retry(work_queue.retry_event, event_id, "The Okta event will be applied now.")
