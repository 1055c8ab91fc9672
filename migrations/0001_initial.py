"""Initial schema: integrations, SCIM tokens, users, groups and members, the audit log."""

from peewee import *


def up(migrator, db):
    class Integration(Model):
        id = CharField(primary_key=True, max_length=36)
        name = CharField(unique=True, max_length=200)
        okta_org_url = CharField(null=True, max_length=300)
        okta_auth = CharField(null=True, max_length=10)
        okta_client_id = CharField(null=True, max_length=200)
        okta_key_id = CharField(null=True, max_length=200)
        okta_secret = TextField(null=True)
        group_id = CharField(null=True, max_length=64)
        hook_secret_hash = CharField(null=True, max_length=64)
        hook_secret_previous_hash = CharField(null=True, max_length=64)
        hook_secret_previous_expires = DateTimeField(null=True)
        branding = JSONField(default=dict)
        unhealthy_reason = TextField(null=True)
        unhealthy_since = DateTimeField(null=True)
        created = DateTimeField()
        updated = DateTimeField()

        class Meta:
            database = db
            table_name = "integration"

    db.create_tables([Integration])

    class AuditEntry(Model):
        integration = ForeignKeyField(Integration, null=True, on_delete="CASCADE")
        actor_type = CharField(max_length=20)
        actor_id = CharField(null=True, max_length=200)
        action = CharField(max_length=64)
        target_type = CharField(null=True, max_length=20)
        target_id = CharField(null=True, max_length=64)
        changed = JSONField(default=list)
        detail = JSONField(default=dict)
        created = DateTimeField(index=True)

        class Meta:
            database = db
            table_name = "audit_entry"
            indexes = ((("integration", "created"), False), (("target_type", "target_id"), False))

    db.create_tables([AuditEntry])

    class Group(Model):
        scim_id = CharField(unique=True, max_length=36)
        integration = ForeignKeyField(Integration, on_delete="CASCADE")
        display_name = TextField()
        display_name_key = TextField()
        external_id = CharField(null=True)
        document = JSONField(default=dict)
        version = IntegerField(default=1)
        created = DateTimeField()
        last_modified = DateTimeField()

        class Meta:
            database = db
            table_name = "group"
            indexes = ((("integration", "display_name_key"), False),)

    db.create_tables([Group])

    class User(Model):
        scim_id = CharField(unique=True, max_length=36)
        integration = ForeignKeyField(Integration, on_delete="CASCADE")
        user_name = TextField(null=True)
        user_name_key = TextField(null=True)
        external_id = CharField(null=True)
        display_name = TextField(null=True)
        given_name = TextField(null=True)
        family_name = TextField(null=True)
        email = TextField(null=True)
        locale = CharField(null=True, max_length=64)
        preferred_language = CharField(null=True, max_length=64)
        active = BooleanField(default=True)
        suspended = BooleanField(default=False)
        enrolled_at = DateTimeField(null=True)
        state = CharField(max_length=16, default="invited")
        document = JSONField(default=dict)
        version = IntegerField(default=1)
        created = DateTimeField()
        last_modified = DateTimeField()
        deleted_at = DateTimeField(null=True)
        deleted_by = CharField(null=True, max_length=200)
        status_changed_at = DateTimeField(null=True)
        suspension_changed_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "user"
            indexes = (
                (("integration", "user_name_key"), True),
                (("integration", "external_id"), False),
                (("integration", "state"), False),
            )

    db.create_tables([User])

    class GroupMember(Model):
        group = ForeignKeyField(Group, on_delete="CASCADE")
        user = ForeignKeyField(User, on_delete="CASCADE")

        class Meta:
            database = db
            table_name = "group_member"
            primary_key = CompositeKey("group", "user")

    db.create_tables([GroupMember])

    class ScimToken(Model):
        integration = ForeignKeyField(Integration, on_delete="CASCADE")
        label = CharField(max_length=200, default="")
        prefix = CharField(max_length=16)
        token_hash = CharField(unique=True, max_length=64)
        created = DateTimeField()
        last_used = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "scim_token"

    db.create_tables([ScimToken])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("scim_token"))
    migrator.migrate(migrator.drop_table("group_member"))
    migrator.migrate(migrator.drop_table("user"))
    migrator.migrate(migrator.drop_table("group"))
    migrator.migrate(migrator.drop_table("audit_entry"))
    migrator.migrate(migrator.drop_table("integration"))
