"""SCIM error responses (RFC 7644 §3.12) for every failure under /scim/v2."""

from __future__ import annotations

import datetime as dt
import logging
import math

from flask import Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_date

import query_deadline
from blueprints.errors import handle_database_down
from blueprints.scim.http import error_response
from scim.errors import ScimError, TooManyError

log = logging.getLogger(__name__)

# HTTP statuses that have a scimType in RFC 7644 §3.12.
_SCIM_TYPES = {413: None, 409: "uniqueness"}
# Statuses that tell the client to come back later; Okta honours an integer Retry-After.
_RETRYABLE = {429, 503}
DEFAULT_RETRY_AFTER_SECONDS = 30


class TooManyRequestsError(ScimError):
    """A rate limit was exceeded (429); ``Retry-After`` says in whole seconds when to retry."""

    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(max(1, int(retry_after)))}


def retry_after_seconds(value: str | None) -> int:
    """A Retry-After value as whole seconds, at least 1 (docs/okta.md §1.9).

    RFC 9110 §10.2.3 allows an HTTP date, but Okta only understands delta-seconds; a date,
    a fraction, zero or garbage is turned into the integer a client can act on.
    """
    text = (value or "").strip()
    if text.isdigit():
        return max(1, int(text))
    try:
        return max(1, math.ceil(float(text)))
    except (ValueError, OverflowError):
        pass
    moment = parse_date(text)
    if moment is None:
        return DEFAULT_RETRY_AFTER_SECONDS
    return max(1, math.ceil((moment - dt.datetime.now(dt.UTC)).total_seconds()))


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
    elif status == 429:
        detail = "too many requests; retry later"
    elif status == 503:
        detail = "the service is temporarily unavailable; retry later"
    elif status >= 500:
        detail = "internal error"
    headers = {k: v for k, v in error.get_headers() if k.lower() not in {"content-type"}}
    if status in _RETRYABLE:
        # werkzeug writes a datetime retry_after as an HTTP date: send seconds instead.
        given = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        headers = {k: v for k, v in headers.items() if k.lower() != "retry-after"}
        headers["Retry-After"] = str(retry_after_seconds(given))
    return error_response(
        ScimError(detail, status=status, scim_type=_SCIM_TYPES.get(status)), headers
    )


def render_scim_error(error: ScimError) -> Response:
    """A ScimError raised by a view, the protocol core or a service."""
    headers = dict(getattr(error, "headers", {}) or {})
    return error_response(error, headers)


TOO_EXPENSIVE = "the filter is too expensive, narrow it"


def render_database_error(error: Exception) -> Response:
    """A query past SCIM_QUERY_TIMEOUT_MS (or too complex to plan) is the client's 400
    ``tooMany``; any other database failure is answered as the app answers it (503 or 500)."""
    if not query_deadline.is_too_expensive(error):
        return handle_database_down(error)
    original = error.args[0] if error.args else error
    log.warning(
        "SCIM query stopped, too expensive: %s %s (%s: %s)",
        request.method,
        request.path,
        type(original).__name__,
        str(original).splitlines()[0] if str(original) else "",
    )
    return error_response(TooManyError(TOO_EXPENSIVE), {})
