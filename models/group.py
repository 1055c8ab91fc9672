"""SCIM groups pushed by Okta and their members, indexed both ways."""

from __future__ import annotations

from peewee import (
    AutoField,
    CharField,
    CompositeKey,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    TextField,
)

from models.base import BaseModel, new_id, utcnow
from models.integration import Integration
from models.user import User


class Group(BaseModel):
    """A SCIM group. Members live in ``GroupMember`` so large groups change cheaply."""

    id = AutoField()
    scim_id = CharField(max_length=36, unique=True, default=new_id)
    integration = ForeignKeyField(Integration, backref="groups", on_delete="CASCADE")
    display_name = TextField()
    display_name_key = TextField()
    external_id = TextField(null=True)
    document = JSONField(default=dict)
    version = IntegerField(default=1)
    created = DateTimeField(default=utcnow)
    last_modified = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("integration", "display_name_key"), False),)


class GroupMember(BaseModel):
    """One user's membership of one group."""

    group = ForeignKeyField(Group, backref="memberships", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="memberships", on_delete="CASCADE", index=True)

    class Meta:
        primary_key = CompositeKey("group", "user")
