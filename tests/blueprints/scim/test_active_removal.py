"""PATCH ``remove`` of ``active`` (RFC 7644 §3.5.2.2): the attribute becomes unassigned, and
the lifecycle fails closed: an unassigned ``active`` counts as not active."""

from __future__ import annotations

from typing import Any

import pytest

from models import AuditEntry, Invitation, User
from tests.blueprints.scim.conftest import USER_URN, patch_op

REMOVE_ACTIVE = patch_op({"op": "remove", "path": "active"})


@pytest.fixture
def ann(scim) -> dict[str, Any]:
    return scim.create_user("ann@example.com")


def _remove_active(scim, user: dict[str, Any]) -> dict[str, Any]:
    response = scim.patch(f"/Users/{user['id']}", REMOVE_ACTIVE)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_remove_leaves_active_unassigned_and_get_shows_it(scim, ann) -> None:
    patched = _remove_active(scim, ann)
    assert "active" not in patched
    assert patched["meta"]["version"] != ann["meta"]["version"]
    stored = scim.get(f"/Users/{ann['id']}").get_json()
    assert stored == patched
    listed = scim.get("/Users", query_string={"filter": 'userName eq "ann@example.com"'})
    assert "active" not in listed.get_json()["Resources"][0]


def test_an_unassigned_active_deactivates_the_user(scim, ann) -> None:
    _remove_active(scim, ann)
    user = User.get(User.scim_id == ann["id"])
    assert (user.active, user.state) == (False, "deactivated")
    assert (
        Invitation.select()
        .where(Invitation.user == user.id, Invitation.revoked_at.is_null())
        .count()
        == 0
    )
    actions = [e.action for e in AuditEntry.select().where(AuditEntry.target_id == ann["id"])]
    assert "user.deactivate" in actions
    still_active = scim.get("/Users", query_string={"filter": "active eq true"}).get_json()
    assert still_active["totalResults"] == 0


def test_it_stays_unassigned_through_other_changes(scim, ann) -> None:
    _remove_active(scim, ann)
    titled = scim.patch(
        f"/Users/{ann['id']}", patch_op({"op": "replace", "path": "title", "value": "Lead"})
    ).get_json()
    assert titled["title"] == "Lead"
    assert "active" not in titled
    put = scim.put(f"/Users/{ann['id']}", {"schemas": [USER_URN], "userName": "ann@example.com"})
    assert put.status_code == 200
    assert "active" not in put.get_json()
    assert User.get(User.scim_id == ann["id"]).state == "deactivated"


@pytest.mark.parametrize(
    "restore",
    [
        patch_op({"op": "add", "path": "active", "value": True}),
        patch_op({"op": "replace", "value": {"active": True}}),
    ],
    ids=["add by path", "Okta's path-less replace"],
)
def test_active_true_assigns_it_again_and_reinvites(scim, ann, restore) -> None:
    _remove_active(scim, ann)
    response = scim.patch(f"/Users/{ann['id']}", restore)
    assert response.status_code == 200
    assert response.get_json()["active"] is True
    user = User.get(User.scim_id == ann["id"])
    assert (user.active, user.state) == (True, "invited")
    assert scim.get(f"/Users/{ann['id']}").get_json()["active"] is True


def test_active_false_is_assigned_and_shown(scim, ann) -> None:
    _remove_active(scim, ann)
    response = scim.patch(
        f"/Users/{ann['id']}", patch_op({"op": "replace", "path": "active", "value": False})
    )
    assert response.get_json()["active"] is False
    assert scim.get(f"/Users/{ann['id']}").get_json()["active"] is False


def test_removing_it_twice_changes_nothing_the_second_time(scim, ann) -> None:
    first = _remove_active(scim, ann)
    second = _remove_active(scim, ann)
    assert second == first
