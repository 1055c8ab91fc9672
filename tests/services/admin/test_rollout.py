"""Rollout progress: the onboarding funnel, invitations and enrollments per day, import rate."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from models import Invitation, User
from models.base import utcnow
from services.admin.rollout import daily_activity, funnels, import_rate
from tests.factories import make_integration, make_token, okta_create_user_payload


@pytest.fixture
def provision(client, scim_headers, worker, mailer) -> Any:
    """Provision a user over SCIM, send the welcome email, and return the link's token."""

    def provision(user_name: str, headers: dict[str, str] = scim_headers) -> str:
        body = okta_create_user_payload(user_name, externalId=user_name)
        response = client.post("/scim/v2/Users", json=body, headers=headers)
        assert response.status_code == 201, response.text
        worker.run_until_idle()
        link = next(word for word in mailer.sent[-1].text.split() if "/enroll/" in word)
        return link.rsplit("/", 1)[1]

    return provision


def _deliver(token_owner: str) -> None:
    # What the SendGrid "delivered" event leaves on the invitation.
    user = User.get(User.user_name == token_owner)
    Invitation.update(email_status="delivered").where(Invitation.user == user).execute()


def test_the_funnel_counts_each_user_at_the_furthest_step_they_reached(
    client, integration, provision
) -> None:
    tokens = {name: provision(f"{name}@okta.example") for name in ("ann", "bob", "cy", "dee")}
    for name in ("bob", "cy", "dee"):
        _deliver(f"{name}@okta.example")
    for name in ("cy", "dee"):
        assert client.get(f"/enroll/{tokens[name]}").status_code == 200
    assert client.post("/api/v1/enrollments", json={"token": tokens["dee"]}).status_code == 201

    [funnel] = funnels()
    assert funnel.integration.id == integration.id
    assert funnel.steps() == [
        ("provisioned", 4, 100),
        ("email delivered", 3, 75),
        ("link opened", 2, 50),
        ("enrolled", 1, 25),
    ]


def test_opening_a_link_twice_keeps_the_first_open(client, provision) -> None:
    token = provision("ann@okta.example")
    client.get(f"/enroll/{token}")
    first = Invitation.get().opened_at
    assert first is not None
    client.get(f"/enroll/{token}")
    assert Invitation.get().opened_at == first


def test_a_dead_link_does_not_count_as_opened(client, provision) -> None:
    token = provision("ann@okta.example")
    Invitation.update(expires_at=utcnow() - dt.timedelta(minutes=1)).execute()
    assert client.get(f"/enroll/{token}").status_code == 410
    assert Invitation.get().opened_at is None
    assert funnels()[0].counts[2] == 0


def test_funnels_are_per_integration_and_leave_deleted_users_out(
    client, scim_headers, provision
) -> None:
    other = make_integration(name="Zeta Okta")
    other_headers = {**scim_headers, "Authorization": f"Bearer {make_token(other)}"}
    provision("ann@okta.example")
    provision("bob@okta.example")
    provision("cy@okta.example", other_headers)
    bob = User.get(User.user_name == "bob@okta.example")
    assert client.delete(f"/scim/v2/Users/{bob.scim_id}", headers=scim_headers).status_code == 204

    counts = {funnel.integration.name: funnel.counts[0] for funnel in funnels()}
    assert counts == {"Acme Okta": 1, "Zeta Okta": 1}


def test_an_integration_without_users_has_an_empty_funnel(integration) -> None:
    [funnel] = funnels()
    assert funnel.steps()[0] == ("provisioned", 0, 0)


def test_daily_activity_puts_invitations_and_enrollments_on_their_day(client, provision) -> None:
    today = utcnow().date()
    for name in ("ann", "bob", "cy"):
        provision(f"{name}@okta.example")
    token = provision("dee@okta.example")
    assert client.post("/api/v1/enrollments", json={"token": token}).status_code == 201
    four_days_ago = utcnow() - dt.timedelta(days=4)
    ann = User.get(User.user_name == "ann@okta.example")
    Invitation.update(created=four_days_ago).where(Invitation.user == ann).execute()
    bob = User.get(User.user_name == "bob@okta.example")
    Invitation.update(created=utcnow() - dt.timedelta(days=40)).where(
        Invitation.user == bob
    ).execute()

    activity = daily_activity(today)
    assert len(activity.days) == 30
    assert activity.days[-1] == today
    assert activity.days[0] == today - dt.timedelta(days=29)
    by_day = dict(zip(activity.days, activity.invitations, strict=True))
    assert by_day[today] == 2
    assert by_day[today - dt.timedelta(days=4)] == 1
    assert sum(activity.invitations) == 3  # bob's invitation is older than 30 days
    assert activity.enrollments[-1] == 1
    assert sum(activity.enrollments) == 1


def test_the_import_rate_counts_recent_creates_per_minute(provision) -> None:
    assert import_rate() == 0
    for number in range(10):
        provision(f"user{number}@okta.example")
    assert import_rate() == pytest.approx(10 / 5)
    assert import_rate(utcnow() + dt.timedelta(minutes=6)) == 0
