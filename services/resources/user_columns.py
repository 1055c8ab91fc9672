"""The user table's copies of SCIM attributes, declared once: where each column's value comes
from in the stored document, which SCIM filters and sorts use it, and what the admin search
matches. The column map of a write, the filter fields, the search key and what a deletion
blanks are all derived from ``USER_COLUMNS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from models import User
from scim.query import ColumnAttr

Document = Mapping[str, Any]


def _at(*path: str) -> Callable[[Document], Any]:
    def read(document: Document) -> Any:
        value: Any = document
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    return read


def primary_email(document: Document) -> str | None:
    """The primary email's address, else the first one's (Okta sends one, marked primary)."""
    emails = [e for e in document.get("emails", []) if isinstance(e, Mapping) and e.get("value")]
    primary = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
    return primary["value"] if primary else None


@dataclass(frozen=True)
class UserColumn:
    """One column of ``user`` that holds a copy of a SCIM attribute."""

    name: str
    read: Callable[[Document], Any]
    #: The lower-cased SCIM attribute that filters and sorting find in this column.
    filter_key: str | None = None
    #: The column holds ``str.casefold()`` of the value (case-insensitive equality, indexed).
    folded: bool = False
    #: Part of what the admin users search matches.
    searched: bool = False


USER_COLUMNS: tuple[UserColumn, ...] = (
    UserColumn("user_name", _at("userName"), searched=True),
    UserColumn(
        "user_name_key",
        lambda document: str(document["userName"]).casefold(),
        filter_key="username",
        folded=True,
    ),
    UserColumn("email", primary_email, searched=True),
    UserColumn("display_name", _at("displayName"), filter_key="displayname", searched=True),
    UserColumn("given_name", _at("name", "givenName"), filter_key="name.givenname", searched=True),
    UserColumn(
        "family_name", _at("name", "familyName"), filter_key="name.familyname", searched=True
    ),
    # Filtered as ``externalId`` by the fields users and groups share (scim_fields).
    UserColumn("external_id", _at("externalId"), searched=True),
    UserColumn("locale", _at("locale"), filter_key="locale"),
    UserColumn("preferred_language", _at("preferredLanguage"), filter_key="preferredlanguage"),
)

SEARCH_KEY = "search_key"
#: Every column a deleted user's row is blanked in (personal data, and what it derives).
PERSONAL_COLUMNS: tuple[str, ...] = (*(c.name for c in USER_COLUMNS), SEARCH_KEY)


def search_key_of(columns: Mapping[str, Any]) -> str | None:
    """What the admin search matches: user name, email, names and Okta id, case-folded."""
    parts = [columns[c.name] for c in USER_COLUMNS if c.searched and columns.get(c.name)]
    return "\x1f".join(parts).casefold() or None


def columns_from(document: Document) -> dict[str, Any]:
    """The indexed columns a stored user document implies."""
    columns = {column.name: column.read(document) for column in USER_COLUMNS}
    columns[SEARCH_KEY] = search_key_of(columns)
    return columns


def filter_attrs() -> dict[str, ColumnAttr]:
    """The SCIM attributes filters and sorting find in a column of their own."""
    return {
        column.filter_key: ColumnAttr(getattr(User, column.name), "string", folded=column.folded)
        for column in USER_COLUMNS
        if column.filter_key
    }
