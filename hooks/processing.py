"""Apply stored Okta events to users, oldest first (a worker job)."""

from __future__ import annotations

from extensions import db
from hooks.handlers import HANDLERS
from models import Integration, OktaEvent, User, utcnow
from services.platform import metrics
from services.platform.audit import Actor
from services.platform.claims import claim, release
from services.platform.job_runner import JobContext, run_claimed
from services.platform.settings import hours, seconds
from services.users import event_order, lifecycle, pending_events

PENDING_USER = pending_events.PENDING_USER


def find_user(event: OktaEvent) -> User | None:
    """The live user an event targets: by Okta user id (our externalId), else by login."""
    live = User.select().where(User.integration == event.integration_id, User.deleted_at.is_null())
    if event.target_id:
        user = live.where(User.external_id == event.target_id).first()
        if user is not None:
            return user
    if event.target_login:
        return live.where(User.user_name_key == event.target_login.casefold()).first()
    return None


def _decide(event: OktaEvent) -> tuple[str, str]:
    """Apply one event inside the caller's transaction; returns (outcome, detail)."""
    handler = HANDLERS.get(event.event_type)
    payload = event.payload or {}
    if handler is None:
        return "unhandled_type", f"event type {event.event_type} is recorded but not acted on"
    if not payload.get("actor"):
        return "no_actor", "the event has no actor (null or missing)"
    if event.target_id is None and event.target_login is None:
        return "no_target", "the event has no target of type User"
    result = ((payload.get("outcome") or {}).get("result") or "").upper()
    if result and result != "SUCCESS":
        return "not_successful", f"Okta reports the action's outcome as {result}"
    reopened = event.outcome == PENDING_USER
    user = find_user(event)
    if user is None:
        who = event.target_login or event.target_id
        if event.received > utcnow() - hours("OKTA_PENDING_EVENT_HOURS"):
            return PENDING_USER, (
                f"no provisioned user matches Okta user {who} yet; applied if SCIM creates "
                "the user in time"
            )
        return "unknown_user", f"no provisioned user matches Okta user {who}"
    user = lifecycle.locked_user(user.id)
    event.user = user.id
    if handler.apply is None:
        return "recorded", handler.note
    if handler.condition is not None:
        why_not = handler.condition(event, Integration.get_by_id(event.integration_id))
        if why_not:
            return "recorded", why_not
    why_stale = event_order.stale(user, handler.concern, event.published, reopened)
    if why_stale:
        return "stale", why_stale
    changed = handler.apply(user, Actor("okta_event", event.uuid), event.published)
    event_order.applied(user, handler.concern, event.published, changed)
    if changed:
        return "applied", f"user is now {user.state}"
    return "applied", f"no change: user was already {user.state}"


def process_event(event: OktaEvent) -> str:
    """Decide and record one claimed event's outcome, atomically."""
    with db.atomic():
        outcome, detail = _decide(event)
        release(
            event,
            processed_at=utcnow(),
            outcome=outcome,
            outcome_detail=detail[:1000],
            user=event.user_id,
            attempts=event.attempts + 1,
        )
    metrics.okta_event_processed(event.event_type, outcome)
    return outcome


def process_due_events(context: JobContext) -> int:
    """Worker job: apply unprocessed events in order of ``published``."""
    pending_events.expire()
    events = claim(
        OktaEvent,
        OktaEvent.processed_at.is_null(),
        [OktaEvent.published, OktaEvent.id],
        context.owner,
        seconds("WORKER_LEASE_SECONDS"),
        limit=100,
    )
    # In order, and a failing event stays leased: it is retried once the lease runs out.
    return run_claimed(context, events, process_event, in_parallel=False)
