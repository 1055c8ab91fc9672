"""The admin console in a real browser: first-run setup, Okta connection, users, safety nets.

The app runs under gunicorn (``live_server``); Okta's SCIM requests and event-hook deliveries
are sent from the test over HTTP, as Okta would send them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask
from playwright.sync_api import Page, expect

from services.admin.admins import create_admin
from tests.browser.conftest import LiveServer, PageEvents, screenshot
from tests.conftest import OKTA_HEADERS
from tests.factories import (
    make_integration,
    make_token,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
)

ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "correct horse battery staple"
SCRIPT_NAME = "<script>alert(1)</script>"
ADA = okta_create_user_payload(
    "ada.lovelace@okta.example",
    name={"givenName": "Ada", "familyName": "Lovelace"},
    emails=[{"primary": True, "value": "ada@analytical.example", "type": "work"}],
    displayName="Ada Lovelace",
    externalId="00uada00000000000001",
)
GRACE = okta_create_user_payload(
    "grace.hopper@okta.example",
    name={"givenName": "Grace", "familyName": "Hopper"},
    emails=[{"primary": True, "value": "grace@cobol.example", "type": "work"}],
    displayName="Grace Hopper",
    externalId="00ugrace000000000002",
)
MALLORY = okta_create_user_payload(
    "mallory@okta.example",
    name={"givenName": "Mallory", "familyName": "Script"},
    emails=[{"primary": True, "value": "mallory@evil.example", "type": "work"}],
    displayName=SCRIPT_NAME,
    externalId="00umallory0000000003",
)


def provision(server: LiveServer, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST a user to /scim/v2/Users as Okta does; returns the created SCIM resource."""
    response = requests.post(
        f"{server.url}/scim/v2/Users",
        json=payload,
        headers={**OKTA_HEADERS, "Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def deliver_hook(server: LiveServer, integration_id: str, secret: str) -> requests.Response:
    """POST an Okta event-hook delivery with ``secret`` in the Authorization header."""
    delivery = okta_delivery(
        okta_event("user.account.update_profile", okta_id=GRACE["externalId"], login="grace")
    )
    return requests.post(
        f"{server.url}/hooks/okta/{integration_id}",
        json=delivery,
        headers={"Accept": "application/json", "Authorization": secret},
        timeout=10,
    )


def sign_in(page: Page, password: str = ADMIN_PASSWORD) -> None:
    """Fill in and send the sign-in form."""
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def attributes(page: Page) -> dict[str, str]:
    """The user page's readable attribute table, as {attribute: value}."""
    rows = page.locator(".attributes-table tbody tr")
    return {
        row.locator("th").inner_text().strip(): row.locator("td").inner_text().strip()
        for row in rows.all()
    }


def timeline(page: Page) -> list[tuple[str, str]]:
    """The user page's timeline rows, newest first, as (what, outcome)."""
    rows = page.locator(".timeline-table tbody tr")
    return [
        (
            row.locator('[data-label="What"]').inner_text().strip(),
            row.locator('[data-label="Outcome"]').inner_text().strip(),
        )
        for row in rows.all()
    ]


def actors(page: Page) -> list[tuple[str, str]]:
    """The user page's timeline rows, newest first, as (what, actor)."""
    rows = page.locator(".timeline-table tbody tr")
    return [
        (
            row.locator('[data-label="What"]').inner_text().strip(),
            row.locator('[data-label="Actor"]').inner_text().strip(),
        )
        for row in rows.all()
    ]


def invitations(page: Page) -> list[tuple[str, str]]:
    """The welcome-email rows of the user's timeline."""
    return [(what, outcome) for what, outcome in timeline(page) if what.startswith("invitation #")]


def reload_until(
    page: Page, read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 15.0
) -> Any:
    """Reload the page until what ``read()`` sees is ``done``: background work shows on the
    next load. Returns the last reading."""
    deadline = time.monotonic() + timeout
    seen = read()
    while not done(seen):
        assert time.monotonic() < deadline, f"the page still shows {seen!r}"
        time.sleep(0.2)
        page.reload()
        seen = read()
    return seen


def search_users(page: Page, text: str) -> None:
    """Search the Users page."""
    page.get_by_role("searchbox", name="Search").fill(text)
    page.get_by_role("button", name="Search").click()


def document_scroll_width(page: Page) -> int:
    """How wide the document is, in CSS pixels (wider than the viewport means it scrolls)."""
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def wider_than_the_screen(page: Page) -> list[str]:
    """The outermost elements that reach past the right edge of the viewport."""
    found: list[str] = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const wide = [...document.body.querySelectorAll('*')]
                .filter(el => el.getBoundingClientRect().right > width + 1);
            return wide
                .filter(el => !wide.includes(el.parentElement))
                .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
        }"""
    )
    return found


@pytest.fixture
def admin(app: Flask) -> Any:
    """An admin account, made directly in the database the server uses."""
    return create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def signed_in_page(page: Page, admin: Any) -> Page:
    """A browser tab signed in to the console through the sign-in page."""
    page.goto("/admin/login")
    sign_in(page)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    return page


@pytest.fixture
def integration(app: Flask) -> Any:
    """The "Acme Okta" integration."""
    return make_integration(name="Acme Okta")


@pytest.fixture
def users(live_server: LiveServer, integration: Any) -> dict[str, dict[str, Any]]:
    """Ada, Grace and Mallory (whose display name is a script), provisioned over SCIM."""
    token = make_token(integration)
    return {body["userName"]: provision(live_server, token, body) for body in (ADA, GRACE, MALLORY)}


def test_an_admin_sets_up_the_console_connects_okta_and_looks_after_users(
    page: Page, live_server: LiveServer, page_events: PageEvents
) -> None:
    base = live_server.url

    # First run: the link the server printed creates the first admin, who is then signed in.
    page.goto(live_server.setup_link())
    expect(page.get_by_role("heading", name="Create the first admin account")).to_be_visible()
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password (at least 12 characters)").fill(ADMIN_PASSWORD)
    page.get_by_label("Repeat the password").fill(ADMIN_PASSWORD)
    screenshot(page, "scenario-01-first-run-setup")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{base}/admin/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("Your admin account is ready.")).to_be_visible()
    expect(page.get_by_role("navigation", name="Admin")).to_contain_text(ADMIN_EMAIL)
    screenshot(page, "scenario-02-dashboard-after-setup")

    # Sign out; a wrong password is refused on the sign-in page; the right one signs in.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/admin/login")
    sign_in(page, password="not the password at all")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page).to_have_url(f"{base}/admin/login")
    screenshot(page, "scenario-03-sign-in-wrong-password")
    sign_in(page)
    expect(page).to_have_url(f"{base}/admin/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # An integration for the Okta org, then a SCIM token for it, shown this once.
    page.get_by_role("link", name="Integrations", exact=True).click()
    expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    screenshot(page, "scenario-04-integrations-empty")
    page.get_by_role("link", name="New integration").click()
    page.get_by_label("Name").fill("Acme Okta")
    screenshot(page, "scenario-05-new-integration")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="Acme Okta", level=1)).to_be_visible()
    expect(page.get_by_text("Created Acme Okta.")).to_be_visible()
    match = re.fullmatch(rf"{re.escape(base)}/admin/integrations/([^/#?]+)(#main)?", page.url)
    assert match, page.url
    integration_id = match.group(1)
    integration_url = f"{base}/admin/integrations/{integration_id}"
    screenshot(page, "scenario-06-integration-created")

    page.get_by_label("Label", exact=True).fill("Okta production")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Your new SCIM token.")).to_be_visible()
    token = page.locator("#new-token").inner_text().strip()
    assert len(token) > 20
    screenshot(page, "scenario-07-scim-token-shown-once")
    # Open the page again (a reload would re-send the form and issue another token).
    page.goto(integration_url)
    expect(page.get_by_role("cell", name="Okta production")).to_be_visible()
    assert token not in page.content()
    expect(page.get_by_text(f"{token[:12]}…")).to_be_visible()
    screenshot(page, "scenario-08-integration-token-listed")

    # Okta provisions users with that token; the admin finds them.
    created = {body["userName"]: provision(live_server, token, body) for body in (ADA, GRACE)}
    provision(live_server, token, MALLORY)
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("3 users")
    screenshot(page, "scenario-09-users")
    search_users(page, "ada.lovelace")
    expect(page.get_by_role("status")).to_contain_text("1 user matches")
    expect(page.get_by_role("link", name="ada.lovelace@okta.example")).to_be_visible()
    screenshot(page, "scenario-10-users-search-by-user-name")
    search_users(page, "cobol.example")
    expect(page.get_by_role("status")).to_contain_text("1 user matches")
    expect(page.get_by_role("cell", name="grace@cobol.example")).to_be_visible()
    screenshot(page, "scenario-11-users-search-by-email")

    # Grace's page: what Okta synced, and what happened to her.
    page.get_by_role("link", name="grace.hopper@okta.example").click()
    grace_url = f"{base}/admin/users/{created['grace.hopper@okta.example']['id']}"
    expect(page).to_have_url(grace_url)
    expect(page.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    synced = {
        "userName": "grace.hopper@okta.example",
        "name.givenName": "Grace",
        "name.familyName": "Hopper",
        "emails[0].value (work, primary)": "grace@cobol.example",
        "externalId": "00ugrace000000000002",
    }
    shown = attributes(page)
    assert {label: shown.get(label) for label in synced} == synced
    welcome = reload_until(
        page,
        lambda: invitations(page),
        lambda rows: [outcome for _, outcome in rows] == ["printed (not delivered)"],
    )
    assert re.fullmatch(r"invitation #\d+ \(created\)", welcome[0][0])
    # The actor is the token, by its label; the outcome column holds the outcome.
    assert ("user.create", "SCIM token “Okta production”") in actors(page)
    assert ("user.create", "recorded") in timeline(page)
    screenshot(page, "scenario-12-user-page")

    # Resending the welcome email: a message, and a second invitation on the timeline.
    page.get_by_role("button", name="Resend welcome email").click()
    expect(page).to_have_url(grace_url)
    expect(page.get_by_role("status")).to_have_text(
        "A new welcome email is on its way; the previous link no longer works."
    )
    welcomes = reload_until(page, lambda: invitations(page), lambda rows: len(rows) == 2)
    assert [re.sub(r"#\d+", "#n", what) for what, _ in welcomes] == [
        "invitation #n (resend)",
        "invitation #n (created)",
    ]
    screenshot(page, "scenario-13-user-page-after-resend")

    # The event-hook secret: generated, rotated, shown once, and accepted from Okta.
    page.goto(integration_url)
    page.get_by_role("button", name="Generate secret").click()
    first_secret = page.locator("#hook-secret").inner_text().strip()
    page.goto(integration_url)
    assert first_secret not in page.content()
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_text("Your new event hook secret.")).to_be_visible()
    secret = page.locator("#hook-secret").inner_text().strip()
    assert secret and secret != first_secret
    screenshot(page, "scenario-14-hook-secret-rotated")
    page.goto(integration_url)
    assert secret not in page.content()
    expect(page.get_by_text("The previous secret is still accepted until")).to_be_visible()
    assert deliver_hook(live_server, integration_id, secret).status_code == 200
    # The previous secret works for a grace period, while Okta is being updated.
    assert deliver_hook(live_server, integration_id, first_secret).status_code == 200
    assert deliver_hook(live_server, integration_id, "okhs_not-the-secret").status_code == 401
    page.get_by_role("link", name="Event hooks", exact=True).click()
    expect(page.get_by_text("accepted")).to_have_count(2)
    expect(page.get_by_text("refused")).to_have_count(1)
    screenshot(page, "scenario-15-event-hook-deliveries")

    assert page_events.csp_violations == []
    assert page_events.dialogs == []


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(
    signed_in_page: Page, integration: Any
) -> None:
    page = signed_in_page
    integration_url = f"/admin/integrations/{integration.id}"
    page.goto(integration_url)
    rename = page.locator("form", has=page.get_by_role("button", name="Rename"))
    rename.get_by_label("Name", exact=True).fill("Renamed by another site")
    # The test's own script (not the page's) drops the form's CSRF token.
    removed = rename.evaluate(
        "form => { const input = form.querySelector('input[name=csrf_token]');"
        " input.remove(); return !form.querySelector('input[name=csrf_token]'); }"
    )
    assert removed
    with page.expect_navigation() as navigation:
        rename.get_by_role("button", name="Rename").click()
    response = navigation.value
    assert response is not None
    assert response.status == 400
    expect(page.get_by_role("heading", name="400")).to_be_visible()
    expect(page.get_by_text("The CSRF token is missing.")).to_be_visible()
    screenshot(page, "csrf-refused")
    page.goto(integration_url)
    expect(page.get_by_role("heading", name="Acme Okta", level=1)).to_be_visible()
    assert "Renamed by another site" not in page.content()


def test_a_script_in_a_display_name_is_shown_as_text_and_never_runs(
    signed_in_page: Page,
    users: dict[str, dict[str, Any]],
    page_events: PageEvents,
) -> None:
    page = signed_in_page
    no_script_runs = (
        "[...document.querySelectorAll('script')].every(s => !s.textContent.includes('alert(1)'))"
    )
    page.goto("/admin/users")
    expect(page.get_by_text(SCRIPT_NAME, exact=True)).to_be_visible()
    assert page.evaluate(no_script_runs)
    screenshot(page, "script-name-in-users-list")

    page.goto(f"/admin/users/{users['mallory@okta.example']['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(SCRIPT_NAME)
    expect(page.get_by_text(SCRIPT_NAME, exact=True)).to_be_visible()
    assert page.evaluate(no_script_runs)
    screenshot(page, "script-name-on-user-page")
    assert page_events.dialogs == []
    assert page_events.csp_violations == []


@pytest.mark.parametrize(
    ("name", "heading"), [("dashboard", "Dashboard"), ("user-page", "Ada Lovelace")]
)
def test_the_dashboard_and_a_user_page_fit_a_320_pixel_wide_screen(
    signed_in_page: Page,
    users: dict[str, dict[str, Any]],
    name: str,
    heading: str,
) -> None:
    page = signed_in_page
    paths = {
        "dashboard": "/admin/",
        "user-page": f"/admin/users/{users['ada.lovelace@okta.example']['id']}",
    }
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(paths[name])
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    screenshot(page, f"narrow-{name}")
    assert document_scroll_width(page) <= 320 + 1, wider_than_the_screen(page)


def test_no_admin_page_breaks_the_content_security_policy(
    signed_in_page: Page,
    integration: Any,
    users: dict[str, dict[str, Any]],
    page_events: PageEvents,
) -> None:
    page = signed_in_page
    pages = {
        "dashboard": "/admin/",
        "integrations": "/admin/integrations",
        "integration": f"/admin/integrations/{integration.id}",
        "new-integration": "/admin/integrations/new",
        "users": "/admin/users",
        "user": f"/admin/users/{users['ada.lovelace@okta.example']['id']}",
        "event-hooks": "/admin/hooks",
        "audit-log": "/admin/audit",
        "work-queue": "/admin/work",
    }
    for name, path in pages.items():
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        page.wait_for_load_state("load")
        screenshot(page, f"page-{name}")
    assert page_events.csp_violations == []
