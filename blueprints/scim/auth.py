"""Bearer-token authentication and rate limits for every SCIM request."""

from __future__ import annotations

import functools
import logging
import math
import time

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

from blueprints.scim.errors import TooManyRequestsError
from extensions import limiter
from scim.errors import ScimError
from services.integrations.scim_tokens import authenticate_token

log = logging.getLogger(__name__)

# Counter names in the limiter's storage (RATELIMIT_STORAGE_URI), shared by every process
# that uses the same storage.
TOKEN_SCOPE = "scim-token"  # noqa: S105 (a label, not a secret)
AUTH_FAILURE_SCOPE = "scim-auth-failure"


class UnauthorizedError(ScimError):
    """Missing or invalid SCIM token (401)."""

    status = 401
    headers = {"WWW-Authenticate": 'Bearer realm="SCIM"'}


def token_from_header(header: str) -> str:
    """The token in an Authorization header: ``Bearer <t>`` or the bare ``<t>``.

    Okta's "HTTP Header" auth mode may send the token without a scheme (docs/okta.md §2.2).
    """
    value = header.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


@functools.lru_cache(maxsize=16)
def _parsed(setting: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(setting))


def _limits(name: str) -> tuple[RateLimitItem, ...]:
    """The limits a setting such as ``"1200 per minute"`` names (none when empty).

    ``config.load_config`` has already refused a setting that does not parse.
    """
    setting = str(current_app.config.get(name) or "").strip()
    return _parsed(setting) if setting else ()


def _retry_after(items: tuple[RateLimitItem, ...], *key: str) -> int:
    """Whole seconds until every exhausted window has room again; at least 1.

    Okta honours 429 with an integer Retry-After (docs/okta.md §1.9): never a date, a fraction or 0.
    """
    now = time.time()
    try:
        waits = [
            limiter.limiter.get_window_stats(item, *key).reset_time - now
            for item in items
            if not limiter.limiter.test(item, *key)
        ]
    except Exception:  # the storage failed since the check: the next window is a fair guess
        log.warning("SCIM rate-limit storage failed", exc_info=True)
        waits = [float(item.get_expiry()) for item in items]
    return max(1, math.ceil(max(waits, default=1)))


def _throttled(error: str, items: tuple[RateLimitItem, ...], *key: str) -> TooManyRequestsError:
    return TooManyRequestsError(error, retry_after=_retry_after(items, *key))


def _limiter_ready() -> bool:
    return bool(limiter.enabled and limiter.initialized)


def _over(items: tuple[RateLimitItem, ...], *key: str, count: bool) -> bool:
    """Whether a request for ``key`` is over any limit (``count`` it as a hit, or only look).

    A broken limiter storage (Redis down) lets requests through: throttling protects the
    service, and must not itself stop Okta's provisioning.
    """
    if not items or not _limiter_ready():
        return False
    try:
        if count:
            # Hit every window (no short-circuit), so each one counts this request.
            return not all([limiter.limiter.hit(item, *key) for item in items])
        return not all(limiter.limiter.test(item, *key) for item in items)
    except Exception:  # the storage backend's own errors (redis, memcached, ...)
        log.warning("SCIM rate-limit storage failed; request let through", exc_info=True)
        return False


def _refuse(detail: str) -> UnauthorizedError | TooManyRequestsError:
    """The error for a failed authentication: 401, or 429 once the address has failed too often.

    Only 401 answers are counted, per client address. A valid token is let through even from
    an address that is over its failure limit: Okta sends from egress addresses shared by all
    its customers (and anyone can point a trial Okta org at this service with a wrong token),
    so blocking the address would let a stranger's misconfiguration, or an attacker, cut off
    our own org's provisioning. Guessing gains nothing in exchange: tokens carry 256 random
    bits, so the throttle's job is to slow down broken or hostile clients (429 + Retry-After
    makes Okta back off), not to stop a brute force that cannot succeed.
    """
    items = _limits("SCIM_AUTH_FAILURE_LIMIT")
    address = get_remote_address()
    if _over(items, AUTH_FAILURE_SCOPE, address, count=False):
        return _throttled(
            "too many failed SCIM authentications from this address; retry later",
            items,
            AUTH_FAILURE_SCOPE,
            address,
        )
    _over(items, AUTH_FAILURE_SCOPE, address, count=True)
    return UnauthorizedError(detail)


def authenticate() -> None:
    """Resolve the caller's token and integration into ``g``, within the token's rate limit.

    :raises UnauthorizedError: when the token is missing, unknown or revoked.
    :raises TooManyRequestsError: when the token is over SCIM_RATE_LIMIT, or when the token
        is not valid and the client address is over SCIM_AUTH_FAILURE_LIMIT.
    """
    raw = token_from_header(request.headers.get("Authorization", ""))
    if not raw:
        raise _refuse("authentication required: send Authorization: Bearer <token>")
    token = authenticate_token(raw)
    if token is None:
        raise _refuse("the SCIM token is invalid or has been revoked")
    g.scim_token = token
    g.integration = token.integration
    items = _limits("SCIM_RATE_LIMIT")
    key = (TOKEN_SCOPE, str(token.id))
    if _over(items, *key, count=True):
        raise _throttled("too many requests with this SCIM token; retry later", items, *key)
