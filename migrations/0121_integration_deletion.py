"""Deleting an integration: when it began, who asked, and how many of its users are erased."""

from peewee import CharField, DateTimeField, IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("integration", "deleting_at", DateTimeField(null=True)),
        migrator.add_column("integration", "deleted_by", CharField(null=True, max_length=400)),
        migrator.add_column("integration", "delete_total", IntegerField(default=0)),
        migrator.add_column("integration", "delete_done", IntegerField(default=0)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("integration", "delete_done"),
        migrator.drop_column("integration", "delete_total"),
        migrator.drop_column("integration", "deleted_by"),
        migrator.drop_column("integration", "deleting_at"),
    )
