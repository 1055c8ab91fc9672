"""The append-only audit log: who changed what, and when."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField, JSONField

from models.base import BaseModel, utcnow
from models.integration import Integration


class AuditEntry(BaseModel):
    """One recorded change. Rows are only ever inserted."""

    id = AutoField()
    integration = ForeignKeyField(Integration, null=True, on_delete="CASCADE")
    # "scim_token", "okta_event", "admin", "enrollment" or "system", and who exactly.
    actor_type = CharField(max_length=20)
    actor_id = CharField(max_length=200, null=True)
    action = CharField(max_length=64)
    target_type = CharField(max_length=20, null=True)
    target_id = CharField(max_length=64, null=True)
    changed = JSONField(default=list)
    detail = JSONField(default=dict)
    created = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = (
            (("integration", "created"), False),
            (("target_type", "target_id"), False),
        )
