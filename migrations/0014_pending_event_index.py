"""Find pending events without scanning every event: each SCIM create and the expiry ask."""


def up(migrator, db):
    migrator.migrate(migrator.add_index("okta_event", ("outcome", "received")))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("okta_event", "okta_event_outcome_received"))
