"""Lifecycle: invitations, Okta event-hook deliveries and events, group-membership sync."""

from peewee import *


def up(migrator, db):
    class Integration(Model):
        id = CharField(primary_key=True, max_length=36)

        class Meta:
            database = db
            table_name = "integration"

    class User(Model):
        class Meta:
            database = db
            table_name = "user"

    class GroupSync(Model):
        user = ForeignKeyField(User, unique=True, on_delete="CASCADE")
        integration = ForeignKeyField(Integration, on_delete="CASCADE")
        okta_user_id = CharField(null=True, max_length=100)
        okta_login = TextField(null=True)
        desired = CharField(max_length=3)
        confirmed = CharField(null=True, max_length=3)
        group_id = CharField(null=True, max_length=64)
        status = CharField(max_length=10, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        lease_owner = CharField(null=True, max_length=64)
        lease_until = DateTimeField(null=True)
        last_error = TextField(null=True)
        updated = DateTimeField()

        class Meta:
            database = db
            table_name = "group_sync"
            indexes = ((("status", "next_attempt_at"), False),)

    db.create_tables([GroupSync])

    class HookDelivery(Model):
        integration = ForeignKeyField(Integration, on_delete="CASCADE")
        event_id = CharField(null=True, max_length=100)
        received = DateTimeField()
        status = IntegerField()
        events = IntegerField(default=0)
        new_events = IntegerField(default=0)
        error = TextField(null=True)

        class Meta:
            database = db
            table_name = "hook_delivery"
            indexes = ((("integration", "received"), False),)

    db.create_tables([HookDelivery])

    class Invitation(Model):
        user = ForeignKeyField(User, on_delete="CASCADE")
        integration = ForeignKeyField(Integration, on_delete="CASCADE")
        reason = CharField(max_length=20)
        token_hash = CharField(unique=True, max_length=64)
        token_encrypted = TextField(null=True)
        base_url = CharField(null=True, max_length=300)
        created = DateTimeField()
        expires_at = DateTimeField()
        revoked_at = DateTimeField(null=True)
        revoked_reason = CharField(null=True, max_length=40)
        used_at = DateTimeField(null=True)
        email_status = CharField(max_length=20, default="queued")
        email_status_at = DateTimeField()
        message_id = CharField(null=True, max_length=200)
        sent_at = DateTimeField(null=True)
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        lease_owner = CharField(null=True, max_length=64)
        lease_until = DateTimeField(null=True)
        last_error = TextField(null=True)

        class Meta:
            database = db
            table_name = "invitation"
            indexes = ((("email_status", "next_attempt_at"), False), (("user", "created"), False))

    db.create_tables([Invitation])

    class OktaEvent(Model):
        integration = ForeignKeyField(Integration, on_delete="CASCADE")
        delivery = ForeignKeyField(HookDelivery, null=True, on_delete="SET NULL")
        uuid = CharField(max_length=100)
        event_type = CharField(max_length=200)
        published = DateTimeField()
        received = DateTimeField()
        target_id = CharField(null=True, max_length=100)
        target_login = TextField(null=True)
        user = ForeignKeyField(User, null=True, on_delete="SET NULL")
        payload = JSONField()
        processed_at = DateTimeField(null=True)
        outcome = CharField(null=True, max_length=30)
        outcome_detail = TextField(null=True)
        attempts = IntegerField(default=0)
        lease_owner = CharField(null=True, max_length=64)
        lease_until = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "okta_event"
            indexes = (
                (("integration", "uuid"), True),
                (("processed_at", "published"), False),
                (("user", "published"), False),
            )

    db.create_tables([OktaEvent])

    migrator.migrate(
        migrator.add_column("integration", "okta_paused_until", DateTimeField(null=True))
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("integration", "okta_paused_until"))
    migrator.migrate(migrator.drop_table("okta_event"))
    migrator.migrate(migrator.drop_table("invitation"))
    migrator.migrate(migrator.drop_table("hook_delivery"))
    migrator.migrate(migrator.drop_table("group_sync"))
