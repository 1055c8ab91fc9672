"""What an admin sees in Chromium when mail only prints, when setup is incomplete, and when a
user is suspended: the console says so, the same way on every page."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from flask import Flask
from playwright.sync_api import Page, expect

from models import Invitation
from models.invitation import EMAIL_PENDING
from services.admin.admins import create_admin
from services.okta.hook_secrets import rotate_hook_secret
from tests.browser.conftest import LiveServer, PageEvents, screenshot
from tests.browser.test_admin_console import ADMIN_PASSWORD, provision, sign_in
from tests.factories import (
    make_integration,
    make_token,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
)

ADMIN_EMAIL = "ops@example.com"


@pytest.fixture
def invited(app: Flask, live_server: LiveServer) -> dict[str, Any]:
    """An admin, and Ada provisioned by the "Okta production" token; her welcome email was
    handled by the server's console mailer (no SENDGRID_API_KEY)."""
    create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    integration = make_integration(name="Acme Okta")
    token = make_token(integration, label="Okta production")
    ada = provision(
        live_server,
        token,
        okta_create_user_payload("ada@okta.example", externalId="00uada0000000000001"),
    )
    deadline = time.monotonic() + 20
    while Invitation.select().where(Invitation.email_status.in_(EMAIL_PENDING)).exists():
        assert time.monotonic() < deadline, "the welcome email was not handled"
        time.sleep(0.1)
    return {"integration": integration, "ada": ada, "token": token}


def test_printed_mail_is_called_printed_and_the_dashboard_says_how_to_deliver(
    page: Page, invited: dict[str, Any], page_events: PageEvents
) -> None:
    page.goto("/admin/login")
    sign_in(page)
    banner = page.get_by_role("region", name="Welcome emails are not being delivered")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("set SENDGRID_API_KEY")
    emails = page.get_by_role("region", name="Welcome emails", exact=True)
    expect(emails).to_contain_text("printed (not delivered)")
    expect(emails.locator(".stat-label")).not_to_have_text(["sent"])
    screenshot(page, "honest-dashboard-console-mail")

    page.goto(f"/admin/users/{invited['ada']['id']}")
    finding = page.locator(".finding").filter(has_text="Was the welcome email sent?")
    expect(finding).to_contain_text("printed to the server's log by the console mailer, not sent")
    expect(finding).not_to_contain_text("handed to the mail provider")
    row = page.locator(".timeline-table tbody tr").filter(has_text="user.create")
    expect(row.locator('[data-label="Actor"]')).to_have_text("SCIM token “Okta production”")
    expect(row.locator('[data-label="Outcome"]')).to_have_text("recorded")
    screenshot(page, "honest-user-printed-email")
    assert page_events.csp_violations == []


def test_the_health_verdict_is_the_same_on_every_page(page: Page, invited: dict[str, Any]) -> None:
    integration = invited["integration"]
    page.goto("/admin/login")
    sign_in(page)
    verdicts = {}
    for name, path, where in (
        ("dashboard", "/admin/", ".dashboard-integrations td[data-label='Health']"),
        ("list", "/admin/integrations", ".integrations-table td"),
        ("page", f"/admin/integrations/{integration.id}", "#status-heading + dl"),
    ):
        page.goto(path)
        badge = page.locator(where).locator(".badge").first
        expect(badge).to_be_visible()
        verdicts[name] = badge.inner_text()
        screenshot(page, f"honest-health-{name}")
    assert verdicts == {name: "setup incomplete" for name in verdicts}


def test_a_suspended_user_gets_advice_naming_the_okta_action(
    page: Page, invited: dict[str, Any], live_server: LiveServer
) -> None:
    integration = invited["integration"]
    secret = rotate_hook_secret(integration)
    delivery = okta_delivery(okta_event("user.lifecycle.suspend", okta_id="00uada0000000000001"))
    answer = requests.post(
        f"{live_server.url}/hooks/okta/{integration.id}",
        json=delivery,
        headers={"Accept": "application/json", "Authorization": secret},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    page.goto("/admin/login")
    sign_in(page)
    user_url = f"/admin/users/{invited['ada']['id']}"
    link = page.locator(".finding").filter(has_text="Can the enrollment link still be used?")
    deadline = time.monotonic() + 15
    page.goto(user_url)
    while "suspended in Okta" not in link.inner_text():
        assert time.monotonic() < deadline, link.inner_text()
        time.sleep(0.2)
        page.reload()
    expect(link).to_contain_text("More Actions → Unsuspend")
    expect(link).not_to_contain_text("Resend")
    expect(page.get_by_role("button", name="Resend welcome email")).to_have_count(0)
    screenshot(page, "honest-suspended-user-advice")
