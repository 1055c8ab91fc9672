"""Apply stored Okta events to users, oldest first (a worker job)."""

from __future__ import annotations

import logging

from extensions import db
from hooks.handlers import CONCERN_COLUMNS, HANDLERS
from models import OktaEvent, User, utcnow
from services import lifecycle, metrics
from services.audit import Actor
from services.claims import claim, release
from services.settings import seconds
from services.worker import JobContext

log = logging.getLogger(__name__)


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
    user = find_user(event)
    if user is None:
        who = event.target_login or event.target_id
        return "unknown_user", f"no provisioned user matches Okta user {who}"
    user = lifecycle.locked_user(user.id)
    event.user = user.id
    if handler.apply is None:
        return "recorded", "recorded on the user's timeline"
    column = CONCERN_COLUMNS.get(handler.concern or "")
    last = getattr(user, column) if column else None
    if last is not None and event.published < last:
        return "stale", (
            f"published {event.published:%Y-%m-%dT%H:%M:%S.%fZ}, before the last "
            f"{handler.concern} change applied at {last:%Y-%m-%dT%H:%M:%S.%fZ}"
        )
    changed = handler.apply(user, Actor("okta_event", event.uuid), event.published)
    if column:
        # The newest word on the concern, even when it changed nothing: an older event that
        # arrives later must not undo it (suspend T1, unsuspend T2, suspend T3, T2 late).
        setattr(user, column, event.published)
    if changed and handler.concern == "status":
        # SCIM shows ``active``: its ETag and lastModified move with it (RFC 7644 §3.14).
        user.version += 1
        user.last_modified = utcnow()
    user.save()
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
    events = claim(
        OktaEvent,
        OktaEvent.processed_at.is_null(),
        [OktaEvent.published, OktaEvent.id],
        context.owner,
        seconds("WORKER_LEASE_SECONDS"),
        limit=100,
    )
    for event in events:
        try:
            process_event(event)
        except Exception:
            # Leave it leased: it will be retried once the lease runs out.
            log.exception("processing Okta event %s failed", event.uuid)
    return len(events)
