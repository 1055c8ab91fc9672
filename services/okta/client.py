"""Okta Management API client: group membership, user look-up and connection checks.

The calls and their wire format are described in docs/okta.md §4.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import threading
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import requests
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from services.okta.dpop import DPoPKey
from services.platform import metrics

__all__ = [
    "APP_SCOPE",
    "OKTA_DOMAINS",
    "SCOPES",
    "ConnectionCheck",
    "Credential",
    "OAuthCredential",
    "OktaAuthError",
    "OktaClient",
    "OktaError",
    "OktaNotFoundError",
    "OktaRateLimitedError",
    "OktaRequestError",
    "OktaTokenError",
    "OktaUnavailableError",
    "RateLimit",
    "SswsCredential",
    "clear_token_cache",
    "normalize_org_url",
    "parse_app_ref",
    "parse_group_ref",
]

#: Scopes asked of the org authorization server; the service app must have them granted.
SCOPES: Final = "okta.groups.manage okta.users.read"
#: Asked for as well when the integration has an app id: reading the app's assignments.
APP_SCOPE: Final = "okta.apps.read"
#: Domains Okta serves orgs from; an org URL must be a subdomain of one (or an allowed custom host).
OKTA_DOMAINS: Final = (
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "okta-gov.com",
    "okta.mil",
    "trexcloud.com",
)
USER_AGENT: Final = "scim-onboard/1"
# The org authorization server, not /oauth2/default: only it issues okta.* scopes (§4.2).
TOKEN_PATH: Final = "/oauth2/v1/token"  # noqa: S105 (a URL path, not a secret)

_TOKEN_REFRESH_MARGIN: Final = 60.0  # seconds before expires_in runs out
_DEFAULT_TOKEN_LIFETIME: Final = 3600  # Okta's lifetime is "fixed at one hour"
_ASSERTION_LIFETIME: Final = 300  # Okta refuses client assertions that live over an hour
_DEFAULT_RETRY_AFTER: Final = timedelta(seconds=60)
_MIN_RETRY_AFTER: Final = timedelta(seconds=1)
_GROUP_ID: Final = re.compile(r"00g[A-Za-z0-9]{17}")
_APP_ID: Final = re.compile(r"0oa[A-Za-z0-9]{17}")
_OKTA_ID: Final = re.compile(r"[A-Za-z0-9]{20}")
_HEADER_SAFE: Final = re.compile(r"[\x21-\x7e]+")  # one printable token, nothing to inject
_HOST_NAME: Final = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*")
_EC_ALGORITHMS: Final = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_EC_CURVES: Final = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_SIGNING_ALGORITHMS: Final = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})
_DPOP_ERRORS: Final = frozenset({"invalid_dpop_proof", "use_dpop_nonce"})
_NO_DPOP_KEY_MESSAGE: Final = (
    "Okta requires DPoP (proof-of-possession) tokens for this service app, but this client has "
    "no DPoP key. Save the service app's credential again so that a key is made for it."
)
_TOKEN_ATTEMPTS: Final = 3  # without a proof, with a proof, with the server's fresh nonce


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


_NO_RATE_LIMIT: Final = RateLimit(None, None, None)


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


# --- Credentials -------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class SswsCredential:
    """An Okta API token, sent as ``Authorization: SSWS <token>``."""

    token: str

    def __post_init__(self) -> None:
        """Strip pasted whitespace; refuse tokens that cannot be a header value.

        :raises ValueError: the token is empty or contains spaces or control characters.
        """
        token = self.token.strip()
        if not _HEADER_SAFE.fullmatch(token):
            raise ValueError(
                "The API token is empty or contains spaces or control characters; copy it again."
            )
        object.__setattr__(self, "token", token)

    def __repr__(self) -> str:
        """Name the credential without its secret."""
        return "SswsCredential(token=<hidden>)"


@dataclass(frozen=True, repr=False)
class OAuthCredential:
    """An OAuth 2.0 service app authenticating with private_key_jwt (PEM or JWK private key).

    ``dpop_key`` (JWK JSON, see services.okta.dpop) binds the app's tokens when Okta requires DPoP.
    """

    client_id: str
    private_key: str
    key_id: str | None = None
    dpop_key: str | None = None

    def __post_init__(self) -> None:
        """Strip pasted whitespace.

        :raises ValueError: the client id or the private key is empty.
        """
        client_id = self.client_id.strip()
        if not client_id:
            raise ValueError("The service app's client ID is empty.")
        if not self.private_key.strip():
            raise ValueError("The service app's private key is empty.")
        object.__setattr__(self, "client_id", client_id)
        object.__setattr__(self, "key_id", (self.key_id or "").strip() or None)

    def __repr__(self) -> str:
        """Name the credential without its private key."""
        return (
            f"OAuthCredential(client_id={self.client_id!r}, key_id={self.key_id!r}, "
            "private_key=<hidden>, dpop_key=<hidden>)"
        )


Credential = SswsCredential | OAuthCredential


@dataclass(frozen=True)
class _SigningKey:
    key: RSAKey | ECKey
    alg: str
    kid: str | None


def _key_error(why: str) -> OktaTokenError:
    return OktaTokenError(
        f"The service app's private key could not be used: {why}. Paste the private key as PEM "
        "(-----BEGIN PRIVATE KEY-----) or as the JSON (JWK) that Okta generated."
    )


def _load_signing_key(credential: OAuthCredential) -> _SigningKey:
    """Read the PEM or JWK private key and pick the JWS algorithm Okta accepts for it."""
    text = credential.private_key.strip()
    # Every branch raises "from None": a chained parser error could quote the key.
    try:
        if text.startswith("{"):
            return _load_jwk(text, credential.key_id)
        return _load_pem(text, credential.key_id)
    except OktaTokenError:
        raise
    except TypeError:
        raise _key_error("it is encrypted with a passphrase; export it without one") from None
    except (ValueError, UnsupportedAlgorithm, JoseError):
        raise _key_error("it is not a valid RSA or EC private key") from None


def _load_pem(text: str, key_id: str | None) -> _SigningKey:
    private = load_pem_private_key(text.encode(), password=None)
    if isinstance(private, rsa.RSAPrivateKey):
        return _SigningKey(RSAKey.import_key(text), "RS256", key_id)
    if isinstance(private, ec.EllipticCurvePrivateKey):
        curve = _EC_CURVES.get(private.curve.name)
        if curve is None:
            raise _key_error(f"the curve {private.curve.name} is not one Okta accepts")
        return _SigningKey(ECKey.import_key(text), _EC_ALGORITHMS[curve], key_id)
    raise _key_error("Okta accepts only RSA and EC keys")


def _load_jwk(text: str, key_id: str | None) -> _SigningKey:
    data = json.loads(text)
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        if len(data["keys"]) != 1:
            raise _key_error("the JSON holds several keys; paste only the one registered")
        data = data["keys"][0]
    if not isinstance(data, dict):
        raise _key_error("the JSON is not a key")
    if "d" not in data:
        raise _key_error("it is the public key; paste the private key")
    kid = key_id or (data["kid"] if isinstance(data.get("kid"), str) else None)
    key: RSAKey | ECKey
    if data.get("kty") == "RSA":
        key, default_alg = RSAKey.import_key(data), "RS256"
    elif data.get("kty") == "EC" and data.get("crv") in _EC_ALGORITHMS:
        key, default_alg = ECKey.import_key(data), _EC_ALGORITHMS[data["crv"]]
    else:
        raise _key_error("Okta accepts only RSA and EC (P-256/384/521) keys")
    alg = data.get("alg") or default_alg
    if alg not in _SIGNING_ALGORITHMS:
        raise _key_error(f"the key's algorithm {alg!r} is not one Okta accepts")
    return _SigningKey(key, alg, kid)


# --- Access-token cache ------------------------------------------------------------------------

# (org URL, client id, sha256 of the signing and DPoP keys, scopes)
_CacheKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class _CachedToken:
    access_token: str
    scheme: str  # "Bearer", or "DPoP" for a token bound to the integration's DPoP key
    refresh_at: float  # time.monotonic()


class _TokenCache:
    """Process-wide access tokens, shared by every client of the same org, app and key.

    It also remembers which apps Okta wants DPoP proofs from (so later token requests send
    one at once) and the last ``DPoP-Nonce`` each of an org's servers handed out.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[_CacheKey, _CachedToken] = {}
        self._fetch_locks: dict[_CacheKey, threading.Lock] = {}
        self._dpop_required: set[_CacheKey] = set()
        self._nonces: dict[tuple[str, str], str] = {}

    def get(self, key: _CacheKey) -> _CachedToken | None:
        with self._lock:
            cached = self._tokens.get(key)
            if cached is None:
                return None
            if time.monotonic() >= cached.refresh_at:
                del self._tokens[key]
                return None
            return cached

    def put(self, key: _CacheKey, token: _CachedToken) -> None:
        with self._lock:
            self._tokens[key] = token

    def dpop_required(self, key: _CacheKey) -> bool:
        with self._lock:
            return key in self._dpop_required

    def require_dpop(self, key: _CacheKey) -> None:
        with self._lock:
            self._dpop_required.add(key)

    def nonce(self, org_url: str, server: str) -> str | None:
        with self._lock:
            return self._nonces.get((org_url, server))

    def keep_nonce(self, org_url: str, server: str, response: requests.Response) -> bool:
        """Remember the response's ``DPoP-Nonce``; True when it is new."""
        nonce = response.headers.get("DPoP-Nonce")
        if not nonce or not _HEADER_SAFE.fullmatch(nonce):
            return False
        with self._lock:
            new = self._nonces.get((org_url, server)) != nonce
            self._nonces[(org_url, server)] = nonce
            return new

    def discard(self, key: _CacheKey, access_token: str) -> None:
        """Forget the token, unless another thread has already replaced it."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.access_token == access_token:
                del self._tokens[key]

    def fetch_lock(self, key: _CacheKey) -> threading.Lock:
        """One lock per key, so concurrent callers wait for a single token request."""
        with self._lock:
            return self._fetch_locks.setdefault(key, threading.Lock())

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._dpop_required.clear()
            self._nonces.clear()


_TOKENS = _TokenCache()


def clear_token_cache() -> None:
    """Forget every cached access token (tests; after rotating a service app's key)."""
    _TOKENS.clear()


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionCheck:
    """Whether the configured org, credential and group can be used, and why not."""

    ok: bool
    reason: str
    group_name: str | None = None
    group_type: str | None = None


# --- Client ------------------------------------------------------------------------------------


def _segment(value: str) -> str:
    if not value:
        raise ValueError("An Okta id must not be empty.")
    return quote(value, safe="")


def _root_reason(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 failure, worded for an admin."""
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        reason = getattr(current, "reason", None)
        following = [reason, current.__cause__, current.__context__]
        nxt = next((e for e in following if isinstance(e, BaseException)), None)
        if nxt is None:
            break
        current = nxt
    verify_message = getattr(current, "verify_message", None)
    if isinstance(verify_message, str) and verify_message:
        return f"certificate verify failed: {verify_message}"
    if isinstance(current, OSError) and current.strerror:
        return current.strerror
    return str(current) or type(current).__name__


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _www_authenticate_description(response: requests.Response) -> str | None:
    # OAuth-token 403s explain a missing scope here (error="insufficient_scope").
    match = re.search(r'error_description="([^"]*)"', response.headers.get("WWW-Authenticate", ""))
    return match.group(1) if match else None


def _api_error(response: requests.Response, rate_limit: RateLimit, what: str) -> OktaError:
    """Map an unsuccessful answer of the Management API to an OktaError."""
    body = _json_or_none(response)
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


def _check_base_url(org_url: str) -> str:
    parts = urlsplit(org_url.strip())
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        raise ValueError("The org URL must be https://host[:port]; see normalize_org_url().")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("The org URL must not have a path; see normalize_org_url().")
    return f"https://{parts.netloc.lower()}"


class OktaClient:
    """The Okta Management API calls this service makes, over one ``requests`` session."""

    def __init__(
        self,
        org_url: str,
        credential: Credential,
        *,
        timeout: float = 10.0,
        verify: bool | str = True,
        session: requests.Session | None = None,
        scopes: str = SCOPES,
    ) -> None:
        """Prepare a client; no request is sent yet. ``scopes``: what a service app asks for.

        :raises ValueError: ``org_url`` is not ``https://host[:port]`` (use normalize_org_url).
        """
        self.org_url = _check_base_url(org_url)
        self.credential = credential
        self.scopes = scopes
        self.timeout = timeout
        self.verify = verify
        self.last_rate_limit: RateLimit | None = None
        self._host = urlsplit(self.org_url).netloc
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._cache_key: _CacheKey | None = None
        self._dpop: DPoPKey | None = None
        if isinstance(credential, OAuthCredential):
            keys = f"{credential.private_key}\n{credential.dpop_key or ''}"
            digest = hashlib.sha256(keys.encode()).hexdigest()
            self._cache_key = (self.org_url, credential.client_id, digest, scopes)
            if credential.dpop_key:
                try:
                    self._dpop = DPoPKey.from_json(credential.dpop_key)
                except ValueError:
                    self._dpop = None  # a token request that needs it says so

    def __repr__(self) -> str:
        """Name the org and credential type, never the secret."""
        return f"OktaClient({self.org_url!r}, {self.credential!r})"

    def __enter__(self) -> OktaClient:
        """Use the client in a ``with`` block that closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the client."""
        self.close()

    def close(self) -> None:
        """Close the HTTP session, unless the caller passed in its own."""
        if self._owns_session:
            self._session.close()

    # Public calls ------------------------------------------------------------------------------

    def add_user_to_group(self, group_id: str, user_id: str) -> RateLimit:
        """Add the user to the group (PUT …/groups/{g}/users/{u}).

        :raises OktaError: any failure; OktaAuthError (E0000006) for a group that is not OKTA_GROUP.
        """
        path = f"/api/v1/groups/{_segment(group_id)}/users/{_segment(user_id)}"
        _, rate_limit = self._call("PUT", path, ok=(200, 204))
        return rate_limit

    def remove_user_from_group(self, group_id: str, user_id: str) -> RateLimit:
        """Remove the user from the group; a user or group Okta no longer has counts as done.

        :raises OktaError: any other failure.
        """
        path = f"/api/v1/groups/{_segment(group_id)}/users/{_segment(user_id)}"
        try:
            _, rate_limit = self._call("DELETE", path, ok=(200, 204))
        except OktaNotFoundError as exc:
            # E0000007: the user or the group is gone, so the user is not in the group.
            if exc.error_code == "E0000007":
                return exc.rate_limit or _NO_RATE_LIMIT
            raise
        return rate_limit

    def get_group(self, group_id: str) -> dict[str, Any]:
        """The group object (``id``, ``type``, ``profile.name`` …).

        :raises OktaNotFoundError: no such group.
        :raises OktaError: any other failure.
        """
        path = f"/api/v1/groups/{_segment(group_id)}"
        response, _ = self._call("GET", path)
        body = _json_or_none(response)
        if not isinstance(body, dict):
            raise OktaRequestError(f"Okta answered GET {path} with something other than a group")
        return body

    def group_member_ids(self, group_id: str, page_size: int = 200) -> Iterator[str]:
        """The ids of the group's members, page by page, following ``Link: rel="next"``.

        :raises OktaNotFoundError: no such group.
        :raises OktaError: any other failure (a page that cannot be read stops the walk).
        """
        path = f"/api/v1/groups/{_segment(group_id)}/users"
        for members in self._pages(path, {"limit": str(page_size)}):
            for member in members:
                if isinstance(member.get("id"), str):
                    yield member["id"]

    def system_log(
        self, since: datetime, until: datetime, event_types: Collection[str], page_size: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """System Log events of ``event_types`` published in [since, until), oldest first.

        A bounded request (both ``since`` and ``until``): Okta's ``rel="next"`` links run out
        once every event is returned (an empty page ends the walk too). Needs
        ``okta.logs.read``, or an API token of an admin who can read the System Log.

        :raises OktaError: any failure (a page that cannot be read stops the walk).
        """
        expression = " or ".join(f'eventType eq "{kind}"' for kind in sorted(event_types))
        query = {
            "since": since.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "until": until.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "filter": expression,
            "sortOrder": "ASCENDING",
            "limit": str(page_size),
        }
        for events in self._pages("/api/v1/logs", query):
            yield from events

    def _pages(self, path: str, query: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        """GET ``path`` and each page its ``Link: rel="next"`` names, until the links or the
        results run out (docs/okta.md §4.1); a link that leaves the org stops the walk.

        :raises OktaError: any failure, or an answer that is not a list.
        """
        while True:
            response, _ = self._call("GET", path, query=query)
            page = _json_or_none(response)
            if not isinstance(page, list):
                raise OktaRequestError(f"Okta answered GET {path} with something other than a list")
            yield [item for item in page if isinstance(item, dict)]
            next_url = response.links.get("next", {}).get("url")
            if not page or not next_url:
                return
            if not next_url.startswith(self.org_url + "/"):
                raise OktaRequestError(f"Okta's next link leaves the org: {next_url[:200]}")
            path, _, raw = next_url.removeprefix(self.org_url).partition("?")
            query = dict(parse_qsl(raw))

    def get_user(self, user_id: str) -> dict[str, Any]:
        """The Okta user object (``id``, ``status``, ``profile.login``, ``profile.email`` …).

        :raises OktaNotFoundError: no such user.
        :raises OktaError: any other failure.
        """
        path = f"/api/v1/users/{_segment(user_id)}"
        response, _ = self._call("GET", path)
        body = _json_or_none(response)
        if not isinstance(body, dict) or not isinstance(body.get("profile"), dict):
            raise OktaRequestError(f"Okta answered GET {path} with something other than a user")
        return body

    def is_assigned_to_app(self, app_id: str, user_id: str) -> bool:
        """Whether the user is assigned to the app (directly or through a group).

        GET /api/v1/apps/{app}/users/{user} answers 200 with the assignment, or 404 (E0000007)
        when there is none. Needs ``okta.apps.read``.

        :raises OktaError: any failure other than "not assigned".
        """
        path = f"/api/v1/apps/{_segment(app_id)}/users/{_segment(user_id)}"
        try:
            self._call("GET", path)
        except OktaNotFoundError:
            return False
        return True

    def find_user_id(self, login: str) -> str | None:
        """The id of the Okta user whose login is ``login`` (case-insensitive), or None.

        :raises OktaError: any failure other than "no such user".
        """
        if not login:
            return None
        # Logins containing "/" can only be fetched by id (docs/okta.md §4.1): search for them.
        if "/" not in login:
            try:
                response, _ = self._call("GET", f"/api/v1/users/{quote(login, safe='')}")
            except OktaNotFoundError:
                return None
            user = _json_or_none(response)
            if _login_of(user).casefold() == login.casefold() and isinstance(user, dict):
                return str(user["id"]) if user.get("id") else None
            # Okta also resolves ids and login shortnames here ("jdoe" → "jdoe@acme.com");
            # only an exact login counts, so ask the filter, which matches the login alone.
        escaped = login.replace("\\", "\\\\").replace('"', '\\"')
        query = {"filter": f'profile.login eq "{escaped}"', "limit": "200"}
        response, _ = self._call("GET", "/api/v1/users", query=query)
        users = _json_or_none(response)
        for user in users if isinstance(users, list) else ():
            if isinstance(user, dict) and _login_of(user).casefold() == login.casefold():
                return str(user["id"]) if user.get("id") else None
        return None

    def check_connection(self, group_id: str, app_id: str | None = None) -> ConnectionCheck:
        """Check that the credential works, the group exists and is an OKTA_GROUP, users can
        be read, and (with an app id) the app's assignments can be read."""
        try:
            group = self.get_group(group_id)
        except OktaNotFoundError:
            return ConnectionCheck(
                False,
                f"Okta has no group with ID {group_id} in {self._host}. Open the group in the "
                "Admin Console (Directory → Groups) and paste the page's URL here.",
            )
        except OktaError as exc:
            return ConnectionCheck(False, self._failure_reason(exc, "read the group"))
        raw_profile = group.get("profile")
        profile: dict[str, Any] = raw_profile if isinstance(raw_profile, dict) else {}
        name = profile.get("name") if isinstance(profile.get("name"), str) else None
        group_type = group.get("type") if isinstance(group.get("type"), str) else None
        shown = f'"{name}"' if name else group_id
        if group_type != "OKTA_GROUP":
            return ConnectionCheck(False, _group_type_reason(shown, group_type), name, group_type)
        try:
            # find_user_id needs okta.users.read and an admin role that can see users.
            self._call("GET", "/api/v1/users", query={"limit": "1"})
        except OktaError as exc:
            reason = self._failure_reason(exc, "read users")
            return ConnectionCheck(False, reason, name, group_type)
        if app_id:
            app_problem = self._check_app(app_id)
            if app_problem:
                return ConnectionCheck(False, app_problem, name, group_type)
        return ConnectionCheck(
            True,
            f"Connected to {self._host}. Group {shown} is an Okta group (OKTA_GROUP), "
            "so its members can be changed through the API.",
            name,
            group_type,
        )

    def check_operations(self, group_id: str) -> tuple[str | None, int]:
        """Prove what the service does with the group, beyond reading it: list its members,
        change its membership (an idempotent re-add of a current member, when it has one),
        and read the System Log. Returns (why not, members seen on the first page)."""
        path = f"/api/v1/groups/{_segment(group_id)}/users"
        try:
            response, _ = self._call("GET", path, query={"limit": "200"})
        except OktaError as exc:
            return self._failure_reason(exc, "list the group's members"), 0
        members = [
            m["id"] for m in _json_or_none(response) or [] if isinstance(m, dict) and m.get("id")
        ]
        if members:
            try:
                # Okta answers 204 to adding a member again and changes nothing.
                self.add_user_to_group(group_id, str(members[0]))
            except OktaError as exc:
                return self._failure_reason(exc, "change the group's membership"), len(members)
        try:
            self._call("GET", "/api/v1/logs", query={"limit": "1"})
        except OktaError as exc:
            reason = self._failure_reason(exc, "read the System Log (okta.logs.read)")
            return reason, len(members)
        return None, len(members)

    def _check_app(self, app_id: str) -> str | None:
        """Why the app's assignments cannot be read (the grant checks need them), or None."""
        try:
            self._call("GET", f"/api/v1/apps/{_segment(app_id)}/users", query={"limit": "1"})
        except OktaNotFoundError:
            return (
                f"Okta has no app with ID {app_id} in {self._host}. Open the app in the Admin "
                "Console (Applications → Applications) and paste the page's URL as the app id."
            )
        except OktaError as exc:
            return self._failure_reason(exc, "read the app's assignments (okta.apps.read)")
        return None

    # Reasons -----------------------------------------------------------------------------------

    def _failure_reason(self, exc: OktaError, action: str) -> str:
        """An admin-readable reason for a failed check."""
        okta = f" ({exc.error_code}: {exc.error_summary})" if exc.error_code else ""
        oauth = isinstance(self.credential, OAuthCredential)
        if isinstance(exc, OktaTokenError):
            return _token_reason(exc)
        if isinstance(exc, OktaAuthError) and exc.status == 401:
            if oauth:
                return (
                    f"Okta rejected the service app's access token{okta}. Check that the "
                    "service app is active and try again."
                )
            return (
                f"Okta rejected the API token{okta}. Check that it was copied completely and "
                "has not been revoked or expired (API tokens expire after 30 days without use), "
                "or create a new one under Security → API → Tokens."
            )
        if isinstance(exc, OktaAuthError):
            if oauth:
                fix = (
                    "Grant the okta.groups.manage and okta.users.read scopes (and okta.apps.read "
                    "when an app id is set) on the service app's Okta API Scopes tab, and assign "
                    "it an admin role on its Admin roles tab: Group Membership Administrator for "
                    "this group, plus Read-only Administrator to read users and apps."
                )
            else:
                fix = (
                    "An API token acts with the rights of the admin who created it: create the "
                    "token as an admin whose role can manage this group and read users (e.g. "
                    "Group Membership Administrator for this group plus Read-only Administrator)."
                )
            return f"The credential works, but Okta does not allow it to {action}{okta}. {fix}"
        if isinstance(exc, OktaRateLimitedError):
            return (
                f"Okta's rate limit for this org is used up until "
                f"{exc.retry_at:%H:%M:%S} UTC. Try again after that."
            )
        if isinstance(exc, OktaUnavailableError) and exc.status is None:
            return f"Could not reach Okta at {self.org_url}: {exc}"
        if isinstance(exc, OktaUnavailableError):
            return f"Okta is having trouble (HTTP {exc.status}); try again later. {exc}"
        return f"Okta refused the request: {exc}"

    # HTTP ------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        ok: Collection[int] = (200,),
    ) -> tuple[requests.Response, RateLimit]:
        """Send one Management API request; return the answer if its status is in ``ok``."""
        url = self.org_url + path
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        what = f"{method} {path}"
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        if method in ("PUT", "POST", "DELETE"):
            headers["Content-Length"] = "0"  # Okta answers 411 to a bodiless PUT without it
        token, cached = self._authorization()
        response = self._send(
            method, url, headers | self._auth_headers(token, method, url), None, what
        )
        if self._asks_for_nonce(token, response):
            # The resource server wants a proof with its nonce (RFC 9449 §9): once more with it.
            response = self._send(
                method, url, headers | self._auth_headers(token, method, url), None, what
            )
        if response.status_code == 401 and cached and self._cache_key is not None:
            # The cached token was revoked or expired early: fetch a fresh one and retry once.
            _TOKENS.discard(self._cache_key, token.access_token)
            token, _ = self._authorization()
            response = self._send(
                method, url, headers | self._auth_headers(token, method, url), None, what
            )
        rate_limit = RateLimit.from_headers(response.headers)
        self.last_rate_limit = rate_limit
        if response.status_code in ok:
            return response, rate_limit
        raise _api_error(response, rate_limit, what)

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        data: str | None,
        what: str,
    ) -> requests.Response:
        """One HTTP exchange; transport failures become OktaUnavailableError."""
        status: int | None = None
        try:
            response = self._session.request(
                method,
                url,
                headers=headers,
                data=data,
                timeout=(self.timeout, self.timeout),
                verify=self.verify,
                allow_redirects=False,
            )
            status = response.status_code
            return response
        except requests.exceptions.SSLError as exc:
            raise OktaUnavailableError(
                f"Could not make a trusted TLS connection to {self._host} ({what}): "
                f"{_root_reason(exc)}"
            ) from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise OktaUnavailableError(
                f"Timed out after {self.timeout:g} s connecting to {self._host} ({what})"
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise OktaUnavailableError(
                f"Okta did not answer {what} within {self.timeout:g} s"
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise OktaUnavailableError(
                f"Could not connect to {self._host} ({what}): {_root_reason(exc)}"
            ) from exc
        except requests.RequestException as exc:
            # Other errors (e.g. InvalidHeader) may quote header values: keep them out.
            raise OktaUnavailableError(
                f"The request {what} to {self._host} failed: {type(exc).__name__}"
            ) from None
        finally:
            metrics.okta_api_call(method, status)

    # OAuth -----------------------------------------------------------------------------------

    def _authorization(self) -> tuple[_CachedToken, bool]:
        """The credential to send, and whether it came from the token cache."""
        credential = self.credential
        if isinstance(credential, SswsCredential):
            return _CachedToken(credential.token, "SSWS", float("inf")), False
        assert self._cache_key is not None
        cached = _TOKENS.get(self._cache_key)
        if cached is not None:
            return cached, True
        with _TOKENS.fetch_lock(self._cache_key):
            cached = _TOKENS.get(self._cache_key)
            if cached is not None:  # another thread fetched it while we waited
                return cached, True
            token = self._fetch_token(credential)
            _TOKENS.put(self._cache_key, token)
            return token, False

    def _auth_headers(self, token: _CachedToken, method: str, url: str) -> dict[str, str]:
        """``Authorization``, plus a fresh ``DPoP`` proof bound to the token when it is DPoP."""
        headers = {"Authorization": f"{token.scheme} {token.access_token}"}
        if token.scheme == "DPoP" and self._dpop is not None:
            nonce = _TOKENS.nonce(self.org_url, "api")
            headers["DPoP"] = self._dpop.proof(
                method, url, nonce=nonce, access_token=token.access_token
            )
        return headers

    def _asks_for_nonce(self, token: _CachedToken, response: requests.Response) -> bool:
        """Keep the API's ``DPoP-Nonce``; True when a 401 asked for a nonce we now have."""
        if token.scheme != "DPoP":
            return False
        new_nonce = _TOKENS.keep_nonce(self.org_url, "api", response)
        challenge = response.headers.get("WWW-Authenticate", "")
        return response.status_code == 401 and new_nonce and "use_dpop_nonce" in challenge

    def _token_request(
        self, credential: OAuthCredential, token_url: str
    ) -> tuple[dict[str, str], str]:
        """Headers and form of one client-credentials request, with a fresh client assertion."""
        signing = _load_signing_key(credential)
        client_auth = ClientAuth(
            credential.client_id,
            signing.key,
            PrivateKeyJWT(
                token_url,  # the assertion's aud
                claims={"exp": int(time.time()) + _ASSERTION_LIFETIME},
                headers={"kid": signing.kid} if signing.kid else None,
                alg=signing.alg,
            ),
        )
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
        }
        form = urlencode({"grant_type": "client_credentials", "scope": self.scopes})
        try:
            _, headers, form = client_auth.prepare("POST", token_url, headers, form)
        except (JoseError, ValueError, TypeError):
            raise _key_error(f"signing the client assertion with {signing.alg} failed") from None
        return headers, form

    def _fetch_token(self, credential: OAuthCredential) -> _CachedToken:
        """Run the client-credentials grant with a private_key_jwt assertion (docs/okta.md §4.2).

        An app that requires DPoP answers ``invalid_dpop_proof`` and then ``use_dpop_nonce``
        with a ``DPoP-Nonce``: the request is repeated with a proof, then with the nonce, and
        the app is remembered so that its next token request carries a proof at once.

        :raises OktaTokenError: Okta refused the app, its key, its scopes or its DPoP proof.
        """
        assert self._cache_key is not None
        token_url = self.org_url + TOKEN_PATH
        what = f"POST {TOKEN_PATH}"
        use_dpop = self._dpop is not None and _TOKENS.dpop_required(self._cache_key)
        for _attempt in range(_TOKEN_ATTEMPTS):
            headers, form = self._token_request(credential, token_url)
            if use_dpop and self._dpop is not None:
                nonce = _TOKENS.nonce(self.org_url, "token")
                headers["DPoP"] = self._dpop.proof("POST", token_url, nonce=nonce)
            started = time.monotonic()
            response = self._send("POST", token_url, headers, form, what)
            new_nonce = _TOKENS.keep_nonce(self.org_url, "token", response)
            rate_limit = RateLimit.from_headers(response.headers)
            self.last_rate_limit = rate_limit
            body = _json_or_none(response)
            body = body if isinstance(body, dict) else {}
            if response.status_code == 200:
                return self._issued_token(body, started, use_dpop, rate_limit)
            error = body.get("error") if isinstance(body.get("error"), str) else None
            if error == "invalid_dpop_proof" and self._dpop is not None and not use_dpop:
                use_dpop = True
                _TOKENS.require_dpop(self._cache_key)
                continue
            if error == "use_dpop_nonce" and use_dpop and new_nonce:
                continue
            break
        raise self._token_error(response, body, rate_limit, what)

    def _issued_token(
        self, body: dict[str, Any], started: float, use_dpop: bool, rate_limit: RateLimit
    ) -> _CachedToken:
        access_token = body.get("access_token")
        token_type = str(body.get("token_type", "Bearer"))
        scheme = "DPoP" if token_type.lower() == "dpop" else "Bearer"
        if scheme == "DPoP" and not use_dpop:
            raise OktaTokenError(_NO_DPOP_KEY_MESSAGE, status=200, rate_limit=rate_limit)
        if isinstance(access_token, str) and _HEADER_SAFE.fullmatch(access_token):
            lifetime = body.get("expires_in", _DEFAULT_TOKEN_LIFETIME)
            if not isinstance(lifetime, int | float) or isinstance(lifetime, bool):
                lifetime = _DEFAULT_TOKEN_LIFETIME
            refresh_at = started + float(lifetime) - _TOKEN_REFRESH_MARGIN
            return _CachedToken(access_token, scheme, refresh_at)
        raise OktaTokenError(
            f"Okta's token endpoint answered POST {TOKEN_PATH} without a usable access token",
            status=200,
            rate_limit=rate_limit,
        )

    def _token_error(
        self,
        response: requests.Response,
        body: dict[str, Any],
        rate_limit: RateLimit,
        what: str,
    ) -> OktaError:
        error = body.get("error") if isinstance(body.get("error"), str) else None
        description = body.get("error_description")
        description = description if isinstance(description, str) else None
        fields: dict[str, Any] = {
            "status": response.status_code,
            "error_code": error,
            "error_summary": description,
            "rate_limit": rate_limit,
        }
        if error in _DPOP_ERRORS and self._dpop is None:
            return OktaTokenError(_NO_DPOP_KEY_MESSAGE, **fields)
        if error in _DPOP_ERRORS:
            detail = f" ({description})" if description else ""
            return OktaTokenError(
                f"Okta refused the DPoP proof of the token request: {error}{detail}", **fields
            )
        if response.status_code == 429 or response.status_code >= 500 or not error:
            return _api_error(response, rate_limit, what)
        detail = f"{error}: {description}" if description else error
        return OktaTokenError(f"Okta refused to issue an access token ({detail})", **fields)


def _login_of(user: object) -> str:
    if isinstance(user, dict) and isinstance(user.get("profile"), dict):
        login = user["profile"].get("login")
        if isinstance(login, str):
            return login
    return ""


def _token_reason(exc: OktaTokenError) -> str:
    """What an admin should fix when Okta refuses the service app a token."""
    if exc.error_code in _DPOP_ERRORS or exc.error_code is None:
        return str(exc)
    detail = f"({exc.error_code}: {exc.error_summary})" if exc.error_summary else exc.error_code
    hints = {
        "invalid_client": (
            'Check the client ID, that the service app uses "Public key / Private key" client '
            "authentication, and that this private key's public key (and key ID, if several) "
            "is registered on the app."
        ),
        "invalid_scope": (
            "Grant the okta.groups.manage, okta.users.read and okta.logs.read scopes (and "
            "okta.apps.read when an app id is set) on the service app's Okta API Scopes tab."
        ),
        "unauthorized_client": (
            "Enable the Client Credentials grant type on the service app (an API Services app)."
        ),
    }
    hint = hints.get(exc.error_code, "Check the service app's settings in the Admin Console.")
    return f"Okta refused the service app an access token {detail}. {hint}"


def _group_type_reason(shown: str, group_type: str | None) -> str:
    """Why members of a group of this type cannot be changed through the API."""
    pick = "Pick a group created in Okta (type OKTA_GROUP)."
    if group_type == "APP_GROUP":
        return (
            f"Group {shown} is imported from an app or directory (type APP_GROUP); only that "
            f"import can change its members. {pick}"
        )
    if group_type == "BUILT_IN":
        return (
            f"Group {shown} is a built-in Okta group (type BUILT_IN, such as Everyone) whose "
            f"members Okta manages itself. {pick}"
        )
    return f"Group {shown} has type {group_type}; only OKTA_GROUP members can be changed. {pick}"


# --- Parsing admin input -----------------------------------------------------------------------

_GROUP_REF_HELP: Final = (
    "Enter the group's ID (20 letters and digits starting with 00g) or paste the URL of the "
    "group's page in the Okta Admin Console (https://<org>-admin.okta.com/admin/group/00g…)."
)


def parse_group_ref(text: str) -> str:
    """The group id in an id or an Admin Console group URL.

    :raises ValueError: neither a group id nor a group URL, with what to paste instead.
    """
    value = text.strip()
    if _GROUP_ID.fullmatch(value):
        return value
    if _OKTA_ID.fullmatch(value):
        raise ValueError(f"{value} is an Okta ID, but not a group's. {_GROUP_REF_HELP}")
    if "/" in value:
        parts = urlsplit(value if "://" in value else f"https://{value}")
        match = re.fullmatch(r"/admin/group/([A-Za-z0-9]+)(?:/.*)?", parts.path)
        if match and _GROUP_ID.fullmatch(match.group(1)):
            return match.group(1)
    raise ValueError(f"That is not an Okta group. {_GROUP_REF_HELP}")


_APP_REF_HELP: Final = (
    "Enter the app's ID (20 letters and digits starting with 0oa) or paste the URL of the "
    "app's page in the Okta Admin Console (https://<org>-admin.okta.com/admin/app/<name>/"
    "instance/0oa…/)."
)


def parse_app_ref(text: str) -> str:
    """The app instance id in an id or an Admin Console app URL.

    :raises ValueError: neither an app id nor an app URL, with what to paste instead.
    """
    value = text.strip()
    if _APP_ID.fullmatch(value):
        return value
    if _OKTA_ID.fullmatch(value):
        raise ValueError(f"{value} is an Okta ID, but not an app's. {_APP_REF_HELP}")
    if "/" in value:
        parts = urlsplit(value if "://" in value else f"https://{value}")
        match = re.search(r"/admin/app/[^/]+/instance/([A-Za-z0-9]+)(?:/|$)", parts.path)
        if match and _APP_ID.fullmatch(match.group(1)):
            return match.group(1)
    raise ValueError(f"That is not an Okta app. {_APP_REF_HELP}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def normalize_org_url(url: str, allowed_hosts: Collection[str] = ()) -> str:
    """``https://host`` of an Okta org (admin-console URLs map to the org).

    :raises ValueError: not https, not an Okta domain nor one of ``allowed_hosts``, or has
        userinfo / an IP literal / an unexpected port.
    """
    example = "e.g. https://acme.okta.com"
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise ValueError(f"The Okta org URL must start with https:// ({example}).")
    if "@" in parts.netloc:
        raise ValueError(f"The Okta org URL must not contain a user name or password ({example}).")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"The Okta org URL has an invalid port ({example}).") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"The Okta org URL has no host name ({example}).")
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port in (None, 443) else f"{shown_host}:{port}"
    allowed = {entry.strip().lower().rstrip("/") for entry in allowed_hosts}
    if netloc in allowed or (port in (None, 443) and f"{netloc}:443" in allowed):
        return f"https://{netloc}"
    if _is_ip(host):
        raise ValueError(f"Use the Okta org's domain name, not an IP address ({example}).")
    domain = next((d for d in OKTA_DOMAINS if host.endswith(f".{d}")), None)
    if domain is None or not _HOST_NAME.fullmatch(host):
        raise ValueError(
            f"{host} is not an Okta domain ({', '.join('*.' + d for d in OKTA_DOMAINS)}); "
            "a custom domain must first be allowed by the server's administrator."
        )
    if port not in (None, 443):
        raise ValueError(f"Okta orgs are served on the standard HTTPS port ({example}).")
    subdomain = host.removesuffix(f".{domain}")
    first, dot, rest = subdomain.partition(".")
    # The Admin Console lives at <org>-admin.okta.com; the API at <org>.okta.com.
    if first.endswith("-admin") and len(first) > len("-admin"):
        host = f"{first.removesuffix('-admin')}{dot}{rest}.{domain}"
    return f"https://{host}"
