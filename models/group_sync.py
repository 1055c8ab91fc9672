"""Desired Okta group membership per user, and what Okta has confirmed."""

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


class GroupSync(BaseModel):
    """Whether a user should be in the integration's passwordless group ("in"/"out"),
    and whether Okta agrees yet. ``okta_user_id`` is kept here because deleting a user
    erases its externalId, and the removal still has to reach Okta."""

    id = AutoField()
    user = ForeignKeyField(User, unique=True, backref="group_sync", on_delete="CASCADE")
    integration = ForeignKeyField(Integration, on_delete="CASCADE")
    okta_user_id = CharField(max_length=100, null=True)
    okta_login = TextField(null=True)
    desired = CharField(max_length=3)
    confirmed = CharField(max_length=3, null=True)
    group_id = CharField(max_length=64, null=True)
    # pending (work to do), done, waiting (Okta not configured / integration unhealthy),
    # failed (a permanent error an admin must look at)
    status = CharField(max_length=10, default="pending")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    lease_owner = CharField(max_length=64, null=True)
    lease_until = DateTimeField(null=True)
    last_error = TextField(null=True)
    updated = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)
