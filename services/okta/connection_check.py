"""The connection test an admin runs on an integration's Okta settings: each answer worded as
what to fix in Okta."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

from services.okta.credentials import Credential, OAuthCredential
from services.okta.errors import (
    OktaAuthError,
    OktaError,
    OktaNotFoundError,
    OktaRateLimitedError,
    OktaTokenError,
    OktaUnavailableError,
    RateLimit,
)
from services.okta.tokens import DPOP_ERRORS
from services.okta.wire import json_or_none, segment

# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionCheck:
    """Whether the configured org, credential and group can be used, and why not."""

    ok: bool
    reason: str
    group_name: str | None = None
    group_type: str | None = None


class ConnectionChecks:
    """The connection-test half of OktaClient, built on its public calls."""

    org_url: str
    credential: Credential
    _host: str

    # OktaClient's own calls, which the checks are built on.
    _call: Callable[..., tuple[requests.Response, RateLimit]]
    add_user_to_group: Callable[[str, str], RateLimit]
    get_group: Callable[[str], dict[str, Any]]
    group_member_ids: Callable[..., Iterator[str]]

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
        path = f"/api/v1/groups/{segment(group_id)}/users"
        try:
            response, _ = self._call("GET", path, query={"limit": "200"})
        except OktaError as exc:
            return self._failure_reason(exc, "list the group's members"), 0
        members = [
            m["id"] for m in json_or_none(response) or [] if isinstance(m, dict) and m.get("id")
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
            self._call("GET", f"/api/v1/apps/{segment(app_id)}/users", query={"limit": "1"})
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


def _token_reason(exc: OktaTokenError) -> str:
    """What an admin should fix when Okta refuses the service app a token."""
    if exc.error_code in DPOP_ERRORS or exc.error_code is None:
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
