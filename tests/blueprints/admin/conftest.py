"""Admin-page fixtures: a signed-in browser-like client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.admin.admins import create_admin
from testkit import leaks

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"


def csrf_token(html: str) -> str:
    """The CSRF token in a page's form."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: FlaskClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> Any:
    """Sign in through the login form, as a browser would."""
    page = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
    )


# Form fields whose values are credentials no log may show (testkit/leaks.py).
SECRET_FIELDS = {"api_token": "Okta API token", "private_key": "Okta private key"}


def post_form(client: FlaskClient, page_url: str, action_url: str, **data: Any) -> Any:
    """Load a page, take its CSRF token, and post a form to ``action_url``."""
    for name, kind in SECRET_FIELDS.items():
        if isinstance(data.get(name), str):
            leaks.register(kind, data[name])
    page = client.get(page_url)
    assert page.status_code == 200, page.text[:500]
    return client.post(action_url, data={"csrf_token": csrf_token(page.text), **data})


@pytest.fixture
def admin_user(app: Any) -> Any:
    """An admin account."""
    return create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def admin_client(app: Any, admin_user: Any) -> FlaskClient:
    """A client signed in as the admin."""
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 302, response.text[:500]
    return client
