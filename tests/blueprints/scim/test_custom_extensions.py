"""Extension schemas we do not declare (``urn:…:extension:acme:2.0:User``): POST and PUT keep
their objects, PATCH paths reach into them, and an object whose URN is missing from
``schemas`` is accepted with the URN listed for it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.blueprints.scim.conftest import USER_URN, assert_scim_error, patch_op

ACME = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def ann(scim) -> dict[str, Any]:
    body = {
        "schemas": [USER_URN, ACME],
        "userName": "ann@example.com",
        ACME: {"costCenter": "4130", "badges": ["blue"]},
    }
    response = scim.post("/Users", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _patched(scim, user: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    response = scim.patch(f"/Users/{user['id']}", patch_op(*operations))
    assert response.status_code == 200, response.get_json()
    stored = scim.get(f"/Users/{user['id']}").get_json()
    assert response.get_json() == stored
    return stored


def test_replace_of_an_extension_attribute_by_path(scim, ann) -> None:
    user = _patched(scim, ann, {"op": "replace", "path": f"{ACME}:costCenter", "value": "5000"})
    assert user[ACME] == {"costCenter": "5000", "badges": ["blue"]}
    assert user["schemas"] == [USER_URN, ACME]


def test_add_to_a_list_appends_and_remove_drops(scim, ann) -> None:
    user = _patched(scim, ann, {"op": "add", "path": f"{ACME}:badges", "value": ["red", "blue"]})
    assert user[ACME]["badges"] == ["blue", "red"]
    user = _patched(scim, user, {"op": "remove", "path": f"{ACME}:costCenter"})
    assert user[ACME] == {"badges": ["blue", "red"]}


def test_a_sub_attribute_path_writes_into_a_complex_value(scim, ann) -> None:
    user = _patched(scim, ann, {"op": "add", "path": f"{ACME}:manager.name", "value": "Bo"})
    assert user[ACME]["manager"] == {"name": "Bo"}
    user = _patched(scim, user, {"op": "remove", "path": f"{ACME}:manager.name"})
    assert "manager" not in user[ACME]


def test_removing_the_last_attribute_drops_the_extension_and_its_urn(scim, ann) -> None:
    user = _patched(
        scim,
        ann,
        {"op": "remove", "path": f"{ACME}:costCenter"},
        {"op": "remove", "path": f"{ACME}:badges"},
    )
    assert ACME not in user
    assert user["schemas"] == [USER_URN]


def test_a_new_extension_by_path_or_path_less_value_lists_its_urn(scim) -> None:
    bob = scim.create_user("bob@example.com")
    user = _patched(scim, bob, {"op": "add", "path": f"{ACME}:costCenter", "value": "7"})
    assert user[ACME] == {"costCenter": "7"}
    assert ACME in user["schemas"]
    cy = scim.create_user("cy@example.com")
    user = _patched(scim, cy, {"op": "add", "value": {ACME: {"costCenter": "8"}}})
    assert user[ACME] == {"costCenter": "8"}
    assert ACME in user["schemas"]
    user = _patched(scim, user, {"op": "remove", "path": ACME})
    assert ACME not in user
    assert ACME not in user["schemas"]


def test_a_value_filter_into_an_undeclared_extension_is_invalid_path(scim, ann) -> None:
    response = scim.patch(
        f"/Users/{ann['id']}",
        patch_op({"op": "replace", "path": f'{ACME}:badges[value eq "blue"]', "value": "x"}),
    )
    assert_scim_error(response, 400, "invalidPath")


@pytest.mark.parametrize("method", ["post", "put"])
def test_an_extension_object_missing_from_schemas_gets_its_urn(scim, method) -> None:
    body = {"schemas": [USER_URN], "userName": "dee@example.com", ACME: {"costCenter": "9"}}
    if method == "post":
        response = scim.post("/Users", body)
    else:
        user = scim.create_user("dee@example.com")
        response = scim.put(f"/Users/{user['id']}", body)
    assert response.status_code in (200, 201), response.get_json()
    stored = scim.get(f"/Users/{response.get_json()['id']}").get_json()
    assert stored["schemas"] == [USER_URN, ACME]
    assert stored[ACME] == {"costCenter": "9"}


def test_a_declared_extension_object_missing_from_schemas_gets_its_urn(scim) -> None:
    body = {"schemas": [USER_URN], "userName": "eve@example.com", ENTERPRISE: {"department": "R"}}
    response = scim.post("/Users", body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["schemas"] == [USER_URN, ENTERPRISE]
    assert response.get_json()[ENTERPRISE] == {"department": "R"}


def test_a_path_into_an_unknown_non_extension_urn_stays_invalid_path(scim, ann) -> None:
    response = scim.patch(
        f"/Users/{ann['id']}",
        patch_op({"op": "replace", "path": "urn:example:typo:2.0:User:title", "value": "x"}),
    )
    assert_scim_error(response, 400, "invalidPath")
