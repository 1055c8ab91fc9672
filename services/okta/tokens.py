"""OAuth access tokens for a service app: the client-credentials grant with a private_key_jwt
assertion, DPoP proofs and nonces (RFC 9449), and a process-wide token cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import requests
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.errors import JoseError

from services.okta.credentials import OAuthCredential, SswsCredential, key_error, load_signing_key
from services.okta.dpop import DPoPKey
from services.okta.errors import OktaError, OktaTokenError, RateLimit, api_error
from services.okta.wire import HEADER_SAFE, USER_AGENT, json_or_none

# The org authorization server, not /oauth2/default: only it issues okta.* scopes (§4.2).
TOKEN_PATH: Final = "/oauth2/v1/token"  # noqa: S105 (a URL path, not a secret)
_TOKEN_REFRESH_MARGIN: Final = 60.0  # seconds before expires_in runs out
_DEFAULT_TOKEN_LIFETIME: Final = 3600  # Okta's lifetime is "fixed at one hour"
_ASSERTION_LIFETIME: Final = 300  # Okta refuses client assertions that live over an hour
DPOP_ERRORS: Final = frozenset({"invalid_dpop_proof", "use_dpop_nonce"})
_NO_DPOP_KEY_MESSAGE: Final = (
    "Okta requires DPoP (proof-of-possession) tokens for this service app, but this client has "
    "no DPoP key. Save the service app's credential again so that a key is made for it."
)
_TOKEN_ATTEMPTS: Final = 3  # without a proof, with a proof, with the server's fresh nonce


# --- Access-token cache ------------------------------------------------------------------------

# (org URL, client id, sha256 of the signing and DPoP keys, scopes)
CacheKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class CachedToken:
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
        self._tokens: dict[CacheKey, CachedToken] = {}
        self._fetch_locks: dict[CacheKey, threading.Lock] = {}
        self._dpop_required: set[CacheKey] = set()
        self._nonces: dict[tuple[str, str], str] = {}

    def get(self, key: CacheKey) -> CachedToken | None:
        with self._lock:
            cached = self._tokens.get(key)
            if cached is None:
                return None
            if time.monotonic() >= cached.refresh_at:
                del self._tokens[key]
                return None
            return cached

    def put(self, key: CacheKey, token: CachedToken) -> None:
        with self._lock:
            self._tokens[key] = token

    def dpop_required(self, key: CacheKey) -> bool:
        with self._lock:
            return key in self._dpop_required

    def require_dpop(self, key: CacheKey) -> None:
        with self._lock:
            self._dpop_required.add(key)

    def nonce(self, org_url: str, server: str) -> str | None:
        with self._lock:
            return self._nonces.get((org_url, server))

    def keep_nonce(self, org_url: str, server: str, response: requests.Response) -> bool:
        """Remember the response's ``DPoP-Nonce``; True when it is new."""
        nonce = response.headers.get("DPoP-Nonce")
        if not nonce or not HEADER_SAFE.fullmatch(nonce):
            return False
        with self._lock:
            new = self._nonces.get((org_url, server)) != nonce
            self._nonces[(org_url, server)] = nonce
            return new

    def discard(self, key: CacheKey, access_token: str) -> None:
        """Forget the token, unless another thread has already replaced it."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.access_token == access_token:
                del self._tokens[key]

    def fetch_lock(self, key: CacheKey) -> threading.Lock:
        """One lock per key, so concurrent callers wait for a single token request."""
        with self._lock:
            return self._fetch_locks.setdefault(key, threading.Lock())

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._dpop_required.clear()
            self._nonces.clear()


TOKENS = _TokenCache()


def clear_token_cache() -> None:
    """Forget every cached access token (tests; after rotating a service app's key)."""
    TOKENS.clear()


class OAuthTokens:
    """The access-token half of OktaClient: get, cache and present a service app's token."""

    org_url: str
    scopes: str
    credential: OAuthCredential | SswsCredential
    last_rate_limit: RateLimit | None
    _cache_key: CacheKey | None
    _dpop: DPoPKey | None

    _send: Callable[[str, str, dict[str, str], str | None, str], requests.Response]

    def _authorization(self) -> tuple[CachedToken, bool]:
        """The credential to send, and whether it came from the token cache."""
        credential = self.credential
        if isinstance(credential, SswsCredential):
            return CachedToken(credential.token, "SSWS", float("inf")), False
        assert self._cache_key is not None
        cached = TOKENS.get(self._cache_key)
        if cached is not None:
            return cached, True
        with TOKENS.fetch_lock(self._cache_key):
            cached = TOKENS.get(self._cache_key)
            if cached is not None:  # another thread fetched it while we waited
                return cached, True
            token = self._fetch_token(credential)
            TOKENS.put(self._cache_key, token)
            return token, False

    def _auth_headers(self, token: CachedToken, method: str, url: str) -> dict[str, str]:
        """``Authorization``, plus a fresh ``DPoP`` proof bound to the token when it is DPoP."""
        headers = {"Authorization": f"{token.scheme} {token.access_token}"}
        if token.scheme == "DPoP" and self._dpop is not None:
            nonce = TOKENS.nonce(self.org_url, "api")
            headers["DPoP"] = self._dpop.proof(
                method, url, nonce=nonce, access_token=token.access_token
            )
        return headers

    def _asks_for_nonce(self, token: CachedToken, response: requests.Response) -> bool:
        """Keep the API's ``DPoP-Nonce``; True when a 401 asked for a nonce we now have."""
        if token.scheme != "DPoP":
            return False
        new_nonce = TOKENS.keep_nonce(self.org_url, "api", response)
        challenge = response.headers.get("WWW-Authenticate", "")
        return response.status_code == 401 and new_nonce and "use_dpop_nonce" in challenge

    def _token_request(
        self, credential: OAuthCredential, token_url: str
    ) -> tuple[dict[str, str], str]:
        """Headers and form of one client-credentials request, with a fresh client assertion."""
        signing = load_signing_key(credential)
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
            raise key_error(f"signing the client assertion with {signing.alg} failed") from None
        return headers, form

    def _fetch_token(self, credential: OAuthCredential) -> CachedToken:
        """Run the client-credentials grant with a private_key_jwt assertion (docs/okta.md §4.2).

        An app that requires DPoP answers ``invalid_dpop_proof`` and then ``use_dpop_nonce``
        with a ``DPoP-Nonce``: the request is repeated with a proof, then with the nonce, and
        the app is remembered so that its next token request carries a proof at once.

        :raises OktaTokenError: Okta refused the app, its key, its scopes or its DPoP proof.
        """
        assert self._cache_key is not None
        token_url = self.org_url + TOKEN_PATH
        what = f"POST {TOKEN_PATH}"
        use_dpop = self._dpop is not None and TOKENS.dpop_required(self._cache_key)
        for _attempt in range(_TOKEN_ATTEMPTS):
            headers, form = self._token_request(credential, token_url)
            if use_dpop and self._dpop is not None:
                nonce = TOKENS.nonce(self.org_url, "token")
                headers["DPoP"] = self._dpop.proof("POST", token_url, nonce=nonce)
            started = time.monotonic()
            response = self._send("POST", token_url, headers, form, what)
            new_nonce = TOKENS.keep_nonce(self.org_url, "token", response)
            rate_limit = RateLimit.from_headers(response.headers)
            self.last_rate_limit = rate_limit
            body = json_or_none(response)
            body = body if isinstance(body, dict) else {}
            if response.status_code == 200:
                return self._issued_token(body, started, use_dpop, rate_limit)
            error = body.get("error") if isinstance(body.get("error"), str) else None
            if error == "invalid_dpop_proof" and self._dpop is not None and not use_dpop:
                use_dpop = True
                TOKENS.require_dpop(self._cache_key)
                continue
            if error == "use_dpop_nonce" and use_dpop and new_nonce:
                continue
            break
        raise self._token_error(response, body, rate_limit, what)

    def _issued_token(
        self, body: dict[str, Any], started: float, use_dpop: bool, rate_limit: RateLimit
    ) -> CachedToken:
        access_token = body.get("access_token")
        token_type = str(body.get("token_type", "Bearer"))
        scheme = "DPoP" if token_type.lower() == "dpop" else "Bearer"
        if scheme == "DPoP" and not use_dpop:
            raise OktaTokenError(_NO_DPOP_KEY_MESSAGE, status=200, rate_limit=rate_limit)
        if isinstance(access_token, str) and HEADER_SAFE.fullmatch(access_token):
            lifetime = body.get("expires_in", _DEFAULT_TOKEN_LIFETIME)
            if not isinstance(lifetime, int | float) or isinstance(lifetime, bool):
                lifetime = _DEFAULT_TOKEN_LIFETIME
            refresh_at = started + float(lifetime) - _TOKEN_REFRESH_MARGIN
            return CachedToken(access_token, scheme, refresh_at)
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
        if error in DPOP_ERRORS and self._dpop is None:
            return OktaTokenError(_NO_DPOP_KEY_MESSAGE, **fields)
        if error in DPOP_ERRORS:
            detail = f" ({description})" if description else ""
            return OktaTokenError(
                f"Okta refused the DPoP proof of the token request: {error}{detail}", **fields
            )
        if response.status_code == 429 or response.status_code >= 500 or not error:
            return api_error(response, rate_limit, what)
        detail = f"{error}: {description}" if description else error
        return OktaTokenError(f"Okta refused to issue an access token ({detail})", **fields)
