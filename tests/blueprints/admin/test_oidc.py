"""Signing in to the admin pages with the organisation's Okta (OpenID Connect via authlib)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from extensions import db
from models import AdminUser
from tests.conftest import make_app
from tests.fakes.oidc import FakeOidc


@pytest.fixture
def oidc() -> Iterator[FakeOidc]:
    with FakeOidc() as provider:
        yield provider


@pytest.fixture
def oidc_app(app: Flask, tmp_path: Path, migrated_database: str, oidc: FakeOidc) -> Flask:
    """The app configured for Okta sign-in (allowed: one email, or the group "IT Admins")."""
    # The plain app's pool is replaced by the new app's: close it first.
    if not db.is_closed():
        db.close()
    db.obj.close_all()
    return make_app(
        tmp_path,
        app.config["DATABASE_URL"],
        ADMIN_OIDC_ISSUER=oidc.issuer,
        ADMIN_OIDC_CLIENT_ID=oidc.client_id,
        ADMIN_OIDC_CLIENT_SECRET=oidc.client_secret,
        ADMIN_OIDC_ALLOWED_EMAILS="boss@example.com",
        ADMIN_OIDC_ALLOWED_GROUPS="IT Admins",
    )


def _sign_in_with_okta(app: Flask, oidc: FakeOidc, **claims: object):
    client = app.test_client()
    start = client.get("/admin/login/okta")
    assert start.status_code == 302
    location = urlsplit(start.headers["Location"])
    assert location.netloc == urlsplit(oidc.issuer).netloc
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["client_id"] == oidc.client_id
    assert "openid" in params["scope"]
    code = oidc.issue_code(params["nonce"], **claims)
    callback = client.get(f"/admin/login/okta/callback?code={code}&state={params['state']}")
    return client, callback


def test_the_sign_in_page_offers_okta_when_configured(oidc_app: Flask) -> None:
    page = oidc_app.test_client().get("/admin/login").text
    assert "Sign in with Okta" in page


def test_an_allowed_email_signs_in_with_okta(oidc_app: Flask, oidc: FakeOidc) -> None:
    client, callback = _sign_in_with_okta(oidc_app, oidc, sub="00uBOSS", email="Boss@Example.com")
    assert callback.status_code == 302
    assert client.get("/admin/").status_code == 200
    admin = AdminUser.get()
    assert (admin.email, admin.oidc_subject, admin.password_hash) == (
        "boss@example.com",
        "00uBOSS",
        None,
    )


def test_a_member_of_the_allowed_group_signs_in(oidc_app: Flask, oidc: FakeOidc) -> None:
    client, callback = _sign_in_with_okta(
        oidc_app, oidc, sub="00uIT", email="it@example.com", groups=["Everyone", "IT Admins"]
    )
    assert callback.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_anyone_else_is_refused(oidc_app: Flask, oidc: FakeOidc) -> None:
    client, callback = _sign_in_with_okta(
        oidc_app, oidc, sub="00uX", email="someone@example.com", groups=["Everyone"]
    )
    assert callback.status_code == 403
    assert "not allowed" in callback.text
    assert client.get("/admin/").status_code == 302
    assert AdminUser.select().count() == 0


def test_a_forged_state_is_refused(oidc_app: Flask, oidc: FakeOidc) -> None:
    client = oidc_app.test_client()
    client.get("/admin/login/okta")
    code = oidc.issue_code("n", sub="00uBOSS", email="boss@example.com")
    callback = client.get(f"/admin/login/okta/callback?code={code}&state=forged")
    assert callback.status_code == 401
    assert client.get("/admin/").status_code == 302


def test_without_configuration_okta_sign_in_is_not_offered(client) -> None:
    assert "Sign in with Okta" not in client.get("/admin/login").text
    assert client.get("/admin/login/okta").status_code == 302
