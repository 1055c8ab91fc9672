"""Branding: back to its section after saving, a live preview, intros per language, and the
landing page in the brand's colour with its logo."""

from __future__ import annotations

import re
from typing import Any

from flask import g

from models import Integration
from services.email.branding import load_branding
from tests.blueprints.admin.conftest import post_form
from tests.factories import okta_create_user_payload

LOGO = "https://cdn.acme.example/logo.png"


def _page(integration: Any) -> str:
    return f"/admin/integrations/{integration.id}"


def test_saving_branding_returns_to_the_branding_section(admin_client, integration) -> None:
    g.pop("csrf_token", None)
    url = _page(integration)
    response = post_form(admin_client, url, f"{url}/branding", product_name="Acme Authenticator")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{url}#branding")


def test_the_preview_renders_what_the_admin_is_typing_without_saving_it(
    admin_client, integration
) -> None:
    url = f"{_page(integration)}/preview"
    draft = admin_client.get(
        url,
        query_string={
            "draft": "1",
            "lang": "en",
            "product_name": "Typed Authenticator",
            "brand_color": "#0a7d33",
            "intro": "Typed just now.",
            # Half-typed: left out, the default shows instead of an error.
            "logo_url": "https://",
        },
    )
    assert draft.status_code == 200
    assert "Typed Authenticator" in draft.text and "#0a7d33" in draft.text
    assert "Typed just now." in draft.text
    assert "sandbox" in draft.headers["Content-Security-Policy"]
    saved = admin_client.get(url, query_string={"lang": "en"})
    assert "Typed Authenticator" not in saved.text
    assert Integration.get_by_id(integration.id).branding == {}


def test_the_page_loads_the_preview_script_from_a_file(admin_client, integration) -> None:
    page = admin_client.get(_page(integration)).text
    assert '<script src="/static/js/branding-preview.js" defer></script>' in page
    assert re.search(r'<form[^>]* id="branding-form"', page)
    assert 'data-preview-url="/admin/integrations/' in page
    script = admin_client.get("/static/js/branding-preview.js")
    assert script.status_code == 200
    assert "draft" in script.text and "scrollHeight" in script.text


def test_each_language_gets_its_own_intro_and_falls_back_to_english(
    client, scim_headers, integration, worker, mailer
) -> None:
    integration.branding = load_branding(
        {"intro": "Welcome to Acme.", "intro_de": "Willkommen bei Acme."}
    )
    integration.save()
    for n, locale in enumerate(("de-DE", "fr-FR", "en-US")):
        body = okta_create_user_payload(
            f"user{n}@example.com", locale=locale, externalId=f"00u{n:017d}"
        )
        assert client.post("/scim/v2/Users", json=body, headers=scim_headers).status_code == 201
    worker.run_until_idle()
    by_address = {email.to_email: email for email in mailer.sent}
    german, french, english = (by_address[f"user{n}@example.com"] for n in range(3))
    assert "Willkommen bei Acme." in german.text and "Welcome to Acme." not in german.text
    assert "Welcome to Acme." in french.text
    assert "Welcome to Acme." in english.text and "Willkommen" not in english.text


def test_the_branding_form_has_one_intro_field_per_language(admin_client, integration) -> None:
    page = admin_client.get(_page(integration)).text
    for name in ("intro", "intro_de", "intro_fr"):
        assert f'name="{name}"' in page


def _landing(client: Any, scim_headers: dict, worker: Any, mailer: Any) -> str:
    client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    worker.run_until_idle()
    link = next(word for word in mailer.sent[-1].text.split() if "/enroll/" in word)
    return client.get("/enroll/" + link.rsplit("/", 1)[1]).text


def test_the_landing_page_wears_the_brand_colour_and_logo(
    client, scim_headers, integration, worker, mailer
) -> None:
    integration.branding = load_branding({"brand_color": "#0A7D33", "logo_url": LOGO})
    integration.save()
    page = _landing(client, scim_headers, worker, mailer)
    assert f'<img class="brand-logo" src="{LOGO}"' in page
    stylesheet = re.search(r'<link rel="stylesheet" href="(/enroll/brand/[^"]+)"', page)
    assert stylesheet and stylesheet[1] == "/enroll/brand/0a7d33.css"
    css = client.get(stylesheet[1])
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "--brand: #0a7d33" in css.text
    assert ".button-primary" in css.text


def test_a_light_brand_colour_gets_dark_button_text(client) -> None:
    css = client.get("/enroll/brand/ffdd00.css").text
    assert "--on-brand: #111111" in css
    # Links stay readable on white: the default colour instead of pale yellow.
    assert "--accent: #1d4ed8" in css


def test_the_brand_stylesheet_refuses_anything_but_a_colour(client) -> None:
    assert client.get("/enroll/brand/red.css").status_code == 404
    assert client.get("/enroll/brand/0a7d33;}body{x").status_code == 404
