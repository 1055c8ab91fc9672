"""The user lifecycle end to end: invitations, welcome emails, enrollment, suspension, delete."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from extensions import db
from models import AuditEntry, GroupSync, Invitation, User, utcnow
from services.email.mailer import MailPermanentError, MailTransientError
from services.platform.audit import Actor
from services.users import lifecycle
from tests.factories import (
    moment,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
    okta_patch_active,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def create(client, scim_headers):
    def create(user_name: str = "test.user@okta.local", **overrides: Any) -> dict:
        response = client.post(
            "/scim/v2/Users",
            json=okta_create_user_payload(user_name, **overrides),
            headers=scim_headers,
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return create


@pytest.fixture
def patch_active(client, scim_headers):
    def patch(scim_id: str, active: bool) -> None:
        response = client.patch(
            f"/scim/v2/Users/{scim_id}", json=okta_patch_active(active), headers=scim_headers
        )
        assert response.status_code == 200

    return patch


@pytest.fixture
def deliver(client, integration, hook_headers):
    def deliver(*events: dict) -> None:
        response = client.post(
            f"/hooks/okta/{integration.id}", json=okta_delivery(*events), headers=hook_headers
        )
        assert response.status_code == 200

    return deliver


def _token_from(email: Any) -> str:
    link = next(word for word in email.text.split() if "/enroll/" in word)
    return link.rsplit("/", 1)[1]


def _enroll(client, token: str) -> Any:
    return client.post("/api/v1/enrollments", json={"token": token})


def _user(scim_id: str) -> User:
    return User.get(User.scim_id == scim_id)


def test_a_new_active_user_gets_one_welcome_email_with_a_working_link(
    create, worker, mailer, client
) -> None:
    user = create()
    worker.run_until_idle()
    worker.run_until_idle()
    assert len(mailer.sent) == 1
    email = mailer.sent[0]
    assert email.to_email == "test.user@okta.local"
    link = next(word for word in email.text.split() if "/enroll/" in word)
    assert link.startswith("http://localhost/enroll/enr_")
    invitation = Invitation.get()
    assert invitation.email_status == "sent"
    assert invitation.message_id == "recorded-1"
    assert invitation.token_encrypted is None
    assert _token_from(email) not in invitation.token_hash
    response = _enroll(client, _token_from(email))
    assert response.status_code == 201
    assert response.get_json() == {
        "userId": user["id"],
        "displayName": "Test User",
        "email": "test.user@okta.local",
    }
    assert _user(user["id"]).state == "enrolled"


def test_links_use_public_base_url_when_set(create, worker, mailer, app) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://onboard.example.com"
    create()
    worker.run_until_idle()
    assert "https://onboard.example.com/enroll/enr_" in mailer.sent[0].text


def test_a_user_created_inactive_gets_no_invitation(create, worker, mailer) -> None:
    user = create(active=False)
    worker.run_until_idle()
    assert mailer.sent == []
    assert _user(user["id"]).state == "deactivated"
    assert Invitation.select().count() == 0


def test_an_enrollment_token_works_once(create, worker, mailer, client) -> None:
    create()
    worker.run_until_idle()
    token = _token_from(mailer.sent[0])
    assert _enroll(client, token).status_code == 201
    again = _enroll(client, token)
    assert again.status_code == 409
    assert again.get_json()["error"] == "token_used"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"token": "enr_unknown"}, 404, "invalid_token"),
        ({}, 400, "invalid_request"),
        ({"token": 5}, 400, "invalid_request"),
    ],
)
def test_bad_enrollment_requests_get_clear_errors(client, body, status, error) -> None:
    response = client.post("/api/v1/enrollments", json=body)
    assert response.status_code == status
    assert response.get_json()["error"] == error
    assert response.get_json()["message"]


def test_an_expired_link_cannot_enroll(create, worker, mailer, client) -> None:
    create()
    worker.run_until_idle()
    Invitation.update(expires_at=dt.datetime(2000, 1, 1)).execute()
    response = _enroll(client, _token_from(mailer.sent[0]))
    assert response.status_code == 410
    assert response.get_json()["error"] == "token_expired"


def test_deactivation_revokes_the_link_and_reactivation_sends_a_new_one(
    create, patch_active, worker, mailer, client
) -> None:
    user = create()
    worker.run_until_idle()
    first = _token_from(mailer.sent[0])
    patch_active(user["id"], False)
    assert _enroll(client, first).get_json()["error"] == "token_revoked"
    patch_active(user["id"], True)
    worker.run_until_idle()
    assert len(mailer.sent) == 2
    second = _token_from(mailer.sent[1])
    assert second != first
    assert _enroll(client, first).status_code == 410
    assert _enroll(client, second).status_code == 201


def test_reactivation_resets_enrollment_and_takes_the_user_out_of_the_group(
    create, patch_active, worker, mailer, client
) -> None:
    user = create()
    worker.run_until_idle()
    _enroll(client, _token_from(mailer.sent[0]))
    assert GroupSync.get().desired == "in"
    patch_active(user["id"], False)
    assert GroupSync.get().desired == "out"
    patch_active(user["id"], True)
    stored = _user(user["id"])
    assert stored.state == "invited"
    assert stored.enrolled_at is None
    assert GroupSync.get().desired == "out"


def test_an_unsent_email_is_cancelled_when_the_user_is_deactivated(
    create, patch_active, worker, mailer
) -> None:
    user = create()
    patch_active(user["id"], False)
    worker.run_until_idle()
    assert mailer.sent == []
    assert Invitation.get().email_status == "cancelled"


def test_a_deactivation_ends_each_invitation_by_its_own_state_in_one_statement(
    create, patch_active, worker, mailer, statements
) -> None:
    user = create()
    worker.run_until_idle()
    assert len(mailer.sent) == 1
    sent = Invitation.get()

    # A second, still unsent invitation, and an old one already used but never marked sent.
    def copy(**changes: Any) -> Invitation:
        row = {**sent.__data__, "id": None, "token_hash": f"hash-{len(changes)}", **changes}
        return Invitation.create(**row)

    queued = copy(email_status="queued")
    used = copy(email_status="queued", used_at=utcnow())
    statements.clear()
    patch_active(user["id"], False)
    assert len([s for s in statements if s.startswith('UPDATE "invitation"')]) == 1
    sent, queued, used = (Invitation.get_by_id(i.id) for i in (sent, queued, used))
    assert (sent.revoked_reason, sent.email_status) == ("deactivated", "sent")
    assert (queued.revoked_reason, queued.email_status) == ("deactivated", "cancelled")
    assert queued.token_encrypted is None and queued.lease_owner is None
    # Used already: its record stays unrevoked, but the email that never left is cancelled.
    assert (used.revoked_at, used.email_status) == (None, "cancelled")
    assert used.token_encrypted is None


def test_a_suspended_user_cannot_enroll_and_gets_a_new_link_when_unsuspended(
    create, deliver, worker, mailer, client
) -> None:
    create()
    worker.run_until_idle()
    first = _token_from(mailer.sent[0])
    deliver(okta_event("user.lifecycle.suspend", published=moment(1)))
    worker.run_until_idle()
    assert _enroll(client, first).status_code == 410
    deliver(okta_event("user.lifecycle.unsuspend", published=moment(2)))
    worker.run_until_idle()
    assert len(mailer.sent) == 2
    assert _enroll(client, _token_from(mailer.sent[1])).status_code == 201


def test_an_enrolled_user_keeps_group_membership_while_suspended_and_gets_no_new_email(
    create, deliver, worker, mailer, client
) -> None:
    user = create()
    worker.run_until_idle()
    _enroll(client, _token_from(mailer.sent[0]))
    deliver(okta_event("user.lifecycle.suspend", published=moment(1)))
    worker.run_until_idle()
    assert _user(user["id"]).state == "suspended"
    assert GroupSync.get().desired == "in"
    deliver(okta_event("user.lifecycle.unsuspend", published=moment(2)))
    worker.run_until_idle()
    assert _user(user["id"]).state == "enrolled"
    assert len(mailer.sent) == 1


def test_delete_erases_personal_data_and_keeps_a_tombstone(
    create, deliver, worker, mailer, client, scim_headers
) -> None:
    user = create(
        **{
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            ],
        }
    )
    worker.run_until_idle()
    _enroll(client, _token_from(mailer.sent[0]))
    deliver(okta_event("user.lifecycle.delete.initiated", published=moment(1)))
    worker.run_until_idle()
    row = _user(user["id"])
    assert row.state == "deleted"
    assert row.deleted_at is not None
    assert row.deleted_by.startswith("okta_event:")
    personal = [
        row.user_name,
        row.user_name_key,
        row.external_id,
        row.display_name,
        row.given_name,
        row.family_name,
        row.email,
        row.locale,
    ]
    assert personal == [None] * len(personal)
    assert row.document == {}
    assert "R&D" not in str(row.__data__)
    assert GroupSync.get().desired == "out"
    assert GroupSync.get().okta_user_id == "00ujl29u0le5T6Aj10h7"
    assert client.get(f"/scim/v2/Users/{user['id']}", headers=scim_headers).status_code == 404
    listed = client.get(
        '/scim/v2/Users?filter=userName eq "test.user@okta.local"', headers=scim_headers
    )
    assert listed.get_json()["totalResults"] == 0
    assert AuditEntry.select().where(AuditEntry.action == "user.delete").count() == 1
    # The name is free again.
    assert create()["id"] != user["id"]


def test_scim_delete_goes_through_the_same_lifecycle(create, client, scim_headers) -> None:
    user = create()
    response = client.delete(f"/scim/v2/Users/{user['id']}", headers=scim_headers)
    assert response.status_code == 204
    row = _user(user["id"])
    assert (row.state, row.user_name, row.deleted_by) == ("deleted", None, row.deleted_by)
    assert row.deleted_by.startswith("scim_token:")
    assert Invitation.get().revoked_reason == "deleted"


def test_a_transient_mail_failure_is_retried_later(create, worker, mailer) -> None:
    mailer.fail_with.append(MailTransientError("429 from provider", retry_after=30))
    create()
    worker.run_until_idle()
    invitation = Invitation.get()
    assert invitation.email_status == "queued"
    assert invitation.next_attempt_at > dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert mailer.sent == []
    Invitation.update(next_attempt_at=dt.datetime(2000, 1, 1)).execute()
    worker.run_until_idle()
    assert Invitation.get().email_status == "sent"
    assert len(mailer.sent) == 1


def test_a_permanent_mail_failure_is_recorded_without_retrying(create, worker, mailer) -> None:
    mailer.fail_with.append(MailPermanentError("400: invalid from address"))
    create()
    worker.run_until_idle()
    worker.run_until_idle()
    invitation = Invitation.get()
    assert invitation.email_status == "failed"
    assert "invalid from address" in invitation.last_error
    assert invitation.attempts == 1


def test_a_user_without_email_has_a_failed_invitation_with_the_reason(
    create, worker, mailer
) -> None:
    create(emails=[])
    worker.run_until_idle()
    assert mailer.sent == []
    assert Invitation.get().last_error == "the user has no email address"


@pytest.mark.parametrize("already_sent", [True, False])
def test_an_email_left_in_doubt_by_a_dead_worker_goes_out_exactly_once(
    create, worker, mailer, already_sent
) -> None:
    create()
    invitation = Invitation.get()
    if already_sent:
        mailer._ids[invitation.id] = "sent-before-the-crash"
    # A worker marked it "sending", then died: its lease has run out.
    Invitation.update(
        email_status="sending", lease_owner="dead-worker", lease_until=dt.datetime(2000, 1, 1)
    ).execute()
    worker.run_until_idle()
    invitation = Invitation.get()
    assert invitation.email_status == "sent"
    if already_sent:
        assert mailer.sent == []
        assert invitation.message_id == "sent-before-the-crash"
    else:
        assert len(mailer.sent) == 1


def test_resending_revokes_the_old_link_and_sends_a_new_one(create, worker, mailer, client) -> None:
    user = create()
    worker.run_until_idle()
    with db.atomic():
        row = lifecycle.locked_user(_user(user["id"]).id)
        lifecycle.resend_invitation(row, Actor("admin", "admin@example.com"))
        row.save()
    worker.run_until_idle()
    assert len(mailer.sent) == 2
    assert _enroll(client, _token_from(mailer.sent[0])).status_code == 410
    assert _enroll(client, _token_from(mailer.sent[1])).status_code == 201


def test_every_transition_is_audited(create, patch_active, deliver, worker, mailer, client) -> None:
    user = create()
    worker.run_until_idle()
    _enroll(client, _token_from(mailer.sent[0]))
    patch_active(user["id"], False)
    patch_active(user["id"], True)
    deliver(okta_event("user.lifecycle.suspend", published=moment(5)))
    worker.run_until_idle()
    actions = [
        (e.action, e.actor_type)
        for e in AuditEntry.select()
        .where(AuditEntry.target_id == user["id"], AuditEntry.action.startswith("user."))
        .order_by(AuditEntry.id)
    ]
    assert actions == [
        ("user.create", "scim_token"),
        ("user.enroll", "enrollment"),
        ("user.deactivate", "scim_token"),
        ("user.reactivate", "scim_token"),
        ("user.suspend", "okta_event"),
    ]


def test_the_console_mailer_prints_without_the_token_and_keeps_the_email_encrypted(
    app, create, worker, caplog
) -> None:
    from models import EmailMessage
    from services.email.kept_emails import kept_email
    from services.email.mailer import ConsoleMailer

    app.extensions["mailer"] = ConsoleMailer()
    console_worker = __import__("worker").build_worker(app)
    create()
    with caplog.at_level("INFO"):
        console_worker.run_until_idle()
    invitation = Invitation.get()
    assert invitation.email_status == "sent"
    kept = kept_email(invitation.id)
    assert kept is not None
    token = next(w for w in kept.text.split() if "/enroll/" in w).rsplit("/", 1)[1]
    assert token.startswith("enr_")
    assert token not in caplog.text
    stored = EmailMessage.get()
    assert token not in stored.text_encrypted and token not in stored.html_encrypted


def test_deleting_a_user_deletes_the_welcome_emails_kept_for_the_admin_pages(
    app, create, worker, client, scim_headers
) -> None:
    from models import EmailMessage
    from services.email.kept_emails import kept_email
    from services.email.mailer import ConsoleMailer

    app.extensions["mailer"] = ConsoleMailer()
    user = create()
    __import__("worker").build_worker(app).run_until_idle()
    invitation = Invitation.get()
    assert kept_email(invitation.id) is not None
    assert client.delete(f"/scim/v2/Users/{user['id']}", headers=scim_headers).status_code == 204
    assert kept_email(invitation.id) is None
    assert EmailMessage.select().count() == 0
