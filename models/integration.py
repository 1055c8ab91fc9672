"""An integration: one Okta org that provisions into us, with its credentials and branding."""

from __future__ import annotations

from peewee import CharField, DateTimeField, IntegerField, JSONField, TextField

from models.base import BaseModel, new_id, utcnow


class Integration(BaseModel):
    """One Okta org: SCIM tokens, event-hook secret, Okta API credential, branding."""

    id = CharField(primary_key=True, max_length=36, default=new_id)
    name = CharField(unique=True, max_length=200)
    okta_org_url = CharField(null=True, max_length=300)
    # "ssws" (API token) or "oauth" (service app, private_key_jwt); secret is Fernet-encrypted.
    okta_auth = CharField(null=True, max_length=10)
    okta_client_id = CharField(null=True, max_length=200)
    okta_key_id = CharField(null=True, max_length=200)
    okta_secret = TextField(null=True)
    # The private key (JWK, Fernet-encrypted) that a service app's DPoP-bound tokens are tied to.
    okta_dpop_key = TextField(null=True)
    group_id = CharField(null=True, max_length=64)
    # The Okta app instance (0oa…) that provisions here: its unassignment events offboard.
    okta_app_id = CharField(null=True, max_length=64)
    # SHA-256 of the event-hook secret; the previous one stays valid until it expires.
    hook_secret_hash = CharField(null=True, max_length=64)
    hook_secret_previous_hash = CharField(null=True, max_length=64)
    hook_secret_previous_expires = DateTimeField(null=True)
    branding = JSONField(default=dict)
    unhealthy_reason = TextField(null=True)
    unhealthy_since = DateTimeField(null=True)
    # The last SCIM request Okta made, for the dashboard (method, path, status, time).
    last_scim_at = DateTimeField(null=True)
    last_scim_request = CharField(max_length=300, null=True)
    last_scim_status = IntegerField(null=True)
    # Okta's rate-limit headers said to hold off until then (shared by every worker).
    okta_paused_until = DateTimeField(null=True)
    # The last reconciliation of the group with our desired membership (JSON report).
    reconciled_at = DateTimeField(null=True)
    reconcile_report = TextField(null=True)
    # The last daily credential check (it also keeps an API token in use).
    okta_checked_at = DateTimeField(null=True)
    # The last System Log backfill pass, and the time up to which the log has been read with
    # no gap (the next pass starts a little before it).
    backfilled_at = DateTimeField(null=True)
    backfilled_through = DateTimeField(null=True)
    # Setup progress (the integration page's checklist): Okta's first SCIM request, the event
    # hook's verification, the last "Test connection" and its failure (None: it passed).
    first_scim_at = DateTimeField(null=True)
    hook_verified_at = DateTimeField(null=True)
    okta_tested_at = DateTimeField(null=True)
    okta_test_error = TextField(null=True)
    # Being deleted (services.integrations.deletion): since when, by whom, and how many of
    # its users the background job has erased so far.
    deleting_at = DateTimeField(null=True)
    deleted_by = CharField(max_length=400, null=True)
    delete_total = IntegerField(default=0)
    delete_done = IntegerField(default=0)
    created = DateTimeField(default=utcnow)
    updated = DateTimeField(default=utcnow)

    @classmethod
    def by_name_or_id(cls, value: str) -> Integration | None:
        """Find an integration by its id or its exact name."""
        return cls.get_or_none((cls.id == value) | (cls.name == value))
