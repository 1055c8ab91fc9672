"""System Log backfill: where a delivery came from, and when each integration was last polled."""

from peewee import CharField, DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("hook_delivery", "source", CharField(max_length=10, default="hook")),
        migrator.add_column("integration", "backfilled_at", DateTimeField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("hook_delivery", "source"),
        migrator.drop_column("integration", "backfilled_at"),
    )
