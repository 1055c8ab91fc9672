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
    """Register the request-body schemas referred to by name, and the errors every SCIM
    operation can answer with."""
    spec.components.schema("PatchOp", schema=PatchOpSchema)
    spec.components.schema("SearchRequest", schema=SearchRequestSchema)
    _document_common_errors(spec)


# Answers any SCIM operation may give besides its own: no or a bad token, rate limited,
# database unavailable; and for requests with a body, too large or not JSON.
_COMMON_ERRORS = {
    401: "Missing, unknown or revoked token",
    429: "Rate limited (integer Retry-After)",
    503: "Temporarily unavailable (integer Retry-After)",
}
_BODY_ERRORS = {413: "Request body too large", 415: "Body is not JSON"}


def _document_common_errors(spec: Any) -> None:
    error = {"content": {SCIM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ScimError"}}}}
    # apispec keeps the registered paths in ``_paths``; they are final once the SCIM
    # blueprint is registered, before the document is first served.
    for path, operations in spec._paths.items():
        if not path.startswith("/scim/v2"):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = dict(_COMMON_ERRORS)
            if "requestBody" in operation:
                codes.update(_BODY_ERRORS)
            for code, description in codes.items():
                operation["responses"].setdefault(str(code), {"description": description, **error})


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
CONTENT_TYPE = SCIM_MEDIA_TYPE


def links_by_id(endpoint: str, kind: str) -> dict[str, Any]:
    """OpenAPI links from an answer carrying one resource to the operations on it by id.

    They chain requests as Okta does (create, then read, replace, patch or delete by id), for
    clients and for schemathesis' stateful tests (tests/reliability/test_schemathesis.py).
    ``endpoint`` is the collection (``Users``), ``kind`` the singular used in link names.
    """
    pointer = f"#/paths/~1scim~1v2~1{endpoint}~1{{scim_id}}"
    return {
        "links": {
            f"{method.capitalize()}{kind}ById": {
                "operationRef": f"{pointer}/{method}",
                "parameters": {"scim_id": "$response.body#/id"},
            }
            for method in ("get", "put", "patch", "delete")
        }
    }
