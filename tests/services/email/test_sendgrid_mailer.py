"""The SendGrid mailer over real sockets against a local fake SendGrid, alone and via the worker."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from models import AuditEntry, EmailEvent, Invitation, utcnow
from services.email.mailer import (
    ConsoleMailer,
    MailInDoubtError,
    MailPermanentError,
    MailTransientError,
    OutgoingEmail,
    SentLookupUnavailableError,
)
from services.email.mailer_factory import mailer_from_config
from services.email.sendgrid_mailer import SendGridMailer, retry_after
from testkit.fakes.sendgrid import (
    FakeSendGrid,
    WebhookSigner,
    sendgrid_errors,
    sendgrid_event,
)
from tests.factories import okta_create_user_payload
from worker import build_worker

API_KEY = "SG.test-key-id.test-key-secret-DoNotLeak"
TOKEN = "enr_SecretEnrollmentToken_DoNotLeak"
SENDER_IDENTITY = (
    "The from address does not match a verified Sender Identity. Mail cannot be sent until "
    "this error is resolved."
)


def outgoing(**overrides: Any) -> OutgoingEmail:
    """A composed welcome email, as services.email.welcome_email would hand it over."""
    fields: dict[str, Any] = {
        "invitation_id": 42,
        "to_email": "ada@example.com",
        "to_name": "Ada Lovelace",
        "from_email": "onboarding@example.com",
        "from_name": "IT Onboarding",
        "reply_to": "helpdesk@example.com",
        "subject": "Set up the authenticator",
        "text": f"Open https://onboard.example.com/enroll/{TOKEN}",
        "html": f'<a href="https://onboard.example.com/enroll/{TOKEN}">Set up</a>',
        "categories": ("welcome", "onboarding"),
        "secrets": (TOKEN,),
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)


@pytest.fixture
def sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def direct(sendgrid: FakeSendGrid) -> SendGridMailer:
    """A mailer used without the app."""
    return SendGridMailer(API_KEY, base_url=sendgrid.url, timeout=0.5)


# --- the wire format ------------------------------------------------------------------------


def test_a_message_is_posted_in_sendgrids_v3_format(sendgrid, direct) -> None:
    message_id = direct.send(outgoing())

    (request,) = sendgrid.requests_to("/v3/mail/send")
    assert request.method == "POST"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    (message,) = sendgrid.messages
    assert message_id == message.message_id
    assert message.body == {
        "personalizations": [{"to": [{"email": "ada@example.com", "name": "Ada Lovelace"}]}],
        "from": {"email": "onboarding@example.com", "name": "IT Onboarding"},
        "reply_to": {"email": "helpdesk@example.com"},
        "subject": "Set up the authenticator",
        "content": [
            {"type": "text/plain", "value": f"Open https://onboard.example.com/enroll/{TOKEN}"},
            {
                "type": "text/html",
                "value": f'<a href="https://onboard.example.com/enroll/{TOKEN}">Set up</a>',
            },
        ],
        "custom_args": {"invitation_id": "42"},
        "categories": ["welcome", "onboarding"],
    }


def test_names_and_reply_to_are_left_out_when_unknown(sendgrid, direct) -> None:
    direct.send(outgoing(to_name=None, from_name=None, reply_to=None))

    body = sendgrid.messages[0].body
    assert body["personalizations"] == [{"to": [{"email": "ada@example.com"}]}]
    assert body["from"] == {"email": "onboarding@example.com"}
    assert "reply_to" not in body


def test_a_dynamic_template_is_sent_with_its_data_instead_of_subject_and_content(
    sendgrid, direct
) -> None:
    data = {"first_name": "Ada", "link": "https://onboard.example.com/enroll/x", "days": 7}
    direct.send(outgoing(template_id="d-0123456789abcdef", template_data=data))

    body = sendgrid.messages[0].body
    assert body["template_id"] == "d-0123456789abcdef"
    assert body["personalizations"] == [
        {
            "to": [{"email": "ada@example.com", "name": "Ada Lovelace"}],
            "dynamic_template_data": data,
        }
    ]
    assert "subject" not in body
    assert "content" not in body
    assert body["custom_args"] == {"invitation_id": "42"}


def test_sendgrids_validation_errors_are_permanent_and_quoted(sendgrid, direct) -> None:
    with pytest.raises(MailPermanentError) as raised:
        direct.send(outgoing(from_email="not-an-address"))

    assert str(raised.value) == (
        "400: The from email does not contain a valid address. (field from.email)"
    )
    assert sendgrid.messages == []


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, sendgrid_errors((SENDER_IDENTITY, "from")), f"400: {SENDER_IDENTITY} (field from)"),
        (401, None, "401: The provided authorization grant is invalid, expired, or revoked"),
        (403, None, "403: access forbidden"),
        (413, None, "413: Payload Too Large"),
        (404, None, "404: not found"),
    ],
)
def test_client_errors_are_permanent(sendgrid, direct, status, body, expected) -> None:
    sendgrid.fail_next(1, status, body)

    with pytest.raises(MailPermanentError) as raised:
        direct.send(outgoing())

    assert str(raised.value).startswith(expected)
    assert API_KEY not in str(raised.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_are_transient(sendgrid, direct, status) -> None:
    sendgrid.fail_next(1, status, b"<html>upstream trouble</html>", {"Content-Type": "text/html"})

    with pytest.raises(MailTransientError) as raised:
        direct.send(outgoing())

    assert str(raised.value).startswith(f"{status}: ")
    assert raised.value.retry_after is None


def test_a_429_carries_retry_after(sendgrid, direct) -> None:
    sendgrid.fail_next(1, 429, headers={"Retry-After": "2"})

    with pytest.raises(MailTransientError) as raised:
        direct.send(outgoing())

    assert raised.value.retry_after == 2.0
    assert "too many requests" in str(raised.value)


def test_retry_after_reads_seconds_dates_and_sendgrids_reset_header() -> None:
    now = 1_700_000_000.0
    http_date = email.utils.formatdate(now + 30, usegmt=True)

    assert retry_after({"Retry-After": "5"}, now) == 5.0
    assert retry_after({"retry-after": http_date}, now) == pytest.approx(30.0)
    assert retry_after({"X-RateLimit-Reset": str(int(now) + 12)}, now) == 12.0
    assert retry_after({"Retry-After": "soon"}, now) is None
    assert retry_after({}, now) is None


def test_a_hung_sendgrid_times_out_instead_of_hanging(sendgrid, direct) -> None:
    sendgrid.delay = 2.0
    started = time.monotonic()

    with pytest.raises(MailInDoubtError) as raised:
        direct.send(outgoing())

    assert time.monotonic() - started < 1.5
    assert "no answer within 0.5s" in str(raised.value)
    # It may have been accepted: the email is settled by SendGrid's records, not resent.
    assert "may have been accepted" in str(raised.value)


def test_an_unreachable_sendgrid_is_a_transient_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailer = SendGridMailer(API_KEY, base_url=f"http://127.0.0.1:{port}", timeout=0.5)

    with pytest.raises(MailTransientError) as raised:
        mailer.send(outgoing())

    assert str(raised.value).startswith("cannot reach SendGrid")


BAD_BASE_URLS = [
    "api.sendgrid.com",  # no scheme
    "http://",  # no host
    "https://api.sendgrid.com:abc",  # a port that is not a number
    "https://api.send grid.com",  # a space
]


@pytest.mark.parametrize("base_url", BAD_BASE_URLS)
def test_a_base_url_that_is_not_a_url_is_a_permanent_error_naming_the_setting(
    base_url: str,
) -> None:
    mailer = SendGridMailer(API_KEY, base_url=base_url, timeout=0.5)

    with pytest.raises(MailPermanentError) as raised:
        mailer.send(outgoing())
    with pytest.raises(SentLookupUnavailableError) as lookup:
        mailer.find_sent(42)

    for error in (raised.value, lookup.value):
        assert str(error).startswith(f"SENDGRID_BASE_URL {base_url.rstrip('/')!r} is not a usable")
        assert "https://api.sendgrid.com" in str(error)
        assert API_KEY not in str(error)


def test_secrets_stay_out_of_errors_repr_and_logs(sendgrid, direct, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sendgrid.fail_next(1, 400, sendgrid_errors(f"bad link https://x/enroll/{TOKEN} key {API_KEY}"))

    with pytest.raises(MailPermanentError) as raised:
        direct.send(outgoing())
    direct.send(outgoing())

    assert TOKEN not in str(raised.value)
    assert API_KEY not in str(raised.value)
    assert API_KEY not in repr(direct)
    assert sendgrid.url in repr(direct)
    assert API_KEY not in caplog.text
    assert TOKEN not in caplog.text


# --- Email Activity look-up -------------------------------------------------------------------


def test_find_sent_asks_email_activity_for_the_invitations_custom_arg(sendgrid, direct) -> None:
    sendgrid.activity_available = True
    direct.send(outgoing(invitation_id=7))

    assert direct.find_sent(7) == sendgrid.messages[0].sg_message_id
    assert direct.find_sent(8) is None
    request = sendgrid.requests_to("/v3/messages")[0]
    query = parse_qs(urlsplit(request.path).query)
    assert query == {"limit": ["1"], "query": ["unique_args['invitation_id']=\"7\""]}
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"


def test_find_sent_is_unavailable_without_the_email_activity_add_on(sendgrid, direct) -> None:
    with pytest.raises(SentLookupUnavailableError) as raised:
        direct.find_sent(7)

    assert "403" in str(raised.value)


def test_find_sent_is_unavailable_when_sendgrid_does_not_answer(sendgrid, direct) -> None:
    sendgrid.activity_available = True
    sendgrid.delay = 2.0

    with pytest.raises(SentLookupUnavailableError):
        direct.find_sent(7)


# --- configuration ----------------------------------------------------------------------------


def test_the_mailer_is_sendgrid_when_an_api_key_is_configured() -> None:
    mailer = mailer_from_config(
        {
            "SENDGRID_API_KEY": API_KEY,
            "SENDGRID_BASE_URL": "https://api.eu.sendgrid.com/",
            "SENDGRID_TIMEOUT_SECONDS": 3.0,
        }
    )

    assert isinstance(mailer, SendGridMailer)
    assert (mailer.base_url, mailer.timeout) == ("https://api.eu.sendgrid.com", 3.0)
    assert isinstance(mailer_from_config({"SENDGRID_API_KEY": None}), ConsoleMailer)


# --- through the worker -----------------------------------------------------------------------


@pytest.fixture
def mailer(app, sendgrid) -> SendGridMailer:
    """The app's mailer: SendGrid at the fake, chosen from configuration."""
    app.config.update(
        SENDGRID_API_KEY=API_KEY, SENDGRID_BASE_URL=sendgrid.url, SENDGRID_TIMEOUT_SECONDS=0.5
    )
    app.extensions["mailer"] = mailer_from_config(app.config)
    assert isinstance(app.extensions["mailer"], SendGridMailer)
    return app.extensions["mailer"]


@pytest.fixture
def worker(app, mailer):
    return build_worker(app)


@pytest.fixture
def create(client, scim_headers):
    def create(user_name: str = "ada@example.com") -> Invitation:
        response = client.post(
            "/scim/v2/Users", json=okta_create_user_payload(user_name), headers=scim_headers
        )
        assert response.status_code == 201, response.get_json()
        return Invitation.select().order_by(Invitation.id.desc()).get()

    return create


def _reload(invitation: Invitation) -> Invitation:
    return Invitation.get_by_id(invitation.id)


def _make_due(invitation: Invitation) -> None:
    """Move the retry time to now, as if the backoff had passed."""
    Invitation.update(next_attempt_at=utcnow()).where(Invitation.id == invitation.id).execute()


def test_the_worker_sends_through_sendgrid_and_keeps_the_message_id(
    create, worker, sendgrid
) -> None:
    invitation = create()
    worker.run_until_idle()

    (message,) = sendgrid.by_invitation(invitation.id)
    invitation = _reload(invitation)
    assert invitation.email_status == "sent"
    assert invitation.message_id == message.message_id
    assert invitation.token_encrypted is None
    assert message.to == "ada@example.com"
    assert [part["type"] for part in message.body["content"]] == ["text/plain", "text/html"]
    assert "/enroll/enr_" in message.body["content"][0]["value"]


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (400, sendgrid_errors((SENDER_IDENTITY, "from")), "does not match a verified Sender"),
        (401, None, "SENDGRID_API_KEY"),
        (403, None, "access forbidden"),
    ],
)
def test_a_refused_email_fails_with_sendgrids_reason_and_is_not_retried(
    create, worker, sendgrid, status, body, reason
) -> None:
    sendgrid.fail_next(1, status, body)
    invitation = create()
    worker.run_until_idle()
    _make_due(invitation)
    worker.run_until_idle()

    invitation = _reload(invitation)
    assert invitation.email_status == "failed"
    assert invitation.last_error.startswith(f"{status}: ")
    assert reason in invitation.last_error
    assert API_KEY not in invitation.last_error
    assert invitation.attempts == 1
    assert len(sendgrid.requests_to("/v3/mail/send")) == 1
    assert AuditEntry.select().where(AuditEntry.action == "email.failed").count() == 1


def test_a_wrong_api_key_fails_the_email(app, create, sendgrid) -> None:
    app.config.update(SENDGRID_API_KEY="SG.revoked-key.DoNotLeak", SENDGRID_BASE_URL=sendgrid.url)
    app.extensions["mailer"] = mailer_from_config(app.config)
    invitation = create()
    build_worker(app).run_until_idle()

    invitation = _reload(invitation)
    assert invitation.email_status == "failed"
    assert invitation.last_error.startswith("401: ")
    assert "SG.revoked-key" not in invitation.last_error
    assert sendgrid.messages == []


def test_a_base_url_without_a_scheme_fails_the_email_once_with_a_clear_reason(app, create) -> None:
    app.config.update(SENDGRID_API_KEY=API_KEY, SENDGRID_BASE_URL="api.sendgrid.com")
    app.extensions["mailer"] = mailer_from_config(app.config)
    invitation = create()
    build_worker(app).run_until_idle()
    _make_due(invitation)
    build_worker(app).run_until_idle()

    invitation = _reload(invitation)
    assert invitation.email_status == "failed"
    assert invitation.last_error.startswith("SENDGRID_BASE_URL 'api.sendgrid.com' is not")
    assert invitation.attempts == 1


def test_a_sender_sendgrid_rejects_fails_the_email(app, create, worker, sendgrid) -> None:
    app.config["MAIL_FROM_EMAIL"] = "onboarding"  # no domain: SendGrid's validation refuses it
    invitation = create()
    worker.run_until_idle()

    invitation = _reload(invitation)
    assert invitation.email_status == "failed"
    assert "The from email does not contain a valid address" in invitation.last_error


def test_a_429_waits_for_retry_after_then_sends(create, worker, sendgrid) -> None:
    sendgrid.fail_next(1, 429, headers={"Retry-After": "2"})
    invitation = create()
    worker.run_until_idle()

    invitation = _reload(invitation)
    assert invitation.email_status == "queued"
    assert invitation.last_error.startswith("429: ")
    wait = (invitation.next_attempt_at - utcnow()).total_seconds()
    assert 1.0 < wait <= 2.0
    worker.run_until_idle()
    assert sendgrid.messages == []  # not due yet

    _make_due(invitation)
    worker.run_until_idle()
    assert _reload(invitation).email_status == "sent"
    assert len(sendgrid.by_invitation(invitation.id)) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_retried_with_backoff(create, worker, sendgrid, status) -> None:
    sendgrid.fail_next(2, status)
    invitation = create()
    worker.run_until_idle()

    first = _reload(invitation)
    assert first.email_status == "queued"
    assert first.attempts == 1
    assert first.next_attempt_at > utcnow() + dt.timedelta(seconds=2)
    _make_due(invitation)
    worker.run_until_idle()
    second = _reload(invitation)
    assert second.attempts == 2
    assert second.next_attempt_at - utcnow() > dt.timedelta(seconds=4)  # the backoff grows

    _make_due(invitation)
    worker.run_until_idle()
    assert _reload(invitation).email_status == "sent"
    assert len(sendgrid.by_invitation(invitation.id)) == 1


def test_a_hung_sendgrid_leaves_the_email_in_doubt_until_sendgrid_vouches_for_it(
    create, worker, sendgrid
) -> None:
    sendgrid.delay_after_accept = 1.0  # SendGrid takes the message, then the answer is lost
    invitation = create()
    started = time.monotonic()
    worker.run_until_idle()

    assert time.monotonic() - started < 1.0  # the worker thread was not held
    invitation = _reload(invitation)
    assert invitation.email_status == "sending"  # in doubt: not queued for a second send
    assert "no answer within 0.5s" in invitation.last_error
    wait = (invitation.next_attempt_at - utcnow()).total_seconds()
    assert 50 < wait <= 60

    sendgrid.delay_after_accept = 0
    sendgrid.activity_available = True
    _make_due(invitation)
    worker.run_until_idle()
    assert _reload(invitation).email_status == "sent"
    assert len(sendgrid.by_invitation(invitation.id)) == 1


def test_retries_never_email_an_invitation_twice(create, worker, sendgrid) -> None:
    sendgrid.fail_next(1, 503)
    sendgrid.fail_next(1, 429, headers={"Retry-After": "1"})
    sendgrid.fail_next(1, 500)
    invitations = [create(f"user{n}@example.com") for n in range(6)]
    for _ in range(4):
        worker.run_until_idle()
        for invitation in invitations:
            _make_due(invitation)
    worker.run_until_idle()

    assert len(sendgrid.messages) == 6
    for invitation in invitations:
        assert len(sendgrid.by_invitation(invitation.id)) == 1
        assert _reload(invitation).email_status == "sent"


# --- emails in doubt --------------------------------------------------------------------------


def _left_sending_by_a_dead_worker(invitation: Invitation) -> None:
    """The worker sent the email (or not) and died before recording the outcome."""
    Invitation.update(
        email_status="sending",
        email_status_at=utcnow(),
        attempts=1,
        lease_owner="dead-worker",
        lease_until=utcnow() - dt.timedelta(seconds=1),
    ).where(Invitation.id == invitation.id).execute()


def test_an_email_in_doubt_that_sendgrid_has_is_marked_sent_without_a_second_email(
    create, worker, mailer, sendgrid
) -> None:
    sendgrid.activity_available = True
    invitation = create()
    mailer.send(outgoing(invitation_id=invitation.id, to_email="ada@example.com"))
    _left_sending_by_a_dead_worker(invitation)
    worker.run_until_idle()

    (message,) = sendgrid.by_invitation(invitation.id)
    invitation = _reload(invitation)
    assert invitation.email_status == "sent"
    assert invitation.message_id == message.sg_message_id
    assert invitation.token_encrypted is None


def test_an_email_in_doubt_that_sendgrid_never_got_is_sent_once(
    create, worker, mailer, sendgrid
) -> None:
    sendgrid.activity_available = True
    invitation = create()
    _left_sending_by_a_dead_worker(invitation)
    worker.run_until_idle()
    # SendGrid's activity feed lags: "no messages" is not trusted at once.
    assert sendgrid.by_invitation(invitation.id) == []
    assert _reload(invitation).email_status == "sending"

    Invitation.update(
        email_status_at=utcnow() - dt.timedelta(hours=1), next_attempt_at=utcnow()
    ).where(Invitation.id == invitation.id).execute()  # the grace period has passed
    worker.run_until_idle()
    assert len(sendgrid.by_invitation(invitation.id)) == 1
    assert _reload(invitation).email_status == "sent"


@pytest.fixture
def signer(app) -> WebhookSigner:
    signer = WebhookSigner()
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = signer.public_key_b64
    return signer


def _webhook(client, signer: WebhookSigner, *events: dict[str, Any]) -> None:
    body, headers = signer.delivery(list(events))
    response = client.post("/hooks/sendgrid", data=body, headers=headers)
    assert response.status_code == 200, response.get_json()


def test_without_email_activity_an_email_in_doubt_waits_for_sendgrids_events(
    create, worker, mailer, sendgrid, client, signer
) -> None:
    invitation = create()
    mailer.send(outgoing(invitation_id=invitation.id, to_email="ada@example.com"))
    _left_sending_by_a_dead_worker(invitation)
    worker.run_until_idle()

    waiting = _reload(invitation)
    assert waiting.email_status == "sending"
    assert waiting.next_attempt_at > utcnow()
    assert sendgrid.requests_to("/v3/messages")  # it asked, and SendGrid said 403

    (message,) = sendgrid.by_invitation(invitation.id)
    _webhook(client, signer, sendgrid_event(message, "processed"))
    Invitation.update(email_status_at=utcnow() - dt.timedelta(hours=1)).where(
        Invitation.id == invitation.id, Invitation.email_status == "sending"
    ).execute()  # past the grace period: had the event not come, the worker would resend now
    worker.run_until_idle()

    settled = _reload(invitation)
    assert settled.email_status == "processed"
    assert settled.message_id == message.message_id
    assert settled.token_encrypted is None
    assert len(sendgrid.by_invitation(invitation.id)) == 1


def test_an_email_whose_answer_was_lost_is_settled_by_sendgrids_events(
    create, worker, sendgrid, client, signer
) -> None:
    sendgrid.delay_after_accept = 2.0  # SendGrid takes the message, the 202 never arrives
    invitation = create()
    worker.run_until_idle()
    in_doubt = _reload(invitation)
    assert in_doubt.email_status == "sending"
    assert "may have been accepted" in in_doubt.last_error

    (message,) = sendgrid.by_invitation(invitation.id)
    _webhook(client, signer, sendgrid_event(message, "processed"))
    sendgrid.delay_after_accept = 0
    _make_due(invitation)
    worker.run_until_idle()

    settled = _reload(invitation)
    assert settled.email_status == "processed"
    assert settled.message_id == message.message_id
    assert len(sendgrid.by_invitation(invitation.id)) == 1
    assert EmailEvent.select().count() == 1
