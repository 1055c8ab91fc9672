"""The last reconciliation of each integration's passwordless group: when, and what it found."""

from peewee import DateTimeField, TextField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("integration", "reconciled_at", DateTimeField(null=True)),
        migrator.add_column("integration", "reconcile_report", TextField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("integration", "reconciled_at"),
        migrator.drop_column("integration", "reconcile_report"),
    )
