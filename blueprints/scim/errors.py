"""SCIM error responses (RFC 7644 §3.12) for every failure under /scim/v2."""

from __future__ import annotations

from flask import Response
from werkzeug.exceptions import HTTPException

from blueprints.scim.http import error_response
from scim.errors import ScimError

# HTTP statuses that have a scimType in RFC 7644 §3.12.
_SCIM_TYPES = {413: None, 409: "uniqueness"}


def render_http_exception(error: HTTPException) -> Response:
    """A werkzeug HTTP error (404, 405, 413, ...) as a SCIM error body."""
    status = error.code or 500
    detail = error.description or error.name
    if status == 404:
        detail = "no such SCIM endpoint or resource"
    elif status == 405:
        detail = "method not allowed on this SCIM endpoint"
    elif status == 413:
        detail = "request body is too large"
    elif status == 503:
        detail = "the service is temporarily unavailable; retry later"
    elif status >= 500:
        detail = "internal error"
    headers = {k: v for k, v in error.get_headers() if k.lower() not in {"content-type"}}
    return error_response(
        ScimError(detail, status=status, scim_type=_SCIM_TYPES.get(status)), headers
    )


def render_scim_error(error: ScimError) -> Response:
    """A ScimError raised by a view, the protocol core or a service."""
    headers = dict(getattr(error, "headers", {}) or {})
    return error_response(error, headers)
