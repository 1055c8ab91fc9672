"""Fixtures and builders for the HTTP tests of the SCIM blueprint."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from extensions import db
from models import Group, GroupMember, Integration, User, utcnow
from tests.conftest import OKTA_HEADERS
from tests.factories import make_integration, make_token, okta_create_user_payload

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SCIM_JSON = "application/scim+json; charset=utf-8"


class Scim:
    """A SCIM client for one integration's token: paths are relative to /scim/v2."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers
        # Where requests appear to arrive (scheme, host and port), as a proxy would forward them.
        self.base_url: str | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send one request the way Okta does (scim+json bodies)."""
        sent = {**self.headers, **(headers or {})}
        if self.base_url:
            kwargs.setdefault("base_url", self.base_url)
        if body is not None and "data" not in kwargs:
            kwargs["data"] = json.dumps(body)
            sent.setdefault("Content-Type", SCIM_JSON)
        return self.client.open(f"/scim/v2{path}", method=method, headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def create_user(self, user_name: str, **overrides: Any) -> dict[str, Any]:
        """POST Okta's create body (with overrides; None removes a key); the created user."""
        body = okta_create_user_payload(user_name, **overrides)
        body = {k: v for k, v in body.items() if v is not None}
        response = self.post("/Users", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def create_group(self, display_name: str, members: Sequence[str] = ()) -> dict[str, Any]:
        """POST a group with these member ids; the created group."""
        body = {
            "schemas": [GROUP_URN],
            "displayName": display_name,
            "members": [{"value": m} for m in members],
        }
        response = self.post("/Groups", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def user_names(self, path: str = "/Users", **kwargs: Any) -> set[str]:
        """The userNames a list request answers with (asserting a complete 200 page)."""
        response = self.get(path, **kwargs)
        assert response.status_code == 200, response.get_json()
        return {r["userName"] for r in response.get_json()["Resources"]}


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp message with these operations."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> dict:
    """Assert an RFC 7644 §3.12 error response; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == [ERROR]
    assert str(body["status"]) == str(status)
    assert body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


def seed_group(integration: Integration, name: str, size: int) -> Group:
    """A group with ``size`` members, inserted in bulk through the models."""
    now = utcnow()
    prefix = uuid.uuid4().hex[:8]
    rows = [
        {
            "scim_id": str(uuid.uuid4()),
            "integration": integration.id,
            "user_name": f"{prefix}-{i}@example.com",
            "user_name_key": f"{prefix}-{i}@example.com",
            "document": {"schemas": [USER_URN], "userName": f"{prefix}-{i}@example.com"},
            "created": now,
            "last_modified": now,
        }
        for i in range(size)
    ]
    with db.atomic():
        for start in range(0, size, 500):
            User.insert_many(rows[start : start + 500]).execute()
        group = Group.create(
            integration=integration,
            display_name=name,
            display_name_key=name.casefold(),
            document={"schemas": [GROUP_URN], "displayName": name},
        )
        ids = [
            uid for (uid,) in User.select(User.id).where(User.user_name.startswith(prefix)).tuples()
        ]
        for start in range(0, size, 500):
            GroupMember.insert_many(
                [(group.id, uid) for uid in ids[start : start + 500]], fields=["group", "user"]
            ).execute()
    return group


class _Statements(logging.Handler):
    """Collects the SQL peewee runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple):
            self.sql.append(record.msg[0])


@contextlib.contextmanager
def recorded_sql() -> Iterator[list[str]]:
    """The SQL statements peewee runs inside the block, in order."""
    logger = logging.getLogger("peewee")
    handler = _Statements()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.sql
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def scim(client: FlaskClient, scim_headers: dict[str, str]) -> Scim:
    """A SCIM client with Okta's headers and the integration's token."""
    return Scim(client, scim_headers)


@pytest.fixture
def other_scim(client: FlaskClient, integration: Any) -> Scim:
    """A SCIM client for a second integration (another Okta org) on the same service."""
    other = make_integration(name="Other Okta")
    return Scim(client, {**OKTA_HEADERS, "Authorization": f"Bearer {make_token(other)}"})


@pytest.fixture
def scim_app(configured_app: Callable[..., Flask]) -> Callable[..., Scim]:
    """Build an app with config overrides (``make_app``) and a SCIM client for a new token."""

    def build(**overrides: Any) -> Scim:
        application = configured_app(**overrides)
        token = make_token(make_integration(name="Custom Okta"))
        headers = {**OKTA_HEADERS, "Authorization": f"Bearer {token}"}
        return Scim(application.test_client(), headers)

    return build
