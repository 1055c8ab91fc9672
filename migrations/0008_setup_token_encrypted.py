"""Keep the first-run setup token encrypted beside its hash, so every start shows one link."""

from peewee import TextField


def up(migrator, db):
    # A token stored before this has no ciphertext: the next start replaces it once.
    migrator.migrate(
        migrator.add_column("admin_setup", "token_encrypted", TextField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("admin_setup", "token_encrypted"))
