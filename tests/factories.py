"""Plain builders for test data and for the payloads Okta sends."""

from __future__ import annotations

import itertools
from typing import Any

from models import Integration
from services.integrations import create_integration
from services.tokens import create_token

_counter = itertools.count(1)


def make_integration(**overrides: Any) -> Integration:
    """Create an integration."""
    name = overrides.pop("name", None) or f"Okta org {next(_counter)}"
    integration = create_integration(name)
    if overrides:
        for key, value in overrides.items():
            setattr(integration, key, value)
        integration.save()
    return integration


def make_token(integration: Integration, label: str = "test") -> str:
    """Issue a SCIM token and return its plaintext."""
    return create_token(integration, label)[1]


def okta_create_user_payload(user_name: str = "test.user@okta.local", **overrides: Any) -> dict:
    """The body Okta POSTs to /Users (OKTA.md §1.4)."""
    payload: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    payload.update(overrides)
    return payload


def okta_patch_active(active: bool) -> dict:
    """Okta's path-less deactivate/reactivate PATCH (OKTA.md §1.4)."""
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": active}}],
    }


def okta_create_group_payload(display_name: str = "Test SCIMv2") -> dict:
    """The body Okta POSTs to /Groups when a group is pushed."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": display_name,
        "members": [],
    }
