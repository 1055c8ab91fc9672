"""/Users over HTTP: create, read, replace and delete as Okta drives them (RFC 7644 §3.3-§3.6)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from models import User
from tests.blueprints.scim.conftest import ENTERPRISE_URN, USER_URN, assert_scim_error, patch_op

CUSTOM_URN = "urn:example:params:scim:schemas:extension:acme:2.0:User"


def _without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"}


def test_create_answers_201_with_a_location_header_equal_to_meta_location(scim) -> None:
    response = scim.post("/Users", {"schemas": [USER_URN], "userName": "ann@example.com"})
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == body["meta"]["location"]
    assert body["meta"]["location"] == f"http://localhost/scim/v2/Users/{body['id']}"


def test_created_user_carries_complete_meta(scim) -> None:
    user = scim.create_user("ann@example.com")
    meta = user["meta"]
    assert meta["resourceType"] == "User"
    assert meta["created"] == meta["lastModified"]
    assert meta["created"].endswith("Z")
    assert meta["version"].startswith('W/"')
    assert scim.get(f"/Users/{user['id']}").get_json()["meta"] == meta


def test_user_name_is_stored_and_returned_exactly_as_sent(scim) -> None:
    created = scim.create_user("Runscope300Hflu.Mixed@Atko.com")
    assert created["userName"] == "Runscope300Hflu.Mixed@Atko.com"
    fetched = scim.get(f"/Users/{created['id']}").get_json()
    assert fetched["userName"] == "Runscope300Hflu.Mixed@Atko.com"
    listed = scim.get("/Users").get_json()["Resources"]
    assert [r["userName"] for r in listed] == ["Runscope300Hflu.Mixed@Atko.com"]
    assert User.get(User.scim_id == created["id"]).user_name == "Runscope300Hflu.Mixed@Atko.com"


@pytest.mark.parametrize(
    "again", ["Mixed.Case@Example.com", "mixed.case@example.com", "MIXED.CASE@EXAMPLE.COM"]
)
def test_creating_a_taken_user_name_in_any_case_is_409_uniqueness(scim, again: str) -> None:
    scim.create_user("Mixed.Case@Example.com")
    response = scim.post("/Users", {"schemas": [USER_URN], "userName": again})
    assert_scim_error(response, 409, "uniqueness")
    assert scim.get("/Users").get_json()["totalResults"] == 1


def test_oktas_placeholder_password_is_accepted_but_never_returned_or_stored(scim) -> None:
    response = scim.post("/Users", {**_okta_user("ann@example.com"), "password": "1mz050nq"})
    assert response.status_code == 201
    assert "password" not in response.get_json()
    user_id = response.get_json()["id"]
    assert "password" not in scim.get(f"/Users/{user_id}").get_json()
    row = User.get(User.scim_id == user_id)
    assert "1mz050nq" not in json.dumps(row.document)
    assert "1mz050nq" not in json.dumps(row.__data__, default=str)


def test_a_password_sync_patch_is_accepted_and_stores_nothing(scim) -> None:
    user = scim.create_user("ann@example.com")
    response = scim.patch(
        f"/Users/{user['id']}", patch_op({"op": "replace", "value": {"password": "n3w-s3cret"}})
    )
    assert response.status_code == 200
    assert "password" not in response.get_json()
    assert response.get_json()["meta"]["version"] == user["meta"]["version"]
    assert "n3w-s3cret" not in json.dumps(
        User.get(User.scim_id == user["id"]).__data__, default=str
    )


def _okta_user(user_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "active": True,
        **extra,
    }


def test_attributes_of_declared_schemas_we_do_not_interpret_are_kept_and_returned(scim) -> None:
    body = _okta_user(
        "ann@example.com",
        nickName="Annie",
        favouriteColour="teal",
        name={"givenName": "Ann", "familyName": "Lee", "pronunciation": "an lee"},
    )
    body["schemas"] = [USER_URN, CUSTOM_URN]
    body[CUSTOM_URN] = {"badgeNumber": "B-42", "floor": 3}
    created = scim.post("/Users", body)
    assert created.status_code == 201, created.get_json()
    for returned in (created.get_json(), scim.get(f"/Users/{created.get_json()['id']}").get_json()):
        assert returned["nickName"] == "Annie"
        assert returned["favouriteColour"] == "teal"
        assert returned["name"]["pronunciation"] == "an lee"
        assert returned[CUSTOM_URN] == {"badgeNumber": "B-42", "floor": 3}
        assert CUSTOM_URN in returned["schemas"]


def test_enterprise_extension_round_trips(scim) -> None:
    enterprise = {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
    }
    body = _okta_user("ann@example.com", **{ENTERPRISE_URN: enterprise})
    body["schemas"] = [USER_URN, ENTERPRISE_URN]
    created = scim.post("/Users", body).get_json()
    fetched = scim.get(f"/Users/{created['id']}").get_json()
    assert fetched[ENTERPRISE_URN] == enterprise
    assert fetched["schemas"] == [USER_URN, ENTERPRISE_URN]
    again = scim.put(f"/Users/{created['id']}", fetched)
    assert again.status_code == 200
    assert again.get_json()[ENTERPRISE_URN] == enterprise


def test_read_only_attributes_sent_on_create_are_ignored(scim) -> None:
    group = scim.create_group("Engineers")
    body = _okta_user(
        "ann@example.com",
        id="chosen-by-the-client",
        meta={"resourceType": "Group", "created": "2001-01-01T00:00:00Z", "version": 'W/"77"'},
        groups=[{"value": group["id"], "display": "Engineers"}],
    )
    created = scim.post("/Users", body)
    assert created.status_code == 201
    user = created.get_json()
    assert user["id"] != "chosen-by-the-client"
    assert user["meta"]["resourceType"] == "User"
    assert not user["meta"]["created"].startswith("2001")
    assert user["meta"]["version"] != 'W/"77"'
    assert user["groups"] == []
    assert scim.get(f"/Groups/{group['id']}").get_json()["members"] == []
    assert scim.get("/Users/chosen-by-the-client").status_code == 404


def test_put_replaces_the_user_so_an_attribute_left_out_disappears(scim) -> None:
    user = scim.create_user("ann@example.com", title="Engineer", nickName="Annie")
    body = {k: v for k, v in user.items() if k not in {"title", "meta"}}
    replaced = scim.put(f"/Users/{user['id']}", body)
    assert replaced.status_code == 200
    assert "title" not in replaced.get_json()
    assert "title" not in scim.get(f"/Users/{user['id']}").get_json()
    assert scim.get(f"/Users/{user['id']}").get_json()["nickName"] == "Annie"


def test_put_of_our_own_get_body_changes_nothing(scim) -> None:
    user = scim.create_user("ann@example.com", title="Engineer")
    before = scim.get(f"/Users/{user['id']}").get_json()
    response = scim.put(f"/Users/{user['id']}", before)
    assert response.status_code == 200
    assert response.get_json() == before
    assert scim.get(f"/Users/{user['id']}").get_json() == before


def test_put_of_our_get_body_plus_oktas_change_changes_only_that(scim) -> None:
    user = scim.create_user("ann@example.com", title="Engineer")
    before = scim.get(f"/Users/{user['id']}").get_json()
    sent = json.loads(json.dumps(before))
    sent["name"]["middleName"] = "Excited"
    sent["title"] = "Senior Engineer"
    after = scim.put(f"/Users/{user['id']}", sent).get_json()
    expected = {
        **_without_meta(before),
        "name": {**before["name"], "middleName": "Excited"},
        "title": "Senior Engineer",
    }
    assert _without_meta(after) == expected
    assert after["meta"]["created"] == before["meta"]["created"]
    assert after["meta"]["lastModified"] > before["meta"]["lastModified"]


@pytest.mark.parametrize("taken", ["bob@example.com", "BOB@Example.COM"])
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_renaming_a_user_to_another_users_user_name_is_409(scim, method: str, taken: str) -> None:
    scim.create_user("bob@example.com")
    ann = scim.create_user("ann@example.com")
    if method == "PUT":
        body = {**_without_meta(ann), "userName": taken}
    else:
        body = patch_op({"op": "replace", "path": "userName", "value": taken})
    response = scim.request(method, f"/Users/{ann['id']}", body)
    assert_scim_error(response, 409, "uniqueness")
    assert scim.get(f"/Users/{ann['id']}").get_json() == ann


def test_a_user_can_rename_itself_to_a_different_case_of_its_own_user_name(scim) -> None:
    ann = scim.create_user("ann@example.com")
    response = scim.patch(
        f"/Users/{ann['id']}",
        patch_op({"op": "replace", "path": "userName", "value": "Ann@Example.com"}),
    )
    assert response.status_code == 200
    assert response.get_json()["userName"] == "Ann@Example.com"


def test_delete_answers_204_and_the_user_is_gone_everywhere(scim) -> None:
    ann = scim.create_user("ann@example.com")
    bob = scim.create_user("bob@example.com")
    group = scim.create_group("Engineers", [ann["id"], bob["id"]])
    response = scim.delete(f"/Users/{ann['id']}")
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_scim_error(scim.get(f"/Users/{ann['id']}"), 404)
    assert scim.user_names() == {"bob@example.com"}
    assert scim.user_names(query_string={"filter": 'userName eq "ann@example.com"'}) == set()
    assert scim.user_names(query_string={"filter": f'id eq "{ann["id"]}"'}) == set()
    members = scim.get(f"/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [bob["id"]]


def test_a_deleted_users_user_name_can_be_provisioned_again(scim) -> None:
    first = scim.create_user("Ann@Example.com")
    assert scim.delete(f"/Users/{first['id']}").status_code == 204
    second = scim.create_user("ann@example.com")
    assert second["id"] != first["id"]
    assert scim.user_names(query_string={"filter": 'userName eq "ANN@example.com"'}) == {
        "ann@example.com"
    }


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_deleted_user_is_404_for_every_method(scim, method: str) -> None:
    user = scim.create_user("ann@example.com")
    scim.delete(f"/Users/{user['id']}")
    body = {
        "PUT": _okta_user("ann@example.com"),
        "PATCH": patch_op({"op": "replace", "path": "title", "value": "x"}),
    }.get(method)
    assert_scim_error(scim.request(method, f"/Users/{user['id']}", body), 404)


@pytest.mark.parametrize(
    "unknown", ["010101001010101011001010101011", "6f1b0a52-0000-4000-8000-000000000000"]
)
def test_getting_an_unknown_id_is_404_with_a_scim_error(scim, unknown: str) -> None:
    body = assert_scim_error(scim.get(f"/Users/{unknown}"), 404)
    assert "scimType" not in body
