"""The stuck list: who has not enrolled after N days, why, and a bulk resend that is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from models import AuditEntry, Invitation, User
from models.base import utcnow
from tests.blueprints.admin.conftest import post_form
from tests.factories import okta_create_user_payload


@pytest.fixture
def invited(client, scim_headers, worker) -> Any:
    """Provision users over SCIM, send their emails, and backdate their invitations."""

    def invited(name: str, days_ago: float, **invitation: Any) -> User:
        body = okta_create_user_payload(f"{name}@okta.example", externalId=name)
        assert client.post("/scim/v2/Users", json=body, headers=scim_headers).status_code == 201
        worker.run_until_idle()
        user = User.get(User.user_name == f"{name}@okta.example")
        created = utcnow() - dt.timedelta(days=days_ago)
        Invitation.update(created=created, **invitation).where(Invitation.user == user).execute()
        return user

    return invited


def _rows(page: str) -> dict[str, str]:
    rows = {}
    for chunk in page.split('<th scope="row" data-label="User name">')[1:]:
        name = chunk.split('">', 1)[1].split("</a>", 1)[0]
        reason = chunk.split('<td data-label="Reason">', 1)[1].split("</span>", 1)[0]
        rows[name] = reason.rsplit(">", 1)[1]
    return rows


def test_the_stuck_list_shows_who_waits_longer_than_three_days_and_why(
    admin_client, invited
) -> None:
    invited("fresh", 1)
    invited("quiet", 4)
    invited("bounce", 5, email_status="bounced")
    invited("spam", 5, email_status="spamreport")
    invited("late", 9, expires_at=utcnow() - dt.timedelta(days=2))
    invited("looked", 4, opened_at=utcnow() - dt.timedelta(days=3))
    page = admin_client.get("/admin/users/stuck").text
    assert _rows(page) == {
        "late@okta.example": "link expired",
        "bounce@okta.example": "bounced",
        "spam@okta.example": "spam report",
        "quiet@okta.example": "never opened",
        "looked@okta.example": "opened, not enrolled",
    }
    assert next(iter(_rows(page))) == "late@okta.example"  # oldest invitation first
    assert "5 stuck users" in page


def test_the_threshold_is_a_setting(admin_client, app, invited) -> None:
    invited("quiet", 4)
    app.config["STUCK_AFTER_DAYS"] = 7
    page = admin_client.get("/admin/users/stuck").text
    assert _rows(page) == {}
    assert "more than 7 days ago" in page


def test_enrolled_and_deactivated_users_are_not_stuck(
    admin_client, client, scim_headers, invited
) -> None:
    gone = invited("gone", 5)
    done = invited("done", 5)
    User.update(state="enrolled", enrolled_at=utcnow()).where(User.id == done.id).execute()
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    response = client.patch(f"/scim/v2/Users/{gone.scim_id}", json=patch, headers=scim_headers)
    assert response.status_code == 200
    assert _rows(admin_client.get("/admin/users/stuck").text) == {}


def test_bulk_resend_sends_each_selected_user_a_new_link_and_audits_each(
    admin_client, invited, worker, mailer
) -> None:
    ann, bob, cy = invited("ann", 5), invited("bob", 5), invited("cy", 5)
    before = len(mailer.sent)
    response = post_form(
        admin_client,
        "/admin/users/stuck",
        "/admin/users/stuck/resend",
        user=[ann.scim_id, bob.scim_id],
    )
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).text
    assert "2 new welcome emails queued" in page
    worker.run_until_idle()
    recipients = sorted(email.to_email for email in mailer.sent[before:])
    assert recipients == ["ann@okta.example", "bob@okta.example"]
    resent = AuditEntry.select().where(AuditEntry.action == "user.invitation_resent")
    assert sorted(entry.target_id for entry in resent) == sorted([ann.scim_id, bob.scim_id])
    assert all(entry.actor_id == "admin@example.com" for entry in resent)
    # Their new invitations are fresh, so only Cy is still stuck.
    assert list(_rows(admin_client.get("/admin/users/stuck").text)) == ["cy@okta.example"]
    assert Invitation.select().where(Invitation.user == cy, Invitation.revoked_at.is_null()).count()


def test_bulk_resend_skips_a_user_who_enrolled_meanwhile_and_says_so(admin_client, invited) -> None:
    ann, bob = invited("ann", 5), invited("bob", 5)
    User.update(state="enrolled", enrolled_at=utcnow()).where(User.id == bob.id).execute()
    response = post_form(
        admin_client,
        "/admin/users/stuck",
        "/admin/users/stuck/resend",
        user=[ann.scim_id, bob.scim_id],
    )
    page = admin_client.get(response.headers["Location"]).text
    assert "1 new welcome email queued" in page
    assert "Not waiting to enroll, so skipped: bob@okta.example." in page


def test_bulk_resend_with_nothing_selected_sends_nothing(admin_client, invited, worker) -> None:
    invited("ann", 5)
    response = post_form(admin_client, "/admin/users/stuck", "/admin/users/stuck/resend")
    page = admin_client.get(response.headers["Location"]).text
    assert "select at least one user" in page
    assert AuditEntry.select().where(AuditEntry.action == "user.invitation_resent").count() == 0


def test_bulk_resend_refuses_more_than_its_limit(admin_client, invited) -> None:
    ann = invited("ann", 5)
    response = post_form(
        admin_client,
        "/admin/users/stuck",
        "/admin/users/stuck/resend",
        user=[ann.scim_id] + [f"00000000-0000-0000-0000-{n:012d}" for n in range(200)],
    )
    page = admin_client.get(response.headers["Location"]).text
    assert "select at most 200 users at a time" in page
    assert AuditEntry.select().where(AuditEntry.action == "user.invitation_resent").count() == 0
