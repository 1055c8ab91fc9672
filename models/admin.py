"""Admin accounts and the one-time first-run setup token."""

from __future__ import annotations

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from models.base import BaseModel, utcnow


class AdminUser(BaseModel):
    """An administrator: a local password (argon2 hash) and/or an Okta (OIDC) subject."""

    id = AutoField()
    email = CharField(max_length=320, unique=True)
    password_hash = TextField(null=True)
    oidc_subject = CharField(max_length=255, null=True, unique=True)
    role = CharField(max_length=20, default="admin")
    disabled = BooleanField(default=False)
    # No longer read: AdminSession rows decide which sessions are live. Kept so that the
    # column stays known to export and import.
    session_epoch = IntegerField(default=0)
    created = DateTimeField(default=utcnow)
    last_sign_in = DateTimeField(null=True)


class AdminSetup(BaseModel):
    """The first-run setup token (a single row), valid until used or expired."""

    id = IntegerField(primary_key=True, default=1)
    token_hash = CharField(max_length=64)
    # Fernet-encrypted with ENCRYPTION_KEYS, so every server start can print the same link.
    token_encrypted = TextField(null=True)
    created = DateTimeField(default=utcnow)
    used_at = DateTimeField(null=True)


class AdminSession(BaseModel):
    """A signed-in browser session; the cookie carries its id, the row keeps it alive.

    Deleting the row ends the session on every instance at its next request, whatever the
    browser still holds.
    """

    # SHA-256 of the id in the cookie, so that a copy of the database opens no session.
    id_hash = CharField(max_length=64, primary_key=True)
    admin = ForeignKeyField(AdminUser, backref="sessions", on_delete="CASCADE")
    created = DateTimeField(default=utcnow)
    seen_at = DateTimeField(default=utcnow)
