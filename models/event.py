"""Okta Event Hook deliveries and the events they carried."""

from __future__ import annotations

from peewee import (
    AutoField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    TextField,
)

from models.base import BaseModel, utcnow
from models.integration import Integration
from models.user import User


class HookDelivery(BaseModel):
    """One POST from Okta (or a rejected attempt), as it was answered."""

    id = AutoField()
    integration = ForeignKeyField(Integration, backref="deliveries", on_delete="CASCADE")
    event_id = CharField(max_length=100, null=True)
    received = DateTimeField(default=utcnow)
    status = IntegerField()
    events = IntegerField(default=0)
    new_events = IntegerField(default=0)
    error = TextField(null=True)
    # "hook" (Okta delivered it) or "backfill" (read from the System Log afterwards).
    source = CharField(max_length=10, default="hook")

    class Meta:
        indexes = ((("integration", "received"), False),)


class OktaEvent(BaseModel):
    """One System Log event delivered by a hook, stored once per ``uuid``."""

    id = AutoField()
    integration = ForeignKeyField(Integration, on_delete="CASCADE")
    delivery = ForeignKeyField(HookDelivery, null=True, on_delete="SET NULL")
    uuid = CharField(max_length=100)
    event_type = CharField(max_length=200)
    published = DateTimeField()
    received = DateTimeField(default=utcnow)
    target_id = CharField(max_length=100, null=True)
    target_login = TextField(null=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    payload = JSONField()
    processed_at = DateTimeField(null=True)
    # applied, stale, unknown_user, unhandled_type, no_target, recorded, not_successful
    outcome = CharField(max_length=30, null=True)
    outcome_detail = TextField(null=True)
    attempts = IntegerField(default=0)
    lease_owner = CharField(max_length=64, null=True)
    lease_until = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("integration", "uuid"), True),
            (("processed_at", "published"), False),
            (("user", "published"), False),
            # Pending events: looked up by every SCIM create and by their expiry.
            (("outcome", "received"), False),
        )
