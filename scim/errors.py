"""SCIM protocol errors (RFC 7644 §3.12), raised by the protocol core and the services.

The SCIM blueprint turns each into an ``urn:ietf:params:scim:api:messages:2.0:Error`` body.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """An error with an HTTP status and an optional RFC 7644 ``scimType``."""

    status: int = 400
    scim_type: str | None = None

    def __init__(self, detail: str, *, status: int | None = None, scim_type: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if scim_type is not None:
            self.scim_type = scim_type

    def to_body(self) -> dict[str, Any]:
        """The RFC 7644 §3.12 error body (``status`` as a string, as the RFC types it)."""
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


class InvalidFilterError(ScimError):
    """The filter syntax is invalid or names an attribute or operator we cannot filter on."""

    scim_type = "invalidFilter"


class InvalidPathError(ScimError):
    """A PATCH path is malformed or names an attribute that does not exist."""

    scim_type = "invalidPath"


class NoTargetError(ScimError):
    """A PATCH path's value filter matched nothing where a target was required."""

    scim_type = "noTarget"


class InvalidValueError(ScimError):
    """A value has the wrong type, or a required value is missing."""

    scim_type = "invalidValue"


class InvalidSyntaxError(ScimError):
    """The request body is not parseable or not a valid SCIM message."""

    scim_type = "invalidSyntax"


class MutabilityError(ScimError):
    """The request tried to change an immutable or read-only attribute."""

    scim_type = "mutability"


class UniquenessError(ScimError):
    """A unique attribute (``userName``, a group's ``displayName``) is already taken."""

    status = 409
    scim_type = "uniqueness"


class TooManyError(ScimError):
    """The filter is more than the server is willing to process (over its size limits)."""

    scim_type = "tooMany"


class NotFoundError(ScimError):
    """The resource does not exist (or belongs to another integration)."""

    status = 404


class PreconditionFailedError(ScimError):
    """``If-Match`` did not match the resource's current version."""

    status = 412
