"""How far the System Log has been read without a gap: the next backfill pass starts there."""

from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("integration", "backfilled_through", DateTimeField(null=True))
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("integration", "backfilled_through"))
