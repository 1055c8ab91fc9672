"""CSV export of the users list: the same filters and order, streamed in bounded batches so
that 100,000 users never sit in memory at once."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace

from models import User
from services.admin.user_directory import UserQuery, search_users

EXPORT_BATCH = 1000
COLUMNS = (
    "user_name",
    "display_name",
    "email",
    "state",
    "integration",
    "invited",
    "enrolled",
    "scim_id",
    "okta_user_id",
)
# What the rows and the paging cursors need; the SCIM document stays unread.
_READ = (
    User.id,
    User.scim_id,
    User.integration,
    User.user_name,
    User.user_name_key,
    User.display_name,
    User.email,
    User.external_id,
    User.state,
    User.created,
    User.enrolled_at,
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def users_as_csv(query: UserQuery, integration_names: dict[str, str]) -> Iterator[str]:
    """The header, then one chunk of rows per batch of users, following the list's cursors."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writerow(COLUMNS)
    yield flush()
    batch = replace(query, after=None, before=None, limit=EXPORT_BATCH)
    while True:
        page = search_users(batch, count=False, columns=_READ)
        for user in page.users:
            writer.writerow(
                [
                    _cell(user.user_name),
                    _cell(user.display_name),
                    _cell(user.email),
                    user.state,
                    _cell(integration_names.get(user.integration_id, user.integration_id)),
                    f"{user.created:%Y-%m-%dT%H:%M:%SZ}",
                    f"{user.enrolled_at:%Y-%m-%dT%H:%M:%SZ}" if user.enrolled_at else "",
                    user.scim_id,
                    _cell(user.external_id),
                ]
            )
        yield flush()
        if page.next_cursor is None:
            return
        batch = replace(batch, after=page.next_cursor)
