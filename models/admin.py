"""Admin accounts and the one-time first-run setup token."""

from __future__ import annotations

from peewee import AutoField, BooleanField, CharField, DateTimeField, IntegerField, TextField

from models.base import BaseModel, utcnow


class AdminUser(BaseModel):
    """An administrator: a local password (argon2 hash) and/or an Okta (OIDC) subject."""

    id = AutoField()
    email = CharField(max_length=320, unique=True)
    password_hash = TextField(null=True)
    oidc_subject = CharField(max_length=255, null=True, unique=True)
    role = CharField(max_length=20, default="admin")
    disabled = BooleanField(default=False)
    # Bumped on password change or sign-out everywhere: older sessions stop working.
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
