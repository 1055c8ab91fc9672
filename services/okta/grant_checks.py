"""What Okta must confirm before anyone joins the passwordless (MFA-skip) group.

A SCIM token alone must never be enough to put a person into that group: the SCIM body names
the ``externalId`` (taken for the Okta user id), the ``userName`` and the email address, so a
holder of the token controls all three. Before each addition the service therefore asks Okta,
in at most two calls and caching nothing across grants:

1. ``GET /api/v1/users/{id}``: the user exists, its ``status`` lets people sign in, and its
   ``profile.email`` is the address the enrollment link was sent to (case-insensitively). The
   email rule, not "login equals userName", because ``userName`` comes from the same SCIM body
   as ``externalId``; the address is the one thing the enrollment itself proves: only the person
   who reads that mailbox could open the link and enroll.
2. with an app id on the integration, ``GET /api/v1/apps/{app}/users/{id}``: the user is still
   assigned to the app (200; 404 means not assigned).

A refusal leaves the group untouched; the sync row ends ``failed`` with the reason, or waits and
retries when the Okta status is one the user leaves by themselves (locked out, in recovery).
"""

from __future__ import annotations

from dataclasses import dataclass

from models import GroupSync, Integration, Invitation
from services.okta.client import OktaClient

# Okta user statuses (Users API, "User status"): ACTIVE can sign in; PASSWORD_EXPIRED signs in
# and is made to choose a new password. LOCKED_OUT and RECOVERY are activated people who cannot
# sign in until an unlock or a reset completes, which happens without us: wait and retry.
# STAGED and PROVISIONED were never activated; SUSPENDED and DEPROVISIONED are switched off.
SIGN_IN_STATUSES = frozenset({"ACTIVE", "PASSWORD_EXPIRED"})
PASSING_STATUSES = frozenset({"LOCKED_OUT", "RECOVERY"})


@dataclass(frozen=True)
class Refusal:
    """Why a grant was refused: ``kind`` labels the metric, ``reason`` is for the admin."""

    kind: str
    reason: str
    retry: bool = False


def enrollment_address(user_id: int) -> str | None:
    """The address the link that the user enrolled with was sent to."""
    invitation = (
        Invitation.select(Invitation.sent_to)
        .where(Invitation.user == user_id, Invitation.used_at.is_null(False))
        .order_by(Invitation.used_at.desc())
        .first()
    )
    return invitation.sent_to if invitation is not None else None


def _profile_value(okta_user: dict, name: str) -> str:
    value = okta_user["profile"].get(name)
    return value if isinstance(value, str) else ""


def refusal(
    client: OktaClient, integration: Integration, row: GroupSync, okta_id: str
) -> Refusal | None:
    """None when Okta confirms that ``okta_id`` may join the group for this row's user.

    :raises OktaNotFoundError: Okta has no such user (the caller fails the row).
    :raises OktaError: Okta could not be asked (the caller retries as for any Okta call).
    """
    address = enrollment_address(row.user_id)
    if not address:
        return Refusal(
            "no_enrollment_address",
            "no enrollment email is on record for this user, so the Okta user cannot be "
            "matched to the person who enrolled",
        )
    okta_user = client.get_user(okta_id)
    status = str(okta_user.get("status") or "unknown")
    if status not in SIGN_IN_STATUSES:
        waiting = status in PASSING_STATUSES
        advice = "retrying once Okta shows it ACTIVE" if waiting else "fix the user in Okta"
        return Refusal("okta_status", f"Okta user {okta_id} is {status}; {advice}", waiting)
    email = _profile_value(okta_user, "email")
    if email.casefold() != address.casefold():
        login = _profile_value(okta_user, "login")
        return Refusal(
            "identity_mismatch",
            f"identity mismatch: Okta user {okta_id} has login {login} and email {email}, but "
            f"we invited {address}; check the app's externalId and email attribute mappings",
        )
    if integration.okta_app_id and not client.is_assigned_to_app(integration.okta_app_id, okta_id):
        return Refusal(
            "not_assigned",
            f"not assigned to the app: Okta user {okta_id} is not assigned to app "
            f"{integration.okta_app_id}",
        )
    return None
