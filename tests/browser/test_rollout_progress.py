"""Rollout progress as an admin sees it in Chromium: the funnel, the 30-day chart, the
import rate, with the page readable without JavaScript and within the CSP."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from models import AuditEntry, Invitation, User
from models.base import utcnow
from models.invitation import EMAIL_PENDING
from services.admin.admins import create_admin
from tests.browser.conftest import LiveServer, PageEvents, screenshot
from tests.browser.test_admin_console import ADMIN_PASSWORD, provision, sign_in
from tests.factories import make_integration, make_token, okta_create_user_payload

ADMIN_EMAIL = "ops@example.com"


@pytest.fixture
def imported(app: Flask, live_server: LiveServer) -> Any:
    """An admin, and an integration whose import created five users a moment ago."""
    create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    integration = make_integration(name="Acme Okta")
    token = make_token(integration)
    for number in range(5):
        body = okta_create_user_payload(f"user{number}@okta.example", externalId=f"00u{number}")
        provision(live_server, token, body)
    # The server's worker sends the welcome emails: let it finish before tests change them.
    deadline = time.monotonic() + 20
    while Invitation.select().where(Invitation.email_status.in_(EMAIL_PENDING)).exists():
        assert time.monotonic() < deadline, "the welcome emails were not sent"
        time.sleep(0.1)
    return integration


def _signed_in(page: Page) -> None:
    page.goto("/admin/login")
    sign_in(page)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def test_the_dashboard_shows_the_funnel_chart_and_import_rate(
    page: Page, imported: Any, page_events: PageEvents
) -> None:
    _signed_in(page)
    funnel = page.get_by_role("img", name="Onboarding funnel of Acme Okta", exact=False)
    expect(funnel).to_be_visible()
    expect(funnel).to_contain_text("provisioned")
    expect(funnel).to_contain_text("5 (100%)")
    expect(funnel).to_contain_text("enrolled")
    box = funnel.bounding_box()
    assert box is not None and box["height"] > 80, box
    chart = page.get_by_role("img", name="Invitations and enrollments per day", exact=False)
    expect(chart).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("1 user created per minute")
    refresh = page.locator('meta[http-equiv="refresh"]')
    expect(refresh).to_have_attribute("content", "15")
    screenshot(page, "rollout-dashboard")

    page.get_by_text("Figures per day").click()
    expect(page.get_by_role("table").filter(has_text="Invitations").first).to_be_visible()
    screenshot(page, "rollout-figures-per-day")
    assert page_events.csp_violations == []


def test_the_charts_are_readable_without_javascript(
    browser: Browser, live_server: LiveServer, imported: Any
) -> None:
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        _signed_in(page)
        expect(page.get_by_role("img", name="Onboarding funnel of Acme Okta", exact=False))
        expect(page.locator("svg.chart").first).to_be_visible()
        expect(page.locator("svg.chart text").first).to_have_text("provisioned")
        screenshot(page, "rollout-dashboard-no-javascript")
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1366])
def test_the_dashboard_charts_fit_the_screen(page: Page, imported: Any, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    _signed_in(page)
    funnel = page.locator("svg.chart").first
    expect(funnel).to_be_visible()
    box = funnel.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width, box
    # The wide daily chart scrolls inside its own box instead of widening the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    screenshot(page, f"rollout-dashboard-{width}")


def test_an_admin_resends_to_stuck_users_from_the_stuck_list(
    page: Page, imported: Any, page_events: PageEvents
) -> None:
    week_ago = utcnow() - dt.timedelta(days=7)
    Invitation.update(created=week_ago).execute()
    bounced = User.get(User.user_name == "user1@okta.example")
    Invitation.update(email_status="bounced").where(Invitation.user == bounced).execute()
    _signed_in(page)
    page.get_by_role("link", name="Users stuck in onboarding").click()
    expect(page.get_by_role("heading", name="Stuck users", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("5 stuck users.")
    row = page.get_by_role("row").filter(has_text="user1@okta.example")
    expect(row).to_contain_text("bounced")
    expect(page.get_by_role("row").filter(has_text="user2@okta.example")).to_contain_text(
        "never opened"
    )
    screenshot(page, "stuck-list")

    page.get_by_label("Resend to user1@okta.example").check()
    page.get_by_label("Resend to user2@okta.example").check()
    page.get_by_role("button", name="Resend welcome email to selected users").click()
    expect(page.get_by_text("2 new welcome emails queued")).to_be_visible()
    expect(page.locator(".result-count")).to_have_text("3 stuck users.")
    screenshot(page, "stuck-list-after-resend")
    resent = AuditEntry.select().where(AuditEntry.action == "user.invitation_resent").count()
    assert resent == 2
    assert page_events.csp_violations == []


def test_an_admin_sorts_the_users_pages_back_and_exports_the_filtered_list(
    page: Page, imported: Any, page_events: PageEvents
) -> None:
    User.update(state="enrolled", enrolled_at=utcnow()).where(
        User.user_name.in_(["user1@okta.example", "user3@okta.example"])
    ).execute()
    _signed_in(page)
    page.goto("/admin/users")
    page.get_by_role("link", name="User name").click()
    names = page.locator(".users-table tbody th")
    expect(names.first).to_have_text("user0@okta.example")
    expect(page.get_by_role("columnheader", name="User name")).to_have_attribute(
        "aria-sort", "ascending"
    )
    page.get_by_role("link", name="User name").click()
    expect(names.first).to_have_text("user4@okta.example")
    screenshot(page, "users-sorted-by-name")

    page.get_by_label("State").select_option("enrolled")
    page.get_by_role("button", name="Search").click()
    expect(names).to_have_count(2)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export this list as CSV").click()
    download = download_info.value
    assert download.suggested_filename == "users.csv"
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("user_name,display_name,email,state")
    # The filter kept the sort (name, descending), and the export follows both.
    assert [line.split(",")[0] for line in lines[1:]] == [
        "user3@okta.example",
        "user1@okta.example",
    ]
    screenshot(page, "users-filtered-for-export")
    assert page_events.csp_violations == []


def test_the_audit_log_shows_names_hides_email_sent_and_shows_it_on_one_click(
    page: Page, imported: Any, page_events: PageEvents
) -> None:
    _signed_in(page)
    page.goto("/admin/audit")
    rows = page.locator(".audit-table tbody tr")
    created = rows.filter(has_text="user.create").filter(has_text="user0@okta.example")
    expect(created.get_by_role("link", name="user0@okta.example")).to_be_visible()
    expect(created).to_contain_text("scim token test")
    expect(page.locator(".audit-table")).not_to_contain_text("email.sent")
    screenshot(page, "audit-log-names")

    page.get_by_role("link", name="Show email.sent rows").click()
    expect(rows.filter(has_text="email.sent")).to_have_count(5)
    page.get_by_label("Actor", exact=True).select_option("system")
    page.get_by_role("button", name="Filter").click()
    expect(rows.filter(has_text="email.sent")).to_have_count(5)
    expect(rows.filter(has_text="user.create")).to_have_count(0)
    screenshot(page, "audit-log-email-sent-shown")
    assert page_events.csp_violations == []
