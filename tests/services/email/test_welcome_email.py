"""The welcome email: branding, languages, escaping, SendGrid dynamic templates, preview."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from models import Invitation, User
from services.email.branding import effective_branding, load_branding
from services.email.i18n import CATALOGS, format_datetime, negotiate
from services.email.mailer import OutgoingEmail
from services.email.welcome_email import preview_welcome
from services.errors import ValidationError
from tests.factories import okta_create_user_payload

FULL_BRANDING = {
    "product_name": "Acme Authenticator",
    "company_name": "Acme Corp",
    "logo_url": "https://cdn.acme.example/logo.png",
    "brand_color": "#0F766E",
    "sender_name": "Acme IT",
    "sender_email": "it@acme.example",
    "reply_to": "replies@acme.example",
    "support_email": "help@acme.example",
    "intro": "Welcome to Acme!\n\nYour laptop is on its way.",
    "app_store_url": "https://apps.apple.com/app/id123456789",
    "play_store_url": "https://play.google.com/store/apps/details?id=com.acme.auth",
    "deep_link_scheme": "acmeauth",
}
TEMPLATE_ID = "d-0123456789abcdef0123456789abcdef"


@pytest.fixture
def send_welcome(client, scim_headers, worker, mailer, integration):
    """Set the integration's branding, provision a user over SCIM, return the email sent."""

    def send(branding: dict[str, Any] | None = None, **payload: Any) -> OutgoingEmail:
        if branding is not None:
            integration.branding = load_branding(branding)
            integration.save()
        response = client.post(
            "/scim/v2/Users", json=okta_create_user_payload(**payload), headers=scim_headers
        )
        assert response.status_code == 201, response.get_json()
        worker.run_until_idle()
        return mailer.sent[-1]

    return send


def squash(text: str) -> str:
    """Text with every run of whitespace (line wraps included) as one space."""
    return " ".join(text.split())


def link_of(email: OutgoingEmail) -> str:
    return next(word for word in email.text.split() if "/enroll/" in word)


# --- branding ----------------------------------------------------------------------------


def test_every_branding_field_shows_where_it_belongs(send_welcome) -> None:
    email = send_welcome(FULL_BRANDING)
    assert (email.from_email, email.from_name) == ("it@acme.example", "Acme IT")
    assert email.reply_to == "replies@acme.example"
    assert email.subject == "Set up Acme Authenticator for Acme Corp"
    html, text = email.html, squash(email.text)
    assert '<img src="https://cdn.acme.example/logo.png" alt="Acme Authenticator"' in html
    assert "background-color:#0f766e" in html
    assert "Acme Corp has invited you to set up Acme Authenticator" in html
    assert "<p" in html and "Welcome to Acme!</p>" in html
    assert "Your laptop is on its way.</p>" in html
    assert 'href="https://apps.apple.com/app/id123456789"' in html
    assert 'href="https://play.google.com/store/apps/details?id=com.acme.auth"' in html
    assert 'href="mailto:help@acme.example"' in html
    assert "Acme Corp has invited you to set up Acme Authenticator" in text
    assert "Welcome to Acme! Your laptop is on its way." in text
    assert "https://apps.apple.com/app/id123456789" in text.split()
    assert "https://play.google.com/store/apps/details?id=com.acme.auth" in text.split()
    assert "Questions? Contact help@acme.example." in text
    assert "Sent by Acme IT on behalf of Acme Corp." in text


def test_without_optional_branding_the_email_uses_the_configured_defaults(
    send_welcome, app
) -> None:
    email = send_welcome()
    assert email.from_email == app.config["MAIL_FROM_EMAIL"]
    assert email.from_name == app.config["MAIL_FROM_NAME"]
    assert email.reply_to is None
    assert email.template_id is None
    assert email.template_data == {}
    assert "<img" not in email.html
    assert "Questions?" not in email.text
    assert "mailto:" not in email.html
    assert app.config["APP_STORE_URL"] in email.text.split()
    assert app.config["PLAY_STORE_URL"] in email.text.split()
    assert email.subject == "Set up the authenticator app for Acme Okta"


def test_the_support_line_falls_back_to_the_reply_to_address(send_welcome) -> None:
    email = send_welcome({"reply_to": "it-desk@acme.example"})
    assert email.reply_to == "it-desk@acme.example"
    assert "Questions? Contact it-desk@acme.example." in squash(email.text)


def test_a_light_brand_colour_gets_dark_button_text_and_readable_links(send_welcome) -> None:
    email = send_welcome({"brand_color": "#fde047"})
    assert "background-color:#fde047" in email.html
    assert "color:#111111;text-decoration:none" in email.html
    assert "color:#fde047;text-decoration:underline" not in email.html


def test_an_invalid_stored_field_falls_back_to_its_default(send_welcome, integration) -> None:
    integration.branding = {"logo_url": "javascript:alert(1)", "product_name": "Acme Auth"}
    integration.save()
    email = send_welcome()
    assert "javascript:" not in email.html
    assert "<img" not in email.html
    assert email.subject == "Set up Acme Auth for Acme Okta"


# --- structure and escaping ------------------------------------------------------------------


def test_the_link_is_absolute_and_a_word_of_its_own_in_the_text_part(send_welcome) -> None:
    email = send_welcome()
    link = link_of(email)
    assert link.startswith("http://localhost/enroll/enr_")
    assert f"\n{link}\n" in email.text
    assert f'href="{link}"' in email.html
    assert email.secrets == (link.rsplit("/", 1)[1],)


def test_the_html_part_is_inline_styled_tables_without_scripts_or_remote_fonts(
    send_welcome,
) -> None:
    html = send_welcome(FULL_BRANDING).html
    assert '<table role="presentation"' in html
    assert html.count('style="') > 10
    assert "<style" not in html
    assert "<script" not in html.lower()
    assert "<link" not in html
    assert "@import" not in html and "@font-face" not in html
    assert re.search(r"\son\w+=", html) is None
    # The only remote resource is the logo, and it has alt text for images-off readers.
    assert re.findall(r'src="([^"]+)"', html) == ["https://cdn.acme.example/logo.png"]


def test_a_hostile_display_name_is_escaped_in_html_and_verbatim_in_text(send_welcome) -> None:
    hostile = '<script>alert("hi")</script> & Co'
    email = send_welcome(name={"familyName": "Co"}, displayName=hostile)
    assert "<script" not in email.html
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; &amp; Co" in email.html
    assert f"Hello {hostile}," in email.text


def test_a_company_name_with_markup_characters_is_text_everywhere(send_welcome) -> None:
    email = send_welcome({"company_name": "Smith & <Jones>"})
    assert email.subject == "Set up the authenticator app for Smith & <Jones>"
    assert "Smith &amp; &lt;Jones&gt; has invited you" in email.html
    assert "Smith & <Jones> has invited you" in email.text


# --- languages --------------------------------------------------------------------------------

SUBJECTS = {
    "en": "Set up the authenticator app for Acme Okta",
    "de": "Richten Sie die Authenticator-App für Acme Okta ein",
    "fr": "Configurez l'application d'authentification pour Acme Okta",
}
GREETINGS = {"en": "Hello Test,", "de": "Hallo Test,", "fr": "Bonjour Test,"}


@pytest.mark.parametrize(
    ("locale", "preferred_language", "language"),
    [
        ("en-US", None, "en"),
        ("en_US", None, "en"),
        ("de-CH", None, "de"),
        ("de_DE", None, "de"),
        ("fr", None, "fr"),
        ("fr-CA", None, "fr"),
        (None, "fr-CA, fr;q=0.9", "fr"),
        ("en-US", "de-CH, de;q=0.9, en;q=0.8", "de"),
        ("de-AT", "es-ES", "de"),
        ("es-ES", None, "en"),
        (None, "ja, it;q=0.5", "en"),
        (None, None, "en"),
    ],
)
def test_the_email_is_in_the_users_language(
    send_welcome, locale, preferred_language, language
) -> None:
    overrides = {"locale": locale, "preferredLanguage": preferred_language}
    email = send_welcome(**{k: v for k, v in overrides.items() if v is not None})
    assert email.subject == SUBJECTS[language]
    assert f'<html lang="{language}"' in email.html
    assert email.text.startswith(GREETINGS[language])
    expiry = format_datetime(Invitation.get().expires_at, language)
    assert expiry in squash(email.text)
    assert expiry in email.html


@pytest.mark.parametrize("language", ["de", "fr"])
def test_every_catalog_translates_every_english_string(language) -> None:
    assert set(CATALOGS[language]) == set(CATALOGS["en"])
    for key, english in CATALOGS["en"].items():
        assert set(re.findall(r"\{\w+\}", CATALOGS[language][key])) == set(
            re.findall(r"\{\w+\}", english)
        ), key


@pytest.mark.parametrize("language", ["de", "fr"])
def test_no_english_sentence_is_left_in_a_translated_email(send_welcome, language) -> None:
    email = send_welcome(FULL_BRANDING, locale=language)
    english = [
        fragment
        for key, value in CATALOGS["en"].items()
        if key.startswith(("email.", "store."))
        for fragment in re.split(r"\{\w+\}", value)
        if len(fragment.strip()) >= 6
    ]
    leftovers = [f for f in english if f.strip() in squash(email.text) or f.strip() in email.html]
    assert leftovers == []


@pytest.mark.parametrize(
    ("moment", "language", "written"),
    [
        (dt.datetime(2026, 3, 1, 14, 5), "en", "1 March 2026 at 14:05 UTC"),
        (dt.datetime(2026, 3, 1, 14, 5), "de", "1. März 2026 um 14:05 UTC"),
        (dt.datetime(2026, 3, 1, 14, 5), "fr", "1er mars 2026 à 14:05 UTC"),
        (dt.datetime(2026, 12, 24, 9, 0), "fr", "24 décembre 2026 à 09:00 UTC"),
        (dt.datetime(2026, 12, 24, 9, 0, tzinfo=dt.UTC), "en", "24 December 2026 at 09:00 UTC"),
    ],
)
def test_expiry_dates_are_written_the_way_each_language_writes_them(
    moment, language, written
) -> None:
    assert format_datetime(moment, language) == written


@pytest.mark.parametrize(
    ("candidates", "language"),
    [
        (("de_CH.UTF-8",), "de"),
        (("FR-be",), "fr"),
        (("fr;q=0, de;q=0.5, en;q=0.4",), "de"),
        (("*, fr;q=0.1",), "fr"),
        (("en;q=0.2, de;q=0.9",), "de"),
        (("de;q=nonsense, fr",), "fr"),
        ((None, "", "fr"), "fr"),
        (("pt-BR", "it"), "en"),
        ((), "en"),
    ],
)
def test_language_negotiation_reads_locales_and_accept_language_lists(candidates, language) -> None:
    assert negotiate(*candidates) == language


# --- SendGrid dynamic templates ---------------------------------------------------------------


def test_a_dynamic_template_gets_the_same_fields_our_templates_show(send_welcome) -> None:
    email = send_welcome({**FULL_BRANDING, "sendgrid_template_id": TEMPLATE_ID}, locale="fr-CA")
    assert email.template_id == TEMPLATE_ID
    data = email.template_data
    assert data["language"] == "fr"
    assert data["subject"] == email.subject
    assert data["first_name"] == "Test"
    assert data["display_name"] == "Test User"
    assert data["product_name"] == "Acme Authenticator"
    assert data["company_name"] == "Acme Corp"
    assert data["enrollment_link"] == link_of(email)
    assert data["expires_at_text"] in squash(email.text)
    assert data["expires_at"].endswith("Z")
    assert dt.datetime.fromisoformat(
        data["expires_at"][:-1]
    ) == Invitation.get().expires_at.replace(microsecond=0)
    assert data["app_store_url"] == FULL_BRANDING["app_store_url"]
    assert data["play_store_url"] == FULL_BRANDING["play_store_url"]
    assert data["logo_url"] == FULL_BRANDING["logo_url"]
    assert data["brand_color"] == "#0f766e"
    assert data["support_email"] == "help@acme.example"
    assert data["intro"] == FULL_BRANDING["intro"]
    # Our rendering travels along (console mailer, admin pages) and shows the same values.
    for value in ("Acme Authenticator", "Acme Corp", data["enrollment_link"], "#0f766e"):
        assert value in email.html


# --- preview ----------------------------------------------------------------------------------


def test_a_preview_renders_for_a_sample_user_without_touching_the_database(
    integration,
) -> None:
    integration.branding = load_branding(FULL_BRANDING)
    integration.save()
    subject, html, text = preview_welcome(integration, language="de-CH")
    assert subject == "Richten Sie Acme Authenticator für Acme Corp ein"
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="de"' in html
    assert "Hallo Alex," in text
    assert "/enroll/enr_preview-not-a-real-link" in text
    assert User.select().count() == 0
    assert Invitation.select().count() == 0


def test_a_preview_falls_back_to_english_for_an_unknown_language(integration) -> None:
    subject, html, _ = preview_welcome(integration, language="xx")
    assert subject == "Set up the authenticator app for Acme Okta"
    assert '<html lang="en"' in html


# --- branding validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("logo_url", "http://cdn.acme.example/logo.png"),
        ("logo_url", "javascript:alert(1)"),
        ("app_store_url", "ftp://apps.apple.com/app"),
        ("play_store_url", "not a url"),
        ("brand_color", "red"),
        ("brand_color", "#12345"),
        ("brand_color", "#12345g"),
        ("deep_link_scheme", "javascript"),
        ("deep_link_scheme", "HTTPS"),
        ("deep_link_scheme", "data"),
        ("deep_link_scheme", "file"),
        ("deep_link_scheme", "acme auth"),
        ("deep_link_scheme", "acme://"),
        ("deep_link_scheme", "1acme"),
        ("sendgrid_template_id", "d-123"),
        ("sendgrid_template_id", TEMPLATE_ID + "0"),
        ("sendgrid_template_id", "0123456789abcdef0123456789abcdef"),
        ("sender_email", "not-an-address"),
        ("reply_to", "a@"),
        ("support_email", "help at acme"),
        ("sender_name", "Acme\r\nBcc: victim@example.com"),
        ("product_name", "x" * 101),
        ("intro", "x" * 1001),
        ("intro", "bell \x07"),
        ("favourite_colour", "blue"),
        ("product_name", 42),
    ],
)
def test_invalid_branding_is_refused_with_a_message_naming_the_field(field, value) -> None:
    with pytest.raises(ValidationError, match=field):
        load_branding({field: value})


def test_branding_is_trimmed_and_normalised_and_blanks_mean_unset() -> None:
    loaded = load_branding(
        {
            "brand_color": " #0AF ",
            "deep_link_scheme": "Acme.Auth+v2",
            "sendgrid_template_id": TEMPLATE_ID.upper().replace("D-", "d-"),
            "intro": "Line one\nLine two",
            "logo_url": "",
            "reply_to": None,
        }
    )
    assert loaded == {
        "brand_color": "#00aaff",
        "deep_link_scheme": "acme.auth+v2",
        "sendgrid_template_id": TEMPLATE_ID,
        "intro": "Line one\nLine two",
    }


def test_branding_must_be_an_object() -> None:
    with pytest.raises(ValidationError, match="JSON object"):
        load_branding(["product_name"])


def test_effective_branding_without_an_integration_is_the_configured_defaults(app) -> None:
    branding = effective_branding(None)
    assert branding.company_name is None
    assert branding.product_name is None
    assert branding.app_store_url == app.config["APP_STORE_URL"]
    assert branding.deep_link_scheme == app.config["APP_DEEP_LINK_SCHEME"]
