"""Flattening a stored SCIM user document into the rows the admin user page shows."""

from __future__ import annotations

from typing import Any

import pytest

from services.admin.user_details import AttributeRow, flatten_document, urn_label

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:okta:acme_app:1.0:user:custom"


def _rows(document: dict[str, Any]) -> dict[str, str]:
    return {row.label: row.value for row in flatten_document(document)}


def test_nested_name_parts_get_dotted_labels_in_reading_order() -> None:
    rows = flatten_document({"name": {"familyName": "Lovelace", "givenName": "Ada"}})
    assert rows == [
        AttributeRow("name.givenName", "Ada"),
        AttributeRow("name.familyName", "Lovelace"),
    ]


def test_multi_valued_attributes_are_labelled_by_index_type_and_primary() -> None:
    rows = _rows(
        {
            "emails": [
                {"value": "ada@example.com", "type": "work", "primary": True},
                {"value": "ada@home.example", "type": "home", "primary": False},
            ],
            "phoneNumbers": [{"value": "+44 20 7946 0000"}],
        }
    )
    assert rows == {
        "emails[0].value (work, primary)": "ada@example.com",
        "emails[1].value (home)": "ada@home.example",
        "phoneNumbers[0].value": "+44 20 7946 0000",
    }


def test_every_sub_attribute_of_an_address_carries_its_qualifier() -> None:
    rows = _rows(
        {"addresses": [{"type": "work", "locality": "London", "country": "GB", "primary": True}]}
    )
    assert rows == {
        "addresses[0].country (work, primary)": "GB",
        "addresses[0].locality (work, primary)": "London",
    }


def test_enterprise_and_custom_extensions_get_a_short_urn_label() -> None:
    rows = _rows(
        {
            "schemas": [CORE, ENTERPRISE, CUSTOM],
            CUSTOM: {"costCenter": "CC-7", "badges": ["gold", "early"]},
            ENTERPRISE: {"department": "R&D", "manager": {"value": "00u1", "displayName": "Bo"}},
        }
    )
    assert rows == {
        "enterprise:department": "R&D",
        "enterprise:manager.value": "00u1",
        "enterprise:manager.displayName": "Bo",
        "okta acme_app custom:badges": "gold, early",
        "okta acme_app custom:costCenter": "CC-7",
    }


def test_core_attributes_come_first_then_extensions_enterprise_before_custom() -> None:
    labels = [
        row.label
        for row in flatten_document(
            {
                CUSTOM: {"costCenter": "CC-7"},
                "title": "Engineer",
                ENTERPRISE: {"department": "R&D"},
                "userName": "ada@example.com",
                "externalId": "00u1",
                "zoneinfo": "Europe/London",
            }
        )
    ]
    assert labels == [
        "userName",
        "externalId",
        "title",
        "zoneinfo",
        "enterprise:department",
        "okta acme_app custom:costCenter",
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "true"), (False, "false"), (None, "null"), (42, "42"), ("", ""), ([], "(empty)")],
)
def test_values_are_shown_as_text(value: Any, shown: str) -> None:
    assert _rows({"nickName": value}) == {"nickName": shown}


def test_schemas_and_server_attributes_are_not_rows() -> None:
    document = {"schemas": [CORE], "id": "x", "meta": {"version": "W/1"}, "userName": "ada"}
    assert _rows(document) == {"userName": "ada"}


def test_a_tombstone_document_has_no_rows() -> None:
    assert flatten_document({}) == []


def test_markup_in_values_is_kept_as_text_for_the_template_to_escape() -> None:
    assert _rows({"displayName": "<script>alert(1)</script>"}) == {
        "displayName": "<script>alert(1)</script>"
    }


@pytest.mark.parametrize(
    ("urn", "label"),
    [
        (ENTERPRISE, "enterprise"),
        (CUSTOM, "okta acme_app custom"),
        ("urn:ietf:params:scim:schemas:extension:acme:2.0:User", "acme"),
        ("urn:example:hr:3.1", "example hr"),
    ],
)
def test_urn_labels_keep_only_the_words_that_tell_extensions_apart(urn: str, label: str) -> None:
    assert urn_label(urn) == label
