"""Admin accounts: first-run setup, passwords (argon2), sign-in, Okta (OIDC) sign-in."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from peewee import IntegrityError

import database
from extensions import db
from models import AdminSetup, AdminUser, utcnow
from services.admin.admin_sessions import end_sessions
from services.errors import ConflictError, NotFoundError, ValidationError
from services.platform import audit
from services.platform.audit import Actor
from services.platform.secrets import DecryptionError, generate_token, hash_secret, secret_matches
from services.platform.settings import configured_base_url, encryptor

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
SETUP_PREFIX = "setup_"
# The first-run link works this long; the next server start (or `flask --app app admins
# setup-link`) then shows a new one.
SETUP_TOKEN_TTL = dt.timedelta(days=7)
# Where `make run` serves, for links shown on a console when PUBLIC_BASE_URL is not set.
CONSOLE_ORIGIN = "http://127.0.0.1:5000"
_SETUP_LINK_INVALID = "this setup link is not valid (an admin may already exist)"

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


def change_password(
    admin: AdminUser, current: str, new: str, keep_session: str | None = None
) -> AdminUser:
    """Change a password; every session of this admin ends except ``keep_session``.

    :raises ValidationError: the current password is wrong or the new one too short.
    """
    if authenticate(admin.email, current) is None:
        raise ValidationError("the current password is wrong")
    _check_new(admin.email, new)
    with db.atomic():
        AdminUser.update(password_hash=_hasher.hash(new)).where(AdminUser.id == admin.id).execute()
        end_sessions(admin.id, keep=keep_session)
        audit.record(
            None,
            Actor("admin", admin.email),
            "admin.password_change",
            target_type="Admin",
            target_id=str(admin.id),
        )
    return AdminUser.get_by_id(admin.id)


def set_password(email: str, new: str) -> AdminUser:
    """Set an admin's password from the server's command line; all their sessions end.

    :raises NotFoundError: no admin has this email.
    :raises ValidationError: the new password is too short.
    """
    admin = find_admin(email)
    _check_new(admin.email, new)
    with db.atomic():
        AdminUser.update(password_hash=_hasher.hash(new)).where(AdminUser.id == admin.id).execute()
        end_sessions(admin.id)
        audit.record(
            None,
            audit.SYSTEM,
            "admin.password_change",
            target_type="Admin",
            target_id=str(admin.id),
        )
    return AdminUser.get_by_id(admin.id)


def find_admin(ref: str) -> AdminUser:
    """The admin with this email (or id).

    :raises NotFoundError: there is none.
    """
    admin = AdminUser.get_or_none(AdminUser.email == normalize_email(ref))
    if admin is None and ref.isdigit():
        admin = AdminUser.get_or_none(AdminUser.id == int(ref))
    if admin is None:
        raise NotFoundError(f"no admin with email {ref}")
    return admin


def list_admins() -> list[AdminUser]:
    """Every admin, oldest first."""
    return list(AdminUser.select().order_by(AdminUser.created, AdminUser.id))


def remove_admin(admin: AdminUser, actor: Actor = audit.SYSTEM) -> None:
    """Remove an admin account; its sessions end with it.

    :raises ConflictError: it is the last admin (nobody could sign in afterwards).
    """
    with db.atomic():
        # Every admin row, locked in id order (Postgres): of two removals at once, the second
        # waits for the first and then counts what is left, so there is always an admin.
        enabled = database.for_update(
            AdminUser.select(AdminUser.id, AdminUser.disabled).order_by(AdminUser.id)
        )
        if not any(row.id != admin.id and not row.disabled for row in enabled):
            raise ConflictError(
                "this is the last admin account: add another admin before removing this one"
            )
        end_sessions(admin.id)
        AdminUser.delete().where(AdminUser.id == admin.id).execute()
        audit.record(
            None,
            actor,
            "admin.remove",
            target_type="Admin",
            target_id=str(admin.id),
            detail={"email": admin.email},
        )


def ensure_setup_token() -> str | None:
    """The live first-run setup token, minted when there is none; None once an admin exists.

    Every process gets the same token until it is used or expires (it is kept encrypted, so
    it can be shown again), so a restart or a CLI command never breaks a printed link.
    """
    if admins_exist():
        return None
    token = _live_setup_token()
    if token is None:
        _replace_setup_token()
        token = _live_setup_token()
    return token


def setup_link() -> str | None:
    """The first-run setup link to show an operator, or None once an admin exists."""
    token = ensure_setup_token()
    if token is None:
        return None
    return f"{configured_base_url() or CONSOLE_ORIGIN}/admin/setup/{token}"


def _live_setup_token() -> str | None:
    """The stored setup token if it is unused, unexpired and readable with our keys."""
    setup = AdminSetup.get_or_none(AdminSetup.id == 1)
    if setup is None or not _setup_is_live(setup) or not setup.token_encrypted:
        return None
    try:
        token = encryptor().decrypt(setup.token_encrypted)
    except DecryptionError:
        # ENCRYPTION_KEYS changed since it was minted: nobody can show this link again.
        return None
    return token if secret_matches(token, setup.token_hash) else None


def _setup_is_live(setup: AdminSetup) -> bool:
    return setup.used_at is None and utcnow() - setup.created < SETUP_TOKEN_TTL


def _replace_setup_token() -> None:
    """Store a new setup token, unless another process stored one first."""
    raw = generate_token(SETUP_PREFIX)
    values = {
        "token_hash": hash_secret(raw),
        "token_encrypted": encryptor().encrypt(raw),
        "created": utcnow(),
        "used_at": None,
    }
    with db.atomic():
        stale = AdminSetup.get_or_none(AdminSetup.id == 1)
        if stale is None:
            AdminSetup.insert(id=1, **values).on_conflict_ignore().execute()
        else:
            # Compare-and-swap on the old hash: of processes replacing the same stale token
            # at once, the first wins and the others then read its token.
            AdminSetup.update(**values).where(
                AdminSetup.id == 1, AdminSetup.token_hash == stale.token_hash
            ).execute()


def setup_token_valid(raw: str) -> bool:
    """Whether ``raw`` is the live first-run setup token (and no admin exists yet)."""
    return _setup_matching(raw) is not None


def _setup_matching(raw: str) -> AdminSetup | None:
    """The setup row, if ``raw`` is its live token and no admin exists yet."""
    setup = AdminSetup.get_or_none(AdminSetup.id == 1)
    if setup is None or not _setup_is_live(setup) or admins_exist():
        return None
    return setup if secret_matches(raw, setup.token_hash) else None


def complete_setup(raw: str, email: str, password: str) -> AdminUser:
    """Create the first admin with the setup token; the token then stops working.

    :raises NotFoundError: the token is wrong, used, expired, or an admin already exists.
    :raises ValidationError: bad email or password.
    """
    with db.atomic():
        setup = _setup_matching(raw)
        if setup is None:
            raise NotFoundError(_SETUP_LINK_INVALID)
        _spend_setup_token(setup)
        admin = create_admin(email, password, Actor("setup"))
    return admin


def _spend_setup_token(setup: AdminSetup) -> None:
    """Mark the setup token used, if nobody else did since it was checked.

    A conditional UPDATE: of two completions at once on Postgres, the second waits for the
    first's row lock, then finds the token used, so there is never a second first admin.

    :raises NotFoundError: another completion spent (or replaced) the token first.
    """
    spent = (
        AdminSetup.update(used_at=utcnow())
        .where(
            AdminSetup.id == 1,
            AdminSetup.used_at.is_null(),
            AdminSetup.token_hash == setup.token_hash,
        )
        .execute()
    )
    if spent != 1:
        raise NotFoundError(_SETUP_LINK_INVALID)


def oidc_admin(
    subject: str,
    email: str | None,
    groups: Collection[str],
    allowed_emails: Collection[str],
    allowed_groups: Collection[str],
    *,
    email_verified: bool,
) -> AdminUser:
    """The admin for an Okta (OIDC) sign-in, created on first use when allowed.

    The email claim counts, for the allow-list and to link an existing local admin, only
    when Okta says it is verified (``email_verified``): otherwise whoever can put someone
    else's address on their Okta profile could sign in as them.

    :raises ValidationError: the person is not allowed by a verified email or group claim,
        or would be linked to an existing admin by an unverified email.
    """
    verified = normalize_email(email) if email and email_verified else None
    email_ok = verified is not None and verified in {normalize_email(e) for e in allowed_emails}
    group_ok = bool({g.casefold() for g in groups} & {g.casefold() for g in allowed_groups})
    if not (email_ok or group_ok):
        unverified = " (Okta has not verified its email address)" if email and not verified else ""
        raise ValidationError(
            f"your Okta account is not allowed to administer this service{unverified}"
        )
    admin = AdminUser.get_or_none(AdminUser.oidc_subject == subject)
    if admin is None and email:
        admin = _admin_to_link(normalize_email(email), verified=verified is not None)
    if admin is not None and admin.oidc_subject not in (None, subject):
        # Once linked, an admin is that Okta identity only: another account that carries the
        # same verified email (a re-created or renamed Okta user) is not them.
        raise ValidationError(
            "an admin account with your email is linked to a different Okta account; ask "
            "another admin to unlink it"
        )
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


def _admin_to_link(email: str, *, verified: bool) -> AdminUser | None:
    """The existing admin with this email, which an Okta identity may take over if verified.

    :raises ValidationError: an admin has this email but Okta has not verified it.
    """
    admin = AdminUser.get_or_none(AdminUser.email == email)
    if admin is not None and not verified:
        raise ValidationError(
            "an admin account with your email exists, but Okta has not verified that email "
            "address, so your Okta sign-in cannot be linked to it"
        )
    return admin
