"""Okta Management API client: group membership, user look-up, the System Log, and the
HTTP exchange under them (its access token from ``tokens``, its connection test from
``connection_check``).

The calls and their wire format are described in docs/okta.md §4.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import requests

from services.okta.connection_check import ConnectionChecks
from services.okta.credentials import Credential, OAuthCredential
from services.okta.dpop import DPoPKey
from services.okta.errors import (
    NO_RATE_LIMIT,
    OktaNotFoundError,
    OktaRequestError,
    OktaUnavailableError,
    RateLimit,
    api_error,
)
from services.okta.tokens import TOKENS, CacheKey, OAuthTokens
from services.okta.wire import USER_AGENT, json_or_none, login_of, segment
from services.platform import metrics

#: Scopes asked of the org authorization server; the service app must have them granted.
SCOPES: Final = "okta.groups.manage okta.users.read"
#: Asked for as well when the integration has an app id: reading the app's assignments.
APP_SCOPE: Final = "okta.apps.read"


# --- Client ------------------------------------------------------------------------------------


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


def _check_base_url(org_url: str) -> str:
    parts = urlsplit(org_url.strip())
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        raise ValueError("The org URL must be https://host[:port]; see normalize_org_url().")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("The org URL must not have a path; see normalize_org_url().")
    return f"https://{parts.netloc.lower()}"


class OktaClient(OAuthTokens, ConnectionChecks):
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
        self._cache_key: CacheKey | None = None
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
        path = f"/api/v1/groups/{segment(group_id)}/users/{segment(user_id)}"
        _, rate_limit = self._call("PUT", path, ok=(200, 204))
        return rate_limit

    def remove_user_from_group(self, group_id: str, user_id: str) -> RateLimit:
        """Remove the user from the group; a user or group Okta no longer has counts as done.

        :raises OktaError: any other failure.
        """
        path = f"/api/v1/groups/{segment(group_id)}/users/{segment(user_id)}"
        try:
            _, rate_limit = self._call("DELETE", path, ok=(200, 204))
        except OktaNotFoundError as exc:
            # E0000007: the user or the group is gone, so the user is not in the group.
            if exc.error_code == "E0000007":
                return exc.rate_limit or NO_RATE_LIMIT
            raise
        return rate_limit

    def get_group(self, group_id: str) -> dict[str, Any]:
        """The group object (``id``, ``type``, ``profile.name`` …).

        :raises OktaNotFoundError: no such group.
        :raises OktaError: any other failure.
        """
        path = f"/api/v1/groups/{segment(group_id)}"
        response, _ = self._call("GET", path)
        body = json_or_none(response)
        if not isinstance(body, dict):
            raise OktaRequestError(f"Okta answered GET {path} with something other than a group")
        return body

    def group_member_ids(self, group_id: str, page_size: int = 200) -> Iterator[str]:
        """The ids of the group's members, page by page, following ``Link: rel="next"``.

        :raises OktaNotFoundError: no such group.
        :raises OktaError: any other failure (a page that cannot be read stops the walk).
        """
        path = f"/api/v1/groups/{segment(group_id)}/users"
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
            page = json_or_none(response)
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
        path = f"/api/v1/users/{segment(user_id)}"
        response, _ = self._call("GET", path)
        body = json_or_none(response)
        if not isinstance(body, dict) or not isinstance(body.get("profile"), dict):
            raise OktaRequestError(f"Okta answered GET {path} with something other than a user")
        return body

    def is_assigned_to_app(self, app_id: str, user_id: str) -> bool:
        """Whether the user is assigned to the app (directly or through a group).

        GET /api/v1/apps/{app}/users/{user} answers 200 with the assignment, or 404 (E0000007)
        when there is none. Needs ``okta.apps.read``.

        :raises OktaError: any failure other than "not assigned".
        """
        path = f"/api/v1/apps/{segment(app_id)}/users/{segment(user_id)}"
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
            user = json_or_none(response)
            if login_of(user).casefold() == login.casefold() and isinstance(user, dict):
                return str(user["id"]) if user.get("id") else None
            # Okta also resolves ids and login shortnames here ("jdoe" → "jdoe@acme.com");
            # only an exact login counts, so ask the filter, which matches the login alone.
        escaped = login.replace("\\", "\\\\").replace('"', '\\"')
        query = {"filter": f'profile.login eq "{escaped}"', "limit": "200"}
        response, _ = self._call("GET", "/api/v1/users", query=query)
        users = json_or_none(response)
        for user in users if isinstance(users, list) else ():
            if isinstance(user, dict) and login_of(user).casefold() == login.casefold():
                return str(user["id"]) if user.get("id") else None
        return None

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
            TOKENS.discard(self._cache_key, token.access_token)
            token, _ = self._authorization()
            response = self._send(
                method, url, headers | self._auth_headers(token, method, url), None, what
            )
        rate_limit = RateLimit.from_headers(response.headers)
        self.last_rate_limit = rate_limit
        if response.status_code in ok:
            return response, rate_limit
        raise api_error(response, rate_limit, what)

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
