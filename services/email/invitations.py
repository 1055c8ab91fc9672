"""Invitations: issue and revoke enrollment tokens, send welcome emails, complete enrollment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from peewee import Case

import row_writes
from database import CompiledQuery
from extensions import db
from models import Integration, Invitation, User, utcnow
from row_writes import RowWrites
from services.email import email_status
from services.email.email_headers import address_problem
from services.email.mailer import (
    Mailer,
    MailInDoubtError,
    MailPermanentError,
    MailTransientError,
    SentLookupUnavailableError,
)
from services.email.welcome_email import compose_welcome
from services.platform import metrics, wakeup
from services.platform.claims import claim, release
from services.platform.job_runner import JobContext, retry_delay, run_claimed
from services.platform.secrets import generate_token, hash_secret
from services.platform.settings import encryptor, hours, public_base_url, seconds

TOKEN_PREFIX = "enr_"  # noqa: S105 (a label, not a secret)
# How often an email in doubt asks the provider again whether it went out.
IN_DOUBT_RECHECK = dt.timedelta(minutes=1)


def live_invitation(user: User) -> Invitation | None:
    """The user's newest invitation that can still be used, if any."""
    return (
        Invitation.select()
        .where(
            Invitation.user == user.id,
            Invitation.revoked_at.is_null(),
            Invitation.used_at.is_null(),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.id.desc())
        .first()
    )


def issue_invitation(user: User, reason: str) -> Invitation:
    """Create an invitation with a fresh token and queue its welcome email."""
    return insert_invitation(user, draft_invitation(user, reason))


def draft_invitation(user: User, reason: str) -> Invitation:
    """An unsaved invitation for the user: token, its hash and ciphertext, the email's fate.

    Pure work, done before a write transaction where it can be (a SCIM create), so that
    the write lock is held for the INSERTs alone.
    """
    raw = generate_token(TOKEN_PREFIX)
    now = utcnow()
    problem = address_problem(user.email)
    return Invitation(
        integration=user.integration_id,
        reason=reason,
        token_hash=hash_secret(raw),
        token_encrypted=encryptor().encrypt(raw),
        base_url=public_base_url(),
        created=now,
        expires_at=now + hours("ENROLLMENT_TOKEN_TTL_HOURS"),
        email_status="failed" if problem else "queued",
        email_status_at=now,
        next_attempt_at=now,
        last_error=problem,
    )


def insert_invitation(user: User, invitation: Invitation) -> Invitation:
    """Save a drafted invitation for the (saved) user and wake the email sender."""
    invitation.user = user.id
    row_writes.insert_row(invitation)
    wakeup.wake()
    return invitation


def add_invitation(writes: RowWrites, invitation: Invitation) -> None:
    """Write a drafted invitation with its user, the first row of ``writes``."""
    writes.insert(invitation, child_of="user")
    writes.then(wakeup.wake)


def _open_invitations(user_id: Any) -> Any:
    return (Invitation.user == user_id) & Invitation.revoked_at.is_null()


def _when(condition: Any, value: Any, column: Any) -> Any:
    """``value`` where ``condition`` holds, else the column as it was."""
    return Case(None, [(condition, value)], column)


_UNUSED = Invitation.used_at.is_null()
_UNSENT = Invitation.email_status == "queued"

# Built once, one statement: every deactivation and reactivation runs it (SCIM PATCH active).
# Every SET sees the row as it was, so an unused invitation is revoked and an unsent email
# cancelled (its token dropped) in the same pass.
_end_open = CompiledQuery(
    Invitation,
    lambda user_id, now, reason: Invitation.update(
        revoked_at=_when(_UNUSED, now, Invitation.revoked_at),
        revoked_reason=_when(_UNUSED, reason, Invitation.revoked_reason),
        email_status=_when(_UNSENT, "cancelled", Invitation.email_status),
        email_status_at=_when(_UNSENT, now, Invitation.email_status_at),
        token_encrypted=_when(_UNSENT, None, Invitation.token_encrypted),
        lease_owner=_when(_UNSENT, None, Invitation.lease_owner),
        lease_until=_when(_UNSENT, None, Invitation.lease_until),
    ).where(_open_invitations(user_id), _UNUSED | _UNSENT),
)


def revoke_invitations(user: User, reason: str) -> None:
    """Revoke every usable invitation of the user; unsent emails are cancelled."""
    _end_open.execute(user.id, Invitation.revoked_at.db_value(utcnow()), reason)


# --- sending (worker) ----------------------------------------------------------------


def _resolve_in_doubt(mailer: Mailer, owner: str) -> int:
    """Emails whose sender died mid-send: find out whether they went out before retrying.

    Never sending twice wins over sending promptly: an email the provider cannot vouch
    for waits MAIL_IN_DOUBT_GRACE_SECONDS for its delivery events before it is sent again.
    """
    now = utcnow()
    stuck = claim(
        Invitation,
        (Invitation.email_status == "sending") & (Invitation.next_attempt_at <= now),
        [Invitation.id],
        owner,
        seconds("WORKER_LEASE_SECONDS"),
        limit=20,
    )
    for invitation in stuck:
        try:
            message_id = mailer.find_sent(invitation.id)
            settled = mailer.authoritative_lookup
        except SentLookupUnavailableError:
            message_id, settled = None, False
        if message_id:
            _mark_sent(invitation, message_id)
        elif settled or now - invitation.email_status_at >= seconds("MAIL_IN_DOUBT_GRACE_SECONDS"):
            email_status.requeue(invitation, now, at=now)
        else:
            # Activity feeds lag: wait for the provider's records or delivery events.
            grace_ends = invitation.email_status_at + seconds("MAIL_IN_DOUBT_GRACE_SECONDS")
            release(invitation, next_attempt_at=min(now + IN_DOUBT_RECHECK, grace_ends))
    return len(stuck)


def _mark_sent(invitation: Invitation, message_id: str) -> None:
    with db.atomic():
        # Only while this worker still holds the lease (SendGrid's events may have won).
        email_status.mark_sent(
            invitation,
            message_id,
            utcnow(),
            only_if=Invitation.lease_owner == invitation.lease_owner,
        )


def claim_due_emails(owner: str, limit: int) -> list[Invitation]:
    """Lease queued invitations whose email is due, marking them as being sent."""
    now = utcnow()
    rows = claim(
        Invitation,
        (Invitation.email_status == "queued") & (Invitation.next_attempt_at <= now),
        [Invitation.next_attempt_at, Invitation.id],
        owner,
        seconds("WORKER_LEASE_SECONDS"),
        limit,
    )
    if rows:
        # See _resolve_in_doubt for what the next worker does with "sending".
        email_status.start_sending([r.id for r in rows], owner, now)
        for row in rows:
            row.email_status = "sending"
            row.attempts += 1
    return rows


def send_invitation_email(invitation: Invitation, mailer: Mailer) -> str:
    """Compose and send one claimed invitation's welcome email; record the outcome."""
    user = User.get_by_id(invitation.user_id)
    integration = Integration.get_by_id(invitation.integration_id)
    if invitation.token_encrypted is None or user.state != "invited":
        email_status.cancel(invitation, utcnow())
        metrics.email_outcome("cancelled")
        return "cancelled"
    token = encryptor().decrypt(invitation.token_encrypted)
    try:
        # The address may have changed (and been refused) since the invitation was issued.
        email = compose_welcome(invitation, user, integration, token)
        # Recorded before the hand-over: only the person at this address can enroll from the
        # link, and a grant later checks that the Okta user is that person
        # (services/okta/grant_checks.py).
        Invitation.update(sent_to=email.to_email).where(Invitation.id == invitation.id).execute()
        message_id = mailer.send(email)
    except MailInDoubtError as exc:
        now = utcnow()
        grace = seconds("MAIL_IN_DOUBT_GRACE_SECONDS")
        email_status.keep_in_doubt(invitation, now, now + min(IN_DOUBT_RECHECK, grace), str(exc))
        metrics.email_outcome("in_doubt")
        return "in_doubt"
    except MailTransientError as exc:
        email_status.requeue(
            invitation,
            utcnow() + retry_delay(invitation.attempts, exc.retry_after),
            at=utcnow(),
            error=str(exc),
        )
        metrics.email_outcome("retry")
        return "retry"
    except MailPermanentError as exc:
        email_status.fail(invitation, utcnow(), str(exc), user.scim_id)
        metrics.email_outcome("failed")
        return "failed"
    _mark_sent(invitation, message_id)
    metrics.email_outcome("sent")
    return "sent"


def _crashed(invitation: Invitation) -> None:
    email_status.requeue(
        invitation,
        utcnow() + retry_delay(invitation.attempts),
        error="internal error while sending",
    )


def send_due_emails(context: JobContext) -> int:
    """Worker job: resolve emails left in doubt, then send what is due, several at once."""
    mailer = context.mailer
    done = _resolve_in_doubt(mailer, context.owner)
    due = claim_due_emails(context.owner, context.batch_size)
    sent = run_claimed(
        context, due, lambda row: send_invitation_email(row, mailer), crashed=_crashed
    )
    return done + sent
