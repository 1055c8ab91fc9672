"""Every SCIM write leaves an audit entry naming the token, the action, the target and the
attributes it changed; failed writes and reads leave none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from models import AuditEntry, ScimToken
from tests.blueprints.scim.conftest import GROUP_URN, SEARCH_REQUEST, USER_URN, patch_op


@pytest.fixture
def token_id(integration) -> str:
    return str(ScimToken.get(ScimToken.integration == integration).id)


@pytest.fixture
def world(scim) -> dict[str, Any]:
    """A user, a second user and a group with the first, before anything is audited."""
    ann = scim.create_user("ann@example.com", title="Engineer")
    bob = scim.create_user("bob@example.com")
    group = scim.create_group("Engineers", [ann["id"]])
    return {"ann": ann, "bob": bob, "group": group}


def _entries_during(action: Callable[[], Any]) -> tuple[Any, list[AuditEntry]]:
    last = AuditEntry.select(AuditEntry.id).order_by(AuditEntry.id.desc()).scalar() or 0
    response = action()
    entries = list(AuditEntry.select().where(AuditEntry.id > last).order_by(AuditEntry.id))
    return response, entries


def _user_put(scim, world) -> Any:
    body = {
        **scim.get(f"/Users/{world['ann']['id']}").get_json(),
        "title": "Lead",
        "nickName": "Annie",
    }
    return scim.put(f"/Users/{world['ann']['id']}", body)


# name: (request, action, target, changed attribute names)
WRITES: dict[str, tuple[Callable[[Any, dict], Any], str, str, set[str]]] = {
    "user create": (
        lambda scim, w: scim.post(
            "/Users",
            {
                "schemas": [USER_URN],
                "userName": "cy@example.com",
                "name": {"givenName": "Cy"},
                "password": "x",
            },
        ),
        "user.create",
        "new",
        {"userName", "name"},
    ),
    "user replace": (_user_put, "user.replace", "ann", {"title", "nickName"}),
    "user patch": (
        lambda scim, w: scim.patch(
            f"/Users/{w['ann']['id']}",
            patch_op(
                {"op": "replace", "path": "name.givenName", "value": "Anna"},
                {"op": "remove", "path": "title"},
            ),
        ),
        "user.patch",
        "ann",
        {"name", "title"},
    ),
    "user deactivate (Okta PATCH)": (
        lambda scim, w: scim.patch(
            f"/Users/{w['ann']['id']}", patch_op({"op": "replace", "value": {"active": False}})
        ),
        "user.deactivate",
        "ann",
        {"active"},
    ),
    "user delete": (
        lambda scim, w: scim.delete(f"/Users/{w['bob']['id']}"),
        "user.delete",
        "bob",
        set(),
    ),
    "group create": (
        lambda scim, w: scim.post(
            "/Groups",
            {
                "schemas": [GROUP_URN],
                "displayName": "Sales",
                "members": [{"value": w["bob"]["id"]}],
            },
        ),
        "group.create",
        "new",
        {"displayName", "members"},
    ),
    "group replace": (
        lambda scim, w: scim.put(
            f"/Groups/{w['group']['id']}",
            {
                "schemas": [GROUP_URN],
                "displayName": "Builders",
                "members": [{"value": w["bob"]["id"]}],
            },
        ),
        "group.replace",
        "group",
        {"displayName", "members"},
    ),
    "group rename (Okta PATCH)": (
        lambda scim, w: scim.patch(
            f"/Groups/{w['group']['id']}",
            patch_op(
                {"op": "replace", "value": {"id": w["group"]["id"], "displayName": "Builders"}}
            ),
        ),
        "group.patch",
        "group",
        {"displayName"},
    ),
    "group membership (Okta PATCH)": (
        lambda scim, w: scim.patch(
            f"/Groups/{w['group']['id']}",
            patch_op({"op": "add", "path": "members", "value": [{"value": w["bob"]["id"]}]}),
        ),
        "group.patch",
        "group",
        {"members"},
    ),
    "group delete": (
        lambda scim, w: scim.delete(f"/Groups/{w['group']['id']}"),
        "group.delete",
        "group",
        set(),
    ),
}


@pytest.mark.parametrize(("send", "action", "target", "changed"), WRITES.values(), ids=WRITES)
def test_a_scim_write_appends_one_audit_entry(
    scim, world, token_id, integration, send, action: str, target: str, changed: set[str]
) -> None:
    response, entries = _entries_during(lambda: send(scim, world))
    assert response.status_code in (200, 201, 204), response.get_json()
    target_id = response.get_json()["id"] if target == "new" else world[target]["id"]
    assert [(e.action, e.target_id) for e in entries] == [(action, target_id)]
    (entry,) = entries
    assert (entry.actor_type, entry.actor_id) == ("scim_token", token_id)
    assert entry.integration_id == integration.id
    assert entry.target_type == ("Group" if action.startswith("group") else "User")
    # "schemas" is bookkeeping, not an attribute anyone changes: tolerated either way.
    assert set(entry.changed) - {"schemas"} == changed
    assert "password" not in entry.changed


def test_a_write_that_changes_profile_and_status_records_both(scim, world) -> None:
    body = {**scim.get(f"/Users/{world['ann']['id']}").get_json(), "title": "Lead", "active": False}
    response, entries = _entries_during(lambda: scim.put(f"/Users/{world['ann']['id']}", body))
    assert response.status_code == 200
    assert sorted((e.action, tuple(e.changed)) for e in entries) == [
        ("user.deactivate", ("active",)),
        ("user.replace", ("title",)),
    ]


def test_the_password_okta_sends_is_never_audited(scim, world) -> None:
    body = patch_op({"op": "replace", "value": {"password": "s3cret-pw", "title": "Lead"}})
    _, entries = _entries_during(lambda: scim.patch(f"/Users/{world['ann']['id']}", body))
    assert [e.changed for e in entries] == [["title"]]
    assert all("s3cret-pw" not in str(e.__data__) for e in AuditEntry.select())


FAILED_WRITES = {
    "create with an invalid body": lambda scim, w: scim.post("/Users", {"schemas": [USER_URN]}),
    "create of a taken userName": lambda scim, w: scim.post(
        "/Users", {"schemas": [USER_URN], "userName": "ANN@example.com"}
    ),
    "replace with a stale If-Match": lambda scim, w: scim.put(
        f"/Users/{w['ann']['id']}",
        {"schemas": [USER_URN], "userName": "ann@example.com", "title": "Lead"},
        headers={"If-Match": 'W/"999"'},
    ),
    "replace onto a taken userName": lambda scim, w: scim.put(
        f"/Users/{w['ann']['id']}", {"schemas": [USER_URN], "userName": "bob@example.com"}
    ),
    "patch with a bad second operation": lambda scim, w: scim.patch(
        f"/Users/{w['ann']['id']}",
        patch_op(
            {"op": "replace", "path": "title", "value": "Lead"},
            {"op": "replace", "path": "nosuch", "value": "x"},
        ),
    ),
    "patch deactivating with an invalid second operation": lambda scim, w: scim.patch(
        f"/Users/{w['ann']['id']}",
        patch_op(
            {"op": "replace", "value": {"active": False}},
            {"op": "replace", "path": "id", "value": "x"},
        ),
    ),
    "delete of an unknown user": lambda scim, w: scim.delete("/Users/no-such-user"),
    "group delete with a stale If-Match": lambda scim, w: scim.delete(
        f"/Groups/{w['group']['id']}", headers={"If-Match": 'W/"999"'}
    ),
    "write with a bad token": lambda scim, w: scim.delete(
        f"/Users/{w['ann']['id']}", headers={"Authorization": "Bearer nope"}
    ),
}


@pytest.mark.parametrize("send", FAILED_WRITES.values(), ids=FAILED_WRITES)
def test_a_failed_write_appends_nothing(scim, world, send) -> None:
    response, entries = _entries_during(lambda: send(scim, world))
    assert response.status_code >= 400
    assert entries == []


READS = {
    "get a user": lambda scim, w: scim.get(f"/Users/{w['ann']['id']}"),
    "list users": lambda scim, w: scim.get("/Users"),
    "filter users": lambda scim, w: scim.get(
        "/Users", query_string={"filter": 'userName eq "ann@example.com"'}
    ),
    "search users": lambda scim, w: scim.post(
        "/Users/.search", {"schemas": [SEARCH_REQUEST], "filter": "title pr"}
    ),
    "get a group": lambda scim, w: scim.get(f"/Groups/{w['group']['id']}"),
    "list groups": lambda scim, w: scim.get("/Groups"),
    "search groups": lambda scim, w: scim.post("/Groups/.search", {"schemas": [SEARCH_REQUEST]}),
    "conditional get": lambda scim, w: scim.get(
        f"/Users/{w['ann']['id']}", headers={"If-None-Match": w["ann"]["meta"]["version"]}
    ),
    "discovery": lambda scim, w: scim.get("/ServiceProviderConfig"),
}


@pytest.mark.parametrize("send", READS.values(), ids=READS)
def test_a_read_appends_nothing(scim, world, send) -> None:
    response, entries = _entries_during(lambda: send(scim, world))
    assert response.status_code in (200, 304)
    assert entries == []
