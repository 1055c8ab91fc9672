"""Behind a reverse proxy: X-Forwarded-* are believed only for TRUSTED_PROXY_HOPS hops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, request

from tests.factories import make_integration, make_token, okta_create_user_payload

FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "scim.example.com",
    "X-Forwarded-For": "203.0.113.7",
}


def _app(app_factory: Callable[..., Flask], hops: int) -> Flask:
    application = app_factory(TRUSTED_PROXY_HOPS=hops)

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
