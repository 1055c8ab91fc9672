"""When the daily Okta credential check last ran for an integration."""

from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("integration", "okta_checked_at", DateTimeField(null=True))
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("integration", "okta_checked_at"))
