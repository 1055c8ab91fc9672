"""Users provisioned by Okta: core attributes as columns, the rest as the SCIM document."""

from __future__ import annotations

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    TextField,
)

from models.base import BaseModel, new_id, utcnow
from models.integration import Integration

STATES = ("invited", "enrolled", "suspended", "deactivated", "deleted")


class User(BaseModel):
    """A SCIM user. ``user_name_key`` (case-folded) is unique per integration while it lives.

    A deleted user keeps its row as a tombstone: personal data erased, ``user_name_key``
    cleared so the name can be provisioned again.
    """

    id = AutoField()
    scim_id = CharField(max_length=36, unique=True, default=new_id)
    integration = ForeignKeyField(Integration, backref="users", on_delete="CASCADE")
    user_name = TextField(null=True)
    user_name_key = TextField(null=True)
    external_id = TextField(null=True)
    display_name = TextField(null=True)
    given_name = TextField(null=True)
    family_name = TextField(null=True)
    email = TextField(null=True)
    # Case-folded user name, email, names and Okta id, for the admin pages' search.
    search_key = TextField(null=True)
    locale = TextField(null=True)
    preferred_language = TextField(null=True)
    active = BooleanField(default=True)
    suspended = BooleanField(default=False)
    enrolled_at = DateTimeField(null=True)
    state = CharField(max_length=16, default="invited")
    document = JSONField(default=dict)
    version = IntegerField(default=1)
    created = DateTimeField(default=utcnow)
    last_modified = DateTimeField(default=utcnow)
    deleted_at = DateTimeField(null=True)
    deleted_by = CharField(max_length=200, null=True)
    # When the last status change (active/deactivate/delete) and suspension change took
    # effect: older Okta events for the same concern are recorded but not applied.
    status_changed_at = DateTimeField(null=True)
    suspension_changed_at = DateTimeField(null=True)
    # The newest Okta status event applied, by Okta's clock: events are compared with events.
    status_event_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("integration", "user_name_key"), True),
            (("integration", "external_id"), False),
            (("integration", "state"), False),
            (("state", "id"), False),
            (("integration", "id"), False),
            (("integration", "deleted_at", "id"), False),
            (("created",), False),
            (("enrolled_at",), False),
        )
