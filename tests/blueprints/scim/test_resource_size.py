"""Unknown and extension data is bounded per resource, and list pages are bounded in bytes."""

from __future__ import annotations

from typing import Any

import pytest

from models import Group, User
from tests.blueprints.scim.conftest import GROUP_URN, USER_URN, assert_scim_error, patch_op

KIB = 1024
BIG_URN = "urn:x:big"


def extra(kib: int) -> dict[str, Any]:
    """About ``kib`` KiB of data Okta's schemas do not describe: an unknown attribute and an
    undeclared extension object."""
    half = kib * KIB // 2
    return {"favouriteColours": "x" * half, BIG_URN: {"blob": "y" * half}}


def user_body(user_name: str, kib: int = 0) -> dict[str, Any]:
    return {
        "schemas": [USER_URN, BIG_URN] if kib else [USER_URN],
        "userName": user_name,
        "emails": [{"value": user_name, "primary": True}],
        **(extra(kib) if kib else {}),
    }


def group_body(name: str, kib: int = 0) -> dict[str, Any]:
    return {
        "schemas": [GROUP_URN, BIG_URN] if kib else [GROUP_URN],
        "displayName": name,
        **(extra(kib) if kib else {}),
    }


BODIES = {"Users": user_body, "Groups": group_body}


def stored_document(path: str) -> dict[str, Any]:
    model = User if path == "Users" else Group
    return dict(model.get().document)


def assert_too_large(response: Any) -> None:
    body = assert_scim_error(response, 400, "invalidValue")
    assert "at most 65536 bytes are stored per resource" in body["detail"]


@pytest.mark.parametrize("path", BODIES)
def test_a_resource_with_60_kib_of_extra_data_is_stored(scim, path) -> None:
    response = scim.post(f"/{path}", BODIES[path]("ada@example.com", kib=60))

    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()[BIG_URN]["blob"]) == 30 * KIB
    assert len(stored_document(path)["favouriteColours"]) == 30 * KIB


@pytest.mark.parametrize("path", BODIES)
def test_a_resource_with_70_kib_of_extra_data_is_refused_on_create(scim, path) -> None:
    response = scim.post(f"/{path}", BODIES[path]("ada@example.com", kib=70))

    assert_too_large(response)
    assert (User if path == "Users" else Group).select().count() == 0


@pytest.mark.parametrize("path", BODIES)
def test_a_replace_with_70_kib_of_extra_data_is_refused_and_nothing_changes(scim, path) -> None:
    created = scim.post(f"/{path}", BODIES[path]("ada@example.com")).get_json()
    before = stored_document(path)

    response = scim.put(f"/{path}/{created['id']}", BODIES[path]("ada@example.com", kib=70))

    assert_too_large(response)
    assert stored_document(path) == before
    assert scim.get(f"/{path}/{created['id']}").get_json()["meta"] == created["meta"]


@pytest.mark.parametrize("path", BODIES)
def test_patches_that_grow_extra_data_past_the_limit_are_refused(scim, path) -> None:
    created = scim.post(f"/{path}", BODIES[path]("ada@example.com", kib=40)).get_json()
    before = stored_document(path)
    # Each patch alone is small enough; together with what is stored they are not.
    grow = patch_op({"op": "add", "value": {"moreColours": "z" * 30 * KIB}})

    response = scim.patch(f"/{path}/{created['id']}", grow)

    assert_too_large(response)
    assert stored_document(path) == before


def test_unknown_sub_attributes_of_a_known_attribute_count_too(scim) -> None:
    body = user_body("ada@example.com")
    body["name"] = {"givenName": "Ada", "nickNotes": "n" * 70 * KIB}

    assert_too_large(scim.post("/Users", body))


def test_the_limit_follows_the_setting(app, scim) -> None:
    app.config["SCIM_MAX_RESOURCE_BYTES"] = 8 * KIB

    body = assert_scim_error(scim.post("/Users", user_body("a@example.com", kib=10)), 400)
    assert "at most 8192 bytes" in body["detail"]
    assert scim.post("/Users", user_body("b@example.com", kib=6)).status_code == 201


@pytest.mark.parametrize("path", ["/Users", "/Groups", "/.search"])
def test_a_page_stops_early_at_its_byte_limit_and_the_client_pages_on(app, scim, path) -> None:
    resource = "Groups" if path == "/Groups" else "Users"
    for number in range(5):
        created = scim.post(f"/{resource}", BODIES[resource](f"u{number}@example.com", kib=3))
        assert created.status_code == 201
    app.config["SCIM_MAX_PAGE_BYTES"] = 8 * KIB

    seen: list[str] = []
    start = 1
    while True:
        if path == "/.search":
            body = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": 'userName sw "u"',
                "startIndex": start,
                "count": 100,
            }
            page = scim.post(path, body).get_json()
        else:
            page = scim.get(f"{path}?startIndex={start}&count=100").get_json()
        assert page["totalResults"] == 5
        assert page["itemsPerPage"] == len(page["Resources"]) == 2 or start == 5
        seen += [r["id"] for r in page["Resources"]]
        start += page["itemsPerPage"]
        if start > page["totalResults"]:
            break

    assert len(seen) == len(set(seen)) == 5


def test_one_resource_larger_than_the_page_limit_is_still_returned(app, scim) -> None:
    scim.post("/Users", user_body("ada@example.com", kib=3))
    app.config["SCIM_MAX_PAGE_BYTES"] = 1 * KIB

    page = scim.get("/Users").get_json()

    assert (page["totalResults"], page["itemsPerPage"]) == (1, 1)
