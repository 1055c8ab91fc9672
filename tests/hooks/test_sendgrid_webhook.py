"""SendGrid's signed Event Webhook at /hooks/sendgrid: signatures, storage and email statuses."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from models import AuditEntry, EmailEvent, Invitation, OktaEvent, utcnow
from services.email.email_events import SignatureError, verify_signature
from testkit.fakes.sendgrid import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSigner,
    sendgrid_event,
)
from tests.factories import moment, okta_create_user_payload, okta_delivery, okta_event

MAX_AGE = 600


@pytest.fixture
def signer(app) -> WebhookSigner:
    """SendGrid's key pair; the app is configured with its public half."""
    signer = WebhookSigner()
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = signer.public_key_b64
    app.config["SENDGRID_WEBHOOK_MAX_AGE_SECONDS"] = MAX_AGE
    return signer


@pytest.fixture
def invitation(client, scim_headers, worker) -> Invitation:
    """An invitation whose welcome email went out (message id ``recorded-1``)."""
    response = client.post(
        "/scim/v2/Users", json=okta_create_user_payload("ada@example.com"), headers=scim_headers
    )
    assert response.status_code == 201
    worker.run_until_idle()
    sent = Invitation.get()
    assert (sent.email_status, sent.message_id) == ("sent", "recorded-1")
    return sent


def event(invitation: Invitation, kind: str, at: int | None = None, **fields: Any) -> dict:
    """An event about ``invitation``'s email, as SendGrid posts it."""
    payload = {
        "email": "ada@example.com",
        "sg_message_id": f"{invitation.message_id}.filterdrecv-5d7f9c-1-6572E1A2-3.0",
        "invitation_id": str(invitation.id),
        "category": ["welcome"],
        **fields,
    }
    return sendgrid_event(None, kind, timestamp=at, **payload)


@pytest.fixture
def deliver(client, signer):
    """POST signed events; returns the response."""

    def deliver(*events: dict, timestamp: str | None = None) -> Any:
        body, headers = signer.delivery(list(events), timestamp)
        return client.post("/hooks/sendgrid", data=body, headers=headers)

    return deliver


def _reload(invitation: Invitation) -> Invitation:
    return Invitation.get_by_id(invitation.id)


# --- signatures -------------------------------------------------------------------------------


def test_a_signed_delivery_is_stored_and_applied(deliver, invitation) -> None:
    delivered = event(invitation, "delivered", response="250 2.0.0 OK")

    response = deliver(delivered)

    assert response.status_code == 200
    assert response.get_json() == {"received": 1, "stored": 1, "duplicates": 0, "unmatched": 0}
    assert _reload(invitation).email_status == "delivered"
    stored = EmailEvent.get()
    assert stored.sg_event_id == delivered["sg_event_id"]
    assert stored.invitation_id == invitation.id
    assert stored.integration_id == invitation.integration_id
    assert stored.event == "delivered"
    assert stored.payload == delivered


def _refused(response: Any, status: int, invitation: Invitation) -> None:
    assert response.status_code == status
    assert response.get_json()["error"]
    assert EmailEvent.select().count() == 0
    assert _reload(invitation).email_status == "sent"


def test_a_signature_by_another_key_is_refused(client, signer, invitation) -> None:
    body, _ = signer.delivery([event(invitation, "delivered")])
    headers = WebhookSigner().sign(body)

    _refused(client.post("/hooks/sendgrid", data=body, headers=headers), 403, invitation)


def test_a_tampered_body_is_refused(client, signer, invitation) -> None:
    body, headers = signer.delivery([event(invitation, "bounce", reason="550 unknown user")])
    tampered = body.replace(b"bounce", b"delivered")

    _refused(client.post("/hooks/sendgrid", data=tampered, headers=headers), 403, invitation)


def test_a_signature_over_another_timestamp_is_refused(client, signer, invitation) -> None:
    body, headers = signer.delivery([event(invitation, "delivered")])
    headers[TIMESTAMP_HEADER] = str(int(headers[TIMESTAMP_HEADER]) - 1)

    _refused(client.post("/hooks/sendgrid", data=body, headers=headers), 403, invitation)


@pytest.mark.parametrize("garbage", ["not base64 at all!", "AAAA", "MEUCIQ=="])
def test_a_garbled_signature_is_refused(client, signer, invitation, garbage) -> None:
    body, headers = signer.delivery([event(invitation, "delivered")])
    headers[SIGNATURE_HEADER] = garbage

    _refused(client.post("/hooks/sendgrid", data=body, headers=headers), 403, invitation)


@pytest.mark.parametrize("offset", [-(MAX_AGE + 5), MAX_AGE + 5])
def test_stale_or_future_timestamps_are_refused_as_replays(deliver, invitation, offset) -> None:
    response = deliver(event(invitation, "delivered"), timestamp=str(int(time.time()) + offset))

    _refused(response, 403, invitation)
    assert "seconds" in response.get_json()["message"]


@pytest.mark.parametrize("missing", [SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_a_delivery_without_signature_headers_is_unauthorized(
    client, signer, invitation, missing
) -> None:
    body, headers = signer.delivery([event(invitation, "delivered")])
    del headers[missing]

    _refused(client.post("/hooks/sendgrid", data=body, headers=headers), 401, invitation)


def test_events_are_refused_while_no_verification_key_is_configured(
    app, client, signer, invitation
) -> None:
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = None
    body, headers = signer.delivery([event(invitation, "delivered")])

    response = client.post("/hooks/sendgrid", data=body, headers=headers)

    _refused(response, 503, invitation)
    assert response.get_json()["error"] == "not_configured"


def test_a_verification_key_that_is_not_a_key_is_a_configuration_error(
    app, deliver, invitation
) -> None:
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = "bm90IGEga2V5"

    _refused(deliver(event(invitation, "delivered")), 503, invitation)


def test_the_key_may_be_pasted_with_pem_armour_and_line_breaks(
    app, deliver, signer, invitation
) -> None:
    key = signer.public_key_b64
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = (
        f"-----BEGIN PUBLIC KEY-----\n{key[:64]}\n{key[64:]}\n-----END PUBLIC KEY-----\n"
    )

    assert deliver(event(invitation, "delivered")).status_code == 200


def test_verify_signature_checks_age_against_the_given_clock() -> None:
    signer = WebhookSigner()
    body = b'[{"event":"processed"}]'
    headers = signer.sign(body, timestamp="1700000000")
    signature, stamp = headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER]

    verify_signature(signer.public_key_b64, body, signature, stamp, 60, now=1_700_000_059)
    with pytest.raises(SignatureError) as raised:
        verify_signature(signer.public_key_b64, body, signature, stamp, 60, now=1_700_000_061)
    assert raised.value.reason == "invalid"


def test_only_post_is_answered(client, signer) -> None:
    response = client.get("/hooks/sendgrid")

    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"


# --- what each event does ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "status", "last_error"),
    [
        ("processed", {}, "processed", None),
        ("deferred", {"response": "450 4.2.1 mailbox full", "attempt": "1"}, "deferred",
         "450 4.2.1 mailbox full"),
        ("delivered", {"response": "250 2.0.0 OK"}, "delivered", None),
        ("bounce", {"reason": "550 5.1.1 unknown user", "type": "bounce"}, "bounced",
         "550 5.1.1 unknown user"),
        ("dropped", {"reason": "Bounced Address"}, "dropped", "Bounced Address"),
        ("spamreport", {}, "spamreport", None),
        ("unsubscribe", {}, "unsubscribed", None),
        ("open", {"useragent": "Mozilla/5.0"}, "sent", None),
        ("click", {"url": "https://onboard.example.com/enroll/x"}, "sent", None),
        ("group_unsubscribe", {"asm_group_id": 1}, "sent", None),
    ],
)  # fmt: skip
def test_each_event_type_sets_the_email_status(
    deliver, invitation, kind, fields, status, last_error
) -> None:
    occurred = int(time.time()) - 30

    assert deliver(event(invitation, kind, at=occurred, **fields)).status_code == 200

    updated = _reload(invitation)
    assert updated.email_status == status
    assert updated.last_error == last_error
    if status != "sent":
        assert updated.email_status_at == dt.datetime.fromtimestamp(occurred, dt.UTC).replace(
            tzinfo=None
        )
    assert EmailEvent.get().event == kind


@pytest.mark.parametrize(
    ("first", "then", "final"),
    [
        ("delivered", "deferred", "delivered"),
        ("delivered", "processed", "delivered"),
        ("deferred", "bounce", "bounced"),
        ("bounce", "delivered", "bounced"),
        ("dropped", "deferred", "dropped"),
        ("delivered", "spamreport", "spamreport"),
        ("spamreport", "bounce", "spamreport"),
    ],
)
def test_a_late_event_never_downgrades_a_later_status(
    deliver, invitation, first, then, final
) -> None:
    now = int(time.time())
    deliver(event(invitation, first, at=now - 20, reason="first", response="first"))
    deliver(event(invitation, then, at=now - 10, reason="then", response="then"))

    assert _reload(invitation).email_status == final


def test_events_arriving_out_of_order_in_one_delivery_settle_on_the_final_status(
    deliver, invitation
) -> None:
    now = int(time.time())
    deliver(
        event(invitation, "delivered", at=now - 5),
        event(invitation, "deferred", at=now - 50, response="421 try later"),
        event(invitation, "processed", at=now - 60),
    )

    updated = _reload(invitation)
    assert (updated.email_status, updated.last_error) == ("delivered", None)
    assert EmailEvent.select().count() == 3


def test_of_two_deferrals_the_newer_reason_is_kept(deliver, invitation) -> None:
    now = int(time.time())
    deliver(event(invitation, "deferred", at=now - 10, response="451 greylisted, second"))
    deliver(event(invitation, "deferred", at=now - 90, response="421 busy, first"))

    assert _reload(invitation).last_error == "451 greylisted, second"


@pytest.mark.parametrize("final", ["failed", "cancelled"])
def test_failed_or_cancelled_emails_are_left_alone(deliver, invitation, final) -> None:
    Invitation.update(email_status=final).where(Invitation.id == invitation.id).execute()

    assert deliver(event(invitation, "delivered")).status_code == 200

    assert _reload(invitation).email_status == final
    assert EmailEvent.get().invitation_id == invitation.id


def test_a_redelivered_event_changes_nothing(deliver, invitation) -> None:
    deferred = event(invitation, "deferred", at=int(time.time()) - 60, response="421 later")
    deliver(deferred)
    deliver(event(invitation, "delivered", at=int(time.time()) - 30))
    before = _reload(invitation)

    response = deliver(deferred, deferred)

    assert response.status_code == 200
    assert response.get_json() == {"received": 2, "stored": 0, "duplicates": 2, "unmatched": 0}
    after = _reload(invitation)
    assert (after.email_status, after.email_status_at, after.last_error) == (
        before.email_status,
        before.email_status_at,
        before.last_error,
    )
    assert EmailEvent.select().count() == 2


def test_an_event_without_custom_args_is_matched_by_its_message_id(deliver, invitation) -> None:
    # Bounces returned via Return-Path come without custom args (SendGrid's docs).
    bounce = event(invitation, "bounce", reason="550 no such user")
    del bounce["invitation_id"]

    deliver(bounce)

    assert _reload(invitation).email_status == "bounced"
    assert EmailEvent.get().invitation_id == invitation.id


def test_events_for_unknown_emails_are_stored_and_counted(deliver, invitation) -> None:
    stranger = sendgrid_event(
        None,
        "delivered",
        email="bob@example.org",
        sg_message_id="zzz.filter-1.0",
        invitation_id="999999",
    )
    untagged = sendgrid_event(None, "processed", email="carol@example.org")

    response = deliver(stranger, untagged)

    assert response.status_code == 200
    assert response.get_json()["unmatched"] == 2
    assert [e.invitation_id for e in EmailEvent.select()] == [None, None]
    assert _reload(invitation).email_status == "sent"


def test_an_event_naming_our_invitation_but_another_message_is_not_ours(
    deliver, invitation
) -> None:
    # Another installation on the same SendGrid account numbers its invitations too.
    foreign = event(invitation, "bounce", reason="550", sg_message_id="OtherApp123.filter-9.0")

    assert deliver(foreign).get_json()["unmatched"] == 1

    assert _reload(invitation).email_status == "sent"


# --- emails in doubt --------------------------------------------------------------------------


def test_an_event_for_an_email_left_sending_marks_it_sent(deliver, invitation) -> None:
    Invitation.update(
        email_status="sending", message_id=None, sent_at=None, token_encrypted="still-here"
    ).where(Invitation.id == invitation.id).execute()
    processed = event(invitation, "processed")
    processed["sg_message_id"] = "Xm1d.filterdrecv-1-0.0"

    deliver(processed)

    settled = _reload(invitation)
    assert settled.email_status == "processed"
    assert settled.message_id == "Xm1d"
    assert settled.sent_at is not None
    assert settled.token_encrypted is None
    entry = (
        AuditEntry.select()
        .where(AuditEntry.action == "email.sent")
        .order_by(AuditEntry.id.desc())
        .first()
    )
    assert entry.detail["message_id"] == "Xm1d"


def test_a_stray_event_does_not_touch_an_email_never_tried(deliver, invitation) -> None:
    Invitation.update(
        email_status="queued", attempts=0, message_id=None, next_attempt_at=utcnow()
    ).where(Invitation.id == invitation.id).execute()

    deliver(event(invitation, "delivered"))

    assert _reload(invitation).email_status == "queued"


# --- malformed deliveries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"event": "delivered"}',
        b'["delivered"]',
        json.dumps([{"event": "delivered", "timestamp": 1700000000}]).encode(),
        json.dumps([{"event": "delivered", "sg_event_id": "a", "timestamp": "yesterday"}]).encode(),
        json.dumps([{"event": "", "sg_event_id": "a", "timestamp": 1700000000}]).encode(),
    ],
)
def test_a_malformed_delivery_is_refused_and_nothing_is_stored(
    client, signer, invitation, body
) -> None:
    response = client.post("/hooks/sendgrid", data=body, headers=signer.sign(body))

    assert response.status_code == 400
    assert response.get_json()["error"] == "malformed"
    assert EmailEvent.select().count() == 0


def test_one_bad_event_refuses_the_whole_delivery(client, signer, invitation) -> None:
    good = event(invitation, "delivered")
    bad = {"event": "delivered", "timestamp": 1700000000}
    body, headers = signer.delivery([good, bad])

    response = client.post("/hooks/sendgrid", data=body, headers=headers)

    assert response.status_code == 400
    assert "event 1" in response.get_json()["message"]
    assert EmailEvent.select().count() == 0
    assert _reload(invitation).email_status == "sent"


def test_an_empty_delivery_is_accepted(deliver) -> None:
    response = deliver()

    assert response.status_code == 200
    assert response.get_json()["received"] == 0


# --- erasure ----------------------------------------------------------------------------------


def _every_stored_value() -> str:
    """Every row of every table, as text (encrypted columns stay ciphertext)."""
    from extensions import db

    return "\n".join(
        repr(row)
        for table in db.get_tables()
        for row in db.execute_sql(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608
    )


def test_deleting_a_user_erases_every_copy_of_their_address_and_name(
    client, invitation, deliver, integration, hook_headers, scim_headers, worker
) -> None:
    bounce = event(invitation, "bounce", reason="550 5.1.1 <ada@example.com>: no such user")
    assert deliver(bounce).status_code == 200
    suspend = okta_event("user.lifecycle.suspend", published=moment(1), login="ada@example.com")
    hook = client.post(
        f"/hooks/okta/{integration.id}", json=okta_delivery(suspend), headers=hook_headers
    )
    assert hook.status_code == 200
    worker.run_until_idle()
    assert "ada@example.com" in _every_stored_value()

    scim_id = invitation.user.scim_id
    assert client.delete(f"/scim/v2/Users/{scim_id}", headers=scim_headers).status_code == 204
    worker.run_until_idle()

    stored = _every_stored_value()
    assert "ada@example.com" not in stored.casefold()
    assert "Test User" not in stored
    # What the audit trail needs stays: the events, their types and times.
    assert EmailEvent.get().event == "bounce"
    assert OktaEvent.get().event_type == "user.lifecycle.suspend"
