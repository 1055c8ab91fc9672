"""Without PUBLIC_BASE_URL no request can steer the origin of an emailed link or a SCIM
``meta.location``: only the quick start's loopback names (or TRUSTED_HOSTS) are answered."""

from __future__ import annotations

import pytest

from models import User
from tests.factories import okta_create_user_payload

EVIL = {"Host": "evil.example.com"}


def test_a_scim_create_for_a_foreign_host_is_refused_and_stores_nothing(
    client, scim_headers, mailer, worker
) -> None:
    response = client.post(
        "/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers | EVIL
    )
    worker.run_until_idle()

    assert response.status_code == 400
    assert response.get_json()["detail"] == "Host 'evil.example.com' is not trusted."
    assert User.select().count() == 0
    assert mailer.sent == []


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/admin/login", "text/plain"), ("/enroll/x", "text/plain"), ("/healthz", "application/json")],
)
def test_other_doors_refuse_a_foreign_host_in_their_format(
    client, path: str, content_type: str
) -> None:
    response = client.get(path, headers=EVIL)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith(content_type)
    assert "evil.example.com" in response.get_data(as_text=True)


def test_the_quick_start_addresses_make_links_from_the_request(
    client, scim_headers, mailer, worker
) -> None:
    response = client.post(
        "/scim/v2/Users",
        json=okta_create_user_payload(),
        headers=scim_headers | {"Host": "127.0.0.1:5000"},
    )
    worker.run_until_idle()

    assert response.status_code == 201
    assert response.get_json()["meta"]["location"].startswith("http://127.0.0.1:5000/scim/v2/")
    assert "http://127.0.0.1:5000/enroll/" in mailer.sent[-1].text


def test_with_public_base_url_set_links_use_it_whatever_the_host(
    app, client, scim_headers, mailer, worker
) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://onboard.example.com"
    app.config["TRUSTED_HOSTS"] = None  # what the configuration sets with PUBLIC_BASE_URL

    response = client.post(
        "/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers | EVIL
    )
    worker.run_until_idle()

    assert response.status_code == 201
    assert response.get_json()["meta"]["location"].startswith("https://onboard.example.com/")
    assert "https://onboard.example.com/enroll/" in mailer.sent[-1].text
    assert "evil.example.com" not in mailer.sent[-1].text
