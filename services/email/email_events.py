"""SendGrid's signed Event Webhook: verify a delivery, store each event once, and move each
invitation's email status forward (never backward)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from peewee import IntegrityError
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader

from extensions import db
from models import EmailEvent, Invitation
from services.email import email_status
from services.email.sendgrid_mailer import INVITATION_ARG

__all__ = [
    "EVENT_STATUS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ApplyResult",
    "MalformedEventsError",
    "SignatureError",
    "apply_events",
    "verify_signature",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = EventWebhookHeader.SIGNATURE
TIMESTAMP_HEADER: Final = EventWebhookHeader.TIMESTAMP

#: SendGrid event type → the invitation's email status it reports.
EVENT_STATUS: Final = {
    "processed": "processed",
    "deferred": "deferred",
    "delivered": "delivered",
    "bounce": "bounced",
    "dropped": "dropped",
    "spamreport": "spamreport",
    "unsubscribe": "unsubscribed",
}
# Statuses whose reason (SendGrid's "reason", or "response" for deferrals) is kept in last_error.
_REASON_STATUSES: Final = frozenset({"deferred", "bounced", "dropped"})
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")
_PEM_ARMOR: Final = re.compile(r"-----(BEGIN|END) PUBLIC KEY-----|\s+")
_MAX_EVENT_NAME: Final = 30  # EmailEvent.event
_MAX_ID: Final = 200  # EmailEvent.sg_event_id / sg_message_id; SendGrid's ids are <= 100
_LOOKUP_CHUNK: Final = 500


class SignatureError(Exception):
    """The delivery is not provably from SendGrid. ``reason``: "unsigned" (no signature
    headers), "invalid" (a wrong signature or a stale timestamp: a replay) or
    "not_configured" (the verification key is unusable); the webhook maps it to its answer."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class MalformedEventsError(ValueError):
    """The body is not a list of SendGrid events."""


@dataclass(frozen=True)
class ApplyResult:
    """What one webhook delivery did."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    unmatched: int = 0
    updated: int = 0
    resolved: int = 0


# --- signature ------------------------------------------------------------------------------


def verify_signature(
    public_key: str,
    payload: bytes,
    signature: str,
    timestamp: str,
    max_age: int,
    now: float | None = None,
) -> None:
    """Check SendGrid's ECDSA signature over timestamp + raw body, and the timestamp's age.

    ``public_key`` is the verification key as SendGrid's settings page shows it (base64 of
    the DER public key; PEM armour and line breaks are tolerated).

    :raises SignatureError: "unsigned" when a header is missing; "invalid" when the signature
        does not match or the timestamp is more than ``max_age`` seconds away from ``now`` (a
        replay); "not_configured" when ``public_key`` is not a usable ECDSA key.
    """
    if not signature or not timestamp:
        raise SignatureError(
            "unsigned", f"the {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} headers are required"
        )
    verifier = _verifier(_PEM_ARMOR.sub("", public_key))
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("invalid", f"{TIMESTAMP_HEADER} is not a Unix time")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > max_age:
        raise SignatureError(
            "invalid", f"{TIMESTAMP_HEADER} is more than {max_age} seconds away from now"
        )
    try:
        # Over the raw bytes, as SendGrid signs them (the helper wants text): a signed body
        # that is not UTF-8 is then refused as bad JSON, not as a bad signature.
        verifier.public_key.verify(
            base64.b64decode(signature), timestamp.encode() + payload, ec.ECDSA(hashes.SHA256())
        )
        valid = True
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        valid = False
    if not valid:
        raise SignatureError("invalid", "the signature does not match the webhook verification key")


@lru_cache(maxsize=4)
def _verifier(public_key: str) -> EventWebhook:
    try:
        verifier = EventWebhook(public_key)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        verifier = None
    if verifier is None or not isinstance(verifier.public_key, ec.EllipticCurvePublicKey):
        raise SignatureError(
            "not_configured",
            "SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA public key in SendGrid's format",
        )
    return verifier


# --- events ---------------------------------------------------------------------------------


@dataclass
class _Tally:
    stored: int = 0
    duplicates: int = 0
    unmatched: int = 0
    updated: int = 0
    resolved: int = 0


def apply_events(events: Any) -> ApplyResult:
    """Store each event once (by ``sg_event_id``) and apply it to its invitation, in one
    transaction; redelivered events change nothing.

    :raises MalformedEventsError: when ``events`` is not a list of events, each an object
        with ``event``, ``timestamp`` and ``sg_event_id``; then nothing is stored.
    """
    parsed = _validate(events)
    tally = _Tally()
    with db.atomic():
        seen = _known_event_ids([event_id for event_id, _, _ in parsed])
        for event_id, occurred, event in parsed:
            if event_id in seen:
                tally.duplicates += 1
                continue
            seen.add(event_id)
            invitation = _match(event)
            if not _store(event_id, occurred, event, invitation):
                tally.duplicates += 1
                continue
            tally.stored += 1
            if invitation is None:
                tally.unmatched += 1
            else:
                _apply(invitation, occurred, event, tally)
    return ApplyResult(
        received=len(parsed),
        stored=tally.stored,
        duplicates=tally.duplicates,
        unmatched=tally.unmatched,
        updated=tally.updated,
        resolved=tally.resolved,
    )


def _validate(events: Any) -> list[tuple[str, dt.datetime, dict[str, Any]]]:
    if not isinstance(events, list):
        raise MalformedEventsError("expected a JSON array of events")
    parsed = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise MalformedEventsError(f"event {index} is not an object")
        name, event_id, stamp = event.get("event"), event.get("sg_event_id"), event.get("timestamp")
        if not isinstance(name, str) or not 0 < len(name) <= _MAX_EVENT_NAME:
            raise MalformedEventsError(f"event {index}: 'event' must be a short string")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= _MAX_ID:
            raise MalformedEventsError(f"event {index}: 'sg_event_id' must be a string")
        if isinstance(stamp, bool) or not isinstance(stamp, int | float):
            raise MalformedEventsError(f"event {index}: 'timestamp' must be a Unix time")
        try:
            occurred = dt.datetime.fromtimestamp(stamp, dt.UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise MalformedEventsError(f"event {index}: 'timestamp' is out of range") from None
        parsed.append((event_id, occurred, event))
    return parsed


def _known_event_ids(event_ids: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(event_ids), _LOOKUP_CHUNK):
        chunk = event_ids[start : start + _LOOKUP_CHUNK]
        query = EmailEvent.select(EmailEvent.sg_event_id).where(EmailEvent.sg_event_id.in_(chunk))
        known.update(event_id for (event_id,) in query.tuples())
    return known


def _store(
    event_id: str, occurred: dt.datetime, event: dict[str, Any], invitation: Invitation | None
) -> bool:
    """Insert the event; False when a concurrent delivery stored it first."""
    try:
        with db.atomic():  # a savepoint: a unique violation must not end the transaction
            EmailEvent.create(
                sg_event_id=event_id,
                invitation=invitation.id if invitation else None,
                integration=invitation.integration_id if invitation else None,
                event=event["event"],
                occurred=occurred,
                reason=_reason(event),
                sg_message_id=(_text(event.get("sg_message_id")) or "")[:_MAX_ID] or None,
                payload=event,
            )
    except IntegrityError:
        return False
    return True


def _match(event: dict[str, Any]) -> Invitation | None:
    """Our invitation for this event: by the invitation_id custom arg, else by message id.

    Custom args are top-level keys of the event. Bounces returned via Return-Path carry no
    custom args (SendGrid's "Unique Arguments" docs), hence the message-id fallback:
    sg_message_id is the X-Message-Id we stored, a dot, and a per-recipient suffix.
    """
    candidates = _message_id_candidates(_text(event.get("sg_message_id")))
    raw = event.get(INVITATION_ARG)
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 18:
        invitation = Invitation.get_or_none(Invitation.id == int(raw))
        # Another installation sharing the SendGrid account numbers its invitations too: an
        # invitation we never tried to send, or whose message id we know to be another,
        # is not what this event is about.
        if (
            invitation is not None
            and invitation.attempts > 0
            and (not invitation.message_id or not candidates or invitation.message_id in candidates)
        ):
            return invitation
    if not candidates:
        return None
    return (
        Invitation.select()
        .where(Invitation.message_id.in_(candidates))
        .order_by(Invitation.id.desc())
        .first()
    )


def _message_id_candidates(sg_message_id: str | None) -> list[str]:
    """Every dot-prefix of sg_message_id (X-Message-Ids have had dots), and the whole id
    (what the Email Activity API calls msg_id, which find_sent may have stored)."""
    if not sg_message_id:
        return []
    parts = sg_message_id[:_MAX_ID].split(".")
    return [".".join(parts[:end]) for end in range(1, min(len(parts), 12) + 1)]


def _apply(
    invitation: Invitation, occurred: dt.datetime, event: dict[str, Any], tally: _Tally
) -> None:
    if invitation.email_status in email_status.IN_DOUBT and _resolve_sent(
        invitation, occurred, event
    ):
        tally.resolved += 1
    status = EVENT_STATUS.get(event["event"])
    if status is None:
        return  # opens, clicks, group unsubscribes...: kept, but they say nothing new here
    error = None
    if status in _REASON_STATUSES:
        error = _reason(event) or f"SendGrid reported '{event['event']}'"
    tally.updated += email_status.report(invitation.id, status, occurred, error)


def _resolve_sent(invitation: Invitation, occurred: dt.datetime, event: dict[str, Any]) -> bool:
    """Mark an invitation whose send is in doubt as sent: SendGrid has its message.

    Only after a send was attempted: an event for a never-tried invitation is about some
    other message. The lease is cleared so the worker holding it cannot overwrite this.
    """
    sg_message_id = _text(event.get("sg_message_id"))
    message_id = invitation.message_id or (
        sg_message_id.split(".", 1)[0][:_MAX_ID] if sg_message_id else None
    )
    in_doubt = Invitation.email_status.in_(email_status.IN_DOUBT) & (Invitation.attempts > 0)
    source = f"sendgrid event '{event['event']}'"
    sent = email_status.mark_sent(invitation, message_id, occurred, only_if=in_doubt, source=source)
    if not sent:
        return False
    log.info("invitation %s: SendGrid's events show its email went out", invitation.id)
    return True


def _reason(event: dict[str, Any]) -> str | None:
    return _text(event.get("reason")) or _text(event.get("response"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
