"""SCIM discovery: /ServiceProviderConfig, /ResourceTypes and /Schemas (RFC 7644 §4)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.typing import ResponseReturnValue
from flask.views import MethodView

from blueprints.scim.blueprint import answers, blp
from blueprints.scim.http import base_url, scim_base_url, scim_json
from blueprints.scim.listing import LIST_RESPONSE
from scim.errors import NotFoundError
from scim.schemas import RESOURCE_TYPES, SCHEMAS

SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


def _listing(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _pagination() -> dict[str, Any]:
    """RFC 9865 §4 ``pagination``: index paging only, with its default and largest page."""
    return {
        "cursor": False,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": current_app.config["SCIM_DEFAULT_COUNT"],
        "maxPageSize": current_app.config["SCIM_MAX_COUNT"],
    }


@blp.route("/ServiceProviderConfig")
class ServiceProviderConfig(MethodView):
    """What this service provider supports, truthfully."""

    @blp.doc(summary="Service provider configuration")
    @answers(200)
    def get(self) -> ResponseReturnValue:
        """Supported: PATCH, filter, index paging, sort, ETags; no bulk, no password change."""
        base = scim_base_url()
        return scim_json(
            {
                "schemas": [SERVICE_PROVIDER_CONFIG],
                "documentationUri": f"{base_url()}/api/openapi.json",
                "patch": {"supported": True},
                "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
                "filter": {"supported": True, "maxResults": current_app.config["SCIM_MAX_COUNT"]},
                "pagination": _pagination(),
                "changePassword": {"supported": False},
                "sort": {"supported": True},
                "etag": {"supported": True},
                "authenticationSchemes": [
                    {
                        "type": "oauthbearertoken",
                        "name": "Bearer token",
                        "description": "A SCIM token created by an admin, sent as "
                        "'Authorization: Bearer <token>' (the bare token is accepted too).",
                        "primary": True,
                    }
                ],
                "meta": {
                    "resourceType": "ServiceProviderConfig",
                    "location": f"{base}/ServiceProviderConfig",
                },
            }
        )


@blp.route("/ResourceTypes")
class ResourceTypes(MethodView):
    """The resource types served."""

    @blp.doc(summary="Resource types")
    @answers(200)
    def get(self) -> ResponseReturnValue:
        """User and Group."""
        base = scim_base_url()
        return scim_json(
            _listing(
                [rt.to_scim(f"{base}/ResourceTypes/{rt.name}") for rt in RESOURCE_TYPES.values()]
            )
        )


@blp.route("/ResourceTypes/<string:name>")
class ResourceTypeByName(MethodView):
    """One resource type."""

    @blp.doc(summary="One resource type")
    @answers(200, None, errors=(404,))
    def get(self, name: str) -> ResponseReturnValue:
        """User or Group."""
        resource = RESOURCE_TYPES.get(name)
        if resource is None:
            raise NotFoundError(f"ResourceType {name} not found")
        return scim_json(resource.to_scim(f"{scim_base_url()}/ResourceTypes/{resource.name}"))


@blp.route("/Schemas")
class Schemas(MethodView):
    """The schemas served."""

    @blp.doc(summary="Schemas")
    @answers(200)
    def get(self) -> ResponseReturnValue:
        """Core User, Enterprise User and Group."""
        base = scim_base_url()
        return scim_json(_listing([s.to_scim(f"{base}/Schemas/{s.id}") for s in SCHEMAS.values()]))


@blp.route("/Schemas/<string:schema_id>")
class SchemaById(MethodView):
    """One schema."""

    @blp.doc(summary="One schema")
    @answers(200, None, errors=(404,))
    def get(self, schema_id: str) -> ResponseReturnValue:
        """A schema by its URN."""
        schema = SCHEMAS.get(schema_id)
        if schema is None:
            raise NotFoundError(f"Schema {schema_id} not found")
        return scim_json(schema.to_scim(f"{scim_base_url()}/Schemas/{schema.id}"))
