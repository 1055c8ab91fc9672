"""Bearer-token authentication for every SCIM request."""

from __future__ import annotations

from flask import g, request

from scim.errors import ScimError
from services.tokens import authenticate_token


class UnauthorizedError(ScimError):
    """Missing or invalid SCIM token (401)."""

    status = 401
    headers = {"WWW-Authenticate": 'Bearer realm="SCIM"'}


def token_from_header(header: str) -> str:
    """The token in an Authorization header: ``Bearer <t>`` or the bare ``<t>``.

    Okta's "HTTP Header" auth mode may send the token without a scheme (OKTA.md §2.2).
    """
    value = header.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


def authenticate() -> None:
    """Resolve the caller's token and integration into ``g``.

    :raises UnauthorizedError: when the token is missing, unknown or revoked.
    """
    raw = token_from_header(request.headers.get("Authorization", ""))
    if not raw:
        raise UnauthorizedError("authentication required: send Authorization: Bearer <token>")
    token = authenticate_token(raw)
    if token is None:
        raise UnauthorizedError("the SCIM token is invalid or has been revoked")
    g.scim_token = token
    g.integration = token.integration
