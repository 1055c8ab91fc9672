"""When the newest Okta status event was published (Okta's clock), apart from our SCIM writes."""

from peewee import DateTimeField


def up(migrator, db):
    migrator.migrate(migrator.add_column("user", "status_event_at", DateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("user", "status_event_at"))
