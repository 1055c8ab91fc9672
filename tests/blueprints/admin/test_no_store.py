"""Every admin page, signed in or not, tells browsers and proxies not to keep a copy."""

from __future__ import annotations

import pytest

from tests.factories import okta_create_user_payload


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/users", "/admin/integrations", "/admin/audit", "/admin/work", "/admin/x"],
)
def test_signed_in_admin_pages_send_no_store(admin_client, path: str) -> None:
    response = admin_client.get(path)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_user_page_and_the_sign_in_page_send_no_store(
    app, admin_client, client, scim_headers
) -> None:
    created = client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    scim_id = created.get_json()["id"]
    assert admin_client.get(f"/admin/users/{scim_id}").headers["Cache-Control"] == "no-store"
    assert app.test_client().get("/admin/login").headers["Cache-Control"] == "no-store"
