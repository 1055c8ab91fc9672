"""Setup progress of an integration: Okta's first SCIM request, the event hook's verification
and the last "Test connection" with its outcome, for the checklist and the health verdict."""

from peewee import DateTimeField, TextField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("integration", "first_scim_at", DateTimeField(null=True)),
        migrator.add_column("integration", "hook_verified_at", DateTimeField(null=True)),
        migrator.add_column("integration", "okta_tested_at", DateTimeField(null=True)),
        migrator.add_column("integration", "okta_test_error", TextField(null=True)),
    )
    # An integration Okta already talked to has had its first request.
    db.execute_sql("UPDATE integration SET first_scim_at = last_scim_at")


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("integration", "okta_test_error"),
        migrator.drop_column("integration", "okta_tested_at"),
        migrator.drop_column("integration", "hook_verified_at"),
        migrator.drop_column("integration", "first_scim_at"),
    )
