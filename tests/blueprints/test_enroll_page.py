"""The enrollment landing page: the right store per device, QR code, deep link, dead links."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from typing import Any

import pytest
import segno

from models import Invitation, User
from services.email.branding import load_branding
from tests.factories import moment, okta_create_user_payload, okta_delivery, okta_event

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)
LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"

APP_STORE = "https://apps.apple.com/app/id0000000000"
PLAY_STORE = "https://play.google.com/store/apps/details?id=com.example.app"
USER_DATA = ("test.user@okta.local", "Test User", "00ujl29u0le5T6Aj10h7")


@pytest.fixture
def token(client, scim_headers, worker, mailer) -> str:
    """The enrollment token of a freshly provisioned user, taken from the welcome email."""
    response = client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    assert response.status_code == 201
    worker.run_until_idle()
    link = next(word for word in mailer.sent[-1].text.split() if "/enroll/" in word)
    return link.rsplit("/", 1)[1]


@pytest.fixture
def brand(integration):
    """Set the integration's branding."""

    def brand(**fields: Any) -> None:
        integration.branding = load_branding(fields)
        integration.save()

    return brand


def visit(client, token: str, user_agent: str = IPHONE, **headers: str) -> Any:
    return client.get(f"/enroll/{token}", headers={"User-Agent": user_agent, **headers})


def page_of(response) -> str:
    return response.get_data(as_text=True)


def primary_action(page: str) -> str | None:
    found = re.search(r'<a class="button button-primary" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def store_links(page: str) -> set[str]:
    return {html.unescape(url) for url in re.findall(r'href="([^"]+)"[^>]*data-store=', page)}


def between(text: str, start: str, end: str) -> str:
    """The part of ``text`` from ``start`` to ``end`` (both must be there)."""
    assert start in text
    return text.split(start, 1)[1].split(end, 1)[0]


def qr_path(url: str) -> str:
    """The path data segno draws for ``url``, as the page renders it."""
    svg = segno.make(url, error="m").svg_inline(scale=1, border=4, omitsize=True)
    return re.findall(r'\sd="([^"]+)"', svg)[-1]


# --- devices ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "primary", "secondary"),
    [
        (IPHONE, APP_STORE, PLAY_STORE),
        (IPAD, APP_STORE, PLAY_STORE),
        (ANDROID, PLAY_STORE, APP_STORE),
    ],
    ids=["iphone", "ipad", "android"],
)
def test_a_phone_gets_its_own_store_as_the_primary_action(
    client, token, user_agent, primary, secondary
) -> None:
    response = visit(client, token, user_agent)
    page = page_of(response)
    assert response.status_code == 200
    assert primary_action(page) == primary
    assert secondary in store_links(page)
    assert "<svg" not in page


@pytest.mark.parametrize(
    "user_agent", [WINDOWS, MAC, LINUX, ""], ids=["windows", "mac", "linux", "none"]
)
def test_a_desktop_gets_a_qr_code_of_this_page_and_both_stores(client, token, user_agent) -> None:
    page = page_of(visit(client, token, user_agent))
    page_url = f"http://localhost/enroll/{token}"
    assert primary_action(page) is None
    assert store_links(page) == {APP_STORE, PLAY_STORE}
    figure = between(page, '<figure class="qr">', "</figure>")
    assert figure.lstrip().startswith('<svg role="img" aria-label=')
    assert f'd="{qr_path(page_url)}"' in figure
    caption = between(figure, "<figcaption>", "</figcaption>")
    assert f'<span class="page-url">{page_url}</span>' in caption


def test_the_qr_code_points_at_the_public_url_when_one_is_configured(client, token, app) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://onboard.example.com"
    page = page_of(visit(client, token, WINDOWS))
    page_url = f"https://onboard.example.com/enroll/{token}"
    assert f'd="{qr_path(page_url)}"' in page
    assert f'<span class="page-url">{page_url}</span>' in page


@pytest.mark.parametrize(
    "user_agent", [IPHONE, ANDROID, WINDOWS], ids=["ios", "android", "desktop"]
)
def test_every_device_is_offered_the_deep_link_with_the_token(client, token, user_agent) -> None:
    page = page_of(visit(client, token, user_agent))
    assert f'href="authenticator://enroll?token={token}" data-deep-link' in page


def test_the_deep_link_uses_the_integrations_own_scheme(client, token, brand) -> None:
    brand(deep_link_scheme="acmeauth")
    page = page_of(visit(client, token))
    assert f'href="acmeauth://enroll?token={token}"' in page
    assert "authenticator://" not in page


@pytest.mark.parametrize(("user_agent", "primary"), [(IPHONE, "apple"), (ANDROID, "google")])
def test_branding_overrides_the_store_links(client, token, brand, user_agent, primary) -> None:
    apple = "https://apps.apple.com/app/acme/id123456789"
    google = "https://play.google.com/store/apps/details?id=com.acme.auth"
    brand(app_store_url=apple, play_store_url=google)
    page = page_of(visit(client, token, user_agent))
    assert primary_action(page) == {"apple": apple, "google": google}[primary]
    assert store_links(page) == {apple, google}


def test_viewing_the_page_does_not_use_the_token_up(client, token) -> None:
    for user_agent in (IPHONE, ANDROID, WINDOWS):
        assert visit(client, token, user_agent).status_code == 200
    assert client.head(f"/enroll/{token}").status_code == 200
    assert Invitation.get().used_at is None
    assert client.post("/api/v1/enrollments", json={"token": token}).status_code == 201


# --- links that no longer work ------------------------------------------------------------------


def _expire(_client, _token) -> None:
    Invitation.update(expires_at=dt.datetime(2000, 1, 1)).execute()


def _use(client, token) -> None:
    assert client.post("/api/v1/enrollments", json={"token": token}).status_code == 201


def _revoke(_client, _token) -> None:
    Invitation.update(revoked_at=dt.datetime(2000, 1, 1), revoked_reason="reissued").execute()


def _mark_suspended(_client, _token) -> None:
    # Defence in depth: even a link nobody revoked stops working once the user is inactive.
    User.update(suspended=True, state="suspended").execute()


@pytest.mark.parametrize(
    ("spoil", "title"),
    [
        (_expire, "This link has expired"),
        (_use, "This link has already been used"),
        (_revoke, "This link is no longer valid"),
        (_mark_suspended, "This link is no longer valid"),
    ],
    ids=["expired", "used", "revoked", "inactive-user"],
)
def test_a_dead_link_gets_a_410_page_naming_the_support_address(
    client, token, brand, spoil, title
) -> None:
    brand(support_email="help@acme.example")
    spoil(client, token)
    response = visit(client, token)
    page = page_of(response)
    assert response.status_code == 410
    assert f"<h1>{title}</h1>" in page
    assert '<a href="mailto:help@acme.example">help@acme.example</a>' in page
    assert token not in page
    assert not any(value in page for value in USER_DATA)


def test_a_dead_link_without_a_support_address_says_to_ask_the_it_administrator(
    client, token
) -> None:
    _expire(client, token)
    page = page_of(visit(client, token))
    assert "Contact your IT administrator." in page


@pytest.mark.parametrize("event", ["user.lifecycle.suspend", "user.lifecycle.deactivate"])
def test_a_suspended_or_deactivated_users_link_reads_as_revoked(
    client, token, integration, hook_headers, worker, event
) -> None:
    delivery = okta_delivery(okta_event(event, published=moment(1)))
    hook = client.post(f"/hooks/okta/{integration.id}", json=delivery, headers=hook_headers)
    assert hook.status_code == 200
    worker.run_until_idle()
    response = visit(client, token)
    assert response.status_code == 410
    assert "<h1>This link is no longer valid</h1>" in page_of(response)


@pytest.mark.parametrize("unknown", ["enr_doesnotexist", "x" * 500, "%3Cscript%3E"])
def test_an_unknown_link_gets_a_404_that_reveals_nothing(client, token, brand, unknown) -> None:
    brand(support_email="help@acme.example", company_name="Acme Corp")
    response = visit(client, unknown)
    page = page_of(response)
    assert response.status_code == 404
    assert "<h1>This link is not valid</h1>" in page
    assert "Contact your IT administrator." in page
    for private in (*USER_DATA, "help@acme.example", "Acme Corp", "Acme Okta", "<script"):
        assert private not in page


# --- headers, language, markup ----------------------------------------------------------------


@pytest.mark.parametrize("state", ["usable", "dead", "unknown"])
def test_no_response_is_cached_or_leaks_the_token_as_a_referer(client, token, state) -> None:
    if state == "dead":
        _expire(client, token)
    response = visit(client, "enr_unknown" if state == "unknown" else token)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert '<meta name="referrer" content="no-referrer">' in page_of(response)


@pytest.mark.parametrize(
    ("accept_language", "language", "title"),
    [
        ("de-CH, de;q=0.9, en;q=0.8", "de", "die Authenticator-App einrichten"),
        ("fr-FR,fr;q=0.9", "fr", "Configurer l&#39;application d&#39;authentification"),
        ("en-GB", "en", "Set up the authenticator app"),
        ("es-ES, es;q=0.9", "en", "Set up the authenticator app"),
        (None, "en", "Set up the authenticator app"),
    ],
)
def test_the_page_speaks_the_browsers_language(
    client, token, accept_language, language, title
) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = visit(client, token, **headers)
    page = page_of(response)
    assert f'<html lang="{language}">' in page
    assert f"<h1>{title}</h1>" in page
    assert response.headers["Content-Language"] == language


@pytest.mark.parametrize("language", ["de", "fr"])
def test_dead_link_pages_are_translated_too(client, token, language) -> None:
    _expire(client, token)
    page = page_of(visit(client, token, **{"Accept-Language": language}))
    assert f'<html lang="{language}">' in page
    assert "This link has expired" not in page
    assert "IT administrator" not in page


@pytest.mark.parametrize(
    "user_agent", [IPHONE, ANDROID, WINDOWS], ids=["ios", "android", "desktop"]
)
def test_the_page_runs_no_script_and_fetches_only_our_stylesheet(client, token, user_agent) -> None:
    page = page_of(visit(client, token, user_agent))
    assert "<script" not in page.lower()
    assert re.search(r"\son\w+\s*=", page) is None
    assert "style=" not in page
    # Our stylesheet, then the brand colour's (also ours); no logo is set, so no image.
    assert re.findall(r'<link[^>]+href="([^"]+)"', page) == [
        "/static/css/site.css",
        "/enroll/brand/1d4ed8.css",
    ]
    assert "src=" not in page
    assert '<main id="main"' in page and "<header" in page and "<footer" in page


def test_the_stylesheet_is_served(client) -> None:
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert ":focus-visible" in response.get_data(as_text=True)
    response.close()


def test_the_token_is_never_logged(client, token, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    for path in (f"/enroll/{token}", "/enroll/enr_unknown_token_value"):
        client.get(path, headers={"User-Agent": WINDOWS})
    assert token not in caplog.text
    assert "enr_unknown_token_value" not in caplog.text
