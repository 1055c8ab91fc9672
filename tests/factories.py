"""Plain builders for test data and for the payloads Okta sends."""

from __future__ import annotations

import itertools
from typing import Any

from models import Integration
from services.integrations.registry import create_integration
from services.integrations.scim_tokens import create_token
from testkit import leaks

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
    token = create_token(integration, label)[1]
    leaks.register("SCIM bearer token", token)
    return token


def okta_create_user_payload(user_name: str = "test.user@okta.local", **overrides: Any) -> dict:
    """The body Okta POSTs to /Users (docs/okta.md §1.4)."""
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
    """Okta's path-less deactivate/reactivate PATCH (docs/okta.md §1.4)."""
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


def okta_event(
    event_type: str,
    *,
    okta_id: str | None = "00ujl29u0le5T6Aj10h7",
    login: str | None = "test.user@okta.local",
    published: str | None = None,
    uuid: str | None = None,
    actor: dict | bool | None = True,
    outcome: str = "SUCCESS",
    extra_targets: list[dict] | None = None,
) -> dict:
    """One System Log event as an event hook delivers it (docs/okta.md §3.5)."""
    import uuid as uuid_module

    published = published or moment(0)
    targets: list[dict] | None = list(extra_targets or [])
    if okta_id is not None or login is not None:
        assert targets is not None
        targets.append(
            {
                "id": okta_id,
                "type": "User",
                "alternateId": login,
                "displayName": "Test User",
                "detailEntry": None,
            }
        )
    if actor is True:
        actor = {
            "id": "00u2di94bAMSEPvAY1d6",
            "type": "User",
            "alternateId": "okta.admin@example.com",
            "displayName": "Okta Admin",
            "detailEntry": None,
        }
    return {
        "uuid": uuid or str(uuid_module.uuid4()),
        "published": published,
        "eventType": event_type,
        "version": "0",
        "displayMessage": event_type,
        "severity": "INFO",
        "actor": actor or None,
        "outcome": {"result": outcome, "reason": None},
        "target": targets if targets else None,
        "debugContext": {"debugData": {"requestUri": "/api/v1/users"}},
        "legacyEventType": "core.user.config",
    }


def okta_delivery(*events: dict) -> dict:
    """An event-hook delivery envelope carrying ``events``."""
    return {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://acme.okta.com/api/v1/eventHooks/who7hphp39JoHLni81d7",
        "eventId": "85b60edb-4263-4e13-993b-818e26201052",
        "eventTime": "2026-11-28T10:00:01.093Z",
        "contentType": "application/json",
        "data": {"events": list(events)},
    }


def moment(seconds_from_now: float) -> str:
    """An Okta ``published`` timestamp, relative to now (events must postdate the user)."""
    import datetime as dt

    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
