"""Behind a reverse proxy: X-Forwarded-* are believed only for TRUSTED_PROXY_HOPS hops, for
every URL the service hands out (SCIM locations, enrollment links, the event hook URL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request

from services.admin.admins import create_admin
from tests.blueprints.admin.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in
from tests.factories import make_integration, make_token, okta_create_user_payload
from worker import build_worker

FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "scim.example.com",
    "X-Forwarded-For": "203.0.113.7",
}


def _app(app_factory: Callable[..., Flask], hops: int) -> Flask:
    application = app_factory(TRUSTED_PROXY_HOPS=hops, TRUSTED_HOSTS="scim.example.com,localhost")

    def remote() -> str:
        return request.remote_addr or ""

    application.add_url_rule("/remote", "remote", remote)
    return application


def _create_user(application: Flask) -> Any:
    with application.app_context():
        token = make_token(make_integration())
    headers = {**FORWARDED, "Authorization": f"Bearer {token}"}
    return application.test_client().post(
        "/scim/v2/Users", json=okta_create_user_payload(), headers=headers
    )


def test_one_trusted_hop_makes_scim_urls_use_the_forwarded_origin(
    app_factory: Callable[..., Flask],
) -> None:
    response = _create_user(_app(app_factory, hops=1))
    body = response.get_json()
    assert response.status_code == 201
    assert response.headers["Location"] == f"https://scim.example.com/scim/v2/Users/{body['id']}"
    assert body["meta"]["location"] == response.headers["Location"]


def test_one_trusted_hop_takes_the_client_address_from_the_proxy(
    app_factory: Callable[..., Flask],
) -> None:
    application = _app(app_factory, hops=1)
    response = application.test_client().get(
        "/remote", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert response.get_data(as_text=True) == "203.0.113.7"


def test_without_trusted_hops_forwarded_headers_are_ignored(
    app_factory: Callable[..., Flask],
) -> None:
    application = _app(app_factory, hops=0)
    response = _create_user(application)
    body = response.get_json()
    assert response.headers["Location"] == f"http://localhost/scim/v2/Users/{body['id']}"
    assert body["meta"]["location"] == response.headers["Location"]
    remote = application.test_client().get(
        "/remote", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert remote.get_data(as_text=True) == "10.0.0.2"


def test_a_configured_public_base_url_wins_over_forwarded_headers(
    app_factory: Callable[..., Flask],
) -> None:
    application = app_factory(TRUSTED_PROXY_HOPS=1, PUBLIC_BASE_URL="https://onboard.example.org")
    response = _create_user(application)
    assert response.headers["Location"].startswith("https://onboard.example.org/scim/v2/Users/")


def _welcome_link(application: Flask) -> str:
    """The enrollment link in the welcome email of a user Okta created through the proxy."""
    assert _create_user(application).status_code == 201
    with application.app_context():
        build_worker(application).run_until_idle()
    (email,) = application.extensions["mailer"].sent
    return next(word for word in email.text.split() if "/enroll/" in word)


def _hook_url_on_the_integration_page(application: Flask) -> tuple[str, str]:
    """(the integration's id, the page an admin signed in through the proxy sees)."""
    with application.app_context():
        integration = make_integration(name="Acme Okta")
        create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    # The proxy adds its headers to every request of the browser's session; the browser,
    # on the public https page, sends it as the Referer (which CSRF checks over https).
    browser = application.test_client()
    browser.environ_base.update(
        {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in FORWARDED.items()}
    )
    browser.environ_base["HTTP_REFERER"] = "https://scim.example.com/admin/login"
    assert sign_in(browser).status_code == 302
    page = browser.get(f"/admin/integrations/{integration.id}")
    assert page.status_code == 200
    return integration.id, page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("hops", "origin"), [(1, "https://scim.example.com"), (0, "http://localhost")]
)
def test_the_welcome_emails_enrollment_link_uses_the_trusted_public_origin(
    app_factory: Callable[..., Flask], hops: int, origin: str
) -> None:
    link = _welcome_link(_app(app_factory, hops=hops))
    assert link.startswith(f"{origin}/enroll/enr_"), link


@pytest.mark.parametrize(
    ("hops", "origin"), [(1, "https://scim.example.com"), (0, "http://localhost")]
)
def test_the_integration_page_shows_the_hook_url_at_the_trusted_public_origin(
    app_factory: Callable[..., Flask], hops: int, origin: str
) -> None:
    integration_id, page = _hook_url_on_the_integration_page(_app(app_factory, hops=hops))
    assert f"{origin}/hooks/okta/{integration_id}" in page
    other = "http://localhost" if hops else "https://scim.example.com"
    assert f"{other}/hooks/okta/" not in page
