"""Enrollment links as the landing page sees them: state, branding, URLs; never consumed here.

Only the authenticator app's POST /api/v1/enrollments uses a token up
(``services.users.enrollment``); looking at a link, however often, changes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from urllib.parse import quote

from models import Integration, Invitation, User, utcnow
from services.email.branding import Branding, effective_branding
from services.platform.secrets import hash_secret

# Longer than any token we issue; anything longer is not looked up at all.
MAX_TOKEN_LENGTH = 200
INACTIVE_STATES = frozenset({"suspended", "deactivated", "deleted"})

_IOS = re.compile(r"\b(?:iPhone|iPad|iPod)\b")
_ANDROID = re.compile(r"\bAndroid\b")


class LinkState(enum.StrEnum):
    """What a link can still do."""

    USABLE = "usable"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class Platform(enum.StrEnum):
    """Which store the visitor's device installs from."""

    IOS = "ios"
    ANDROID = "android"
    DESKTOP = "desktop"


@dataclass(frozen=True)
class EnrollmentLink:
    """A link's state and the branding to show it with (the defaults for an unknown token)."""

    state: LinkState
    branding: Branding
    expires_at: dt.datetime | None = None


def link_url(base_url: str, token: str) -> str:
    """The absolute landing-page URL for a token under ``base_url`` (the public origin)."""
    return f"{base_url.rstrip('/')}/enroll/{quote(token, safe='')}"


def deep_link(scheme: str, token: str) -> str:
    """The link that opens the app with the enrollment token: ``<scheme>://enroll?token=...``."""
    return f"{scheme}://enroll?token={quote(token, safe='')}"


def detect_platform(user_agent: str | None) -> Platform:
    """iOS, Android, or anything else (treated as a desktop) from a User-Agent header.

    iPadOS 13+ Safari presents itself as a Mac by default, so an iPad may land on the desktop
    page; it still shows both store links and the deep link, so nothing is out of reach.
    """
    agent = user_agent or ""
    if _IOS.search(agent):
        return Platform.IOS
    if _ANDROID.search(agent):
        return Platform.ANDROID
    return Platform.DESKTOP


def _state(invitation: Invitation, user: User, now: dt.datetime) -> LinkState:
    # An inactive user's link reads as withdrawn: the page must not tell a visitor that
    # the account was suspended or deleted.
    if invitation.revoked_at is not None or user.state in INACTIVE_STATES:
        return LinkState.REVOKED
    if invitation.used_at is not None:
        return LinkState.USED
    if invitation.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.USABLE


def inspect_link(raw_token: str) -> EnrollmentLink:
    """The state of the link carrying ``raw_token`` and the branding of its integration."""
    invitation = None
    if raw_token and len(raw_token) <= MAX_TOKEN_LENGTH:
        invitation = (
            Invitation.select(Invitation, User, Integration)
            .join(User, on=(Invitation.user == User.id))
            .switch(Invitation)
            .join(Integration, on=(Invitation.integration == Integration.id))
            .where(Invitation.token_hash == hash_secret(raw_token))
            .first()
        )
    if invitation is None:
        return EnrollmentLink(LinkState.UNKNOWN, effective_branding(None))
    now = utcnow()
    state = _state(invitation, invitation.user, now)
    if state is LinkState.USABLE and invitation.opened_at is None:
        # Only the first open counts; the condition keeps a concurrent open from moving it.
        Invitation.update(opened_at=now).where(
            (Invitation.id == invitation.id) & Invitation.opened_at.is_null()
        ).execute()
    return EnrollmentLink(state, effective_branding(invitation.integration), invitation.expires_at)
