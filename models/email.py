"""Email delivery records: SendGrid's delivery events, and copies of emails the console
mailer printed instead of sending."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField, JSONField, TextField

from models.base import BaseModel, utcnow
from models.integration import Integration
from models.invitation import Invitation


class EmailEvent(BaseModel):
    """One SendGrid Event Webhook event (processed, delivered, bounce, ...), stored once."""

    id = AutoField()
    sg_event_id = CharField(max_length=200, unique=True)
    invitation = ForeignKeyField(Invitation, null=True, backref="email_events", on_delete="CASCADE")
    integration = ForeignKeyField(Integration, null=True, on_delete="CASCADE")
    event = CharField(max_length=30)
    occurred = DateTimeField()
    reason = TextField(null=True)
    sg_message_id = CharField(max_length=200, null=True)
    received = DateTimeField(default=utcnow)
    payload = JSONField()

    class Meta:
        indexes = ((("invitation", "occurred"), False),)


class EmailMessage(BaseModel):
    """A copy of an email as the console mailer rendered it, for the admin pages.

    The bodies carry a working enrollment link, so they are encrypted at rest.
    """

    id = AutoField()
    invitation = ForeignKeyField(Invitation, unique=True, on_delete="CASCADE")
    mailer = CharField(max_length=20)
    to_email = TextField()
    subject = TextField()
    text_encrypted = TextField()
    html_encrypted = TextField()
    created = DateTimeField(default=utcnow)
