"""The address each welcome email was handed to: a grant must match the Okta user's email."""

from peewee import TextField


def up(migrator, db):
    migrator.migrate(migrator.add_column("invitation", "sent_to", TextField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("invitation", "sent_to"))
