"""A NUL in a URL or a form never reaches the database (Postgres refuses it with an error)."""

from __future__ import annotations

import pytest

from models import Integration
from tests.blueprints.admin.conftest import csrf_token

ADMIN_PATHS = [
    "/admin/users/%00",
    "/admin/users/%00/emails/1",
    "/admin/integrations/%00",
    "/admin/users?q=a%00b",
    "/admin/audit?action=%00",
]


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_an_admin_url_with_a_nul_is_a_clear_4xx_page(admin_client, path) -> None:
    response = admin_client.get(path)
    assert response.status_code in (400, 404)
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    ("path", "status"),
    [("/Users/%00", 404), ("/Groups/a%00", 404), ("/Users?filter=userName%20eq%20%22a%00%22", 400)],
)
def test_a_scim_url_with_a_nul_is_a_scim_error(client, scim_headers, path, status) -> None:
    response = client.get(f"/scim/v2{path}", headers=scim_headers)
    assert response.status_code == status
    assert response.mimetype == "application/scim+json"
    assert response.get_json()["status"] == str(status)


def test_a_form_value_with_a_nul_is_refused_and_changes_nothing(admin_client, integration) -> None:
    page = admin_client.get(f"/admin/integrations/{integration.id}")
    response = admin_client.post(
        f"/admin/integrations/{integration.id}/name",
        data={"name": "Acme\x00Okta", "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 400
    assert Integration.get_by_id(integration.id).name == integration.name
