"""Invitations: a single-use enrollment token and the welcome email that carries it."""

from __future__ import annotations

from peewee import (
    AutoField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from models.base import BaseModel, utcnow
from models.integration import Integration
from models.user import User

# queued -> sending -> sent -> delivered | deferred | bounced | dropped | spamreport | ...
# queued -> failed (permanent), queued -> cancelled (revoked before it went out).
EMAIL_PENDING = ("queued", "sending")


class Invitation(BaseModel):
    """One invitation. The token is kept only as a hash once the email is out; until then
    its plaintext is held encrypted so that a retry sends the same link."""

    id = AutoField()
    user = ForeignKeyField(User, backref="invitations", on_delete="CASCADE")
    integration = ForeignKeyField(Integration, on_delete="CASCADE")
    reason = CharField(max_length=20)
    token_hash = CharField(max_length=64, unique=True)
    token_encrypted = TextField(null=True)
    base_url = CharField(max_length=300, null=True)
    created = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    revoked_at = DateTimeField(null=True)
    revoked_reason = CharField(max_length=40, null=True)
    used_at = DateTimeField(null=True)
    # First time the enrollment link's landing page was opened (the funnel's "link opened").
    opened_at = DateTimeField(null=True)
    email_status = CharField(max_length=20, default="queued")
    email_status_at = DateTimeField(default=utcnow)
    message_id = CharField(max_length=200, null=True)
    sent_at = DateTimeField(null=True)
    # The address the welcome email (and so the enrollment link) was handed to the mailer for.
    sent_to = TextField(null=True)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    lease_owner = CharField(max_length=64, null=True)
    lease_until = DateTimeField(null=True)
    last_error = TextField(null=True)

    class Meta:
        indexes = (
            (("email_status", "next_attempt_at"), False),
            (("user", "created"), False),
            (("message_id",), False),
            (("created",), False),
        )
