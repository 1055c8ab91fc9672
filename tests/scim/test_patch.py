"""PATCH (RFC 7644 §3.5.2) as Okta and Microsoft Entra send it, applied to documents in memory."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim.errors import (
    InvalidPathError,
    InvalidSyntaxError,
    InvalidValueError,
    MutabilityError,
    NoTargetError,
    ScimError,
)
from scim.filter import parse_filter
from scim.patch import MAX_OPERATIONS, MemberOp, PatchResult, apply_patch
from scim.schemas import (
    COMMON_ATTRIBUTES,
    ENTERPRISE_USER_SCHEMA,
    GROUP_RESOURCE,
    USER_RESOURCE,
    USER_SCHEMA,
    Attribute,
    ResourceType,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MEMBERS = frozenset({"members"})
ABSENT = object()


def user_doc() -> dict[str, Any]:
    """A user as the server returns it, minus ``meta`` (the shape Okta's POST creates)."""
    return {
        "schemas": [USER_URN],
        "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "displayName": "Test User",
        "locale": "en-US",
        "emails": [
            {"value": "test.user@okta.local", "type": "work", "primary": True},
            {"value": "test@home.example", "type": "home"},
        ],
        "groups": [{"value": "g1", "display": "Staff"}],
        "active": True,
    }


def enterprise_user_doc() -> dict[str, Any]:
    doc = user_doc()
    doc["schemas"] = [USER_URN, ENT]
    doc[ENT] = {
        "employeeNumber": "42",
        "department": "Sales",
        "manager": {"value": "boss-id", "displayName": "The Boss"},
    }
    return doc


def group_doc() -> dict[str, Any]:
    return {
        "schemas": [GROUP_URN],
        "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
        "displayName": "Test SCIMv2",
    }


def body(*operations: Any) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def patch_user(*operations: Any, doc: dict[str, Any] | None = None) -> PatchResult:
    return apply_patch(user_doc() if doc is None else doc, body(*operations), USER_RESOURCE)


def patch_group(*operations: Any) -> PatchResult:
    return apply_patch(group_doc(), body(*operations), GROUP_RESOURCE, deferred=MEMBERS)


def assert_has(document: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    """Each expected top-level key has that value (ABSENT: the key is not there)."""
    for key, value in expected.items():
        if value is ABSENT:
            assert key not in document, key
        else:
            assert document.get(key, ABSENT) == value, key


# --- Okta (docs/okta.md §1.4) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operations", "expected", "changed"),
    [
        pytest.param(
            [{"op": "replace", "value": {"active": False}}],
            {"active": False},
            ("active",),
            id="path-less deactivate sets active false",
        ),
        pytest.param(
            [{"op": "replace", "value": {"active": True}}],
            {"active": True},
            (),
            id="path-less reactivate of an active user changes nothing",
        ),
        pytest.param(
            [{"op": "replace", "value": {"password": "1mz050nq"}}],
            {"password": ABSENT},
            (),
            id="password sync is accepted and the password dropped",
        ),
    ],
)
def test_okta_user_patch_bodies_update_the_user(
    operations: list[Any], expected: dict[str, Any], changed: tuple[str, ...]
) -> None:
    result = patch_user(*operations)
    assert_has(result.document, expected)
    assert result.changed == changed
    assert result.member_ops == ()


def test_okta_reactivate_sets_active_true_on_a_deactivated_user() -> None:
    doc = user_doc() | {"active": False}
    result = patch_user({"op": "replace", "value": {"active": True}}, doc=doc)
    assert result.document["active"] is True
    assert result.changed == ("active",)


def test_okta_group_rename_ignores_the_echoed_id_and_renames() -> None:
    result = patch_group(
        {
            "op": "replace",
            "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Renamed"},
        }
    )
    assert result.document == group_doc() | {"displayName": "Renamed"}
    assert result.changed == ("displayName",)


def test_okta_group_rename_with_a_different_id_is_a_mutability_error() -> None:
    with pytest.raises(MutabilityError, match=r'Operations\[0\]: "id" is readOnly') as info:
        patch_group({"op": "replace", "value": {"id": "another-id", "displayName": "Renamed"}})
    assert (info.value.status, info.value.scim_type) == (400, "mutability")


def test_okta_membership_change_is_deferred_as_member_ops_in_order() -> None:
    result = patch_group(
        {"op": "remove", "path": 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]'},
        {
            "op": "add",
            "path": "members",
            "value": [
                {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}
            ],
        },
    )
    assert result.member_ops == (
        MemberOp(
            "remove",
            value_filter=parse_filter('value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"'),
        ),
        MemberOp("add", values=("23a35c27-23d3-4c03-b4c5-6443c09e7173",)),
    )
    assert result.document == group_doc()
    assert result.changed == ()


def test_okta_push_now_replaces_all_members() -> None:
    result = patch_group(
        {
            "op": "replace",
            "path": "members",
            "value": [{"value": "u1", "display": "one"}, {"value": "u2", "display": "two"}],
        }
    )
    assert result.member_ops == (MemberOp("replace", values=("u1", "u2")),)


def test_okta_rename_and_membership_in_one_request_keep_their_relative_order() -> None:
    result = patch_group(
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        {"op": "replace", "value": {"id": group_doc()["id"], "displayName": "New"}},
        {"op": "remove", "path": "members"},
        {"op": "replace", "value": {"members": [{"value": "u3"}]}},
    )
    assert result.member_ops == (
        MemberOp("add", values=("u1",)),
        MemberOp("remove"),
        MemberOp("replace", values=("u3",)),
    )
    assert result.document["displayName"] == "New"


# --- path forms --------------------------------------------------------------------------

WORK = {"value": "test.user@okta.local", "type": "work", "primary": True}
HOME = {"value": "test@home.example", "type": "home"}


@pytest.mark.parametrize(
    ("operation", "expected", "changed"),
    [
        pytest.param(
            {"op": "replace", "path": "name.givenName", "value": "Ann"},
            {"name": {"givenName": "Ann", "familyName": "User"}},
            ("name",),
            id="replace name.givenName sets one sub-attribute",
        ),
        pytest.param(
            {"op": "add", "path": "name.middleName", "value": "Excited"},
            {"name": {"givenName": "Test", "familyName": "User", "middleName": "Excited"}},
            ("name",),
            id="add name.middleName keeps the other sub-attributes",
        ),
        pytest.param(
            {"op": "replace", "path": "name", "value": {"familyName": "Lee"}},
            {"name": {"givenName": "Test", "familyName": "Lee"}},
            ("name",),
            id="replace of a complex attribute merges its sub-attributes",
        ),
        pytest.param(
            {"op": "remove", "path": "name.givenName"},
            {"name": {"familyName": "User"}},
            ("name",),
            id="remove name.givenName removes one sub-attribute",
        ),
        pytest.param(
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "ann@work.example"},
            {"emails": [WORK | {"value": "ann@work.example"}, HOME]},
            ("emails",),
            id="replace emails[type eq work].value sets the sub-attribute of matches",
        ),
        pytest.param(
            {
                "op": "replace",
                "path": 'emails[type eq "work"]',
                "value": {"value": "new@work.example", "type": "work"},
            },
            {"emails": [{"value": "new@work.example", "type": "work"}, HOME]},
            ("emails",),
            id="replace emails[type eq work] replaces the matching element",
        ),
        pytest.param(
            {"op": "add", "path": 'emails[type eq "home"]', "value": {"display": "Home"}},
            {"emails": [WORK, HOME | {"display": "Home"}]},
            ("emails",),
            id="add emails[type eq home] merges into the matching element",
        ),
        pytest.param(
            {"op": "remove", "path": 'emails[type eq "home"]'},
            {"emails": [WORK]},
            ("emails",),
            id="remove emails[type eq home] removes the matching element",
        ),
        pytest.param(
            {"op": "remove", "path": 'emails[value eq "TEST@HOME.EXAMPLE"]'},
            {"emails": [WORK]},
            ("emails",),
            id="value filters compare emails.value case-insensitively",
        ),
        pytest.param(
            {"op": "remove", "path": 'emails[type eq "work"].primary'},
            {"emails": [{"value": "test.user@okta.local", "type": "work"}, HOME]},
            ("emails",),
            id="remove emails[type eq work].primary removes a sub-attribute of matches",
        ),
        pytest.param(
            {"op": "remove", "path": 'emails[type eq "work" or type eq "home"]'},
            {"emails": ABSENT},
            ("emails",),
            id="removing every element unassigns the attribute",
        ),
        pytest.param(
            {"op": "replace", "path": 'emails[type eq "home"]', "value": {}},
            {"emails": [WORK]},
            ("emails",),
            id="replacing a matched element with an empty object unassigns it",
        ),
        pytest.param(
            {"op": "add", "path": "emails", "value": [{"value": "x@other.example"}]},
            {"emails": [WORK, HOME, {"value": "x@other.example"}]},
            ("emails",),
            id="add to a multi-valued attribute appends",
        ),
        pytest.param(
            {"op": "add", "path": "emails", "value": {"value": "x@other.example"}},
            {"emails": [WORK, HOME, {"value": "x@other.example"}]},
            ("emails",),
            id="add of a single object to a multi-valued attribute wraps it",
        ),
        pytest.param(
            {"op": "add", "path": "emails", "value": [HOME]},
            {"emails": [WORK, HOME]},
            (),
            id="add skips exact duplicates",
        ),
        pytest.param(
            {"op": "replace", "path": "emails", "value": [{"value": "only@example.com"}]},
            {"emails": [{"value": "only@example.com"}]},
            ("emails",),
            id="replace of a multi-valued attribute without filter replaces the list",
        ),
        pytest.param(
            {"op": "remove", "path": "emails"},
            {"emails": ABSENT},
            ("emails",),
            id="remove of a multi-valued attribute removes every value",
        ),
        pytest.param(
            {"op": "replace", "path": "title", "value": "Engineer"},
            {"title": "Engineer"},
            ("title",),
            id="replace of an absent attribute adds it",
        ),
        pytest.param(
            {"op": "remove", "path": "title"},
            {"title": ABSENT},
            (),
            id="remove of an absent attribute is a no-op",
        ),
        pytest.param(
            {"op": "replace", "path": "displayName", "value": None},
            {"displayName": ABSENT},
            ("displayName",),
            id="replace with null unassigns",
        ),
        pytest.param(
            {"op": "replace", "path": "USERNAME", "value": "ann@example.com"},
            {"userName": "ann@example.com"},
            ("userName",),
            id="attribute names match case-insensitively",
        ),
        pytest.param(
            {"op": "replace", "path": f"{USER_URN}:displayName", "value": "Ann"},
            {"displayName": "Ann"},
            ("displayName",),
            id="core attributes may be qualified with the core URN",
        ),
        pytest.param(
            {"op": "add", "path": f"{ENT}:manager.value", "value": "boss-id"},
            {ENT: {"manager": {"value": "boss-id"}}, "schemas": [USER_URN, ENT]},
            (f"{ENT}:manager",),
            id="add of an enterprise sub-attribute creates the extension object",
        ),
        pytest.param(
            {"op": "add", "path": "phoneNumbers", "value": [{"value": "+1 555", "type": "mobile"}]},
            {"phoneNumbers": [{"value": "+1 555", "type": "mobile"}]},
            ("phoneNumbers",),
            id="add of an absent multi-valued attribute creates it",
        ),
        pytest.param(
            {"op": "replace", "path": "externalId", "value": "00u-new"},
            {"externalId": "00u-new"},
            ("externalId",),
            id="externalId is writable",
        ),
    ],
)
def test_path_operations_follow_rfc_7644(
    operation: dict[str, Any], expected: dict[str, Any], changed: tuple[str, ...]
) -> None:
    result = patch_user(operation)
    assert_has(result.document, expected)
    assert result.changed == changed


@pytest.mark.parametrize(
    ("operation", "expected_extension", "changed"),
    [
        pytest.param(
            {"op": "replace", "path": f"{ENT}:manager.value", "value": "new-boss"},
            {
                "employeeNumber": "42",
                "department": "Sales",
                "manager": {"value": "new-boss", "displayName": "The Boss"},
            },
            (f"{ENT}:manager",),
            id="replace urn:enterprise:manager.value",
        ),
        pytest.param(
            {"op": "replace", "path": f"{ENT}:department", "value": "R&D"},
            {
                "employeeNumber": "42",
                "department": "R&D",
                "manager": {"value": "boss-id", "displayName": "The Boss"},
            },
            (f"{ENT}:department",),
            id="replace a URN-qualified enterprise attribute",
        ),
        pytest.param(
            {"op": "replace", "path": "department", "value": "R&D"},
            {
                "employeeNumber": "42",
                "department": "R&D",
                "manager": {"value": "boss-id", "displayName": "The Boss"},
            },
            (f"{ENT}:department",),
            id="an unqualified name found only in the extension resolves there",
        ),
        pytest.param(
            {"op": "remove", "path": f"{ENT}:manager"},
            {"employeeNumber": "42", "department": "Sales"},
            (f"{ENT}:manager",),
            id="remove the manager",
        ),
        pytest.param(
            {"op": "replace", "path": ENT, "value": {"costCenter": "CC1"}},
            {
                "employeeNumber": "42",
                "department": "Sales",
                "costCenter": "CC1",
                "manager": {"value": "boss-id", "displayName": "The Boss"},
            },
            (f"{ENT}:costCenter",),
            id="a path naming the extension merges into its object",
        ),
        pytest.param(
            {
                "op": "replace",
                "path": f"{ENT}:manager",
                "value": {"value": "boss-id", "displayName": "The Boss"},
            },
            {
                "employeeNumber": "42",
                "department": "Sales",
                "manager": {"value": "boss-id", "displayName": "The Boss"},
            },
            (),
            id="an echo of the readOnly manager.displayName is ignored",
        ),
    ],
)
def test_enterprise_extension_paths_update_the_extension_object(
    operation: dict[str, Any], expected_extension: dict[str, Any], changed: tuple[str, ...]
) -> None:
    result = patch_user(operation, doc=enterprise_user_doc())
    assert result.document[ENT] == expected_extension
    assert result.changed == changed


def test_removing_the_whole_extension_drops_it_from_schemas() -> None:
    result = patch_user({"op": "remove", "path": ENT}, doc=enterprise_user_doc())
    assert ENT not in result.document
    assert result.document["schemas"] == [USER_URN]
    assert set(result.changed) == {f"{ENT}:employeeNumber", f"{ENT}:department", f"{ENT}:manager"}


def test_removing_the_last_extension_attribute_drops_the_extension() -> None:
    doc = user_doc() | {"schemas": [USER_URN, ENT], ENT: {"department": "Sales"}}
    result = patch_user({"op": "remove", "path": f"{ENT}:department"}, doc=doc)
    assert ENT not in result.document
    assert result.document["schemas"] == [USER_URN]


# --- path-less values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "changed"),
    [
        pytest.param(
            {"name.givenName": "Ann", "name.familyName": "Lee"},
            {"name": {"givenName": "Ann", "familyName": "Lee"}},
            ("name",),
            id="dotted keys set sub-attributes (Entra)",
        ),
        pytest.param(
            {f"{ENT}:employeeNumber": "7"},
            {ENT: {"employeeNumber": "7"}, "schemas": [USER_URN, ENT]},
            (f"{ENT}:employeeNumber",),
            id="URN-qualified keys set extension attributes",
        ),
        pytest.param(
            {ENT: {"department": "R&D"}},
            {ENT: {"department": "R&D"}, "schemas": [USER_URN, ENT]},
            (f"{ENT}:department",),
            id="an extension object merges into the extension",
        ),
        pytest.param(
            {"name": {"middleName": "J"}, "emails": [{"value": "new@example.com"}]},
            {
                "name": {"givenName": "Test", "familyName": "User", "middleName": "J"},
                "emails": [{"value": "new@example.com"}],
            },
            ("name", "emails"),
            id="replace merges complex values and replaces multi-valued ones",
        ),
        pytest.param(
            {
                "schemas": [USER_URN],
                "meta": {"resourceType": "User", "created": "04-12-2018 00:00:00"},
                "id": "23a35c27-23d3-4c03-b4c5-6443c09e7173",
                "groups": [{"value": "g1", "display": "Staff"}],
                "displayName": "Tess",
            },
            {"displayName": "Tess", "groups": [{"value": "g1", "display": "Staff"}]},
            ("displayName",),
            id="an echoed resource ignores schemas, meta, and unchanged readOnly values",
        ),
        pytest.param(
            {"costCode": "X-1"},
            {"costCode": "X-1"},
            ("costCode",),
            id="unknown top-level keys are kept as POST and PUT keep them",
        ),
        pytest.param(
            {"name": {"givenName": "Ann", "pronunciation": "an"}},
            {"name": {"givenName": "Ann", "familyName": "User", "pronunciation": "an"}},
            ("name",),
            id="unknown sub-attributes inside a value are kept",
        ),
    ],
)
def test_path_less_replace_applies_each_key_as_a_path(
    value: dict[str, Any], expected: dict[str, Any], changed: tuple[str, ...]
) -> None:
    result = patch_user({"op": "replace", "value": value})
    assert_has(result.document, expected)
    assert result.changed == changed


def test_path_less_add_appends_to_multi_valued_attributes() -> None:
    result = patch_user({"op": "add", "value": {"emails": [{"value": "x@example.com"}]}})
    assert result.document["emails"] == [WORK, HOME, {"value": "x@example.com"}]


def test_results_use_the_canonical_spelling_of_attribute_names() -> None:
    result = patch_user(
        {"op": "replace", "value": {"DISPLAYNAME": "Ann", "Name": {"GivenName": "Ann"}}}
    )
    assert result.document["displayName"] == "Ann"
    assert result.document["name"] == {"givenName": "Ann", "familyName": "User"}
    assert "DISPLAYNAME" not in result.document
    assert result.changed == ("displayName", "name")


def test_changed_lists_attributes_in_the_order_operations_touched_them() -> None:
    result = patch_user(
        {"op": "add", "path": "emails", "value": [{"value": "x@example.com"}]},
        {"op": "replace", "path": "name.givenName", "value": "Ann"},
        {"op": "replace", "path": "title", "value": "x"},
        {"op": "remove", "path": "title"},
    )
    assert result.changed == ("emails", "name")


# --- Microsoft Entra dialect ------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        pytest.param(
            {"op": "Replace", "path": "active", "value": "False"},
            {"active": False},
            id="capitalised op and a string boolean",
        ),
        pytest.param(
            {"op": "Add", "value": {"active": "True", "displayName": "Ann"}},
            {"active": True, "displayName": "Ann"},
            id="path-less Add with a string boolean",
        ),
        pytest.param(
            {"op": "Add", "path": "name.givenName", "value": "Bar"},
            {"name": {"givenName": "Bar", "familyName": "User"}},
            id="Add name.givenName",
        ),
        pytest.param(
            {"Op": "Replace", "Path": "displayName", "Value": "Ann"},
            {"displayName": "Ann"},
            id="capitalised operation member names",
        ),
        pytest.param(
            {
                "op": "Add",
                "path": "emails",
                "value": [{"value": "x@example.com", "primary": "false"}],
            },
            {"emails": [WORK, HOME, {"value": "x@example.com", "primary": False}]},
            id="string booleans inside multi-valued values",
        ),
        pytest.param(
            {"op": "Remove", "path": "emails", "value": [{"value": "TEST@home.example"}]},
            {"emails": [WORK]},
            id="Remove with a value list removes the listed values",
        ),
    ],
)
def test_microsoft_entra_dialect_is_understood(
    operation: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert_has(patch_user(operation).document, expected)


@pytest.mark.parametrize(
    ("operation", "member_op"),
    [
        pytest.param(
            {"op": "add", "path": "members", "value": {"value": "u1"}},
            MemberOp("add", values=("u1",)),
            id="a single member object is wrapped",
        ),
        pytest.param(
            {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u1"}]},
            MemberOp("add", values=("u1",)),
            id="repeated ids are listed once",
        ),
        pytest.param(
            {"op": "replace", "value": {"members": None}},
            MemberOp("replace", values=()),
            id="path-less null members empties the group",
        ),
        pytest.param(
            {"op": "remove", "path": "MEMBERS"},
            MemberOp("remove"),
            id="remove without a filter or values removes every member",
        ),
        pytest.param(
            {"op": "remove", "path": 'members[value eq "u1" or value eq "u2"]'},
            MemberOp("remove", value_filter=parse_filter('value eq "u1" or value eq "u2"')),
            id="any filter on member sub-attributes is passed through",
        ),
    ],
)
def test_member_operations_are_normalised(operation: dict[str, Any], member_op: MemberOp) -> None:
    assert patch_group(operation).member_ops == (member_op,)


def test_entra_remove_members_with_a_value_list_is_a_member_op() -> None:
    result = patch_group(
        {"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}
    )
    assert result.member_ops == (MemberOp("remove", values=("u1", "u2")),)


def test_lowercase_operations_key_is_accepted() -> None:
    result = apply_patch(
        user_doc(),
        {"schemas": [PATCH_OP], "operations": [{"op": "replace", "value": {"active": False}}]},
        USER_RESOURCE,
    )
    assert result.document["active"] is False


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(
            {"Operations": [{"op": "replace", "path": "title", "value": "x"}]}, id="no schemas"
        ),
        pytest.param(
            {"schemas": PATCH_OP, "Operations": [{"op": "replace", "path": "title", "value": "x"}]},
            id="schemas as a string",
        ),
        pytest.param(
            body({"op": "replace", "path": "", "value": {"title": "x"}}),
            id="an empty path means no path",
        ),
        pytest.param(
            body({"op": "replace", "path": None, "value": {"title": "x"}}),
            id="a null path means no path",
        ),
    ],
)
def test_tolerated_message_shapes_are_applied(message: dict[str, Any]) -> None:
    assert apply_patch(user_doc(), message, USER_RESOURCE).document["title"] == "x"


def test_remove_of_a_single_valued_attribute_ignores_a_value() -> None:
    result = patch_user({"op": "remove", "path": "displayName", "value": "whatever"})
    assert "displayName" not in result.document


# --- primary (RFC 7643 §2.4) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "expected_emails"),
    [
        pytest.param(
            {"op": "add", "path": "emails", "value": [{"value": "n@x", "primary": True}]},
            [WORK | {"primary": False}, HOME, {"value": "n@x", "primary": True}],
            id="adding a primary value demotes the old primary",
        ),
        pytest.param(
            {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True},
            [WORK | {"primary": False}, HOME | {"primary": True}],
            id="making a matched element primary demotes the others",
        ),
        pytest.param(
            {"op": "add", "path": "emails", "value": [{"value": "n@x", "primary": False}]},
            [WORK, HOME, {"value": "n@x", "primary": False}],
            id="adding a non-primary value keeps the primary",
        ),
        pytest.param(
            {
                "op": "replace",
                "path": 'emails[type eq "home"]',
                "value": {"value": "h@x", "type": "home", "primary": True},
            },
            [WORK | {"primary": False}, {"value": "h@x", "type": "home", "primary": True}],
            id="replacing an element with a primary one demotes the others",
        ),
    ],
)
def test_at_most_one_value_is_primary(
    operation: dict[str, Any], expected_emails: list[dict[str, Any]]
) -> None:
    assert patch_user(operation).document["emails"] == expected_emails


# --- password, mutability, immutability ----------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "password", "value": "s3cret"},
        {"op": "add", "value": {"password": "s3cret", "title": "x"}},
        {"op": "remove", "path": "password"},
    ],
)
def test_password_is_accepted_and_never_stored(operation: dict[str, Any]) -> None:
    doc = user_doc() | {"password": "left-over"}
    result = patch_user(operation, doc=doc)
    assert "password" not in result.document
    assert "password" not in result.changed


def test_group_members_immutable_value_cannot_be_changed_when_not_deferred() -> None:
    doc = group_doc() | {"members": [{"value": "u1", "display": "one"}]}
    with pytest.raises(MutabilityError, match="immutable"):
        apply_patch(
            doc,
            body({"op": "replace", "path": 'members[value eq "u1"].value', "value": "u2"}),
            GROUP_RESOURCE,
        )
    result = apply_patch(
        doc,
        body({"op": "replace", "path": 'members[value eq "u1"].display', "value": "One"}),
        GROUP_RESOURCE,
    )
    assert result.document["members"] == [{"value": "u1", "display": "One"}]


# --- errors ---------------------------------------------------------------------------------

USER = USER_RESOURCE
GROUP = GROUP_RESOURCE


@pytest.mark.parametrize(
    ("resource", "message", "error", "detail"),
    [
        # envelope
        pytest.param(USER, [], InvalidSyntaxError, "JSON object", id="body not an object"),
        pytest.param(
            USER,
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "Operations": []},
            InvalidSyntaxError,
            "must contain",
            id="schemas without PatchOp",
        ),
        pytest.param(USER, {"schemas": [PATCH_OP]}, InvalidSyntaxError, "no", id="no Operations"),
        pytest.param(USER, body(), InvalidSyntaxError, "non-empty array", id="empty Operations"),
        pytest.param(
            USER,
            {"schemas": [PATCH_OP], "Operations": {"op": "add"}},
            InvalidSyntaxError,
            "non-empty array",
            id="Operations not an array",
        ),
        pytest.param(
            USER,
            body("add"),
            InvalidSyntaxError,
            r"Operations\[0\] must be an object",
            id="operation not an object",
        ),
        pytest.param(
            USER,
            body({"op": "copy", "path": "title"}),
            InvalidSyntaxError,
            r'Operations\[0\]: "op" must be',
            id="unknown op",
        ),
        pytest.param(
            USER,
            body({"path": "title", "value": "x"}),
            InvalidSyntaxError,
            '"op" must be',
            id="missing op",
        ),
        pytest.param(
            USER,
            body({"op": "add", "path": 7, "value": "x"}),
            InvalidSyntaxError,
            '"path" must be a string',
            id="path not a string",
        ),
        pytest.param(
            USER,
            body({"op": "add", "path": "title"}),
            InvalidValueError,
            'needs a "value"',
            id="add without value",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "value": [{"active": False}]}),
            InvalidValueError,
            "object",
            id="path-less value not an object",
        ),
        pytest.param(
            USER,
            body(*[{"op": "remove", "path": "title"}] * (MAX_OPERATIONS + 1)),
            InvalidValueError,
            "maximum is 1000",
            id="too many operations",
        ),
        # targets
        pytest.param(
            USER, body({"op": "remove"}), NoTargetError, "needs a", id="remove without path"
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": 'emails[type eq "other"].value', "value": "x"}),
            NoTargetError,
            "matches",
            id="replace filter matching nothing",
        ),
        pytest.param(
            USER,
            body({"op": "remove", "path": 'emails[type eq "other"]'}),
            NoTargetError,
            "matches",
            id="remove filter matching nothing",
        ),
        pytest.param(
            USER,
            body({"op": "add", "path": 'emails[type eq "other"].display', "value": "x"}),
            NoTargetError,
            "matches",
            id="add filter matching nothing",
        ),
        # paths
        pytest.param(
            USER,
            body({"op": "replace", "path": "nickname.x", "value": "x"}),
            InvalidPathError,
            "no sub-attribute",
            id="sub-attribute of a simple attribute",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": "costCode", "value": "x"}),
            InvalidPathError,
            "unknown attribute",
            id="unknown attribute in a path",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": "name.nickname", "value": "x"}),
            InvalidPathError,
            "no sub-attribute",
            id="unknown sub-attribute",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": "emails[type eq", "value": "x"}),
            InvalidPathError,
            "Invalid path",
            id="malformed path",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": 'title[value eq "x"]', "value": "x"}),
            InvalidPathError,
            "multi-valued complex",
            id="value filter on a single-valued attribute",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": 'emails[kind eq "work"].value', "value": "x"}),
            InvalidPathError,
            "not a sub-attribute",
            id="value filter on an unknown sub-attribute",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": "emails.value", "value": "x"}),
            InvalidPathError,
            "needs a value filter",
            id="sub-attribute of a multi-valued attribute without a filter",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "value": {"urn:example:custom:1.0:User": {"a": "b"}}}),
            InvalidPathError,
            "not an attribute of a schema",
            id="path-less key naming an undeclared schema",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "value": {"name.nickname": "x"}}),
            InvalidPathError,
            "no sub-attribute",
            id="path-less dotted key naming an unknown sub-attribute",
        ),
        # types
        pytest.param(
            USER,
            body({"op": "replace", "path": "active", "value": "yes"}),
            InvalidValueError,
            '"active" must be a boolean',
            id="active not a boolean",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": "userName", "value": 5}),
            InvalidValueError,
            '"userName" must be a string',
            id="userName not a string",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": "name", "value": "Ann Lee"}),
            InvalidValueError,
            '"name" must be an object',
            id="complex value not an object",
        ),
        pytest.param(
            USER,
            body({"op": "add", "path": "emails", "value": ["a@example.com"]}),
            InvalidValueError,
            r'"emails\[0\]" must be an object',
            id="multi-valued element not an object",
        ),
        pytest.param(
            USER,
            body({"op": "add", "path": "emails", "value": [{"value": "a", "primary": "maybe"}]}),
            InvalidValueError,
            "primary",
            id="primary not a boolean",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": "password", "value": 1234}),
            InvalidValueError,
            '"password" must be a string',
            id="password not a string",
        ),
        pytest.param(
            USER,
            body(
                {
                    "op": "add",
                    "path": "emails",
                    "value": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
                }
            ),
            InvalidValueError,
            "at most one value can be primary",
            id="two primary values",
        ),
        # required
        pytest.param(
            USER,
            body({"op": "remove", "path": "userName"}),
            InvalidValueError,
            "required",
            id="remove userName",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": "userName", "value": None}),
            InvalidValueError,
            "required",
            id="replace userName with null",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": "userName", "value": ""}),
            InvalidValueError,
            "cannot be empty",
            id="replace userName with an empty string",
        ),
        pytest.param(
            GROUP,
            body({"op": "remove", "path": "displayName"}),
            InvalidValueError,
            "required",
            id="remove group displayName",
        ),
        # mutability
        pytest.param(
            USER,
            body({"op": "replace", "path": "id", "value": "other"}),
            MutabilityError,
            '"id" is readOnly',
            id="replace id",
        ),
        pytest.param(
            USER,
            body({"op": "remove", "path": "id"}),
            MutabilityError,
            '"id" is readOnly',
            id="remove id",
        ),
        pytest.param(
            USER,
            body({"op": "add", "path": "meta.version", "value": 'W/"1"'}),
            MutabilityError,
            "readOnly",
            id="add meta.version",
        ),
        pytest.param(
            USER,
            body({"op": "add", "path": "groups", "value": [{"value": "g2"}]}),
            MutabilityError,
            '"groups" is readOnly',
            id="add groups",
        ),
        pytest.param(
            USER,
            body({"op": "remove", "path": 'groups[value eq "g1"]'}),
            MutabilityError,
            '"groups" is readOnly',
            id="remove a group",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "value": {"groups": []}}),
            MutabilityError,
            '"groups" is readOnly',
            id="path-less groups that differ",
        ),
        pytest.param(
            USER,
            body({"op": "replace", "path": f"{ENT}:manager.displayName", "value": "Boss"}),
            MutabilityError,
            'manager.displayName" is readOnly',
            id="replace manager.displayName",
        ),
        # deferred members
        pytest.param(
            GROUP,
            body({"op": "add", "path": "members", "value": [{"display": "no value"}]}),
            InvalidValueError,
            "non-empty string id",
            id="member without a value",
        ),
        pytest.param(
            GROUP,
            body({"op": "add", "path": "members", "value": ["u1"]}),
            InvalidValueError,
            "must be an object",
            id="member not an object",
        ),
        pytest.param(
            GROUP,
            body({"op": "replace", "path": 'members[value eq "u1"]', "value": {"value": "u2"}}),
            InvalidPathError,
            'only "remove" takes a filter',
            id="replace with a members filter",
        ),
        pytest.param(
            GROUP,
            body({"op": "replace", "path": 'members[value eq "u1"].display', "value": "x"}),
            InvalidPathError,
            "sub-attributes cannot be patched",
            id="members sub-attribute",
        ),
        pytest.param(
            GROUP,
            body({"op": "remove", "path": 'members[nickname eq "u1"]'}),
            InvalidPathError,
            "not a sub-attribute",
            id="members filter on an unknown sub-attribute",
        ),
    ],
)
def test_invalid_requests_raise_the_rfc_error(
    resource: ResourceType, message: Any, error: type[ScimError], detail: str
) -> None:
    doc = enterprise_user_doc() if resource is USER_RESOURCE else group_doc()
    with pytest.raises(error, match=detail) as info:
        apply_patch(doc, message, resource, deferred=MEMBERS if resource is GROUP else frozenset())
    assert type(info.value) is error
    assert info.value.status == 400
    assert info.value.to_body()["scimType"] == error.scim_type


def test_error_details_name_the_failing_operation_index() -> None:
    with pytest.raises(InvalidValueError, match=r'^Operations\[1\]: "active" must be a boolean'):
        patch_user(
            {"op": "replace", "path": "title", "value": "ok"},
            {"op": "replace", "path": "active", "value": "maybe"},
        )


def test_a_failing_operation_leaves_the_input_document_unchanged() -> None:
    doc = enterprise_user_doc()
    snapshot = copy.deepcopy(doc)
    with pytest.raises(NoTargetError):
        patch_user(
            {"op": "replace", "value": {"active": False, "name.givenName": "Changed"}},
            {"op": "add", "path": "emails", "value": [{"value": "new@example.com"}]},
            {"op": "remove", "path": f"{ENT}:manager"},
            {"op": "remove", "path": 'emails[type eq "pager"]'},
            doc=doc,
        )
    assert doc == snapshot


def test_the_result_shares_no_objects_with_the_input_or_the_body() -> None:
    doc = user_doc()
    snapshot = copy.deepcopy(doc)
    new_email = {"value": "n@example.com", "x-extra": {"k": "v"}}
    result = patch_user({"op": "add", "path": "emails", "value": [new_email]}, doc=doc)
    result.document["name"]["givenName"] = "Mutated"
    result.document["emails"][2]["x-extra"]["k"] = "mutated"
    assert doc == snapshot
    assert new_email == {"value": "n@example.com", "x-extra": {"k": "v"}}


def test_deferring_an_attribute_that_is_not_multi_valued_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="cannot defer"):
        apply_patch(
            group_doc(),
            body({"op": "remove", "path": "displayName"}),
            GROUP_RESOURCE,
            deferred=frozenset({"displayName"}),
        )


# --- property: any operation list is applied wholly or refused with a ScimError -------------

_PATHS = [
    "active",
    "userName",
    "displayName",
    "title",
    "name",
    "name.givenName",
    "emails",
    'emails[type eq "work"]',
    'emails[type eq "work"].value',
    "emails[primary eq true].primary",
    'emails[value co "@"].type',
    "phoneNumbers",
    'addresses[type eq "home"].locality',
    "groups",
    "id",
    "meta",
    "password",
    "externalId",
    ENT,
    f"{ENT}:department",
    f"{ENT}:manager.value",
    "manager.displayName",
    "unknownAttribute",
    "name.bogus",
    "emails[",
    "emails.value",
]
_KEYS = ["value", "type", "primary", "display", "givenName", "active", "department", "id", "x"]
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["", "True", "false", "work", "home", "a@b.c"])
    | st.text(max_size=4)
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(_KEYS), children, max_size=3)
    ),
    max_leaves=8,
)
_PATH_LESS_VALUES = st.dictionaries(
    st.sampled_from([*_PATHS, "schemas", "meta", "costCode"]), _JSON, max_size=3
)
_OPERATIONS = st.one_of(
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "replace", "remove", "Add", "Replace", "Remove"]),
            "path": st.sampled_from(_PATHS),
        },
        optional={"value": _JSON},
    ),
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "replace", "Replace"]), "value": _PATH_LESS_VALUES}
    ),
    _JSON,
)


def _check_value(attr: Attribute, value: Any) -> None:
    """Assert ``value`` has the JSON shape ``attr`` declares."""
    if attr.multi_valued:
        assert isinstance(value, list) and value, attr.name
        primaries = [v for v in value if isinstance(v, dict) and v.get("primary") is True]
        assert len(primaries) <= 1, attr.name
        for element in value:
            _check_single(attr, element)
    else:
        _check_single(attr, value)


def _check_single(attr: Attribute, value: Any) -> None:
    expected = {"boolean": bool, "complex": dict, "integer": int}.get(attr.type, str)
    assert isinstance(value, expected), (attr.name, value)
    if isinstance(value, dict):
        assert value, attr.name
        for key, item in value.items():
            sub = attr.sub(key)
            if sub is not None:
                assert sub.name == key, "sub-attribute names are canonical"
                _check_value(sub, item)


def assert_structurally_valid(document: dict[str, Any], original: dict[str, Any]) -> None:
    """The patched user still has the shape the schema declares and its identity."""
    assert document["id"] == original["id"]
    assert isinstance(document["userName"], str) and document["userName"]
    assert "password" not in document
    common = {a.name: a for a in COMMON_ATTRIBUTES if a.name != "meta"}
    for key, value in document.items():
        attr = USER_SCHEMA.attribute(key) or common.get(key)
        if attr is not None:
            assert attr.name == key, "attribute names are canonical"
            _check_value(attr, value)
    extension = document.get(ENT)
    if extension is not None:
        assert isinstance(extension, dict) and extension
        assert ENT in document["schemas"]
        for key, value in extension.items():
            ext_attr = ENTERPRISE_USER_SCHEMA.attribute(key)
            if ext_attr is not None:
                _check_value(ext_attr, value)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(operations=st.lists(_OPERATIONS, min_size=1, max_size=5), with_extension=st.booleans())
def test_random_operations_either_apply_cleanly_or_raise_a_scim_error(
    operations: list[Any], with_extension: bool
) -> None:
    doc = enterprise_user_doc() if with_extension else user_doc()
    snapshot = copy.deepcopy(doc)
    try:
        result = apply_patch(doc, body(*operations), USER_RESOURCE)
    except ScimError as exc:
        assert exc.status == 400 and exc.scim_type
    else:
        assert_structurally_valid(result.document, snapshot)
        assert result.member_ops == ()
        assert len(set(result.changed)) == len(result.changed)
        assert not set(result.changed) & {"id", "meta", "groups", "password", "schemas"}
    assert doc == snapshot
