"""PATCH over HTTP (RFC 7644 §3.5.2): Okta's and Entra's dialects, all-or-nothing, and group
membership changes whose cost does not grow with the group."""

from __future__ import annotations

from typing import Any

import pytest

from models import GroupMember, User
from tests.blueprints.scim.conftest import (
    ENTERPRISE_URN,
    USER_URN,
    assert_scim_error,
    patch_op,
    recorded_sql,
    seed_group,
)

WORK = {"value": "ann@example.com", "type": "work", "primary": True}
HOME = {"value": "ann@home.example", "type": "home"}


@pytest.fixture
def ann(scim) -> dict[str, Any]:
    return scim.create_user(
        "ann@example.com",
        name={"givenName": "Ann", "familyName": "Lee"},
        emails=[WORK, HOME],
        title="Engineer",
        externalId="00uAnn",
    )


# (operations, expected top-level attributes after the PATCH, attributes that must be gone)
USER_PATCHES = {
    "Okta deactivate (no path)": (
        [{"op": "replace", "value": {"active": False}}],
        {"active": False},
        [],
    ),
    "replace by path": (
        [{"op": "replace", "path": "title", "value": "Lead"}],
        {"title": "Lead"},
        [],
    ),
    "replace a sub-attribute": (
        [{"op": "replace", "path": "name.givenName", "value": "Anna"}],
        {"name": {"givenName": "Anna", "familyName": "Lee"}},
        [],
    ),
    "replace through a value filter": (
        [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "ann@corp.example"}],
        {"emails": [{**WORK, "value": "ann@corp.example"}, HOME]},
        [],
    ),
    "replace an enterprise attribute by URN path": (
        [{"op": "replace", "path": f"{ENTERPRISE_URN}:department", "value": "Tour Operations"}],
        {ENTERPRISE_URN: {"department": "Tour Operations"}, "schemas": [USER_URN, ENTERPRISE_URN]},
        [],
    ),
    "add a new attribute": (
        [{"op": "add", "path": "nickName", "value": "Annie"}],
        {"nickName": "Annie"},
        [],
    ),
    "add a value to a multi-valued attribute": (
        [
            {
                "op": "add",
                "path": "phoneNumbers",
                "value": [{"value": "+1 555 0100", "type": "work"}],
            }
        ],
        {"phoneNumbers": [{"value": "+1 555 0100", "type": "work"}]},
        [],
    ),
    "add an email": (
        [
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "ann@other.example", "type": "other"}],
            }
        ],
        {"emails": [WORK, HOME, {"value": "ann@other.example", "type": "other"}]},
        [],
    ),
    "add without a path merges": (
        [{"op": "add", "value": {"title": "Lead", "name": {"middleName": "Q"}}}],
        {"title": "Lead", "name": {"givenName": "Ann", "familyName": "Lee", "middleName": "Q"}},
        [],
    ),
    "remove an attribute": ([{"op": "remove", "path": "title"}], {}, ["title"]),
    "remove through a value filter": (
        [{"op": "remove", "path": 'emails[type eq "home"]'}],
        {"emails": [WORK]},
        [],
    ),
    "remove a sub-attribute": (
        [{"op": "remove", "path": "name.givenName"}],
        {"name": {"familyName": "Lee"}},
        [],
    ),
    'Entra "Replace" with a string boolean': (
        [{"op": "Replace", "path": "active", "value": "False"}],
        {"active": False},
        [],
    ),
    "Entra dotted keys without a path": (
        [{"op": "Replace", "value": {"name.givenName": "Anna", "title": "Lead"}}],
        {"name": {"givenName": "Anna", "familyName": "Lee"}, "title": "Lead"},
        [],
    ),
    "Entra URN-qualified keys without a path": (
        [{"op": "Add", "value": {f"{ENTERPRISE_URN}:employeeNumber": "701984"}}],
        {ENTERPRISE_URN: {"employeeNumber": "701984"}, "schemas": [USER_URN, ENTERPRISE_URN]},
        [],
    ),
    "Entra remove with capital R": ([{"op": "Remove", "path": "title"}], {}, ["title"]),
    "several operations in order": (
        [
            {"op": "replace", "path": "title", "value": "Lead"},
            {"op": "add", "path": "nickName", "value": "Annie"},
            {"op": "remove", "path": "externalId"},
        ],
        {"title": "Lead", "nickName": "Annie"},
        ["externalId"],
    ),
}


@pytest.mark.parametrize(
    ("operations", "expected", "gone"), USER_PATCHES.values(), ids=USER_PATCHES
)
def test_user_patch_answers_200_with_the_updated_user(
    scim, ann, operations: list[dict], expected: dict[str, Any], gone: list[str]
) -> None:
    response = scim.patch(f"/Users/{ann['id']}", patch_op(*operations))
    assert response.status_code == 200, response.get_json()
    patched = response.get_json()
    for key, value in expected.items():
        assert patched[key] == value
    for key in gone:
        assert key not in patched
    untouched = set(ann) - set(expected) - set(gone) - {"meta"}
    assert {k: patched[k] for k in untouched} == {k: ann[k] for k in untouched}
    assert patched["meta"]["version"] != ann["meta"]["version"]
    assert scim.get(f"/Users/{ann['id']}").get_json() == patched


@pytest.mark.parametrize(
    "bad",
    [
        {"op": "replace", "path": "nosuch", "value": "x"},
        {"op": "replace", "path": 'emails[type eq "pager"].value', "value": "x"},
        {"op": "replace", "path": "active", "value": "maybe"},
        {"op": "replace", "path": "id", "value": "mine"},
        {"op": "remove", "path": "userName"},
        {"op": "delete", "path": "title"},
    ],
    ids=["invalidPath", "noTarget", "invalidValue", "mutability", "required", "invalidSyntax"],
)
def test_a_patch_is_all_or_nothing(scim, ann, bad: dict) -> None:
    good = {"op": "replace", "path": "name.givenName", "value": "Anna"}
    response = scim.patch(f"/Users/{ann['id']}", patch_op(good, bad))
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("Operations[1]")
    after = scim.get(f"/Users/{ann['id']}").get_json()
    assert after == ann
    assert after["name"]["givenName"] == "Ann"


def test_a_patch_that_changes_nothing_keeps_the_version(scim, ann) -> None:
    response = scim.patch(
        f"/Users/{ann['id']}", patch_op({"op": "replace", "path": "title", "value": "Engineer"})
    )
    assert response.status_code == 200
    assert response.get_json()["meta"] == ann["meta"]


# --- groups ----------------------------------------------------------------------------


@pytest.fixture
def users(scim) -> list[str]:
    return [scim.create_user(f"user{i}@example.com")["id"] for i in range(4)]


def _members(scim, group_id: str) -> list[str]:
    return sorted(m["value"] for m in scim.get(f"/Groups/{group_id}").get_json()["members"])


GROUP_PATCHES = {
    # (initial members, operations, members after); ids are indexes into ``users``.
    "Okta add": (
        [0],
        [{"op": "add", "path": "members", "value": [{"value": 1, "display": "u1"}]}],
        [0, 1],
    ),
    "add an existing member again": (
        [0],
        [{"op": "add", "path": "members", "value": [{"value": 0}]}],
        [0],
    ),
    "Okta remove by filter": ([0, 1], [{"op": "remove", "path": 'members[value eq "{1}"]'}], [0]),
    "Okta remove and add in one request": (
        [0, 1],
        [
            {"op": "remove", "path": 'members[value eq "{0}"]'},
            {"op": "add", "path": "members", "value": [{"value": 2}]},
        ],
        [1, 2],
    ),
    "Okta Push Now replace": (
        [0, 1],
        [{"op": "replace", "path": "members", "value": [{"value": 2}, {"value": 3}]}],
        [2, 3],
    ),
    "replace with no members": ([0, 1], [{"op": "replace", "path": "members", "value": []}], []),
    "remove every member": ([0, 1, 2], [{"op": "remove", "path": "members"}], []),
    "Entra remove with a value list": (
        [0, 1, 2],
        [{"op": "Remove", "path": "members", "value": [{"value": 0}, {"value": 2}]}],
        [1],
    ),
    "Entra add without a path": (
        [0],
        [{"op": "Add", "value": {"members": [{"value": 3}]}}],
        [0, 3],
    ),
    "remove by a filter with or": (
        [0, 1, 2],
        [{"op": "remove", "path": 'members[value eq "{0}" or value eq "{2}"]'}],
        [1],
    ),
}


def _with_ids(value: Any, users: list[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: users[v] if k == "value" and isinstance(v, int) else _with_ids(v, users)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_with_ids(v, users) for v in value]
    if isinstance(value, str):
        return value.format(*users)
    return value


@pytest.mark.parametrize(
    ("initial", "operations", "after"), GROUP_PATCHES.values(), ids=GROUP_PATCHES
)
def test_group_membership_patch(scim, users, initial, operations, after) -> None:
    group = scim.create_group("Engineers", [users[i] for i in initial])
    response = scim.patch(f"/Groups/{group['id']}", patch_op(*_with_ids(operations, users)))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["displayName"] == "Engineers"
    assert _members(scim, group["id"]) == sorted(users[i] for i in after)
    for i, user_id in enumerate(users):
        groups = [g["value"] for g in scim.get(f"/Users/{user_id}").get_json()["groups"]]
        assert groups == ([group["id"]] if i in after else [])


def test_okta_rename_with_the_group_id_in_the_value(scim, users) -> None:
    group = scim.create_group("Engineers", users[:2])
    response = scim.patch(
        f"/Groups/{group['id']}",
        patch_op({"op": "replace", "value": {"id": group["id"], "displayName": "Builders"}}),
    )
    assert response.status_code == 200
    assert response.get_json()["displayName"] == "Builders"
    assert _members(scim, group["id"]) == sorted(users[:2])


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "members", "value": [{"display": "no value"}]},
        {"op": "add", "path": "members", "value": ["{0}"]},
        {"op": "replace", "path": 'members[value eq "{0}"].display', "value": "x"},
    ],
    ids=["no value", "bare id", "member sub-attribute"],
)
def test_a_bad_member_change_is_400_and_changes_nothing(scim, users, operation) -> None:
    group = scim.create_group("Engineers", [users[1]])
    before = scim.get(f"/Groups/{group['id']}").get_json()
    rename = {"op": "replace", "path": "displayName", "value": "Renamed"}
    response = scim.patch(f"/Groups/{group['id']}", patch_op(rename, _with_ids(operation, users)))
    assert_scim_error(response, 400)
    assert scim.get(f"/Groups/{group['id']}").get_json() == before


def test_a_deleted_user_is_skipped_when_added_to_a_group(scim, users) -> None:
    group = scim.create_group("Engineers")
    scim.delete(f"/Users/{users[0]}")
    response = scim.patch(
        f"/Groups/{group['id']}",
        patch_op({"op": "add", "path": "members", "value": [{"value": users[0]}]}),
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["members"] == []
    assert _members(scim, group["id"]) == []


def test_group_patch_response_carries_members_unless_excluded(scim, users) -> None:
    group = scim.create_group("Engineers", users[:1])
    add = patch_op({"op": "add", "path": "members", "value": [{"value": users[1]}]})
    plain = scim.patch(f"/Groups/{group['id']}", add)
    assert plain.status_code == 200
    assert plain.get_json() == scim.get(f"/Groups/{group['id']}").get_json()
    assert sorted(m["value"] for m in plain.get_json()["members"]) == sorted(users[:2])
    add = patch_op({"op": "add", "path": "members", "value": [{"value": users[2]}]})
    lean = scim.patch(f"/Groups/{group['id']}", add, query_string={"excludedAttributes": "members"})
    assert lean.status_code == 200
    assert "members" not in lean.get_json()
    assert lean.get_json()["displayName"] == "Engineers"
    assert lean.get_json()["id"] == group["id"]
    assert _members(scim, group["id"]) == sorted(users[:3])
    only = scim.patch(
        f"/Groups/{group['id']}",
        patch_op({"op": "replace", "path": "displayName", "value": "Builders"}),
        query_string={"attributes": "displayName"},
    )
    assert set(only.get_json()) == {"schemas", "id", "displayName"}


def _statements_for(scim, path: str, body: dict) -> list[str]:
    with recorded_sql() as statements:
        response = scim.patch(path, body, query_string={"excludedAttributes": "members"})
    assert response.status_code == 200, response.get_json()
    assert "members" not in response.get_json()
    return statements


def _reads_member_list(sql: str) -> bool:
    text = sql.upper()
    return text.lstrip().startswith("SELECT") and 'FROM "GROUP_MEMBER"' in text


@pytest.mark.parametrize(
    "operation",
    [
        lambda newcomer, old: {"op": "add", "path": "members", "value": [{"value": newcomer}]},
        lambda newcomer, old: {"op": "remove", "path": f'members[value eq "{old}"]'},
        lambda newcomer, old: {"op": "Remove", "path": "members", "value": [{"value": old}]},
    ],
    ids=["add one", "remove one by filter", "Entra remove one by value"],
)
def test_changing_one_member_costs_the_same_in_a_group_of_10000_as_of_10(
    scim, integration, operation
) -> None:
    small = seed_group(integration, "Small", 10)
    big = seed_group(integration, "Big", 10_000)
    newcomer = scim.create_user("newcomer@example.com")["id"]
    costs = []
    for group in (small, big):
        old = (
            GroupMember.select(User.scim_id)
            .join(User)
            .where(GroupMember.group == group.id)
            .scalar()
        )
        body = patch_op(operation(newcomer, old))
        statements = _statements_for(scim, f"/Groups/{group.scim_id}", body)
        assert not [s for s in statements if _reads_member_list(s)]
        costs.append(len(statements))
    assert costs[0] == costs[1]
    big_count = GroupMember.select().where(GroupMember.group == big.id).count()
    assert big_count in (9_999, 10_001)
