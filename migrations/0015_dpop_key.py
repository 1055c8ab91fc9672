"""A DPoP key per integration (encrypted JWK), binding its Okta service-app tokens."""

from peewee import TextField


def up(migrator, db):
    migrator.migrate(migrator.add_column("integration", "okta_dpop_key", TextField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("integration", "okta_dpop_key"))
