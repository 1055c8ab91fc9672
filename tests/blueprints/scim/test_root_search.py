"""POST /scim/v2/.search: one search across Users and Groups (RFC 7644 §3.4.3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.blueprints.scim.conftest import LIST_RESPONSE, SEARCH_REQUEST, assert_scim_error


@pytest.fixture
def world(scim) -> dict[str, Any]:
    """Three users and two groups; Engineers holds the first two users."""
    users = [
        scim.create_user(f"{name}@example.com", displayName=shown)
        for name, shown in (("ann", "Ann"), ("bob", "Bob"), ("cy", "Zed"))
    ]
    groups = [
        scim.create_group("Engineers", [users[0]["id"], users[1]["id"]]),
        scim.create_group("Admins"),
    ]
    return {"users": users, "groups": groups}


def _search(scim, **body: Any) -> dict[str, Any]:
    response = scim.post("/.search", {"schemas": [SEARCH_REQUEST], **body})
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/scim+json"
    result = response.get_json()
    assert result["schemas"] == [LIST_RESPONSE]
    for resource in result["Resources"]:
        assert resource["meta"]["resourceType"] in {"User", "Group"}
    return result


def _names(result: dict[str, Any]) -> list[str]:
    return [r.get("userName") or r.get("displayName") for r in result["Resources"]]


def test_without_a_filter_every_user_then_every_group(scim, world) -> None:
    result = _search(scim)
    assert result["totalResults"] == 5
    assert _names(result) == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "Engineers",
        "Admins",
    ]
    types = [r["meta"]["resourceType"] for r in result["Resources"]]
    assert types == ["User"] * 3 + ["Group"] * 2
    engineers = result["Resources"][3]
    assert sorted(m["value"] for m in engineers["members"]) == sorted(
        u["id"] for u in world["users"][:2]
    )
    assert result["Resources"][0]["groups"][0]["display"] == "Engineers"


def test_a_filter_on_a_shared_attribute_matches_both_types(scim, world) -> None:
    result = _search(scim, filter='displayName sw "A"')
    assert _names(result) == ["ann@example.com", "Admins"]
    assert result["totalResults"] == 2


def test_a_filter_on_one_types_attribute_matches_only_that_type(scim, world) -> None:
    assert _names(_search(scim, filter='userName eq "BOB@example.com"')) == ["bob@example.com"]
    assert _names(_search(scim, filter='members.value eq "nobody"')) == []
    engineers = _search(scim, filter=f'members.value eq "{world["users"][0]["id"]}"')
    assert _names(engineers) == ["Engineers"]


def test_each_type_answers_the_parts_of_a_filter_it_defines(scim, world) -> None:
    either = _search(scim, filter='userName eq "bob@example.com" or displayName eq "Admins"')
    assert _names(either) == ["bob@example.com", "Admins"]
    negated = _search(scim, filter='not (userName sw "a")')
    # A group has no userName, so "userName sw" is false for it and its negation true.
    assert _names(negated) == ["bob@example.com", "cy@example.com", "Engineers", "Admins"]
    member = world["users"][0]["id"]
    assert _search(scim, filter=f'userName pr and members.value eq "{member}"')["Resources"] == []


def test_paging_spans_the_types(scim, world) -> None:
    pages = [_search(scim, startIndex=start, count=2) for start in (1, 3, 5)]
    assert [_names(p) for p in pages] == [
        ["ann@example.com", "bob@example.com"],
        ["cy@example.com", "Engineers"],
        ["Admins"],
    ]
    assert [(p["startIndex"], p["itemsPerPage"], p["totalResults"]) for p in pages] == [
        (1, 2, 5),
        (3, 2, 5),
        (5, 1, 5),
    ]
    assert _search(scim, count=0) == {
        "schemas": [LIST_RESPONSE],
        "totalResults": 5,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


def test_sorting_merges_the_types(scim, world) -> None:
    ascending = _search(scim, sortBy="displayName")
    assert [r["displayName"] for r in ascending["Resources"]] == [
        "Admins",
        "Ann",
        "Bob",
        "Engineers",
        "Zed",
    ]
    descending = _search(scim, sortBy="displayName", sortOrder="descending", count=2)
    assert [r["displayName"] for r in descending["Resources"]] == ["Zed", "Engineers"]
    assert descending["totalResults"] == 5


def test_sorting_by_one_types_attribute_puts_the_other_type_last(scim, world) -> None:
    result = _search(scim, sortBy="userName", sortOrder="descending")
    # RFC 7644 §3.4.2.3: resources without a value sort first when descending.
    assert _names(result) == [
        "Engineers",
        "Admins",
        "cy@example.com",
        "bob@example.com",
        "ann@example.com",
    ]
    assert _names(_search(scim, sortBy="userName"))[:3] == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
    ]


def test_attributes_apply_per_type_and_meta_resource_type_stays(scim, world) -> None:
    result = _search(scim, attributes=["userName", "displayName"])
    users, groups = result["Resources"][:3], result["Resources"][3:]
    assert all(set(r) == {"schemas", "id", "userName", "displayName", "meta"} for r in users)
    assert all(set(r) == {"schemas", "id", "displayName", "meta"} for r in groups)
    assert all(r["meta"] == {"resourceType": r["meta"]["resourceType"]} for r in users)
    only_users = _search(scim, attributes="userName", count=5)
    assert set(only_users["Resources"][4]) == {"schemas", "id", "meta"}


def test_excluded_attributes_apply_per_type(scim, world) -> None:
    result = _search(scim, excludedAttributes=["members", "groups", "emails"])
    assert all("members" not in r and "groups" not in r for r in result["Resources"])
    assert all("emails" not in r for r in result["Resources"])
    assert result["Resources"][0]["meta"]["resourceType"] == "User"
    assert "location" in result["Resources"][0]["meta"]


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"filter": 'userName eq "x" and'}, "invalidFilter"),
        ({"filter": 'nosuch eq "x"'}, "invalidFilter"),
        ({"sortBy": "nosuch"}, "invalidValue"),
        ({"attributes": ["nosuch"]}, "invalidValue"),
        ({"sortOrder": "sideways"}, "invalidValue"),
        ({"count": "ten"}, "invalidValue"),
        ({"startIndex": 9_995, "count": 10, "sortBy": "userName"}, "tooMany"),
    ],
    ids=[
        "bad syntax",
        "attribute of no type",
        "sortBy of no type",
        "attributes of no type",
        "sortOrder",
        "count",
        "sorted window",
    ],
)
def test_a_bad_search_is_a_scim_400(scim, world, body, scim_type) -> None:
    response = scim.post("/.search", {"schemas": [SEARCH_REQUEST], **body})
    assert_scim_error(response, 400, scim_type)


def test_the_search_request_schema_is_required_when_schemas_is_sent(scim, world) -> None:
    response = scim.post("/.search", {"schemas": ["urn:example:Other"]})
    assert_scim_error(response, 400, "invalidSyntax")


def test_another_integrations_resources_stay_invisible(scim, other_scim, world) -> None:
    other_scim.create_user("theirs@example.com")
    other_scim.create_group("Theirs")
    assert _search(other_scim)["totalResults"] == 2
    assert _search(scim)["totalResults"] == 5


def test_get_at_the_root_search_is_not_a_search(scim, world) -> None:
    assert_scim_error(scim.get("/.search"), 405)
