"""Signing in to the admin pages with the organisation's Okta (OpenID Connect via authlib)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from config import ConfigError, load_config
from extensions import db
from models import AdminUser
from services.admin.admins import create_admin
from testkit.fakes.oidc import FakeOidc
from tests.conftest import make_app
from tests.servers import free_port


@pytest.fixture
def oidc() -> Iterator[FakeOidc]:
    with FakeOidc() as provider:
        yield provider


@pytest.fixture
def oidc_app(app: Flask, tmp_path: Path, migrated_database: str, oidc: FakeOidc) -> Flask:
    """The app configured for Okta sign-in (allowed: one email, or the group "IT Admins")."""
    return _okta_app(app, tmp_path, oidc.issuer)


def _okta_app(app: Flask, tmp_path: Path, issuer: str, **settings: str) -> Flask:
    """The app with Okta sign-in set up against ``issuer``."""
    # The plain app's pool is replaced by the new app's: close it first.
    if not db.is_closed():
        db.close()
    db.obj.close_all()
    return make_app(
        tmp_path,
        app.config["DATABASE_URL"],
        ADMIN_OIDC_ISSUER=issuer,
        ADMIN_OIDC_CLIENT_ID="admin-console",
        ADMIN_OIDC_CLIENT_SECRET="s3cret",
        ADMIN_OIDC_ALLOWED_EMAILS="boss@example.com",
        ADMIN_OIDC_ALLOWED_GROUPS="IT Admins",
        **settings,
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
    client, callback = _sign_in_with_okta(
        oidc_app, oidc, sub="00uBOSS", email="Boss@Example.com", email_verified=True
    )
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


@pytest.mark.parametrize("issuer", ["unreachable", "wrong"])
def test_an_okta_issuer_that_cannot_be_read_shows_a_clear_error(
    app: Flask, tmp_path: Path, oidc: FakeOidc, caplog: pytest.LogCaptureFixture, issuer: str
) -> None:
    url = f"http://127.0.0.1:{free_port()}" if issuer == "unreachable" else oidc.issuer + "/wrong"
    client = _okta_app(app, tmp_path, url).test_client()
    with caplog.at_level(logging.WARNING):
        response = client.get("/admin/login/okta")
    assert response.status_code == 502
    assert "cannot reach your Okta org" in response.text
    assert 'name="password"' in response.text  # signing in with a password still works
    assert any(
        r.levelno == logging.WARNING and "ADMIN_OIDC_ISSUER" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"ADMIN_OIDC_CLIENT_SECRET": ""},
            "ADMIN_OIDC_ISSUER is set but ADMIN_OIDC_CLIENT_SECRET is not",
        ),
        (
            {"ADMIN_OIDC_CLIENT_ID": "", "ADMIN_OIDC_CLIENT_SECRET": ""},
            "ADMIN_OIDC_CLIENT_ID and ADMIN_OIDC_CLIENT_SECRET are not",
        ),
        (
            {"ADMIN_OIDC_ALLOWED_EMAILS": "", "ADMIN_OIDC_ALLOWED_GROUPS": ""},
            "set ADMIN_OIDC_ALLOWED_EMAILS .* and/or ADMIN_OIDC_ALLOWED_GROUPS",
        ),
        ({"ADMIN_OIDC_ISSUER": ""}, "ADMIN_OIDC_CLIENT_ID is set but ADMIN_OIDC_ISSUER is not"),
        ({"ADMIN_OIDC_ISSUER": "acme.okta.com"}, "ADMIN_OIDC_ISSUER must be an http"),
    ],
)
def test_a_partial_okta_sign_in_setup_stops_start_up(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    complete = {
        "ADMIN_OIDC_ISSUER": "https://acme.okta.com",
        "ADMIN_OIDC_CLIENT_ID": "0oa123",
        "ADMIN_OIDC_CLIENT_SECRET": "s3cret",
        "ADMIN_OIDC_ALLOWED_EMAILS": "boss@example.com",
        "ADMIN_OIDC_ALLOWED_GROUPS": "",
    }
    assert load_config(tmp_path, complete)["ADMIN_OIDC_ISSUER"] == "https://acme.okta.com"
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path, {**complete, **settings})


def test_okta_links_to_an_existing_admin_only_by_a_verified_email(
    oidc_app: Flask, oidc: FakeOidc
) -> None:
    local = create_admin("boss@example.com", "a long enough password")
    client, callback = _sign_in_with_okta(
        oidc_app, oidc, sub="00uIMPOSTOR", email="boss@example.com", groups=["IT Admins"]
    )
    assert callback.status_code == 403
    assert "not verified" in callback.text
    assert client.get("/admin/").status_code == 302
    assert AdminUser.get_by_id(local.id).oidc_subject is None

    client, callback = _sign_in_with_okta(
        oidc_app, oidc, sub="00uBOSS", email="boss@example.com", email_verified=True
    )
    assert callback.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert AdminUser.get_by_id(local.id).oidc_subject == "00uBOSS"


def test_an_unverified_email_is_not_on_the_allow_list(oidc_app: Flask, oidc: FakeOidc) -> None:
    client, callback = _sign_in_with_okta(
        oidc_app, oidc, sub="00uBOSS", email="boss@example.com", email_verified=False
    )
    assert callback.status_code == 403
    assert "not verified" in callback.text
    assert client.get("/admin/").status_code == 302
    assert AdminUser.select().count() == 0


def test_a_linked_admin_signs_in_only_with_the_okta_account_it_is_linked_to(
    oidc_app: Flask, oidc: FakeOidc
) -> None:
    _sign_in_with_okta(oidc_app, oidc, sub="00uBOSS", email="boss@example.com", email_verified=True)

    client, callback = _sign_in_with_okta(
        oidc_app, oidc, sub="00uOTHER", email="boss@example.com", email_verified=True
    )

    assert callback.status_code == 403
    assert "linked to a different Okta account" in callback.text
    assert client.get("/admin/").status_code == 302
    assert [a.oidc_subject for a in AdminUser.select()] == ["00uBOSS"]
