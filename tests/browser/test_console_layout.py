"""What the console looks like in Chromium: where the origin leads, and that nothing overflows
or wraps mid-word at a phone's width (390 px) or a laptop's (1366 px)."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from models import Invitation, User
from models.invitation import EMAIL_PENDING
from services.admin.admins import create_admin
from tests.browser.conftest import LiveServer, PageEvents, screenshot
from tests.browser.test_admin_console import ADMIN_PASSWORD, provision, sign_in
from tests.factories import make_integration, make_token, okta_create_user_payload

ADMIN_EMAIL = "ops@example.com"

# Letter-only words (with trailing punctuation) that the browser drew on more than one line:
# a word broken mid-word, like "waiti/ng". Identifiers in <code> may break; words may not.
BROKEN_WORDS = """() => {
    const broken = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (!parent || parent.closest('code, pre, svg, .visually-hidden')) continue;
        const style = getComputedStyle(parent);
        if (style.display === 'none' || style.visibility === 'hidden') continue;
        for (const match of node.textContent.matchAll(/[A-Za-z]{2,20}/g)) {
            const range = document.createRange();
            range.setStart(node, match.index);
            range.setEnd(node, match.index + match[0].length);
            const tops = new Set([...range.getClientRects()]
                .filter(r => r.width > 0).map(r => Math.round(r.top)));
            if (tops.size > 1) broken.push(match[0]);
        }
    }
    return broken;
}"""
WIDER_THAN_THE_SCREEN = """() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.body.querySelectorAll('*')].filter(el => {
        // Boxes that scroll on their own (a wide chart) do not widen the page.
        for (let up = el.parentElement; up; up = up.parentElement) {
            if (['auto', 'scroll'].includes(getComputedStyle(up).overflowX)) return false;
        }
        return el.getBoundingClientRect().right > width + 1;
    });
    return wide.map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
}"""


@pytest.fixture
def console(app: Flask, live_server: LiveServer) -> dict[str, str]:
    """An admin, an integration with three users, one of them with a failed email: the
    admin pages, by name."""
    create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    integration = make_integration(name="Acme Okta")
    token = make_token(integration, label="Okta production")
    ids = [
        provision(
            live_server,
            token,
            okta_create_user_payload(f"person{n}@okta.example", externalId=f"00uperson{n}"),
        )["id"]
        for n in range(3)
    ]
    deadline = time.monotonic() + 20
    while Invitation.select().where(Invitation.email_status.in_(EMAIL_PENDING)).exists():
        assert time.monotonic() < deadline, "the welcome emails were not sent"
        time.sleep(0.1)
    failed = User.get(User.scim_id == ids[0])
    Invitation.update(email_status="failed", last_error="SendGrid answered 401").where(
        Invitation.user == failed
    ).execute()
    return {
        "dashboard": "/admin/",
        "integrations": "/admin/integrations",
        "integration": f"/admin/integrations/{integration.id}",
        "users": "/admin/users",
        "user": f"/admin/users/{ids[1]}",
        "event-hooks": "/admin/hooks",
        "audit-log": "/admin/audit",
        "work-queue": "/admin/work",
        "account": "/admin/account",
        "admins": "/admin/admins",
        "integration-delete": f"/admin/integrations/{integration.id}/delete",
    }


def test_the_origin_opens_the_console(page: Page, console: dict[str, str]) -> None:
    page.goto("/")
    expect(page).to_have_url("/admin/login?next=/admin/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(page)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    screenshot(page, "origin-opens-the-console")


@pytest.mark.parametrize("width", [390, 1366])
def test_no_admin_page_overflows_or_breaks_a_word(
    page: Page, console: dict[str, str], page_events: PageEvents, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/admin/login")
    sign_in(page)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    for name, path in console.items():
        page.goto(path)
        page.wait_for_load_state("load")
        screenshot(page, f"layout-{width}-{name}")
        assert page.evaluate(WIDER_THAN_THE_SCREEN) == [], (name, width)
        assert page.evaluate(BROKEN_WORDS) == [], (name, width)
    assert page_events.csp_violations == []


def test_the_dashboard_health_column_is_visible_on_a_phone(
    page: Page, console: dict[str, str]
) -> None:
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/admin/login")
    sign_in(page)
    health = page.locator(".dashboard-integrations td[data-label='Health']").first
    expect(health).to_be_visible()
    box = health.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    screenshot(page, "dashboard-390-health")


def test_the_header_has_room_above_the_first_heading_and_summaries_show_a_marker(
    page: Page, console: dict[str, str]
) -> None:
    page.goto("/admin/login")
    sign_in(page)
    header = page.locator(".site-header").bounding_box()
    heading = page.get_by_role("heading", name="Dashboard", level=1).bounding_box()
    assert header is not None and heading is not None
    assert heading["y"] - (header["y"] + header["height"]) >= 16, (header, heading)

    page.goto(console["user"])
    summary = page.locator(".raw-document summary")
    expect(summary).to_be_visible()
    assert summary.evaluate("el => getComputedStyle(el).display") == "list-item"
    marker = summary.evaluate("el => getComputedStyle(el, '::marker').content")
    assert marker not in ("none", ""), marker
    screenshot(page, "raw-document-summary-marker")


def test_placeholder_store_links_are_warned_about_until_real_ones_are_set(
    page: Page, console: dict[str, str]
) -> None:
    page.goto("/admin/login")
    sign_in(page)
    page.goto(console["integration"])
    warning = page.locator("#store-link-warning")
    expect(warning).to_contain_text("placeholder store pages (App Store and Google Play)")
    screenshot(page, "store-link-warning")
    page.get_by_label("App Store URL (https)").fill("https://apps.apple.com/app/id1234567890")
    page.get_by_label("Google Play URL (https)").fill(
        "https://play.google.com/store/apps/details?id=com.acme.auth"
    )
    page.get_by_role("button", name="Save branding").click()
    expect(page.get_by_text("Saved the branding.")).to_be_visible()
    expect(page.locator("#store-link-warning")).to_have_count(0)
