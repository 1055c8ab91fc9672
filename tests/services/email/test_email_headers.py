"""What reaches an email's headers: one valid recipient, and names and subjects on one line."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from models import AuditEntry, Integration, Invitation
from services.admin.admins import create_admin
from services.email.mailer import ConsoleMailer
from services.email.sendgrid_mailer import SendGridMailer
from services.errors import ValidationError
from services.integrations.registry import create_integration, rename_integration
from services.platform import audit
from testkit.fakes.sendgrid import FakeSendGrid
from tests.blueprints.admin.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in
from tests.factories import okta_create_user_payload

SENDGRID_KEY = "SG.test-key-id.test-key-secret"
BAD_ADDRESSES = {
    "CRLF and a Bcc header": "ada@example.com\r\nBcc: spy@evil.example",
    "a second address after a comma": "ada@example.com, attacker@evil.example",
    "a second address after a space": "ada@example.com attacker@evil.example",
    "a display-name form": "Ada <ada@example.com>",
    "no domain": "ada@",
}


@pytest.fixture
def provision(client, scim_headers) -> Any:
    """Create a user over SCIM (their email is ``email``) and return their invitation."""

    def create(email: str = "ada@example.com", **payload: Any) -> Invitation:
        body = okta_create_user_payload("ada", **payload)
        body["emails"] = [{"primary": True, "value": email, "type": "work"}]
        response = client.post("/scim/v2/Users", json=body, headers=scim_headers)
        assert response.status_code == 201, response.get_json()
        return Invitation.get()

    return create


@pytest.mark.parametrize("address", BAD_ADDRESSES.values(), ids=BAD_ADDRESSES.keys())
def test_an_invalid_address_fails_the_invitation_with_a_readable_reason(
    provision, worker, mailer, address
) -> None:
    invitation = provision(address)
    worker.run_until_idle()

    invitation = Invitation.get_by_id(invitation.id)
    assert invitation.email_status == "failed"
    assert "is not valid" in invitation.last_error
    assert "\r" not in invitation.last_error and "\n" not in invitation.last_error
    assert mailer.sent == []


def test_an_address_made_invalid_before_sending_fails_at_send_time(
    client, scim_headers, provision, worker, mailer
) -> None:
    invitation = provision()
    scim_id = invitation.user.scim_id
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "a@x.com, b@y.com"}
        ],
    }
    response = client.patch(f"/scim/v2/Users/{scim_id}", json=patch, headers=scim_headers)
    assert response.status_code == 200, response.get_json()

    worker.run_until_idle()

    invitation = Invitation.get_by_id(invitation.id)
    assert (invitation.email_status, mailer.sent) == ("failed", [])
    assert "'a@x.com, b@y.com' is not valid" in invitation.last_error
    assert AuditEntry.select().where(AuditEntry.action == "email.failed").count() == 1


@pytest.mark.parametrize(
    "address", ["Ada.Lovelace+onboard@Example.com", "test.user@okta.local", "zoë@bücher.example"]
)
def test_a_valid_address_goes_out_as_the_only_recipient(provision, worker, mailer, address) -> None:
    provision(address)
    worker.run_until_idle()

    (email,) = mailer.sent
    assert email.to_email == address


def test_control_characters_in_names_never_reach_recipient_name_or_subject(
    provision, worker, mailer, integration
) -> None:
    # A name stored before integration names were checked still cannot break the subject.
    Integration.update(name="Acme\r\nBcc: spy@evil.example").where(
        Integration.id == integration.id
    ).execute()
    provision(displayName="Ada\r\nBcc: spy@evil.example", name={"givenName": "Ada\n"})
    worker.run_until_idle()

    (email,) = mailer.sent
    assert email.to_name == "Ada Bcc: spy@evil.example"
    assert email.subject.endswith("Acme Bcc: spy@evil.example")
    for header in (email.to_name, email.subject, email.from_name or ""):
        assert not any(char in header for char in "\r\n\t\x00")


@pytest.mark.parametrize("name", ["Acme\r\nBcc: spy@evil.example", "Acme\x00", "Acme\tCorp"])
def test_an_integration_name_with_control_characters_is_refused(app, integration, name) -> None:
    with pytest.raises(ValidationError, match="control characters"):
        create_integration(name)
    with pytest.raises(ValidationError, match="control characters"):
        rename_integration(integration, name, audit.SYSTEM)
    assert Integration.get_by_id(integration.id).name == "Acme Okta"


def test_console_mailer_log_lines_cannot_be_forged(provision, worker, mailer, caplog) -> None:
    provision(
        displayName="Eve\r\nSubject: forged",
        name={"givenName": "Eve\nINFO services.platform.job_runner: all invitations revoked"},
    )
    worker.run_until_idle()
    (email,) = mailer.sent
    forged = type(email)(**{**email.__dict__, "to_name": "Eve\r\nSubject: forged"})
    caplog.set_level(logging.INFO, logger="services.email.mailer")

    ConsoleMailer().send(forged)

    (record,) = [r for r in caplog.records if "console mailer" in r.getMessage()]
    first, *lines = record.getMessage().split("\n")
    assert first == "welcome email (console mailer, not sent)"
    assert lines[0] == "To: Eve\\r\\nSubject: forged <ada@example.com>"
    assert lines[1].startswith("Subject: ")
    assert all(line.startswith("| ") for line in lines[2:])
    assert not any(line.startswith("INFO") for line in lines)


def test_admins_read_why_the_welcome_email_failed(app, provision, worker) -> None:
    invitation = provision("ada@example.com, attacker@evil.example")
    worker.run_until_idle()
    create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    browser = app.test_client()
    assert sign_in(browser).status_code == 302

    page = browser.get(f"/admin/users/{invitation.user.scim_id}").text
    work = browser.get("/admin/work").text

    for html in (page, work):
        assert "failed" in html
        assert "&#39;ada@example.com, attacker@evil.example&#39; is not valid" in html


def test_sendgrid_receives_one_recipient_and_one_line_names(
    provision, worker, mailer, integration
) -> None:
    Integration.update(name="Acme\r\nBcc: spy@evil.example").where(
        Integration.id == integration.id
    ).execute()
    provision(displayName="Ada\r\nCc: spy@evil.example")
    worker.run_until_idle()
    (email,) = mailer.sent

    with FakeSendGrid(api_key=SENDGRID_KEY) as sendgrid:
        SendGridMailer(SENDGRID_KEY, base_url=sendgrid.url, timeout=2).send(email)
        (message,) = sendgrid.messages

    assert message.body["personalizations"][0]["to"] == [
        {"email": "ada@example.com", "name": "Ada Cc: spy@evil.example"}
    ]
    assert "\n" not in message.body["subject"] and "\r" not in message.body["subject"]
    assert "bcc" not in message.body["personalizations"][0]
