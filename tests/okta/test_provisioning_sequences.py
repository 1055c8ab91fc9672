"""Okta's SCIM call sequences (docs/okta.md §1.2, §1.4) with Okta's exact headers and bodies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import okta_create_group_payload, okta_create_user_payload, okta_patch_active

SCIM_JSON = "application/scim+json; charset=utf-8"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def okta(client, scim_headers):
    """A client that sends requests the way Okta's SCIM client does."""

    class Okta:
        def get(self, path: str) -> Any:
            return client.get(f"/scim/v2{path}", headers=scim_headers)

        def send(self, method: str, path: str, body: Any) -> Any:
            headers = {**scim_headers, "Content-Type": SCIM_JSON}
            return client.open(f"/scim/v2{path}", method=method, json=body, headers=headers)

    return Okta()


def _assign(okta, user_name: str, **overrides: Any) -> dict:
    """Okta's create: filter on userName, then POST when nothing matches."""
    found = okta.get(f"/Users?filter=userName%20eq%20%22{user_name}%22&startIndex=1&count=100")
    assert found.status_code == 200
    assert found.get_json()["totalResults"] == 0
    created = okta.send("POST", "/Users", okta_create_user_payload(user_name, **overrides))
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def test_test_api_credentials_requests_answer_with_list_responses(okta) -> None:
    users = okta.get("/Users?startIndex=1&count=2")
    groups = okta.get("/Groups?startIndex=1&count=100")
    assert users.status_code == groups.status_code == 200
    assert users.get_json()["Resources"] == groups.get_json()["Resources"] == []
    assert users.get_json()["totalResults"] == 0


def test_assigning_a_user_creates_it_with_every_attribute_okta_sent(okta) -> None:
    user = _assign(okta, "test.user@okta.local")
    assert user["userName"] == "test.user@okta.local"
    assert user["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert user["locale"] == "en-US"
    assert user["emails"] == [{"primary": True, "value": "test.user@okta.local", "type": "work"}]
    assert user["active"] is True
    assert "password" not in user
    assert user["meta"]["location"].endswith(f"/scim/v2/Users/{user['id']}")


def test_okta_filter_with_plus_encoded_spaces_matches(okta) -> None:
    _assign(okta, "jane.doe@example.com")
    found = okta.get("/Users?filter=userName+eq+%22jane.doe%40example.com%22")
    assert found.get_json()["totalResults"] == 1


def test_assigning_an_existing_user_matches_it_instead_of_creating(okta) -> None:
    user = _assign(okta, "test.user@okta.local")
    found = okta.get(
        "/Users?filter=userName%20eq%20%22Test.User@okta.local%22&startIndex=1&count=100"
    )
    assert [r["id"] for r in found.get_json()["Resources"]] == [user["id"]]


def test_profile_update_round_trips_our_get_plus_oktas_changes(okta) -> None:
    user = _assign(okta, "test.user@okta.local")
    current = okta.get(f"/Users/{user['id']}").get_json()
    # Okta echoes what we returned, changes the profile, and sends it back with PUT.
    current["name"] = {"givenName": "Another", "middleName": "Excited", "familyName": "User"}
    current["emails"][0]["display"] = "test.user@okta.local"
    current["password"] = "1mz050nq"
    current["meta"]["created"] = "04-12-2018 00:00:00"
    updated = okta.send("PUT", f"/Users/{user['id']}", current)
    assert updated.status_code == 200, updated.get_json()
    body = updated.get_json()
    assert body["name"] == {"givenName": "Another", "middleName": "Excited", "familyName": "User"}
    assert body["emails"][0]["display"] == "test.user@okta.local"
    assert body["meta"]["created"] == user["meta"]["created"]
    assert "password" not in body
    again = okta.get(f"/Users/{user['id']}").get_json()
    assert again["name"]["middleName"] == "Excited"


@pytest.mark.parametrize("how", ["oin_patch", "aiw_put"])
def test_deactivate_then_reactivate(okta, how: str) -> None:
    user = _assign(okta, "test.user@okta.local")
    for active in (False, True):
        if how == "oin_patch":
            response = okta.send("PATCH", f"/Users/{user['id']}", okta_patch_active(active))
        else:
            body = okta.get(f"/Users/{user['id']}").get_json()
            body["active"] = active
            response = okta.send("PUT", f"/Users/{user['id']}", body)
        assert response.status_code == 200
        assert response.get_json()["active"] is active
        assert okta.get(f"/Users/{user['id']}").get_json()["active"] is active


def test_deactivated_users_are_still_listed_for_okta_import(okta) -> None:
    user = _assign(okta, "test.user@okta.local")
    okta.send("PATCH", f"/Users/{user['id']}", okta_patch_active(False))
    listed = okta.get("/Users?startIndex=1&count=100").get_json()
    assert [(r["id"], r["active"]) for r in listed["Resources"]] == [(user["id"], False)]


def test_group_push_rename_membership_and_delete(okta) -> None:
    alice = _assign(okta, "alice@okta.local", externalId="00ua")
    bob = _assign(okta, "bob@okta.local", externalId="00ub")

    created = okta.send("POST", "/Groups", okta_create_group_payload("Test SCIMv2"))
    assert created.status_code == 201
    group = created.get_json()
    assert group["displayName"] == "Test SCIMv2"
    assert group["members"] == []

    found = okta.get("/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100")
    assert [g["id"] for g in found.get_json()["Resources"]] == [group["id"]]

    # Rename: path-less replace with the group's id inside the value.
    renamed = okta.send(
        "PATCH",
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "value": {"id": group["id"], "displayName": "Renamed"}}
            ],
        },
    )
    assert renamed.status_code == 200
    assert renamed.get_json()["displayName"] == "Renamed"

    # Membership: add both, then remove one by filter and add nothing new.
    add = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [
                    {"value": alice["id"], "display": "alice@okta.local"},
                    {"value": bob["id"], "display": "bob@okta.local"},
                ],
            }
        ],
    }
    assert okta.send("PATCH", f"/Groups/{group['id']}", add).status_code == 200
    remove_alice = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'},
            {"op": "add", "path": "members", "value": [{"value": bob["id"], "display": "bob"}]},
        ],
    }
    assert okta.send("PATCH", f"/Groups/{group['id']}", remove_alice).status_code == 200
    members = okta.get(f"/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [bob["id"]]
    assert okta.get(f"/Users/{bob['id']}").get_json()["groups"][0]["value"] == group["id"]

    # Push Now: full overwrite of the member list.
    push_now = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "members", "value": [{"value": alice["id"]}]}],
    }
    assert okta.send("PATCH", f"/Groups/{group['id']}", push_now).status_code == 200
    members = okta.get(f"/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [alice["id"]]

    # AIW: PUT with the full member list.
    put = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Test SCIMv2",
        "members": [{"value": bob["id"], "display": "bob@okta.local"}],
    }
    replaced = okta.send("PUT", f"/Groups/{group['id']}", put)
    assert replaced.status_code == 200
    assert [m["value"] for m in replaced.get_json()["members"]] == [bob["id"]]
    assert replaced.get_json()["displayName"] == "Test SCIMv2"

    # Unlink pushed group + delete it in the app.
    deleted = okta.send("DELETE", f"/Groups/{group['id']}", None)
    assert deleted.status_code == 204
    assert okta.get(f"/Groups/{group['id']}").status_code == 404
    assert okta.get(f"/Users/{bob['id']}").get_json()["groups"] == []


def test_import_pages_through_every_user_exactly_once(okta) -> None:
    ids = {_assign(okta, f"user{i:03}@okta.local")["id"] for i in range(23)}
    seen: list[str] = []
    start = 1
    while True:
        page = okta.get(f"/Users?startIndex={start}&count=5").get_json()
        assert page["totalResults"] == 23
        seen.extend(r["id"] for r in page["Resources"])
        if start + page["itemsPerPage"] > page["totalResults"]:
            break
        start += 5
    assert len(seen) == 23
    assert set(seen) == ids
