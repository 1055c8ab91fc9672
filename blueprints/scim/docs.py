"""Marshmallow schemas that describe SCIM messages in the OpenAPI document."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields

from blueprints.scim.http import SCIM_MEDIA_TYPE


class ScimErrorSchema(ma.Schema):
    """RFC 7644 §3.12 error."""

    schemas = fields.List(fields.String(), required=True)
    status = fields.String(required=True)
    scimType = fields.String()
    detail = fields.String()


class ListResponseSchema(ma.Schema):
    """RFC 7644 §3.4.2 list response."""

    schemas = fields.List(fields.String(), required=True)
    totalResults = fields.Integer(required=True)
    startIndex = fields.Integer()
    itemsPerPage = fields.Integer()
    Resources = fields.List(fields.Dict())


class PatchOperationSchema(ma.Schema):
    """One PATCH operation."""

    op = fields.String(required=True, metadata={"description": "add, replace or remove"})
    path = fields.String()
    value = fields.Raw()


class PatchOpSchema(ma.Schema):
    """RFC 7644 §3.5.2 PatchOp message."""

    schemas = fields.List(fields.String(), required=True)
    Operations = fields.List(fields.Nested(PatchOperationSchema), required=True)


class SearchRequestSchema(ma.Schema):
    """RFC 7644 §3.4.3 search request."""

    schemas = fields.List(fields.String(), required=True)
    filter = fields.String()
    startIndex = fields.Integer()
    count = fields.Integer()
    sortBy = fields.String()
    sortOrder = fields.String()
    attributes = fields.List(fields.String())
    excludedAttributes = fields.List(fields.String())


def register_components(spec: Any) -> None:
    """Register the request-body schemas referred to by name."""
    spec.components.schema("PatchOp", schema=PatchOpSchema)
    spec.components.schema("SearchRequest", schema=SearchRequestSchema)


def request_body(component: str) -> dict[str, Any]:
    """An OpenAPI requestBody that refers to a registered schema component."""
    ref = {"$ref": f"#/components/schemas/{component}"}
    return {
        "requestBody": {
            "required": True,
            "content": {SCIM_MEDIA_TYPE: {"schema": ref}, "application/json": {"schema": ref}},
        }
    }


LIST_PARAMETERS = [
    {"in": "query", "name": name, "schema": schema, "required": False, "description": text}
    for name, schema, text in (
        ("filter", {"type": "string"}, 'RFC 7644 §3.4.2.2 filter, e.g. userName eq "a@b.c"'),
        ("startIndex", {"type": "integer"}, "1-based index of the first result"),
        ("count", {"type": "integer"}, "page size (0 returns only totalResults)"),
        ("sortBy", {"type": "string"}, "attribute to sort by"),
        ("sortOrder", {"type": "string", "enum": ["ascending", "descending"]}, "sort order"),
        ("attributes", {"type": "string"}, "comma-separated attributes to return"),
        ("excludedAttributes", {"type": "string"}, "comma-separated attributes to leave out"),
    )
]
ERRORS = (400, 401, 404, 409, 412, 413, 415, 503)
CONTENT_TYPE = SCIM_MEDIA_TYPE
