"""Versions and ETags (RFC 7644 §3.14): W/"n" that moves on every change and only then, and
If-Match / If-None-Match preconditions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from models import User
from tests.blueprints.scim.conftest import (
    GROUP_URN,
    assert_scim_error,
    patch_op,
    recorded_sql,
    seed_group,
)

WEAK_ETAG = re.compile(r'W/"\d+"')
USER_OR_GROUP_TABLE = re.compile(r'(FROM|UPDATE|INTO|JOIN) "(user|group|group_member)"')


@pytest.fixture
def ann(scim) -> dict[str, Any]:
    return scim.create_user("ann@example.com", title="Engineer")


@pytest.fixture
def team(scim, ann) -> dict[str, Any]:
    return scim.create_group("Engineers", [ann["id"]])


def _version(response: Any) -> str:
    assert response.headers["ETag"] == response.get_json()["meta"]["version"]
    assert WEAK_ETAG.fullmatch(response.headers["ETag"])
    return response.headers["ETag"]


def test_every_user_response_carries_its_version_as_etag(scim) -> None:
    created = scim.post(
        "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a@b.c"}
    )
    path = f"/Users/{created.get_json()['id']}"
    v1 = _version(created)
    assert _version(scim.get(path)) == v1
    v2 = _version(scim.patch(path, patch_op({"op": "add", "path": "title", "value": "Lead"})))
    body = {**scim.get(path).get_json(), "title": "Principal"}
    v3 = _version(scim.put(path, body))
    assert len({v1, v2, v3}) == 3
    assert int(v1[3:-1]) < int(v2[3:-1]) < int(v3[3:-1])


def test_every_group_response_carries_its_version_as_etag(scim, ann) -> None:
    created = scim.post("/Groups", {"schemas": [GROUP_URN], "displayName": "Engineers"})
    path = f"/Groups/{created.get_json()['id']}"
    v1 = _version(created)
    assert _version(scim.get(path)) == v1
    add = patch_op({"op": "add", "path": "members", "value": [{"value": ann["id"]}]})
    v2 = _version(scim.patch(path, add))
    v3 = _version(scim.put(path, {"schemas": [GROUP_URN], "displayName": "Builders"}))
    assert int(v1[3:-1]) < int(v2[3:-1]) < int(v3[3:-1])


NO_OPS = {
    "user PUT of our own GET": lambda scim, ann, team: (
        "PUT",
        f"/Users/{ann['id']}",
        scim.get(f"/Users/{ann['id']}").get_json(),
    ),
    "user PATCH to the current value": lambda scim, ann, team: (
        "PATCH",
        f"/Users/{ann['id']}",
        patch_op({"op": "replace", "path": "title", "value": "Engineer"}),
    ),
    "user PATCH re-activating an active user": lambda scim, ann, team: (
        "PATCH",
        f"/Users/{ann['id']}",
        patch_op({"op": "replace", "value": {"active": True}}),
    ),
    "group PUT of our own GET": lambda scim, ann, team: (
        "PUT",
        f"/Groups/{team['id']}",
        scim.get(f"/Groups/{team['id']}").get_json(),
    ),
    "group PUT with the same name and members (Okta AIW)": lambda scim, ann, team: (
        "PUT",
        f"/Groups/{team['id']}",
        {
            "schemas": [GROUP_URN],
            "displayName": "Engineers",
            "members": [{"value": ann["id"], "display": "ann@example.com"}],
        },
    ),
    "group rename to the current name (Okta)": lambda scim, ann, team: (
        "PATCH",
        f"/Groups/{team['id']}",
        patch_op({"op": "replace", "value": {"id": team["id"], "displayName": "Engineers"}}),
    ),
    "group add of an existing member": lambda scim, ann, team: (
        "PATCH",
        f"/Groups/{team['id']}",
        patch_op({"op": "add", "path": "members", "value": [{"value": ann["id"]}]}),
    ),
    "group Push Now with the same members": lambda scim, ann, team: (
        "PATCH",
        f"/Groups/{team['id']}",
        patch_op({"op": "replace", "path": "members", "value": [{"value": ann["id"]}]}),
    ),
}


@pytest.mark.parametrize("request_for", NO_OPS.values(), ids=NO_OPS)
def test_a_request_that_changes_nothing_keeps_version_and_last_modified(
    scim, ann, team, request_for
) -> None:
    method, path, body = request_for(scim, ann, team)
    before = scim.get(path).get_json()
    response = scim.request(method, path, body)
    assert response.status_code == 200, response.get_json()
    after = scim.get(path).get_json()
    assert after["meta"]["version"] == before["meta"]["version"]
    assert after["meta"]["lastModified"] == before["meta"]["lastModified"]
    assert response.headers["ETag"] == before["meta"]["version"]


def _write(scim, method: str, path: str, if_match: str | None = None) -> Any:
    """A real change of the user or group at ``path``, optionally with If-Match."""
    headers = {"If-Match": if_match} if if_match is not None else {}
    group = path.startswith("/Groups")
    if method == "PUT":
        if group:
            body = {"schemas": [GROUP_URN], "displayName": "Builders"}
        else:
            body = {**scim.get(path).get_json(), "title": "Lead"}
        return scim.put(path, body, headers=headers)
    if method == "PATCH":
        attr, value = ("displayName", "Builders") if group else ("title", "Lead")
        operation = {"op": "replace", "path": attr, "value": value}
        return scim.patch(path, patch_op(operation), headers=headers)
    return scim.delete(path, headers=headers)


@pytest.fixture
def target(scim, request, ann, team) -> str:
    return f"/Users/{ann['id']}" if request.param == "Users" else f"/Groups/{team['id']}"


@pytest.mark.parametrize("target", ["Users", "Groups"], indirect=True)
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "if_match",
    ["current", "current without W/", "*", "current among others"],
)
def test_a_matching_if_match_lets_the_write_through(scim, target, method, if_match) -> None:
    current = scim.get(target).headers["ETag"]
    header = {
        "current": current,
        "current without W/": current.removeprefix("W/"),
        "*": "*",
        "current among others": f'W/"999", {current}',
    }[if_match]
    response = _write(scim, method, target, header)
    assert response.status_code == (204 if method == "DELETE" else 200), response.get_json()
    if method == "DELETE":
        assert scim.get(target).status_code == 404
    else:
        assert response.headers["ETag"] != current


@pytest.mark.parametrize("target", ["Users", "Groups"], indirect=True)
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("stale", ['W/"0"', 'W/"999"', '"999"', "previous"])
def test_a_stale_if_match_is_412_and_changes_nothing(scim, target, method, stale) -> None:
    if stale == "previous":
        stale = scim.get(target).headers["ETag"]
        changed = _write(scim, "PATCH", target, None)
        assert changed.status_code == 200
    before = scim.get(target).get_json()
    response = _write(scim, method, target, stale)
    assert_scim_error(response, 412)
    assert scim.get(target).get_json() == before


@pytest.mark.parametrize("target", ["Users", "Groups"], indirect=True)
def test_if_none_match_with_the_current_version_is_304_without_a_body(scim, target) -> None:
    current = scim.get(target).headers["ETag"]
    for header in (current, f'W/"999", {current}', "*"):
        response = scim.get(target, headers={"If-None-Match": header})
        assert response.status_code == 304
        assert response.get_data() == b""
        assert response.headers["ETag"] == current


@pytest.mark.parametrize("target", ["Users", "Groups"], indirect=True)
def test_if_none_match_with_a_stale_version_is_200_with_the_resource(scim, target) -> None:
    stale = scim.get(target).headers["ETag"]
    assert _write(scim, "PATCH", target, None).status_code == 200
    response = scim.get(target, headers={"If-None-Match": stale})
    assert response.status_code == 200
    assert response.get_json()["id"] == target.rsplit("/", 1)[1]
    assert response.headers["ETag"] != stale


def test_deleting_a_user_moves_no_other_users_version(scim, ann) -> None:
    bob = scim.create_user("bob@example.com")
    assert scim.delete(f"/Users/{ann['id']}").status_code == 204
    assert scim.get(f"/Users/{bob['id']}").get_json()["meta"] == bob["meta"]


# --- users and groups show each other ---------------------------------------------------
#
# A user's GET lists its groups by name, a group's GET lists its members by display name:
# a change on one side changes the other side's body, so its ETag must move too.


@pytest.fixture
def bob(scim) -> dict[str, Any]:
    """A user without displayName: groups show his userName."""
    return scim.create_user("bob@example.com", displayName=None)


def _add(scim, group: dict, *users: dict) -> Any:
    members = [{"value": u["id"]} for u in users]
    return scim.patch(
        f"/Groups/{group['id']}", patch_op({"op": "add", "path": "members", "value": members})
    )


# Each entry: a change on one side, and which resource on the other side shows it.
RELATED_CHANGES = {
    "user added to a group": (lambda scim, ann, bob, team: _add(scim, team, bob), "bob"),
    "group created with the user": (
        lambda scim, ann, bob, team: scim.post(
            "/Groups",
            {"schemas": [GROUP_URN], "displayName": "Builders", "members": [{"value": bob["id"]}]},
        ),
        "bob",
    ),
    "user removed from a group by filter": (
        lambda scim, ann, bob, team: scim.patch(
            f"/Groups/{team['id']}",
            patch_op({"op": "remove", "path": f'members[value eq "{ann["id"]}"]'}),
        ),
        "ann",
    ),
    "user removed from a group by value (Entra)": (
        lambda scim, ann, bob, team: scim.patch(
            f"/Groups/{team['id']}",
            patch_op({"op": "Remove", "path": "members", "value": [{"value": ann["id"]}]}),
        ),
        "ann",
    ),
    "every member removed": (
        lambda scim, ann, bob, team: scim.patch(
            f"/Groups/{team['id']}", patch_op({"op": "remove", "path": "members"})
        ),
        "ann",
    ),
    "user left out of Push Now's members": (
        lambda scim, ann, bob, team: scim.patch(
            f"/Groups/{team['id']}",
            patch_op({"op": "replace", "path": "members", "value": [{"value": bob["id"]}]}),
        ),
        "ann",
    ),
    "user added by Push Now's members": (
        lambda scim, ann, bob, team: scim.patch(
            f"/Groups/{team['id']}",
            patch_op(
                {
                    "op": "replace",
                    "path": "members",
                    "value": [{"value": ann["id"]}, {"value": bob["id"]}],
                }
            ),
        ),
        "bob",
    ),
    "user left out of a group PUT": (
        lambda scim, ann, bob, team: scim.put(
            f"/Groups/{team['id']}",
            {"schemas": [GROUP_URN], "displayName": "Engineers", "members": []},
        ),
        "ann",
    ),
    "group renamed (Okta's PATCH with id)": (
        lambda scim, ann, bob, team: scim.patch(
            f"/Groups/{team['id']}",
            patch_op({"op": "replace", "value": {"id": team["id"], "displayName": "Builders"}}),
        ),
        "ann",
    ),
    "group renamed by PUT": (
        lambda scim, ann, bob, team: scim.put(
            f"/Groups/{team['id']}", {"schemas": [GROUP_URN], "displayName": "Builders"}
        ),
        "ann",
    ),
    "group deleted": (lambda scim, ann, bob, team: scim.delete(f"/Groups/{team['id']}"), "ann"),
    "member's displayName changed": (
        lambda scim, ann, bob, team: scim.patch(
            f"/Users/{ann['id']}",
            patch_op({"op": "replace", "path": "displayName", "value": "Ann Lee"}),
        ),
        "team",
    ),
    "member's userName changed (no displayName)": (
        lambda scim, ann, bob, team: scim.put(
            f"/Users/{bob['id']}",
            {**scim.get(f"/Users/{bob['id']}").get_json(), "userName": "robert@example.com"},
        ),
        "team",
    ),
    "member deleted": (lambda scim, ann, bob, team: scim.delete(f"/Users/{ann['id']}"), "team"),
}


def _path_of(name: str, ann: dict, bob: dict, team: dict) -> str:
    if name == "team":
        return f"/Groups/{team['id']}"
    return f"/Users/{(ann if name == 'ann' else bob)['id']}"


@pytest.mark.parametrize(("change", "observed"), RELATED_CHANGES.values(), ids=RELATED_CHANGES)
def test_a_change_that_shows_on_the_other_side_moves_its_version(
    scim, ann, bob, team, change, observed: str
) -> None:
    if observed == "team":
        # Bob joins first: renaming him must show in the group too.
        _add(scim, team, bob)
    path = _path_of(observed, ann, bob, team)
    before = scim.get(path)
    stale = before.headers["ETag"]
    response = change(scim, ann, bob, team)
    assert response.status_code < 300, response.get_json()
    after = scim.get(path, headers={"If-None-Match": stale})
    assert after.status_code == 200
    assert after.get_json() != before.get_json()
    assert after.headers["ETag"] != stale
    assert after.get_json()["meta"]["lastModified"] > before.get_json()["meta"]["lastModified"]
    assert_scim_error(_write(scim, "PUT", path, stale), 412)


# Each entry: a change on one side that the other side's body does not show.
UNRELATED_CHANGES = {
    "an existing member added again": (lambda scim, ann, bob, team: _add(scim, team, ann), "ann"),
    "another user added, the name re-sent (Okta)": (
        lambda scim, ann, bob, team: scim.patch(
            f"/Groups/{team['id']}",
            patch_op(
                {"op": "replace", "value": {"id": team["id"], "displayName": "Engineers"}},
                {"op": "add", "path": "members", "value": [{"value": bob["id"]}]},
            ),
        ),
        "ann",
    ),
    "member's title changed": (
        lambda scim, ann, bob, team: scim.patch(
            f"/Users/{ann['id']}", patch_op({"op": "replace", "path": "title", "value": "Lead"})
        ),
        "team",
    ),
    "member's userName changed behind its displayName": (
        lambda scim, ann, bob, team: scim.patch(
            f"/Users/{ann['id']}",
            patch_op({"op": "replace", "path": "userName", "value": "ann.lee@example.com"}),
        ),
        "team",
    ),
}


@pytest.mark.parametrize(("change", "observed"), UNRELATED_CHANGES.values(), ids=UNRELATED_CHANGES)
def test_a_change_that_does_not_show_on_the_other_side_keeps_its_version(
    scim, ann, bob, team, change, observed: str
) -> None:
    path = _path_of(observed, ann, bob, team)
    before = scim.get(path).get_json()
    response = change(scim, ann, bob, team)
    assert response.status_code == 200, response.get_json()
    assert scim.get(path).get_json() == before


def test_renaming_a_group_of_10000_moves_every_member_in_as_many_statements_as_for_10(
    scim, integration
) -> None:
    costs = []
    for group in (seed_group(integration, "Small", 10), seed_group(integration, "Big", 10_000)):
        rename = {"op": "replace", "path": "displayName", "value": f"{group.display_name} 2"}
        with recorded_sql() as statements:
            response = scim.patch(
                f"/Groups/{group.scim_id}",
                patch_op(rename),
                query_string={"excludedAttributes": "members"},
            )
        assert response.status_code == 200, response.get_json()
        # Token checks and request bookkeeping come and go with caches: count the data's.
        costs.append(len([sql for sql in statements if USER_OR_GROUP_TABLE.search(sql)]))
    assert costs[0] == costs[1]
    member = User.select(User.scim_id).where(User.integration == integration).first()
    assert scim.get(f"/Users/{member.scim_id}").headers["ETag"] == 'W/"2"'
    unmoved = User.select().where(User.integration == integration, User.version == 1)
    assert unmoved.count() == 0
