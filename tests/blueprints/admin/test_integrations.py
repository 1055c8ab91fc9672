"""Integration pages: list, create, rename, the Okta setup steps, tokens, hook secret,
Okta API settings, connection test, branding and the welcome-email preview."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from typing import Any

import pytest
from flask import g
from flask.testing import FlaskClient

from models import Integration, ScimToken
from services.email.sendgrid_mailer import build_request
from tests.blueprints.admin.conftest import post_form
from tests.factories import (
    make_integration,
    make_token,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
)

HOSTILE = "<script>alert(1)</script>"
STEP_TITLES = (
    "Create the app integration",
    "Connect provisioning to this server",
    "Choose what Okta provisions",
    "Assign people",
    "Create the event hook",
    "Create the passwordless group and an API credential",
    "Let the group skip the MFA prompt",
)
HOOK_EVENT_TYPES = (
    "user.lifecycle.deactivate",
    "user.lifecycle.reactivate",
    "user.lifecycle.activate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.delete.initiated",
    "user.account.update_profile",
    "application.user_membership.add",
    "application.user_membership.remove",
)


@pytest.fixture
def browser(admin_client: FlaskClient) -> FlaskClient:
    """The signed-in admin's browser.

    The ``app`` fixture keeps one app context open for the whole test, so Flask-WTF's token
    cached in ``g`` by the sign-in page would outlive the session that sign-in cleared.
    """
    g.pop("csrf_token", None)
    return admin_client


def page_url(integration: Integration) -> str:
    return f"/admin/integrations/{integration.id}"


def act(client: FlaskClient, integration: Integration, action: str, **data: Any) -> Any:
    """Post a form of the integration page to ``<page>/<action>``."""
    url = page_url(integration)
    return post_form(client, url, f"{url}/{action}", **data)


def field_errors(page: str, field_id: str) -> list[str]:
    """The error messages shown inside the field whose input has ``field_id``."""
    block = re.search(
        rf'<div class="field[^"]*">\s*<label for="{field_id}">.*?</div>', page, re.DOTALL
    )
    assert block, f"no field {field_id}"
    return [html.unescape(e) for e in re.findall(r'<p class="error"[^>]*>(.*?)</p>', block[0])]


def reload(integration: Integration) -> Integration:
    return Integration.get_by_id(integration.id)


def new_token_on(page: str) -> str:
    """The token in the page's shown-once box."""
    match = re.search(r'<code id="new-token">([^<]+)</code>', page)
    assert match, "no new token on the page"
    return match[1]


def hook_secret_on(page: str) -> str:
    """The hook secret in the page's shown-once box."""
    match = re.search(r'<code id="hook-secret">([^<]+)</code>', page)
    assert match, "no hook secret on the page"
    return match[1]


def deliver(client: FlaskClient, integration: Integration, secret: str) -> int:
    """Send Okta an event-hook delivery with ``secret``; the HTTP status."""
    response = client.post(
        f"/hooks/okta/{integration.id}",
        json=okta_delivery(okta_event("user.lifecycle.suspend")),
        headers={"Authorization": secret},
    )
    return response.status_code


# List, create, rename -------------------------------------------------------------------------


def test_the_list_shows_org_health_live_tokens_and_the_last_scim_request(browser) -> None:
    sick = make_integration(
        name="Acme Okta",
        okta_org_url="https://acme.okta.com",
        unhealthy_reason="Okta rejected the API token",
    )
    make_token(sick)
    make_token(sick)
    revoked = ScimToken.get(ScimToken.integration == sick)
    revoked.revoked_at = revoked.created
    revoked.save()
    make_token(sick)
    fine = make_integration(name="Beta Okta")
    scim = browser.get("/scim/v2/Users", headers={"Authorization": f"Bearer {make_token(fine)}"})
    assert scim.status_code == 200

    page = browser.get("/admin/integrations").text

    acme_row = re.search(r"<tr>\s*<th scope=\"row\"><a [^>]*>Acme Okta</a>.*?</tr>", page, re.S)
    beta_row = re.search(r"<tr>\s*<th scope=\"row\"><a [^>]*>Beta Okta</a>.*?</tr>", page, re.S)
    assert acme_row and beta_row
    assert f'href="/admin/integrations/{sick.id}"' in acme_row[0]
    assert "https://acme.okta.com" in acme_row[0]
    assert "unhealthy" in acme_row[0] and "Okta rejected the API token" in acme_row[0]
    assert "2 active" in acme_row[0]
    assert "none yet" in acme_row[0]
    assert "GET /scim/v2/Users" in beta_row[0] and ">200<" in beta_row[0]
    assert "setup incomplete" in beta_row[0]


def test_creating_an_integration_opens_its_page(browser) -> None:
    response = post_form(
        browser, "/admin/integrations/new", "/admin/integrations/new", name="  Acme Okta "
    )
    integration = Integration.get(Integration.name == "Acme Okta")
    assert response.status_code == 302
    assert response.location.startswith(page_url(integration))
    page = browser.get(response.location).text
    assert "<h1>Acme Okta</h1>" in page
    assert "Created Acme Okta" in page


@pytest.mark.parametrize(
    ("name", "message"), [("   ", "This field is required."), ("Taken", "already exists")]
)
def test_an_empty_or_taken_name_is_refused_next_to_the_field(browser, name, message) -> None:
    make_integration(name="Taken")
    response = post_form(browser, "/admin/integrations/new", "/admin/integrations/new", name=name)
    assert response.status_code == 400
    assert any(message in e for e in field_errors(response.text, "name"))
    assert Integration.select().count() == 1


def test_renaming_an_integration(browser) -> None:
    integration = make_integration(name="Old name")
    make_integration(name="Other")

    response = act(browser, integration, "name", name="New name")
    assert response.status_code == 302
    assert reload(integration).name == "New name"
    assert "<h1>New name</h1>" in browser.get(response.location).text

    taken = act(browser, integration, "name", name="Other")
    assert taken.status_code == 400
    assert any("already exists" in e for e in field_errors(taken.text, "name"))
    assert reload(integration).name == "New name"


def test_an_unknown_integration_is_not_found(browser) -> None:
    integration = make_integration(name="Acme Okta")
    assert browser.get("/admin/integrations/no-such-id").status_code == 404
    # Pages are addressed by id only, never by name.
    assert browser.get("/admin/integrations/Acme Okta").status_code == 404
    assert browser.get(f"/admin/integrations/{integration.id}x/preview").status_code == 404


def test_the_pages_need_a_signed_in_admin(client, integration) -> None:
    for url in ("/admin/integrations", page_url(integration), f"{page_url(integration)}/preview"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.location.startswith("/admin/login")


def test_the_page_shows_health_and_the_last_scim_request(browser) -> None:
    since = dt.datetime(2026, 11, 28, 9, 30)
    integration = make_integration(
        unhealthy_reason="Okta rejected the API token", unhealthy_since=since
    )
    token = make_token(integration)
    browser.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})

    page = browser.get(page_url(integration)).text

    status = re.search(r'aria-labelledby="status-heading">.*?</section>', page, re.S)
    assert status
    assert "unhealthy" in status[0] and "Okta rejected the API token" in status[0]
    assert "since 2026-11-28 09:30:00 UTC" in status[0]
    assert "GET /scim/v2/Users" in status[0] and ">200<" in status[0]


# The setup steps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("public_base_url", "origin"),
    [(None, "http://localhost"), ("https://scim.example.com", "https://scim.example.com")],
)
def test_the_page_shows_the_scim_base_url_and_the_hook_url(
    app, browser, integration, public_base_url, origin
) -> None:
    app.config["PUBLIC_BASE_URL"] = public_base_url
    page = browser.get(page_url(integration)).text
    assert f'<code id="scim-base-url">{origin}/scim/v2</code>' in page
    assert f'<code id="hook-url">{origin}/hooks/okta/{integration.id}</code>' in page
    assert 'data-copy="#scim-base-url"' in page and 'data-copy="#hook-url"' in page
    # Okta refuses plain http: the page says how to fix it.
    assert ("PUBLIC_BASE_URL" in page) is (public_base_url is None)


def test_the_steps_come_in_okta_order_with_their_values(browser, integration) -> None:
    page = browser.get(page_url(integration)).text
    positions = [page.index(f"<h3>{title}</h3>") for title in STEP_TITLES]
    assert positions == sorted(positions)
    step = dict(zip(STEP_TITLES, re.split(r"<h3>", page)[1:], strict=True))
    assert "SCIM 2.0 Test App (Header Auth)" in step["Create the app integration"]
    api = step["Connect provisioning to this server"]
    for text in ("userName", "HTTP Header", "Test API Credentials", 'id="tokens"'):
        assert text in api
    for text in ("Create Users", "Update User Attributes", "Deactivate Users"):
        assert text in step["Choose what Okta provisions"]
    hook = step["Create the event hook"]
    assert '<code id="hook-auth-field">Authorization</code>' in hook
    assert "Verify" in hook and 'id="event-hook"' in hook
    for event_type in HOOK_EVENT_TYPES:
        assert f"<code>{event_type}</code>" in hook
    group = step["Create the passwordless group and an API credential"]
    assert "okta.groups.manage okta.users.read" in group
    assert "SSWS" in group and "Admin roles" in group and 'id="okta-api"' in group


# SCIM tokens ----------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_works_and_stops_working_when_revoked(
    browser, integration
) -> None:
    posted = act(browser, integration, "tokens", label="Okta production")
    # Post/redirect/get: the secret shows on the page the POST redirects to, once.
    assert posted.status_code == 302
    assert "token" not in posted.location.split("#")[0].split("/")[-1]
    assert ScimToken.select().count() == 1
    created = browser.get(posted.location)
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    assert 'class="secret-once' in created.text and "shown only this once" in created.text
    token = new_token_on(created.text)
    assert 'data-copy="#new-token"' in created.text

    scim = browser.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert scim.status_code == 200

    again = browser.get(page_url(integration)).text
    assert token not in again
    stored = ScimToken.get(ScimToken.integration == integration)
    row = re.search(rf"<code>{re.escape(stored.prefix)}…</code>.*?</tr>", again, re.S)
    assert row and "Okta production" in row[0] and "active" in row[0]
    assert token.startswith(stored.prefix)

    revoked = act(browser, integration, f"tokens/{stored.id}/revoke")
    assert revoked.status_code == 302
    after = browser.get(revoked.location).text
    assert f"Revoked the token {stored.prefix}" in after
    row = re.search(rf"<code>{re.escape(stored.prefix)}…</code>.*?</tr>", after, re.S)
    assert row and "revoked" in row[0]
    scim = browser.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert scim.status_code == 401


def test_another_integrations_token_cannot_be_revoked_from_this_page(browser) -> None:
    mine = make_integration(name="Mine")
    theirs = make_integration(name="Theirs")
    their_token = make_token(theirs)
    their_id = ScimToken.get(ScimToken.integration == theirs).id

    assert their_token[:12] not in browser.get(page_url(mine)).text
    response = act(browser, mine, f"tokens/{their_id}/revoke")
    assert response.status_code == 404
    assert ScimToken.get_by_id(their_id).revoked_at is None
    scim = browser.get("/scim/v2/Users", headers={"Authorization": f"Bearer {their_token}"})
    assert scim.status_code == 200


# Event-hook secret ----------------------------------------------------------------------------


def test_the_hook_secret_is_shown_once_and_rotation_keeps_the_old_one_for_a_while(
    browser, integration
) -> None:
    before = browser.get(page_url(integration)).text
    assert "No secret yet" in before and ">Generate secret<" in before

    posted = act(browser, integration, "hook-secret")
    assert posted.status_code == 302
    generated = browser.get(posted.location)
    assert generated.status_code == 200
    assert generated.headers["Cache-Control"] == "no-store"
    first = hook_secret_on(generated.text)
    assert "shown only this once" in generated.text
    assert deliver(browser, integration, first) == 200

    page = browser.get(page_url(integration)).text
    assert first not in page
    assert "A secret is set" in page and ">Rotate secret<" in page
    # Reloading the page shows the secret no more and makes no new one.
    assert reload(integration).hook_secret_previous_hash is None

    rotated = browser.get(act(browser, integration, "hook-secret").location)
    second = hook_secret_on(rotated.text)
    assert second != first
    until = reload(integration).hook_secret_previous_expires
    assert f"keeps working until {until:%Y-%m-%d %H:%M:%S} UTC" in rotated.text
    assert deliver(browser, integration, second) == 200
    assert deliver(browser, integration, first) == 200  # still in its grace period
    assert deliver(browser, integration, "okhs_wrong") == 401

    page = browser.get(page_url(integration)).text
    assert first not in page and second not in page
    assert "previous secret is still accepted until" in page


# Okta API settings ----------------------------------------------------------------------------


def test_okta_settings_are_saved_and_the_api_token_is_never_shown(
    browser, okta, integration
) -> None:
    group_id = okta.add_group("Passwordless users")
    response = act(
        browser,
        integration,
        "okta",
        org_url=okta.url,
        group=f"{okta.url}/admin/group/{group_id}",
        auth="ssws",
        api_token="ssws-token",
    )
    assert response.status_code == 302
    saved = reload(integration)
    assert (saved.okta_org_url, saved.group_id, saved.okta_auth) == (okta.url, group_id, "ssws")
    assert saved.okta_secret and "ssws-token" not in saved.okta_secret

    for url in (page_url(integration), "/admin/integrations", "/admin/"):
        assert "ssws-token" not in browser.get(url).text
    page = browser.get(page_url(integration)).text
    assert "<strong>Set</strong> (API token)" in page
    assert f'value="{group_id}"' in page

    # An empty credential field keeps the stored credential.
    kept = act(browser, integration, "okta", org_url=okta.url, group=group_id, auth="ssws")
    assert kept.status_code == 302
    assert reload(integration).okta_secret == saved.okta_secret


def test_a_service_app_key_is_saved_and_never_shown(browser, okta, integration) -> None:
    group_id = okta.add_group("Passwordless users")
    client_id, pem = okta.add_oauth_client()
    response = act(
        browser,
        integration,
        "okta",
        org_url=okta.url,
        group=group_id,
        auth="oauth",
        client_id=client_id,
        private_key=pem,
    )
    assert response.status_code == 302
    saved = reload(integration)
    assert (saved.okta_auth, saved.okta_client_id) == ("oauth", client_id)
    body = pem.strip().splitlines()[1]
    assert body not in saved.okta_secret
    page = browser.get(page_url(integration)).text
    assert body not in page
    assert "<strong>Set</strong> (API Services app)" in page
    assert f'value="{client_id}"' in page

    tested = act(browser, integration, "okta/test")
    assert "Connection test passed" in browser.get(tested.location).text


def test_a_service_app_that_requires_dpop_passes_the_connection_test(
    browser, okta, integration
) -> None:
    group_id = okta.add_group("Passwordless users")
    client_id, pem = okta.add_oauth_client()
    okta.dpop_clients.add(client_id)  # Okta's default for new API Services apps
    page = browser.get(page_url(integration)).text
    assert "Leave <strong>Require Demonstrating Proof of Possession" in page
    assert "turn off <strong>Require Demonstrating" not in page

    act(
        browser,
        integration,
        "okta",
        org_url=okta.url,
        group=group_id,
        auth="oauth",
        client_id=client_id,
        private_key=pem,
    )
    tested = act(browser, integration, "okta/test")

    assert "Connection test passed" in browser.get(tested.location).text
    assert okta.access_tokens and all(t.jkt for t in okta.access_tokens.values())


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"org_url": "http://acme.okta.com"}, "org_url", "must start with https://"),
        ({"org_url": "https://evil.example.com"}, "org_url", "is not an Okta domain"),
        ({"group": "Passwordless users"}, "group", "That is not an Okta group"),
        ({"app_id": "00ga12bf34X5KZ67d0e8"}, "app_id", "not an app's"),
        ({"app_id": "Passwordless app"}, "app_id", "That is not an Okta app"),
        ({"auth": "oauth", "client_id": "0oa1"}, "private_key", "Paste the service app"),
        ({"auth": "oauth", "private_key": "not a key"}, "client_id", "client ID"),
    ],
)
def test_bad_okta_settings_are_refused_next_to_the_field(
    browser, integration, data, field, message
) -> None:
    response = act(browser, integration, "okta", **{"auth": "ssws", **data})
    assert response.status_code == 400
    assert any(message in e for e in field_errors(response.text, field)), response.text
    saved = reload(integration)
    assert (saved.okta_org_url, saved.group_id, saved.okta_secret) == (None, None, None)


APP_ID = "0oa1b2c3d4E5F6g7h8i9"


def test_the_okta_app_is_optional_and_its_absence_is_warned_about(browser, integration) -> None:
    page = browser.get(page_url(integration)).text
    assert 'id="app-id-warning"' in page
    assert "Deactivate Users" in page

    url = f"https://acme-admin.okta.com/admin/app/acme_scim/instance/{APP_ID}/#tab-assignments"
    response = act(browser, integration, "okta", auth="ssws", app_id=url)
    assert response.status_code == 302
    assert reload(integration).okta_app_id == APP_ID
    page = browser.get(page_url(integration)).text
    assert f'value="{APP_ID}"' in page
    assert 'id="app-id-warning"' not in page

    # Clearing the field clears the setting, and the warning comes back.
    assert act(browser, integration, "okta", auth="ssws", app_id="").status_code == 302
    assert reload(integration).okta_app_id is None
    assert 'id="app-id-warning"' in browser.get(page_url(integration)).text


def test_the_cli_sets_and_clears_the_okta_app(runner, integration) -> None:
    args = ["integrations", "configure-okta", "--integration", integration.name]
    result = runner.invoke(args=[*args, "--app-id", APP_ID])
    assert result.exit_code == 0, result.output
    assert reload(integration).okta_app_id == APP_ID

    refused = runner.invoke(args=[*args, "--app-id", "00u1b2c3d4E5F6g7h8i9"])
    assert refused.exit_code != 0
    assert "Error: Okta app: 00u1b2c3d4E5F6g7h8i9 is an Okta ID, but not an app's" in refused.output
    assert reload(integration).okta_app_id == APP_ID

    assert runner.invoke(args=[*args, "--app-id", ""]).exit_code == 0
    assert reload(integration).okta_app_id is None


def test_a_rejected_credential_is_not_echoed_back(browser, integration) -> None:
    response = act(
        browser,
        integration,
        "okta",
        org_url="ftp://acme.okta.com",
        auth="oauth",
        client_id="0oa1",
        private_key="-----BEGIN PRIVATE KEY-----SECRETKEYMATERIAL",
        api_token="SECRETTOKEN",
    )
    assert response.status_code == 400
    assert "SECRETKEYMATERIAL" not in response.text and "SECRETTOKEN" not in response.text


def test_test_connection_reports_success_and_the_reason_of_a_failure(
    browser, okta, integration
) -> None:
    not_configured = act(browser, integration, "okta/test")
    assert "Connection test failed: not configured" in browser.get(not_configured.location).text

    group_id = okta.add_group("Passwordless users")
    act(
        browser,
        integration,
        "okta",
        org_url=okta.url,
        group=group_id,
        auth="ssws",
        api_token="ssws-token",
    )
    passed = act(browser, integration, "okta/test")
    assert passed.status_code == 302
    page = browser.get(passed.location).text
    assert "Connection test passed" in page and "OKTA_GROUP" in page

    app_group = okta.add_group("Imported from AD", type="APP_GROUP")
    act(browser, integration, "okta", org_url=okta.url, group=app_group, auth="ssws")
    failed = browser.get(act(browser, integration, "okta/test").location).text
    assert "Connection test failed" in failed and "APP_GROUP" in failed

    act(
        browser,
        integration,
        "okta",
        org_url=okta.url,
        group=group_id,
        auth="ssws",
        api_token="revoked-token",
    )
    failed = browser.get(act(browser, integration, "okta/test").location).text
    assert "Connection test failed" in failed and "Okta rejected the API token" in failed


# Branding and preview -------------------------------------------------------------------------


def test_branding_is_saved_and_the_preview_shows_it_in_each_language(browser, integration) -> None:
    response = act(
        browser,
        integration,
        "branding",
        product_name="Acme Authenticator",
        brand_color="#15D",
        intro="Welcome aboard.",
        support_email="help@acme.example",
    )
    assert response.status_code == 302
    assert reload(integration).branding == {
        "product_name": "Acme Authenticator",
        "brand_color": "#1155dd",
        "intro": "Welcome aboard.",
        "support_email": "help@acme.example",
    }
    page = browser.get(page_url(integration)).text
    assert 'value="Acme Authenticator"' in page and 'value="#1155dd"' in page
    assert re.search(
        r'<iframe[^>]* sandbox="allow-same-origin"[^>]* src="[^"]*/preview\?lang=en"', page
    )
    text_part = re.search(r'<pre class="integration-preview-text"[^>]*>(.*?)</pre>', page, re.S)
    assert text_part and "Acme Authenticator" in text_part[1]

    for language, greeting in (("en", "Hello Alex"), ("de", "Hallo Alex"), ("fr", "Bonjour Alex")):
        preview = browser.get(f"{page_url(integration)}/preview?lang={language}")
        assert preview.status_code == 200
        assert greeting in preview.text
        assert "Acme Authenticator" in preview.text and "#1155dd" in preview.text
        csp = preview.headers["Content-Security-Policy"]
        assert "sandbox" in csp and "script-src" not in csp and "default-src 'none'" in csp
        assert "frame-ancestors 'self'" in csp
        page = browser.get(f"{page_url(integration)}?lang={language}").text
        assert f"/preview?lang={language}" in page
        assert greeting in page  # the text part, in that language


def _template_data_sent(client, scim_headers, worker, mailer) -> set[str]:
    """The dynamic_template_data fields of a welcome email really sent."""
    response = client.post(
        "/scim/v2/Users", json=okta_create_user_payload("ada@example.com"), headers=scim_headers
    )
    assert response.status_code == 201
    worker.run_until_idle()
    (email,) = mailer.sent
    assert email.template_id == TEMPLATE_ID
    return set(build_request(email)["personalizations"][0]["dynamic_template_data"])


TEMPLATE_ID = "d-" + "0123456789abcdef" * 2


def test_the_branding_form_lists_exactly_the_dynamic_template_fields_sent(
    browser, client, integration, scim_headers, worker, mailer
) -> None:
    act(browser, integration, "branding", sendgrid_template_id=TEMPLATE_ID)
    page = browser.get(page_url(integration)).text
    help_block = re.search(r'<details class="template-data".*?</details>', page, re.S)
    assert help_block
    listed = re.findall(r"<dt><code>(\w+)</code></dt>", help_block[0])
    assert len(listed) == len(set(listed))
    assert set(listed) == _template_data_sent(client, scim_headers, worker, mailer)


def test_the_readme_documents_exactly_the_dynamic_template_fields_sent(
    browser, client, integration, scim_headers, worker, mailer
) -> None:
    act(browser, integration, "branding", sendgrid_template_id=TEMPLATE_ID)
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme.split("## Welcome email and enrollment", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\s*\| `(\w+)` \|", section, re.M)
    assert len(documented) == len(set(documented))
    assert set(documented) == _template_data_sent(client, scim_headers, worker, mailer)


def test_invalid_branding_is_refused_with_the_field_named(browser, integration) -> None:
    act(browser, integration, "branding", product_name="Acme Authenticator")
    response = act(
        browser,
        integration,
        "branding",
        product_name="Changed",
        logo_url="http://acme.example/logo.png",
        brand_color="blue",
        deep_link_scheme="https",
    )
    assert response.status_code == 400
    summary = re.search(
        r'class="panel alert integration-error-summary".*?</div>', response.text, re.S
    )
    assert summary
    for label in ("Logo URL (https)", "Brand colour", "App deep-link scheme"):
        assert label in summary[0]
    assert field_errors(response.text, "logo_url") == ["must be an https:// URL"]
    assert "colour like #1d4ed8" in field_errors(response.text, "brand_color")[0]
    assert field_errors(response.text, "product_name") == []
    assert reload(integration).branding == {"product_name": "Acme Authenticator"}


# Safety ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("name", {"name": "Renamed"}),
        ("tokens", {"label": "x"}),
        ("tokens/{token_id}/revoke", {}),
        ("hook-secret", {}),
        ("okta", {"org_url": "https://acme.okta.com", "auth": "ssws", "api_token": "t"}),
        ("okta/test", {}),
        ("branding", {"product_name": "Changed"}),
    ],
)
def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(
    browser, integration, action, data
) -> None:
    make_token(integration)
    token_id = ScimToken.get(ScimToken.integration == integration).id
    before = reload(integration)

    response = browser.post(
        f"{page_url(integration)}/{action.format(token_id=token_id)}", data=data
    )

    assert response.status_code == 400
    after = reload(integration)
    assert after.__data__ == before.__data__
    assert ScimToken.select().count() == 1
    assert ScimToken.get_by_id(token_id).revoked_at is None


def test_hostile_names_and_branding_are_shown_escaped(browser) -> None:
    integration = make_integration(name=HOSTILE, unhealthy_reason=HOSTILE)
    act(browser, integration, "branding", product_name=HOSTILE, company_name=HOSTILE)
    assert reload(integration).branding["product_name"] == HOSTILE

    pages = [
        browser.get("/admin/integrations").text,
        browser.get(page_url(integration)).text,
        browser.get(f"{page_url(integration)}/preview").text,
    ]
    for page in pages:
        assert HOSTILE not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
