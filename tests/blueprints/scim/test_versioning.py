"""Versions and ETags (RFC 7644 §3.14): W/"n" that moves on every change and only then, and
If-Match / If-None-Match preconditions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.blueprints.scim.conftest import GROUP_URN, assert_scim_error, patch_op

WEAK_ETAG = re.compile(r'W/"\d+"')


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
