"""Server-side admin sessions: one row per signed-in browser, deleted when the session ends."""

from peewee import CharField, DateTimeField, ForeignKeyField, Model


def up(migrator, db):
    class AdminUser(Model):
        class Meta:
            database = db
            table_name = "admin_user"

    class AdminSession(Model):
        id_hash = CharField(max_length=64, primary_key=True)
        admin = ForeignKeyField(AdminUser, on_delete="CASCADE")
        created = DateTimeField()
        seen_at = DateTimeField()

        class Meta:
            database = db
            table_name = "admin_session"

    db.create_tables([AdminSession])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("admin_session"))
