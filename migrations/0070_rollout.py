"""Rollout progress: when an invitation's link was first opened, and indexes that let the
dashboard count by day and the import rate read an index range instead of every user row."""

from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("invitation", "opened_at", DateTimeField(null=True)),
        migrator.add_index("user", ("created",)),
        migrator.add_index("user", ("enrolled_at",)),
        migrator.add_index("invitation", ("created",)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("invitation", "invitation_created"),
        migrator.drop_index("user", "user_enrolled_at"),
        migrator.drop_index("user", "user_created"),
        migrator.drop_column("invitation", "opened_at"),
    )
