"""Odd JSON gets a 4xx in each door's own format, never a 500, and the same rules everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from models import OktaEvent
from services.admin.admins import create_admin
from testkit.fakes.sendgrid import WebhookSigner
from tests.blueprints.admin.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token

ODD_BODIES = {
    "a 5,000-digit integer": b'{"schemas": [], "token": ' + b"9" * 5000 + b"}",
    "2,000-deep nesting": b'{"token": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    "NaN": b'{"token": NaN}',
    "Infinity": b'{"token": -Infinity}',
    "invalid UTF-8": b'{"token": "caf\xe9"}',
}


@pytest.fixture
def post_to(app, client, scim_headers, integration, hook_headers) -> Callable[[str, bytes], Any]:
    """POST a raw body to one of the doors that take JSON, authenticated as its caller."""
    signer = WebhookSigner()
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = signer.public_key_b64

    def post(door: str, body: bytes) -> Any:
        if door == "scim":
            headers = {**scim_headers, "Content-Type": "application/scim+json"}
            return client.post("/scim/v2/Users", data=body, headers=headers)
        if door == "okta":
            return client.post(f"/hooks/okta/{integration.id}", data=body, headers=hook_headers)
        if door == "sendgrid":
            return client.post("/hooks/sendgrid", data=body, headers=signer.sign(body))
        return client.post(
            "/api/v1/enrollments", data=body, headers={"Content-Type": "application/json"}
        )

    return post


@pytest.mark.parametrize("body", ODD_BODIES.values(), ids=ODD_BODIES.keys())
def test_scim_answers_odd_json_with_a_scim_invalid_syntax_error(post_to, body) -> None:
    response = post_to("scim", body)

    assert response.status_code == 400
    assert response.mimetype == "application/scim+json"
    assert response.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert response.json["scimType"] == "invalidSyntax"


@pytest.mark.parametrize("door", ["okta", "sendgrid", "enrollments"])
@pytest.mark.parametrize("body", ODD_BODIES.values(), ids=ODD_BODIES.keys())
def test_hooks_and_the_enrollment_api_answer_odd_json_with_their_json_error(
    post_to, door, body
) -> None:
    response = post_to(door, body)

    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert response.json["error"] in {"malformed", "invalid_request"}
    assert "Traceback" not in response.text


@pytest.mark.parametrize("door", ["scim", "okta", "sendgrid", "enrollments"])
def test_every_door_refuses_a_body_over_the_size_limit_in_its_own_format(
    app, post_to, door
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    body = b'{"token": "' + b"x" * 70 * 1024 + b'"}'

    response = post_to(door, body)

    assert response.status_code == 413
    if door == "scim":
        assert response.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    else:
        assert response.mimetype == "application/json"
        assert response.json["error"] == "request_entity_too_large"


def test_the_enrollment_api_takes_no_more_than_16_kib(post_to) -> None:
    response = post_to("enrollments", b'{"token": "' + b"x" * 17 * 1024 + b'"}')

    assert response.status_code == 413
    assert response.json["message"] == "request body is larger than 16384 bytes"


def test_a_refused_okta_delivery_stores_no_event_and_says_why(post_to) -> None:
    response = post_to("okta", ODD_BODIES["a 5,000-digit integer"])

    assert response.status_code == 400
    assert "5000 digits" in response.json["message"]
    assert OktaEvent.select().count() == 0


def test_the_enrollment_api_says_why_deep_nesting_is_refused(post_to) -> None:
    response = post_to("enrollments", ODD_BODIES["2,000-deep nesting"])

    assert response.json == {
        "error": "invalid_request",
        "message": "invalid request body: JSON nesting deeper than 32 levels",
    }


def test_the_enrollment_api_still_answers_well_formed_json(post_to) -> None:
    response = post_to("enrollments", b'{"token": "no-such-token"}')

    assert response.status_code == 404
    assert response.json["error"]


def test_a_control_character_in_next_falls_back_to_the_dashboard(app, client) -> None:
    create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    page = client.get("/admin/login?next=/admin/%0d%0aX:1")
    assert page.status_code == 200

    response = client.post(
        "/admin/login?next=/admin/%0d%0aX:1",
        data={
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    assert "X" not in response.headers
