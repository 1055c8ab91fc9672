"""Email delivery events from SendGrid, and console-mailer copies of welcome emails."""

from peewee import *


def up(migrator, db):
    class Integration(Model):
        id = CharField(primary_key=True, max_length=36)

        class Meta:
            database = db
            table_name = "integration"

    class Invitation(Model):
        class Meta:
            database = db
            table_name = "invitation"

    class EmailEvent(Model):
        sg_event_id = CharField(unique=True, max_length=200)
        invitation = ForeignKeyField(Invitation, null=True, on_delete="CASCADE")
        integration = ForeignKeyField(Integration, null=True, on_delete="CASCADE")
        event = CharField(max_length=30)
        occurred = DateTimeField()
        reason = TextField(null=True)
        sg_message_id = CharField(null=True, max_length=200)
        received = DateTimeField()
        payload = JSONField()

        class Meta:
            database = db
            table_name = "email_event"
            indexes = ((("invitation", "occurred"), False),)

    db.create_tables([EmailEvent])

    class EmailMessage(Model):
        invitation = ForeignKeyField(Invitation, unique=True, on_delete="CASCADE")
        mailer = CharField(max_length=20)
        to_email = TextField()
        subject = TextField()
        text_encrypted = TextField()
        html_encrypted = TextField()
        created = DateTimeField()

        class Meta:
            database = db
            table_name = "email_message"

    db.create_tables([EmailMessage])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("email_message"))
    migrator.migrate(migrator.drop_table("email_event"))
