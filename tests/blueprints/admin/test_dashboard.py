"""The dashboard, and the copy of a welcome email the console mailer kept."""

from __future__ import annotations

from typing import Any

from models import Integration, Invitation
from services.admin import scim_activity
from services.email.mailer import ConsoleMailer
from tests.factories import okta_create_user_payload, okta_delivery, okta_event, okta_patch_active
from worker import build_worker


def _provision(client: Any, headers: dict, n: int, prefix: str = "user") -> list[str]:
    ids = []
    for i in range(n):
        body = okta_create_user_payload(f"{prefix}{i}@example.com", externalId=f"00u{i:017d}")
        response = client.post("/scim/v2/Users", json=body, headers=headers)
        assert response.status_code == 201
        ids.append(response.get_json()["id"])
    return ids


def test_the_dashboard_counts_users_by_state_and_shows_last_requests(
    admin_client, client, scim_headers, integration, hook_headers, worker
) -> None:
    ids = _provision(client, scim_headers, 3)
    client.patch(f"/scim/v2/Users/{ids[0]}", json=okta_patch_active(False), headers=scim_headers)
    client.post(
        f"/hooks/okta/{integration.id}",
        json=okta_delivery(okta_event("user.session.start"), okta_event("user.lifecycle.suspend")),
        headers=hook_headers,
    )
    # Failures are always recorded (successes at most once a second per process).
    client.get("/scim/v2/Users/no-such-user", headers=scim_headers)
    page = admin_client.get("/admin/").text
    assert '<span class="stat-value">2</span> <span class="stat-label">invited</span>' in page
    assert '<span class="stat-value">1</span> <span class="stat-label">deactivated</span>' in page
    assert "GET /scim/v2/Users/no-such-user" in page
    assert '<span class="http-4xx">404</span>' in page
    assert "2 events" in page
    assert "events unprocessed" in page


def test_a_success_right_after_a_failure_replaces_it_as_the_last_request(
    admin_client, client, scim_headers, integration, monkeypatch
) -> None:
    # However slow this machine, every request below falls within one throttle interval.
    monkeypatch.setattr(scim_activity, "MIN_INTERVAL_SECONDS", 3600.0)
    client.get("/scim/v2/Users?filter=userName%20zz%20%22x%22", headers=scim_headers)
    assert '<span class="http-4xx">400</span>' in admin_client.get("/admin/").text
    # Okta's next requests succeed, moments later.
    client.get("/scim/v2/Users?count=1", headers=scim_headers)
    client.get("/scim/v2/Groups?count=1", headers=scim_headers)
    for page in (admin_client.get("/admin/").text, admin_client.get("/admin/integrations").text):
        assert "GET /scim/v2/Users" in page
        assert '<span class="http-2xx">200</span>' in page
        assert "http-4xx" not in page
    # Successes are still throttled otherwise: the second one was not recorded.
    assert "/scim/v2/Groups" not in admin_client.get("/admin/").text


def test_the_dashboard_names_an_unhealthy_integration_and_its_reason(
    admin_client, integration
) -> None:
    Integration.update(
        unhealthy_reason="Okta refused the credential: E0000011 Invalid token provided"
    ).where(Integration.id == integration.id).execute()
    page = admin_client.get("/admin/").text
    assert "Needs attention" in page
    assert "E0000011 Invalid token provided" in page


def test_the_dashboard_counts_emails_by_delivery_status(
    admin_client, client, scim_headers, worker
) -> None:
    _provision(client, scim_headers, 2)
    worker.run_until_idle()
    Invitation.update(email_status="bounced").where(
        Invitation.id == Invitation.select().first().id
    ).execute()
    page = admin_client.get("/admin/").text
    assert '<span class="stat-value">1</span> <span class="stat-label">bounced</span>' in page
    assert '<span class="stat-value">1</span> <span class="stat-label">sent</span>' in page


def test_an_email_the_console_mailer_kept_can_be_read_on_the_user_page(
    app, admin_client, client, scim_headers
) -> None:
    app.extensions["mailer"] = ConsoleMailer()
    (scim_id,) = _provision(client, scim_headers, 1)
    build_worker(app).run_until_idle()
    invitation = Invitation.get()
    user_page = admin_client.get(f"/admin/users/{scim_id}").text
    url = f"/admin/users/{scim_id}/emails/{invitation.id}"
    assert url in user_page
    page = admin_client.get(url)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "/enroll/enr_" in page.text
    html = admin_client.get(f"{url}/html")
    assert "sandbox" in html.headers["Content-Security-Policy"]
    assert "/enroll/enr_" in html.text
    # Another user's id in the URL does not reveal this email.
    other = _provision(client, scim_headers, 1, prefix="other")[0]
    assert admin_client.get(f"/admin/users/{other}/emails/{invitation.id}").status_code == 404
