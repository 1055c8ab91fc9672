"""Keep each user's membership of the passwordless Okta group in step with the lifecycle.

The lifecycle writes the desired membership (``want``) in the same transaction as the state
change; the worker's ``sync_due_memberships`` job makes Okta agree, honouring Okta's rate
limits, backing off on outages, and parking an integration whose credential Okta refuses
until an admin fixes it.
"""

from __future__ import annotations

import datetime as dt

from peewee import Case

from database import CompiledQuery
from extensions import db
from models import GroupSync, Integration, User, utcnow
from services.okta import grant_checks
from services.okta.client import OktaClient
from services.okta.connection import client_for, okta_ready
from services.okta.errors import (
    OktaAuthError,
    OktaError,
    OktaNotFoundError,
    OktaRateLimitedError,
    OktaUnavailableError,
    RateLimit,
)
from services.platform import audit, metrics, wakeup
from services.platform.claims import claim, release
from services.platform.job_runner import JobContext, retry_delay, run_claimed
from services.platform.settings import seconds

_sync_of_user = CompiledQuery(
    GroupSync, lambda user_id: GroupSync.select().where(GroupSync.user == user_id)
)


def want(user: User, desired: str) -> None:
    """Record that the user should be ``"in"`` or ``"out"`` of the passwordless group."""
    found = _sync_of_user(user.id)
    row = found[0] if found else None
    now = utcnow()
    if row is None:
        if desired == "out":
            return  # never put in the group: nothing to take out
        GroupSync.create(
            user=user.id,
            integration=user.integration_id,
            okta_user_id=user.external_id,
            okta_login=user.user_name,
            desired=desired,
            status="pending",
            next_attempt_at=now,
            updated=now,
        )
        wakeup.wake()
        return
    if row.desired == desired and row.status != "failed":
        return
    changes = {
        GroupSync.desired: desired,
        # Decided in the statement, not from the row read above: a worker may confirm a
        # membership between that read and this write (only the lifecycle changes desired).
        GroupSync.status: Case(None, [(GroupSync.confirmed == desired, "done")], "pending"),
        GroupSync.attempts: 0,
        GroupSync.next_attempt_at: now,
        GroupSync.last_error: None,
        GroupSync.updated: now,
    }
    # Keep the last known Okta identity: a deleted user's has been erased from its row.
    if user.external_id:
        changes[GroupSync.okta_user_id] = user.external_id
    if user.user_name:
        changes[GroupSync.okta_login] = user.user_name
    GroupSync.update(changes).where(GroupSync.id == row.id).execute()
    wakeup.wake()


def retry(user: User) -> bool:
    """Try the user's unfinished group sync again now (an admin action); False if none."""
    updated = (
        GroupSync.update(status="pending", attempts=0, next_attempt_at=utcnow(), last_error=None)
        .where(GroupSync.user == user.id, GroupSync.status != "done")
        .execute()
    )
    wakeup.wake()
    return bool(updated)


def resume(integration: Integration) -> int:
    """An admin fixed the integration: retry everything that was waiting for it."""
    count = (
        GroupSync.update(status="pending", next_attempt_at=utcnow(), attempts=0)
        .where(GroupSync.integration == integration.id, GroupSync.status == "waiting")
        .execute()
    )
    wakeup.wake()
    return int(count)


def _pause(integration: Integration, until: dt.datetime) -> None:
    """Hold every worker's Okta calls for this integration until ``until``."""
    (
        Integration.update(okta_paused_until=until)
        .where(
            Integration.id == integration.id,
            Integration.okta_paused_until.is_null() | (Integration.okta_paused_until < until),
        )
        .execute()
    )


def _note_rate_limit(integration: Integration, rate_limit: RateLimit | None) -> None:
    pause_until = rate_limit.should_pause() if rate_limit else None
    if pause_until is not None:
        _pause(integration, pause_until)


def mark_unhealthy(integration: Integration, reason: str) -> None:
    """Park an integration's Okta work until an admin fixes it."""
    (
        Integration.update(unhealthy_reason=reason[:1000], unhealthy_since=utcnow())
        .where(Integration.id == integration.id)
        .execute()
    )


def _confirm(row: GroupSync, membership: str, integration: Integration) -> None:
    now = utcnow()
    with db.atomic():
        # The lifecycle may have changed its mind while Okta was being called: only a
        # membership that still matches the desired one is done.
        release(
            row,
            confirmed=membership,
            status=Case(None, [(GroupSync.desired == membership, "done")], "pending"),
            attempts=0,
            last_error=None,
            updated=now,
        )
        user = User.select(User.scim_id, User.deleted_at).where(User.id == row.user_id).first()
        if membership == "out" and user is not None and user.deleted_at is not None:
            forget_okta_identity(row.user_id)
        audit.record(
            integration.id,
            audit.SYSTEM,
            "group.member_added" if membership == "in" else "group.member_removed",
            target_type="User",
            target_id=user.scim_id if user else None,
            detail={"okta_group": row.group_id, "okta_user": row.okta_user_id},
        )


def _resolve_okta_user(row: GroupSync, client: OktaClient) -> str | None:
    if row.okta_user_id and row.okta_user_id.startswith("00u"):
        return str(row.okta_user_id)
    if not row.okta_login:
        return row.okta_user_id
    # externalId is mapped from the Okta user id by default, but an app may map it to
    # something else: then look the user up by login.
    found = client.find_user_id(row.okta_login)
    if found:
        GroupSync.update(okta_user_id=found).where(GroupSync.id == row.id).execute()
    return found


def _not_found(
    row: GroupSync,
    client: OktaClient,
    integration: Integration,
    okta_user: str | None,
    exc: OktaNotFoundError,
) -> str:
    """Okta answered 404 to adding the user: either the group or the user is gone.

    A missing group stops all of the integration's work until an admin fixes it; a missing
    user fails this change alone.
    """
    try:
        client.get_group(integration.group_id)
    except OktaNotFoundError:
        reason = f"the passwordless group {integration.group_id} was not found in Okta"
        mark_unhealthy(integration, reason)
        release(row, status="waiting", last_error=f"{reason} ({exc.error_code})")
        return "waiting"
    except OktaError as check:
        release(
            row,
            attempts=row.attempts + 1,
            next_attempt_at=utcnow() + retry_delay(row.attempts + 1),
            last_error=f"Okta answered 404 adding the user, then: {check}"[:1000],
        )
        return "retry"
    who = okta_user or row.okta_login
    reason = f"Okta has no user {who} ({exc.error_code}); it may have been deleted in Okta"
    release(row, status="failed", last_error=reason, updated=utcnow())
    return "failed"


def _refuse(row: GroupSync, integration: Integration, refused: grant_checks.Refusal) -> str:
    """Okta did not confirm the user: no addition; fail (or wait) with the reason."""
    metrics.grant_refused(refused.kind)
    if refused.retry:
        release(
            row,
            attempts=row.attempts + 1,
            next_attempt_at=utcnow() + retry_delay(row.attempts + 1),
            last_error=refused.reason[:1000],
        )
        return "retry"
    with db.atomic():
        release(row, status="failed", last_error=refused.reason[:1000], updated=utcnow())
        user = User.select(User.scim_id).where(User.id == row.user_id).first()
        audit.record(
            integration.id,
            audit.SYSTEM,
            "group.grant_refused",
            target_type="User",
            target_id=user.scim_id if user else None,
            detail={"okta_user": row.okta_user_id, "check": refused.kind, "reason": refused.reason},
        )
    return "failed"


def sync_one(row: GroupSync) -> str:
    """Carry out one claimed membership change; returns what happened."""

    integration = Integration.get_by_id(row.integration_id)
    now = utcnow()
    not_ready = okta_ready(integration)
    if not_ready:
        release(row, status="waiting", last_error=not_ready)
        return "waiting"
    if integration.okta_paused_until and integration.okta_paused_until > now:
        release(row, next_attempt_at=integration.okta_paused_until)
        return "paused"
    client = client_for(integration)
    desired = row.desired
    row.group_id = integration.group_id
    GroupSync.update(group_id=integration.group_id).where(GroupSync.id == row.id).execute()
    okta_user = None
    try:
        okta_user = _resolve_okta_user(row, client)
        if okta_user is None:
            if desired == "out":
                _confirm(row, "out", integration)
                return "done"
            release(row, status="failed", last_error="no such user in Okta", updated=now)
            return "failed"
        if desired == "in":
            refused = grant_checks.refusal(client, integration, row, okta_user)
            if refused is not None:
                return _refuse(row, integration, refused)
            rate_limit = client.add_user_to_group(integration.group_id, okta_user)
        else:
            rate_limit = client.remove_user_from_group(integration.group_id, okta_user)
    except OktaRateLimitedError as exc:
        # The first 429 waits for Okta's reset; another for the same change backs off too,
        # so a reset that is always "now" cannot turn into a loop of refused calls.
        attempts = row.attempts + 1
        retry_at = exc.retry_at
        if attempts > 1:
            retry_at = max(retry_at, now + retry_delay(attempts))
        _pause(integration, retry_at)
        release(row, attempts=attempts, next_attempt_at=retry_at, last_error="rate limited by Okta")
        return "rate_limited"
    except OktaUnavailableError as exc:
        release(
            row,
            attempts=row.attempts + 1,
            next_attempt_at=now + retry_delay(row.attempts + 1),
            last_error=str(exc)[:1000],
        )
        return "retry"
    except OktaAuthError as exc:
        detail = f"{exc.error_code or exc.status} {exc.error_summary or exc}"
        reason = f"Okta refused the credential: {detail}"
        mark_unhealthy(integration, reason)
        release(row, status="waiting", last_error=reason[:1000])
        return "waiting"
    except OktaNotFoundError as exc:
        return _not_found(row, client, integration, okta_user, exc)
    except OktaError as exc:
        release(row, status="failed", last_error=str(exc)[:1000], updated=now)
        return "failed"
    _note_rate_limit(integration, rate_limit)
    _confirm(row, desired, integration)
    return "done"


def _crashed(row: GroupSync) -> None:
    release(
        row,
        attempts=row.attempts + 1,
        next_attempt_at=utcnow() + retry_delay(row.attempts + 1),
        last_error="internal error",
    )


def sync_due_memberships(context: JobContext) -> int:
    """Worker job: make Okta's group membership match the desired one, several at a time."""
    now = utcnow()
    rows = claim(
        GroupSync,
        (GroupSync.status == "pending") & (GroupSync.next_attempt_at <= now),
        [GroupSync.next_attempt_at, GroupSync.id],
        context.owner,
        seconds("WORKER_LEASE_SECONDS"),
        context.batch_size,
    )
    return run_claimed(context, rows, sync_one, crashed=_crashed)


def forget_okta_identity(user_id: int) -> None:
    """Drop the Okta login and id a deleted user's group removal kept, once it is done."""
    (
        GroupSync.update(okta_login=None, okta_user_id=None)
        .where(
            GroupSync.user == user_id,
            GroupSync.desired == "out",
            GroupSync.status == "done",
        )
        .execute()
    )
