"""Turn stored users and groups into SCIM JSON (RFC 7643), with meta and references."""

from __future__ import annotations

from typing import Any

from models import Group, User
from scim.projection import Projection, project
from scim.schemas import GROUP_RESOURCE, USER_RESOURCE
from services.resources import versions

_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


def _meta(resource_type: str, record: Any, location: str) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": record.created.strftime(_TIMESTAMP),
        "lastModified": record.last_modified.strftime(_TIMESTAMP),
        "location": location,
        "version": versions.etag(record.version),
    }


def user_resource(
    user: User,
    groups: list[tuple[str, str]],
    scim_base: str,
    projection: Projection | None = None,
) -> dict[str, Any]:
    """A user as SCIM JSON: its stored document plus id, active, groups and meta."""
    document = dict(user.document)
    body: dict[str, Any] = {"schemas": document.pop("schemas", [USER_RESOURCE.schema.id])}
    body["id"] = user.scim_id
    body.update(document)
    # Lifecycle changes (Okta events) update the column; it is the truth for "active", except
    # that a removed "active" stays unassigned (services.users.provisioning.active_unassigned).
    if "active" in document and document["active"] is None and not user.active:
        del body["active"]
    else:
        body["active"] = bool(user.active)
    body["groups"] = [
        {
            "value": group_id,
            "display": display,
            "$ref": f"{scim_base}/Groups/{group_id}",
            "type": "direct",
        }
        for group_id, display in groups
    ]
    body["meta"] = _meta("User", user, f"{scim_base}/Users/{user.scim_id}")
    return project(body, USER_RESOURCE, projection) if projection else body


def group_member(user_id: str, display: str, scim_base: str) -> dict[str, str]:
    """One entry of a group's ``members``."""
    return {
        "value": user_id,
        "display": display,
        "$ref": f"{scim_base}/Users/{user_id}",
        "type": "User",
    }


def group_resource(
    group: Group,
    members: list[tuple[str, str]] | None,
    scim_base: str,
    projection: Projection | None = None,
) -> dict[str, Any]:
    """A group as SCIM JSON; ``members`` None leaves the attribute out."""
    document = dict(group.document)
    body: dict[str, Any] = {"schemas": document.pop("schemas", [GROUP_RESOURCE.schema.id])}
    body["id"] = group.scim_id
    body.update(document)
    if members is not None:
        body["members"] = [
            group_member(user_id, display, scim_base) for user_id, display in members
        ]
    body["meta"] = _meta("Group", group, f"{scim_base}/Groups/{group.scim_id}")
    return project(body, GROUP_RESOURCE, projection) if projection else body
