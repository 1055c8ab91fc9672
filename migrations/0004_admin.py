"""Admin accounts and first-run setup; user search key; last SCIM request per integration."""

from peewee import *
from playhouse.migrate import PostgresqlMigrator


# Kept in step with services.resources.user_columns.search_key_of (frozen here on purpose).
def _search_key(row):
    parts = [
        row[k]
        for k in ("user_name", "email", "display_name", "given_name", "family_name", "external_id")
        if row[k]
    ]
    return "\x1f".join(parts).casefold() or None


def up(migrator, db):
    class AdminSetup(Model):
        id = IntegerField(primary_key=True, default=1)
        token_hash = CharField(max_length=64)
        created = DateTimeField()
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "admin_setup"

    class AdminUser(Model):
        email = CharField(unique=True, max_length=320)
        password_hash = TextField(null=True)
        oidc_subject = CharField(unique=True, null=True)
        role = CharField(max_length=20, default="admin")
        disabled = BooleanField(default=False)
        session_epoch = IntegerField(default=0)
        created = DateTimeField()
        last_sign_in = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "admin_user"

    db.create_tables([AdminSetup, AdminUser])
    migrator.migrate(
        migrator.add_column("integration", "last_scim_at", DateTimeField(null=True)),
        migrator.add_column(
            "integration", "last_scim_request", CharField(null=True, max_length=300)
        ),
        migrator.add_column("integration", "last_scim_status", IntegerField(null=True)),
        migrator.add_column("user", "search_key", TextField(null=True)),
        migrator.add_index("user", ("integration_id", "id")),
        migrator.add_index("user", ("state", "id")),
    )

    class User(Model):
        user_name = TextField(null=True)
        email = TextField(null=True)
        display_name = TextField(null=True)
        given_name = TextField(null=True)
        family_name = TextField(null=True)
        external_id = CharField(null=True)
        search_key = TextField(null=True)

        class Meta:
            database = db
            table_name = "user"

    last = 0
    while True:
        rows = list(User.select().where(User.id > last).order_by(User.id).limit(1000).dicts())
        if not rows:
            break
        for row in rows:
            User.update(search_key=_search_key(row)).where(User.id == row["id"]).execute()
        last = rows[-1]["id"]

    if isinstance(migrator, PostgresqlMigrator):
        # Substring search over 100,000+ users: a trigram index when the extension is
        # available (it needs a superuser or a pre-installed pg_trgm); a plain scan otherwise.
        with db.atomic() as txn:
            try:
                db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                db.execute_sql(
                    'CREATE INDEX IF NOT EXISTS user_search_key_trgm ON "user" '
                    "USING gin (search_key gin_trgm_ops)"
                )
            except DatabaseError:
                txn.rollback()


def down(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS user_search_key_trgm")
    migrator.migrate(
        migrator.drop_index("user", "user_state_id"),
        migrator.drop_index("user", "user_integration_id_id"),
        migrator.drop_column("user", "search_key"),
        migrator.drop_column("integration", "last_scim_status"),
        migrator.drop_column("integration", "last_scim_request"),
        migrator.drop_column("integration", "last_scim_at"),
        migrator.drop_table("admin_user"),
        migrator.drop_table("admin_setup"),
    )
