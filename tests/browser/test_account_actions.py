"""Account actions in Chromium: your password, the admins list, deleting an integration; and
branding: the live preview sized to the email, and the landing page in the brand's colours."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from models import User
from services.admin.admins import create_admin
from services.email.branding import load_branding
from services.email.invitations import issue_invitation
from services.platform.settings import encryptor
from tests.browser.conftest import SCREENSHOTS, VIEWPORT, LiveServer, PageEvents, screenshot
from tests.browser.test_admin_console import ADMIN_EMAIL, ADMIN_PASSWORD, provision, sign_in
from tests.factories import make_integration, make_token, okta_create_user_payload

NEW_PASSWORD = "an even longer passphrase"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def acme(app: Flask, live_server: LiveServer) -> Any:
    """An admin, and an integration with two users Okta provisioned."""
    create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    integration = make_integration(name="Acme Okta")
    token = make_token(integration, label="Okta production")
    for n in range(2):
        provision(
            live_server,
            token,
            okta_create_user_payload(f"user{n}@okta.example", externalId=f"00u{n:017d}"),
        )
    integration.token = token
    return integration


def test_changing_your_password_signs_out_your_other_browser(
    page: Page, browser: Browser, live_server: LiveServer, acme: Any, page_events: PageEvents
) -> None:
    other = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    laptop = other.new_page()
    try:
        laptop.goto("/admin/login")
        sign_in(laptop)
        expect(laptop.get_by_role("heading", name="Dashboard")).to_be_visible()

        page.goto("/admin/login")
        sign_in(page)
        page.get_by_role("link", name=ADMIN_EMAIL).click()
        page.get_by_label("Current password").fill(ADMIN_PASSWORD)
        page.get_by_label("New password (at least 12 characters)").fill(NEW_PASSWORD)
        page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_text("Every other session of yours has ended.")).to_be_visible()
        screenshot(page, "account-password-changed")

        laptop.reload()
        expect(laptop.get_by_role("button", name="Sign in")).to_be_visible()
        screenshot(laptop, "account-other-browser-signed-out")
        page.goto("/admin/")
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    finally:
        other.close()
    assert page_events.csp_violations == []


def test_admins_are_listed_added_and_removed_but_never_the_last(page: Page, acme: Any) -> None:
    page.goto("/admin/login")
    sign_in(page)
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Admins").click()
    expect(page.get_by_text("the last admin cannot be removed")).to_be_visible()
    page.get_by_label("Email").fill("second@example.com")
    page.get_by_label("Password (at least 12 characters)").fill("second admin password")
    page.get_by_role("button", name="Add admin").click()
    expect(page.get_by_text("Added second@example.com")).to_be_visible()
    row = page.locator("tr", has_text="second@example.com")
    expect(row.locator('[data-label="Last sign-in"]')).to_have_text("never")
    mine = page.locator("tr", has_text=f"{ADMIN_EMAIL} (you)")
    expect(mine.locator('[data-label="Last sign-in"]')).to_contain_text("UTC")
    screenshot(page, "admins-list")
    row.get_by_role("button", name="Remove second@example.com").click()
    expect(
        page.get_by_text("Removed second@example.com; their sessions have ended.")
    ).to_be_visible()
    expect(page.locator("tr", has_text="second@example.com")).to_have_count(0)


def test_deleting_an_integration_names_what_goes_then_erases_it(
    page: Page, live_server: LiveServer, acme: Any, page_events: PageEvents
) -> None:
    page.goto("/admin/login")
    sign_in(page)
    page.goto(f"/admin/integrations/{acme.id}")
    page.get_by_role("link", name="Delete Acme Okta…").click()
    summary = page.locator("#deletion-summary")
    expect(summary).to_contain_text("2 users")
    expect(summary).to_contain_text("2 invitations")
    expect(page.get_by_text("1 SCIM token and the event-hook secret stop working")).to_be_visible()
    screenshot(page, "integration-delete-confirmation")
    page.get_by_label("Type the integration's name to confirm").fill("Acme")
    page.get_by_role("button", name="Delete Acme Okta and its data").click()
    expect(page.get_by_text("That is not this integration's name.")).to_be_visible()
    page.get_by_label("Type the integration's name to confirm").fill("Acme Okta")
    page.get_by_role("button", name="Delete Acme Okta and its data").click()
    # The progress page shows until other processes' token caches have expired (5 s), then
    # refreshes itself onto the list.
    expect(page.locator("#deletion-progress")).to_contain_text("2 of 2 users erased")
    screenshot(page, "integration-deletion-progress")
    expect(page.get_by_text("The integration and all its data are erased.")).to_be_visible(
        timeout=20_000
    )
    expect(page.get_by_role("link", name="Acme Okta")).to_have_count(0)
    screenshot(page, "integration-deleted")
    with pytest.raises(AssertionError):
        provision(live_server, acme.token, okta_create_user_payload("late@okta.example"))
    assert page_events.csp_violations == []


def test_the_branding_preview_follows_typing_and_shows_the_whole_email(
    page: Page, acme: Any, page_events: PageEvents
) -> None:
    page.goto("/admin/login")
    sign_in(page)
    page.goto(f"/admin/integrations/{acme.id}#branding")
    frame = page.frame_locator("#preview-frame")
    page.get_by_label("Product name").fill("Typed Authenticator")
    expect(frame.get_by_text("Set up Typed Authenticator").first).to_be_visible()
    expect(page.locator("#preview-mode")).to_contain_text("shows what you typed, not yet saved")
    # The frame is as tall as the email: its last line (the footer) is inside the frame.
    iframe = page.locator("#preview-frame")
    page.wait_for_function(
        "() => { const f = document.getElementById('preview-frame');"
        " const d = f.contentDocument; return d && d.readyState === 'complete' &&"
        " Math.abs(f.getBoundingClientRect().height - d.documentElement.scrollHeight) < 8; }"
    )
    footer = frame.locator("p").last
    frame_box, footer_box = iframe.bounding_box(), footer.bounding_box()
    assert frame_box is not None and footer_box is not None
    assert footer_box["y"] + footer_box["height"] <= frame_box["y"] + frame_box["height"]
    # ... and no taller than it: no empty space under the email.
    assert frame_box["y"] + frame_box["height"] - (footer_box["y"] + footer_box["height"]) < 80
    iframe.scroll_into_view_if_needed()
    screenshot(page, "branding-live-preview")
    page.locator("#preview").screenshot(path=str(SCREENSHOTS / "branding-preview-frame.png"))

    page.get_by_role("button", name="Save branding").click()
    expect(page).to_have_url(f"/admin/integrations/{acme.id}#branding")
    expect(page.get_by_role("heading", name="Branding")).to_be_in_viewport()
    assert page_events.csp_violations == []


def test_the_landing_page_shows_the_brand_colour_and_logo(
    app: Flask, browser: Browser, live_server: LiveServer, acme: Any
) -> None:
    logo = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
        '<rect width="120" height="40" fill="#0a7d33"/></svg>'
    )
    acme.branding = load_branding({"brand_color": "#0a7d33"})
    acme.branding["logo_url"] = "https://logo.invalid/acme.png"
    acme.save()
    # A link of our own: the live server's worker may already have emailed (and forgotten)
    # the ones made at provisioning.
    invitation = issue_invitation(User.select().order_by(User.id).first(), "resend")
    token = encryptor().decrypt(invitation.token_encrypted)
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=live_server.url, user_agent=IPHONE
    )
    try:
        # The logo's host does not exist: the browser gets a picture in its place.
        phone.route(
            "https://logo.invalid/**",
            lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=logo),
        )
        landing = phone.new_page()
        landing.goto(f"/enroll/{token}")
        button = landing.locator(".button-primary")
        expect(button).to_be_visible()
        colour = button.evaluate("b => getComputedStyle(b).backgroundColor")
        assert colour == "rgb(10, 125, 51)"
        image = landing.locator("img.brand-logo")
        expect(image).to_have_attribute("src", "https://logo.invalid/acme.png")
        landing.wait_for_function(
            "() => document.querySelector('img.brand-logo').naturalWidth === 120"
        )
        screenshot(landing, "landing-page-branded-iphone")
    finally:
        phone.close()
