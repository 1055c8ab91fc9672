"""The user table's copies of SCIM attributes: one declaration, every use derived from it."""

from __future__ import annotations

from scim.query import ColumnAttr
from services.resources.scim_fields import USER_FIELDS
from services.resources.user_columns import PERSONAL_COLUMNS, USER_COLUMNS, columns_from

DOCUMENT = {
    "userName": "Ana.Lima@Example.com",
    "externalId": "00u1abcd",
    "displayName": "Ana Lima",
    "name": {"givenName": "Ana", "familyName": "Lima"},
    "emails": [
        {"value": "ana@home.example", "type": "home"},
        {"value": "ana.lima@example.com", "type": "work", "primary": True},
    ],
    "locale": "pt-BR",
    "preferredLanguage": "pt",
}


def test_a_document_fills_every_declared_column() -> None:
    assert columns_from(DOCUMENT) == {
        "user_name": "Ana.Lima@Example.com",
        "user_name_key": "ana.lima@example.com",
        "email": "ana.lima@example.com",
        "display_name": "Ana Lima",
        "given_name": "Ana",
        "family_name": "Lima",
        "external_id": "00u1abcd",
        "locale": "pt-BR",
        "preferred_language": "pt",
        "search_key": "\x1f".join(
            ["ana.lima@example.com"] * 2 + ["ana lima", "ana", "lima", "00u1abcd"]
        ),
    }


def test_missing_attributes_leave_their_columns_empty() -> None:
    columns = columns_from({"userName": "x@example.com", "name": "not an object"})
    assert columns["given_name"] is None and columns["email"] is None
    assert columns["search_key"] == "x@example.com"


def test_a_deletion_blanks_every_column_a_write_fills() -> None:
    assert set(PERSONAL_COLUMNS) == set(columns_from(DOCUMENT))


def test_filters_find_each_declared_attribute_in_its_column() -> None:
    for column in USER_COLUMNS:
        if column.filter_key:
            found = USER_FIELDS.attrs[column.filter_key]
            assert isinstance(found, ColumnAttr) and found.column.name == column.name
