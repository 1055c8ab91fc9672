"""Okta's errors and rate limits, as its answers state them: one exception per kind of failure,
and the ``X-Rate-Limit-*`` headers read into a value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from services.okta.wire import json_or_none

_DEFAULT_RETRY_AFTER: Final = timedelta(seconds=60)
_MIN_RETRY_AFTER: Final = timedelta(seconds=1)


# --- Rate limits -------------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class RateLimit:
    """Okta's rate-limit headers of one response; ``reset`` is a naive UTC datetime."""

    limit: int | None
    remaining: int | None
    reset: datetime | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        """Parse X-Rate-Limit-Limit/Remaining/Reset (epoch seconds); absent or garbled → None."""
        reset_epoch = _header_int(headers, "X-Rate-Limit-Reset")
        reset = None
        if reset_epoch is not None:
            try:
                reset = datetime.fromtimestamp(reset_epoch, UTC).replace(tzinfo=None)
            except (OverflowError, OSError, ValueError):
                reset = None
        return cls(
            limit=_header_int(headers, "X-Rate-Limit-Limit"),
            remaining=_header_int(headers, "X-Rate-Limit-Remaining"),
            reset=reset,
        )

    def should_pause(self) -> datetime | None:
        """When few calls remain (≤ max(1, 5 % of the limit)), the time to wait until, else None."""
        if self.remaining is None:
            return None
        threshold = max(1.0, 0.05 * self.limit) if self.limit is not None else 1.0
        if self.remaining > threshold:
            return None
        now = _utcnow()
        if self.reset is None:
            return now + _DEFAULT_RETRY_AFTER
        # A reset already in the past means the window has rolled over: nothing to wait for.
        return self.reset if self.reset > now else None


NO_RATE_LIMIT: Final = RateLimit(None, None, None)


# --- Errors ------------------------------------------------------------------------------------


class OktaError(Exception):
    """A failed Okta call; ``error_code`` is Okta's ``errorCode`` (or OAuth ``error``)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        error_summary: str | None = None,
        error_id: str | None = None,
        error_causes: tuple[str, ...] = (),
        rate_limit: RateLimit | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.error_summary = error_summary
        self.error_id = error_id
        self.error_causes = error_causes
        self.rate_limit = rate_limit


class OktaAuthError(OktaError):
    """Okta refused the credential (401) or its permissions (403)."""


class OktaTokenError(OktaAuthError):
    """The org authorization server refused to issue an access token (e.g. invalid_client)."""


class OktaRateLimitedError(OktaError):
    """Okta answered 429; call again at ``retry_at`` (naive UTC)."""

    def __init__(self, message: str, *, retry_at: datetime, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_at = retry_at


class OktaUnavailableError(OktaError):
    """A transient failure: 5xx, timeout, refused connection or TLS failure."""


class OktaNotFoundError(OktaError):
    """Okta answered 404."""


class OktaRequestError(OktaError):
    """Okta refused the request itself (other 4xx) or answered something unusable."""


# --- From an answer ----------------------------------------------------------------------------


def _www_authenticate_description(response: requests.Response) -> str | None:
    # OAuth-token 403s explain a missing scope here (error="insufficient_scope").
    match = re.search(r'error_description="([^"]*)"', response.headers.get("WWW-Authenticate", ""))
    return match.group(1) if match else None


def api_error(response: requests.Response, rate_limit: RateLimit, what: str) -> OktaError:
    """Map an unsuccessful answer of the Management API to an OktaError."""
    body = json_or_none(response)
    body = body if isinstance(body, dict) else {}
    code = body.get("errorCode") if isinstance(body.get("errorCode"), str) else None
    summary = body.get("errorSummary") if isinstance(body.get("errorSummary"), str) else None
    summary = summary or _www_authenticate_description(response)
    error_id = body.get("errorId") if isinstance(body.get("errorId"), str) else None
    causes = tuple(
        cause["errorSummary"]
        for cause in body.get("errorCauses") or ()
        if isinstance(cause, dict) and isinstance(cause.get("errorSummary"), str)
    )
    status = response.status_code
    message = f"Okta answered {status} {response.reason or ''}".rstrip() + f" to {what}"
    detail = ": ".join(part for part in (code, summary) if part)
    if detail:
        message += f": {detail}"
    if causes:
        message += f" ({'; '.join(causes)})"
    fields: dict[str, Any] = {
        "status": status,
        "error_code": code,
        "error_summary": summary,
        "error_id": error_id,
        "error_causes": causes,
        "rate_limit": rate_limit,
    }
    if status in (401, 403):
        return OktaAuthError(message, **fields)
    if status == 404:
        return OktaNotFoundError(message, **fields)
    if status == 429:
        # Okta's reset is "only a suggested value" for concurrency limits and may already be
        # past (or our clock ahead of Okta's): never call again sooner than a second.
        now = _utcnow()
        retry_at = max(rate_limit.reset or now + _DEFAULT_RETRY_AFTER, now + _MIN_RETRY_AFTER)
        message += f"; retry after {retry_at:%Y-%m-%d %H:%M:%S} UTC"
        return OktaRateLimitedError(message, retry_at=retry_at, **fields)
    if status >= 500:
        return OktaUnavailableError(message, **fields)
    if 300 <= status < 400:
        target = urlsplit(response.headers.get("Location", "")).netloc or "elsewhere"
        message += f" (a redirect to {target}, which is not followed; check the org URL)"
    return OktaRequestError(message, **fields)
