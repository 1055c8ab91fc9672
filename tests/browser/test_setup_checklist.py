"""The setup checklist in Chromium: at the top of the integration page, finished steps folded,
each step a link to its section, and the same progress on the dashboard and the list."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from services.admin.admins import create_admin
from tests.browser.conftest import LiveServer, PageEvents, screenshot
from tests.browser.test_admin_console import ADMIN_PASSWORD, provision, sign_in
from tests.factories import make_integration, make_token, okta_create_user_payload

ADMIN_EMAIL = "ops@example.com"


@pytest.fixture
def connected(app: Flask, live_server: LiveServer) -> Any:
    """An admin, and an integration with a token that Okta has used once."""
    create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    integration = make_integration(name="Acme Okta")
    token = make_token(integration, label="Okta production")
    provision(live_server, token, okta_create_user_payload("ada@okta.example", externalId="00u1"))
    return integration


def test_the_checklist_leads_the_admin_through_the_open_steps(
    page: Page, connected: Any, page_events: PageEvents
) -> None:
    page.goto("/admin/login")
    sign_in(page)
    progress = page.get_by_role("link", name="2 of 9 setup steps done")
    expect(progress).to_be_visible()
    screenshot(page, "checklist-dashboard-progress")
    page.goto("/admin/integrations")
    expect(page.get_by_role("link", name="2 of 9 setup steps done")).to_be_visible()
    page.get_by_role("link", name="2 of 9 setup steps done").click()

    checklist = page.get_by_role("region", name="Setup checklist: 2 of 9 done")
    expect(checklist).to_be_visible()
    # It is the first thing under the page's heading, above the 8,000-pixel instructions.
    box = checklist.bounding_box()
    steps = page.get_by_role("heading", name="Connect Okta, step by step").bounding_box()
    assert box is not None and steps is not None and box["y"] < steps["y"]
    open_step = checklist.locator('[data-step="hook_verified"]')
    expect(open_step).to_be_visible()
    expect(open_step.locator(".badge")).to_have_text("waiting")
    # The finished steps are folded away until asked for, with their time.
    finished = checklist.locator('[data-step="token"]')
    expect(finished).to_be_hidden()
    checklist.get_by_text("2 finished steps").click()
    expect(finished).to_be_visible()
    expect(finished).to_contain_text("UTC")
    screenshot(page, "checklist-top-of-integration-page")

    checklist.get_by_role("link", name="Event hook verified").click()
    expect(page).to_have_url(f"/admin/integrations/{connected.id}#event-hook")
    expect(page.get_by_role("heading", name="Event hook secret")).to_be_in_viewport()
    screenshot(page, "checklist-link-to-section")
    assert page_events.csp_violations == []


def test_reloading_the_page_that_shows_a_new_token_makes_no_second_token(
    page: Page, connected: Any
) -> None:
    page.goto("/admin/login")
    sign_in(page)
    page.goto(f"/admin/integrations/{connected.id}")
    page.get_by_label("Label", exact=True).fill("Okta staging")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Your new SCIM token.")).to_be_visible()
    token = page.locator("#new-token").inner_text().strip()
    expect(page).to_have_url(f"/admin/integrations/{connected.id}#tokens")
    screenshot(page, "token-shown-once-after-redirect")
    page.reload()
    expect(page.get_by_text("Your new SCIM token.")).to_have_count(0)
    assert token not in page.content()
    expect(page.get_by_role("cell", name="Okta staging")).to_have_count(1)
    screenshot(page, "token-page-reloaded")
