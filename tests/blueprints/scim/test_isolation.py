"""Integrations are isolated: one Okta org's token never sees or touches another org's data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.blueprints.scim.conftest import (
    GROUP_URN,
    SEARCH_REQUEST,
    USER_URN,
    assert_scim_error,
    patch_op,
)


@pytest.fixture
def theirs(scim) -> dict[str, Any]:
    """Integration A's data: two users and a group with both."""
    ann = scim.create_user("ann@example.com", externalId="00uAnn")
    bob = scim.create_user("bob@example.com")
    group = scim.create_group("Engineers", [ann["id"], bob["id"]])
    return {"ann": ann, "bob": bob, "group": group}


def _snapshot(scim, theirs) -> list[Any]:
    paths = [f"/Users/{theirs['ann']['id']}", f"/Groups/{theirs['group']['id']}"]
    return [scim.get(path).get_json() for path in paths]


WRITES = {
    "GET": lambda kind, res: ("GET", None),
    "PUT": lambda kind, res: (
        "PUT",
        {"schemas": [USER_URN], "userName": "stolen@example.com"}
        if kind == "Users"
        else {"schemas": [GROUP_URN], "displayName": "Stolen"},
    ),
    "PATCH": lambda kind, res: (
        "PATCH",
        patch_op(
            {
                "op": "replace",
                "path": "userName" if kind == "Users" else "displayName",
                "value": "stolen",
            }
        ),
    ),
    "PATCH deactivate": lambda kind, res: (
        "PATCH",
        patch_op({"op": "replace", "value": {"active": False}}),
    ),
    "DELETE": lambda kind, res: ("DELETE", None),
}


@pytest.mark.parametrize(
    ("kind", "write"),
    [
        pytest.param(kind, write, id=f"{kind} {name}")
        for kind in ("Users", "Groups")
        for name, write in WRITES.items()
        if not (kind == "Groups" and name == "PATCH deactivate")
    ],
)
def test_another_integrations_resource_is_404_and_untouched(
    scim, other_scim, theirs, kind: str, write
) -> None:
    resource = theirs["ann"] if kind == "Users" else theirs["group"]
    method, body = write(kind, resource)
    before = _snapshot(scim, theirs)
    response = other_scim.request(method, f"/{kind}/{resource['id']}", body)
    assert_scim_error(response, 404)
    assert _snapshot(scim, theirs) == before


@pytest.mark.parametrize(
    ("kind", "flt"),
    [
        ("Users", None),
        ("Users", 'userName eq "ann@example.com"'),
        ("Users", 'id eq "{ann}"'),
        ("Users", 'externalId eq "00uAnn"'),
        ("Users", 'groups.value eq "{group}"'),
        ("Users", "groups pr"),
        ("Users", "userName pr"),
        ("Groups", None),
        ("Groups", 'displayName eq "Engineers"'),
        ("Groups", 'members.value eq "{ann}"'),
        ("Groups", 'id eq "{group}"'),
    ],
)
def test_lists_filters_and_totals_show_nothing_of_another_integration(
    scim, other_scim, theirs, kind: str, flt: str | None
) -> None:
    values = {"ann": theirs["ann"]["id"], "group": theirs["group"]["id"]}
    params = {"filter": flt.format_map(values)} if flt else {}
    listed = other_scim.get(f"/{kind}", query_string=params).get_json()
    assert (listed["totalResults"], listed["Resources"]) == (0, [])
    search = {"schemas": [SEARCH_REQUEST], **params}
    searched = other_scim.post(f"/{kind}/.search", search).get_json()
    assert (searched["totalResults"], searched["Resources"]) == (0, [])
    assert scim.get(f"/{kind}", query_string=params).get_json()["totalResults"] >= 1


def test_totals_count_only_the_callers_own_resources(scim, other_scim, theirs) -> None:
    other_scim.create_user("zed@example.com")
    listed = other_scim.get("/Users").get_json()
    assert listed["totalResults"] == 1
    assert [r["userName"] for r in listed["Resources"]] == ["zed@example.com"]
    assert scim.get("/Users").get_json()["totalResults"] == 2


MEMBER_WRITES = {
    "create a group with them": lambda scim, group, ids: scim.post(
        "/Groups",
        {"schemas": [GROUP_URN], "displayName": "Poached", "members": [{"value": i} for i in ids]},
    ),
    "PATCH add": lambda scim, group, ids: scim.patch(
        f"/Groups/{group['id']}",
        patch_op({"op": "add", "path": "members", "value": [{"value": i} for i in ids]}),
    ),
    "PATCH replace": lambda scim, group, ids: scim.patch(
        f"/Groups/{group['id']}",
        patch_op({"op": "replace", "path": "members", "value": [{"value": i} for i in ids]}),
    ),
    "PUT": lambda scim, group, ids: scim.put(
        f"/Groups/{group['id']}",
        {"schemas": [GROUP_URN], "displayName": "Ours", "members": [{"value": i} for i in ids]},
    ),
}


@pytest.mark.parametrize("mixed", [False, True], ids=["only theirs", "ours and theirs"])
@pytest.mark.parametrize("write", MEMBER_WRITES.values(), ids=MEMBER_WRITES)
def test_another_integrations_users_cannot_become_members(
    scim, other_scim, theirs, write, mixed: bool
) -> None:
    mine = other_scim.create_user("zed@example.com")
    group = other_scim.create_group("Ours", [mine["id"]])
    ids = [theirs["ann"]["id"]] + ([mine["id"]] if mixed else [])
    before_theirs = _snapshot(scim, theirs)
    # Their users count as unknown ids: skipped (and audited), never joined.
    response = write(other_scim, group, ids)
    assert response.status_code in (200, 201), response.get_json()
    assert theirs["ann"]["id"] not in [m["value"] for m in response.get_json()["members"]]
    for listed in other_scim.get("/Groups").get_json()["Resources"]:
        assert theirs["ann"]["id"] not in [m["value"] for m in listed["members"]]
    assert _snapshot(scim, theirs) == before_theirs
    assert scim.get(f"/Users/{theirs['ann']['id']}").get_json()["groups"] == [
        {
            "value": theirs["group"]["id"],
            "display": "Engineers",
            "$ref": theirs["group"]["meta"]["location"],
            "type": "direct",
        }
    ]


def test_another_integration_cannot_remove_our_members_by_naming_them(
    scim, other_scim, theirs
) -> None:
    group = other_scim.create_group("Ours")
    ann = theirs["ann"]["id"]
    for operation in (
        {"op": "remove", "path": f'members[value eq "{ann}"]'},
        {"op": "Remove", "path": "members", "value": [{"value": ann}]},
    ):
        assert other_scim.patch(f"/Groups/{group['id']}", patch_op(operation)).status_code == 200
    members = scim.get(f"/Groups/{theirs['group']['id']}").get_json()["members"]
    assert sorted(m["value"] for m in members) == sorted([ann, theirs["bob"]["id"]])


@pytest.mark.parametrize("user_name", ["ann@example.com", "ANN@example.com"])
def test_the_same_user_name_can_live_in_two_integrations(
    scim, other_scim, theirs, user_name: str
) -> None:
    mine = other_scim.create_user(user_name)
    assert mine["id"] != theirs["ann"]["id"]
    assert mine["userName"] == user_name
    found = other_scim.get("/Users", query_string={"filter": 'userName eq "ann@example.com"'})
    assert [r["id"] for r in found.get_json()["Resources"]] == [mine["id"]]
    assert scim.delete(f"/Users/{theirs['ann']['id']}").status_code == 204
    assert other_scim.get(f"/Users/{mine['id']}").get_json()["userName"] == user_name
    assert (
        other_scim.put(
            f"/Users/{mine['id']}", {"schemas": [USER_URN], "userName": "bob@example.com"}
        ).status_code
        == 200
    )


def test_the_same_group_name_can_live_in_two_integrations(scim, other_scim, theirs) -> None:
    mine = other_scim.create_group("Engineers")
    found = other_scim.get("/Groups", query_string={"filter": 'displayName eq "Engineers"'})
    assert [g["id"] for g in found.get_json()["Resources"]] == [mine["id"]]
    assert found.get_json()["Resources"][0]["members"] == []
