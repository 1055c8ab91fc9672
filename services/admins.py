"""Admin accounts: first-run setup, passwords (argon2), sign-in, Okta (OIDC) sign-in."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from peewee import IntegrityError

from extensions import db
from models import AdminSetup, AdminUser, utcnow
from services import audit
from services.audit import Actor
from services.errors import ConflictError, NotFoundError, ValidationError
from services.secrets import generate_token, hash_secret, secret_matches

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
SETUP_PREFIX = "setup_"
# Several processes start together; only one of them mints and prints the setup link.
SETUP_TOKEN_QUIET = dt.timedelta(seconds=30)

# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): argon2-cffi's default
# of 64 MiB per hash would be most of a web worker's memory during every sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so the answer takes as long either way."""
    return _hasher.hash("not a real password, only for timing")


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively."""
    return email.strip().casefold()


def _check_new(email: str, password: str) -> str:
    email = normalize_email(email)
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        raise ValidationError("enter a valid email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise ValidationError("the password is too long")
    return email


def admins_exist() -> bool:
    """Whether any admin account exists (first run is over)."""
    return AdminUser.select().exists()


def create_admin(email: str, password: str, actor: Actor = audit.SYSTEM) -> AdminUser:
    """Create a local admin account.

    :raises ValidationError: bad email or too short a password.
    :raises ConflictError: the email already has an account.
    """
    email = _check_new(email, password)
    try:
        with db.atomic():
            admin = AdminUser.create(email=email, password_hash=_hasher.hash(password))
            audit.record(None, actor, "admin.create", target_type="Admin", target_id=str(admin.id))
    except IntegrityError:
        raise ConflictError(f"an admin with email {email} already exists") from None
    return admin


def authenticate(email: str, password: str) -> AdminUser | None:
    """The enabled admin with this email and password, or None."""
    admin = AdminUser.get_or_none(AdminUser.email == normalize_email(email))
    stored = admin.password_hash if admin is not None and admin.password_hash else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if admin is None or admin.disabled or not admin.password_hash:
        return None
    if _hasher.check_needs_rehash(stored):
        admin.password_hash = _hasher.hash(password)
    admin.last_sign_in = utcnow()
    admin.save()
    return admin


def change_password(admin: AdminUser, current: str, new: str) -> AdminUser:
    """Change a password; every other session of this admin ends.

    :raises ValidationError: the current password is wrong or the new one too short.
    """
    if authenticate(admin.email, current) is None:
        raise ValidationError("the current password is wrong")
    _check_new(admin.email, new)
    with db.atomic():
        AdminUser.update(
            password_hash=_hasher.hash(new), session_epoch=AdminUser.session_epoch + 1
        ).where(AdminUser.id == admin.id).execute()
    return AdminUser.get_by_id(admin.id)


def ensure_setup_token() -> str | None:
    """On start-up with no admin: mint the one-time setup token and return it (to print).

    Returns None when an admin exists, or when another process minted one moments ago.
    """
    if admins_exist():
        return None
    raw = generate_token(SETUP_PREFIX)
    now = utcnow()
    with db.atomic():
        existing = AdminSetup.get_or_none(AdminSetup.id == 1)
        if existing is None:
            AdminSetup.insert(
                id=1, token_hash=hash_secret(raw), created=now
            ).on_conflict_ignore().execute()
        elif existing.used_at is None and now - existing.created < SETUP_TOKEN_QUIET:
            return None
        else:
            # A restart: the old link's plaintext is gone, so replace it.
            AdminSetup.update(token_hash=hash_secret(raw), created=now, used_at=None).where(
                AdminSetup.id == 1
            ).execute()
        stored = AdminSetup.get_by_id(1)
    return raw if secret_matches(raw, stored.token_hash) else None


def setup_token_valid(raw: str) -> bool:
    """Whether ``raw`` is the live first-run setup token (and no admin exists yet)."""
    setup = AdminSetup.get_or_none(AdminSetup.id == 1)
    if setup is None or setup.used_at is not None or admins_exist():
        return False
    return secret_matches(raw, setup.token_hash)


def complete_setup(raw: str, email: str, password: str) -> AdminUser:
    """Create the first admin with the setup token; the token then stops working.

    :raises NotFoundError: the token is wrong, used, or an admin already exists.
    :raises ValidationError: bad email or password.
    """
    with db.atomic():
        if not setup_token_valid(raw):
            raise NotFoundError("this setup link is not valid (an admin may already exist)")
        admin = create_admin(email, password, Actor("setup"))
        AdminSetup.update(used_at=utcnow()).where(AdminSetup.id == 1).execute()
    return admin


def oidc_admin(
    subject: str,
    email: str | None,
    groups: Collection[str],
    allowed_emails: Collection[str],
    allowed_groups: Collection[str],
) -> AdminUser:
    """The admin for an Okta (OIDC) sign-in, created on first use when allowed.

    :raises ValidationError: the person is not allowed by email or group claim.
    """
    email_ok = bool(email) and normalize_email(email or "") in {
        normalize_email(e) for e in allowed_emails
    }
    group_ok = bool({g.casefold() for g in groups} & {g.casefold() for g in allowed_groups})
    if not (email_ok or group_ok):
        raise ValidationError("your Okta account is not allowed to administer this service")
    admin = AdminUser.get_or_none(AdminUser.oidc_subject == subject)
    if admin is None and email:
        admin = AdminUser.get_or_none(AdminUser.email == normalize_email(email))
    with db.atomic():
        if admin is None:
            admin = AdminUser.create(
                email=normalize_email(email or f"{subject}@okta"), oidc_subject=subject
            )
            audit.record(
                None,
                Actor("oidc", subject),
                "admin.create",
                target_type="Admin",
                target_id=str(admin.id),
            )
        elif admin.oidc_subject is None:
            admin.oidc_subject = subject
        if admin.disabled:
            raise ValidationError("this admin account is disabled")
        admin.last_sign_in = utcnow()
        admin.save()
    return admin
