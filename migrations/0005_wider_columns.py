"""Text columns for externalId, locale and preferredLanguage (any length SCIM accepts)."""

from peewee import TextField
from playhouse.migrate import PostgresqlMigrator


def up(migrator, db):
    # SQLite does not enforce VARCHAR lengths; Postgres does, and refused long values.
    if isinstance(migrator, PostgresqlMigrator):
        migrator.migrate(
            migrator.alter_column_type("user", "external_id", TextField(null=True)),
            migrator.alter_column_type("user", "locale", TextField(null=True)),
            migrator.alter_column_type("user", "preferred_language", TextField(null=True)),
            migrator.alter_column_type("group", "external_id", TextField(null=True)),
        )


def down(migrator, db):
    pass
