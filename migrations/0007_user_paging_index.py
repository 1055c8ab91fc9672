"""An index that covers Okta's import: live users of one integration in id order.

Counting them and skipping to a page then reads the index alone, not the user rows (whose
SCIM documents make them large), so the last page of a 100,000-user import costs about
what the first does.
"""


def up(migrator, db):
    migrator.migrate(migrator.add_index("user", ("integration_id", "deleted_at", "id")))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("user", "user_integration_id_deleted_at_id"))
