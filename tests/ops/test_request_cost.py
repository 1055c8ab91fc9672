"""What a SCIM request costs beyond its own work: no thread per request, SQL compiled once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.factories import (
    make_integration,
    make_token,
    okta_create_user_payload,
)

SCIM_JSON = "application/scim+json"


@pytest.fixture
def limited_client(configured_app: Any) -> tuple[Any, dict[str, str]]:
    """A client of an app that counts every SCIM request against a 1,000-a-minute limit."""
    app = configured_app(SCIM_RATE_LIMIT="1000 per minute")
    headers = {"Authorization": f"Bearer {make_token(make_integration())}"}
    return app.test_client(), headers


def test_counted_scim_requests_start_no_thread(limited_client, monkeypatch) -> None:
    client, headers = limited_client
    started: list[threading.Thread] = []
    original = threading.Thread.start

    def spy(self: threading.Thread) -> None:
        started.append(self)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", spy)
    for i in range(10):
        created = client.post(
            "/scim/v2/Users",
            json=okta_create_user_payload(f"cost{i}@example.com"),
            headers={**headers, "Content-Type": SCIM_JSON},
        )
        assert created.status_code == 201
        assert (
            client.get(f"/scim/v2/Users/{created.get_json()['id']}", headers=headers).status_code
            == 200
        )
    assert [t.name for t in started] == []


def test_the_rate_limit_still_counts_without_the_timer(configured_app) -> None:
    app = configured_app(SCIM_RATE_LIMIT="2 per minute")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {make_token(make_integration())}"}
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    throttled = client.get("/scim/v2/Users", headers=headers)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
