"""Index the SendGrid message id, which delivery events are matched by when custom args are
missing."""


def up(migrator, db):
    migrator.migrate(migrator.add_index("invitation", ("message_id",)))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("invitation", "invitation_message_id"))
