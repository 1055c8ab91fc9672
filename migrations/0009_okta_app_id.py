"""An integration's Okta app instance id: its unassignment events offboard the user."""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("integration", "okta_app_id", CharField(null=True, max_length=64)),
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("integration", "okta_app_id"))
