"""Complete enrollment: the authenticator app redeems an invitation's single-use token."""

from __future__ import annotations

from dataclasses import dataclass

from extensions import db
from models import Invitation, User, utcnow
from services.platform.audit import Actor
from services.platform.secrets import hash_secret
from services.users import lifecycle


class EnrollmentError(Exception):
    """An enrollment token cannot be used; ``code`` says why (each door maps it to its own
    answer): invalid_token, token_used, token_revoked, token_expired or user_inactive."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Enrollment:
    """What the authenticator app learns when enrollment completes."""

    user_id: str
    display_name: str | None
    email: str | None


def enroll(raw_token: str) -> Enrollment:
    """Complete enrollment with an invitation's token (single use).

    :raises EnrollmentError: an unknown, used, revoked or expired token, or a user who is
        suspended, deactivated or deleted.
    """
    if not raw_token or len(raw_token) > 200:
        raise EnrollmentError("invalid_token", "the enrollment token is not valid")
    digest = hash_secret(raw_token)
    with db.atomic():
        invitation = Invitation.select().where(Invitation.token_hash == digest).first()
        if invitation is None:
            raise EnrollmentError("invalid_token", "the enrollment token is not valid")
        user = lifecycle.locked_user(invitation.user_id)
        # Read again under the user's lock: a concurrent redemption of the same token holds
        # that lock until it has marked the invitation used.
        invitation = Invitation.get_by_id(invitation.id)
        _check_usable(invitation, user)
        now = utcnow()
        invitation.used_at = now
        invitation.token_encrypted = None
        invitation.save(only=[Invitation.used_at, Invitation.token_encrypted])
        lifecycle.enroll(user, Actor("enrollment", str(invitation.id)), now)
        user.save()
    return Enrollment(user.scim_id, user.display_name or user.user_name, user.email)


def _check_usable(invitation: Invitation, user: User) -> None:
    if invitation.used_at is not None:
        raise EnrollmentError("token_used", "this enrollment link has already been used")
    if invitation.revoked_at is not None:
        raise EnrollmentError(
            "token_revoked",
            "this enrollment link was replaced or withdrawn; ask your administrator for a new one",
        )
    if invitation.expires_at <= utcnow():
        raise EnrollmentError(
            "token_expired",
            "this enrollment link has expired; ask your administrator for a new one",
        )
    if user.state in {"suspended", "deactivated", "deleted"}:
        raise EnrollmentError(
            "user_inactive", "this account is not active; contact your administrator"
        )
