"""The console says what is true: printed mail is not "sent", one health verdict everywhere,
advice that names the Okta action, and a timeline whose actor is not its outcome."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from models import Integration, Invitation, utcnow
from services.email.mailer import ConsoleMailer
from tests.factories import okta_create_user_payload, okta_delivery, okta_event
from worker import build_worker


def _provision(client: FlaskClient, headers: dict[str, str], n: int = 1) -> list[str]:
    ids = []
    for i in range(n):
        body = okta_create_user_payload(f"user{i}@example.com", externalId=f"00u{i:017d}")
        response = client.post("/scim/v2/Users", json=body, headers=headers)
        assert response.status_code == 201, response.text
        ids.append(response.get_json()["id"])
    return ids


def _health(html: str) -> set[str]:
    """The health verdicts a page shows (the integration page may repeat its own)."""
    return set(
        re.findall(r'<span class="badge badge-\w+">(ok|setup incomplete|unhealthy)</span>', html)
    )


def _pages(admin_client: FlaskClient, integration: Any) -> dict[str, str]:
    return {
        "dashboard": admin_client.get("/admin/").text,
        "list": admin_client.get("/admin/integrations").text,
        "page": admin_client.get(f"/admin/integrations/{integration.id}").text,
    }


def _complete_setup(client: FlaskClient, integration: Any, headers: dict[str, str]) -> None:
    """Every health check passes: a token Okta used, a verified hook, a tested Okta API with
    a group, a reconciliation, and a mailer that delivers (the tests' recording one)."""
    _provision(client, headers)
    verified = client.get(
        f"/hooks/okta/{integration.id}", headers={"x-okta-verification-challenge": "abc"}
    )
    assert verified.get_json() == {"verification": "abc"}
    Integration.update(
        okta_org_url="https://acme.okta.example",
        okta_auth="ssws",
        okta_secret="encrypted-elsewhere",
        group_id="00g0000000000000001",
        okta_tested_at=utcnow(),
        reconciled_at=utcnow(),
        reconcile_report=json.dumps(
            {"mode": "fix", "added": 0, "removed": 0, "strays_total": 0, "missing_total": 0}
        ),
    ).where(Integration.id == integration.id).execute()


def test_console_mail_is_counted_and_labelled_as_printed_not_sent(
    app: Flask, admin_client: FlaskClient, client: FlaskClient, scim_headers: dict
) -> None:
    app.extensions["mailer"] = ConsoleMailer()
    (scim_id,) = _provision(client, scim_headers)
    build_worker(app).run_until_idle()
    assert Invitation.get().email_status == "sent"

    dashboard = admin_client.get("/admin/").text
    assert "Welcome emails are not being delivered" in dashboard
    assert "set <code>SENDGRID_API_KEY</code>" in dashboard
    assert (
        '<span class="stat-value">1</span> <span class="stat-label">printed (not delivered)</span>'
        in dashboard
    )
    assert '<span class="stat-label">sent</span>' not in dashboard

    user_page = admin_client.get(f"/admin/users/{scim_id}").text
    assert "handed to the mail provider" not in user_page
    assert "the welcome email was printed to the server&#39;s log by the console mailer" in (
        user_page
    )
    assert "<td>printed (not delivered)<br><small>printed " in user_page


def test_an_email_printed_while_the_dashboard_counts_does_not_break_it(
    app: Flask,
    admin_client: FlaskClient,
    client: FlaskClient,
    scim_headers: dict,
    monkeypatch: Any,
) -> None:
    import peewee

    _provision(client, scim_headers)
    assert Invitation.get().email_status == "queued"
    original = peewee.Database.execute_sql
    printed: list[str] = []

    def worker_prints_meanwhile(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        cursor = original(self, sql, *args, **kwargs)
        if "email_status" in sql and "GROUP BY" in sql and not printed:
            # The in-process worker prints the welcome email right after the first count.
            printed.append(sql)
            original(
                self,
                "UPDATE invitation SET email_status = 'sent', message_id = 'console-1'",
            )
        return cursor

    monkeypatch.setattr(peewee.Database, "execute_sql", worker_prints_meanwhile)
    response = admin_client.get("/admin/")
    assert printed
    assert response.status_code == 200
    # The counts are of one moment: before the email went out.
    assert '<span class="stat-value">1</span> <span class="stat-label">queued</span>' in (
        response.text
    )


def test_a_delivering_mailer_shows_no_banner_and_counts_sent(
    admin_client: FlaskClient, client: FlaskClient, scim_headers: dict, worker: Any
) -> None:
    _provision(client, scim_headers)
    worker.run_until_idle()
    dashboard = admin_client.get("/admin/").text
    assert "Welcome emails are not being delivered" not in dashboard
    assert '<span class="stat-value">1</span> <span class="stat-label">sent</span>' in dashboard


def test_every_page_shows_the_same_verdict_until_setup_is_complete(
    admin_client: FlaskClient,
    client: FlaskClient,
    integration: Any,
    scim_headers: dict,
    hook_secret: str,
) -> None:
    # A token alone: the Okta API is not configured, so group changes would wait.
    pages = _pages(admin_client, integration)
    assert {name: _health(html) for name, html in pages.items()} == {
        "dashboard": {"setup incomplete"},
        "list": {"setup incomplete"},
        "page": {"setup incomplete"},
    }

    _complete_setup(client, integration, scim_headers)
    pages = _pages(admin_client, integration)
    assert {name: _health(html) for name, html in pages.items()} == {
        "dashboard": {"ok"},
        "list": {"ok"},
        "page": {"ok"},
    }

    Integration.update(unhealthy_reason="Okta rejected the API token (401)").execute()
    pages = _pages(admin_client, integration)
    for html in pages.values():
        assert _health(html) == {"unhealthy"}
        assert "Okta rejected the API token (401)" in html


def test_a_failed_connection_test_makes_the_integration_unhealthy_everywhere(
    admin_client: FlaskClient,
    client: FlaskClient,
    integration: Any,
    scim_headers: dict,
    hook_secret: str,
) -> None:
    _complete_setup(client, integration, scim_headers)
    Integration.update(okta_test_error="the group 00g… does not exist").execute()
    for html in _pages(admin_client, integration).values():
        assert _health(html) == {"unhealthy"}
    assert "Test connection failed: the group 00g… does not exist" in (
        admin_client.get(f"/admin/integrations/{integration.id}").text
    )


def test_the_timeline_names_the_token_as_actor_apart_from_the_outcome(
    admin_client: FlaskClient,
    client: FlaskClient,
    scim_headers: dict,
    integration: Any,
    hook_headers: dict,
    worker: Any,
) -> None:
    (scim_id,) = _provision(client, scim_headers)
    worker.run_until_idle()
    client.post(
        f"/hooks/okta/{integration.id}",
        json=okta_delivery(okta_event("user.account.update_profile", okta_id="00u" + "0" * 17)),
        headers=hook_headers,
    )
    worker.run_until_idle()
    page = admin_client.get(f"/admin/users/{scim_id}").text
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    create = next(row for row in rows if ">user.create</th>" in row)
    # The tests' token is labelled "test" (tests/factories.make_token).
    assert '<td data-label="Actor">SCIM token “test”</td>' in create
    assert '<td data-label="Outcome">recorded</td>' in create
    assert "scim_token" not in create
    welcome = next(row for row in rows if "invitation #" in row)
    assert '<td data-label="Actor">system</td>' in welcome
    assert '<td data-label="Outcome">sent</td>' in welcome
