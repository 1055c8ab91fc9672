"""SCIM bearer tokens: many per integration, stored as SHA-256 hashes."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField

from models.base import BaseModel, utcnow
from models.integration import Integration


class ScimToken(BaseModel):
    """A SCIM API token. Only its hash and a short visible prefix are kept."""

    id = AutoField()
    integration = ForeignKeyField(Integration, backref="tokens", on_delete="CASCADE")
    label = CharField(max_length=200, default="")
    prefix = CharField(max_length=16)
    token_hash = CharField(max_length=64, unique=True)
    created = DateTimeField(default=utcnow)
    last_used = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
