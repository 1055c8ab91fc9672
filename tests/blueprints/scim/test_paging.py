"""Paging and sorting of list responses (RFC 7644 §3.4.2.3, §3.4.2.4) as Okta imports use them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.blueprints.scim.conftest import LIST_RESPONSE, SEARCH_REQUEST, assert_scim_error

# Created in this order; names sort differently from creation order on purpose.
PEOPLE = [
    ("mia@example.com", "Mia", "Young"),
    ("Ben@example.com", "Ben", "Ortiz"),
    ("zoe@example.com", "Zoe", "Adams"),
    ("adam@example.com", "Adam", "Lopez"),
    ("kim@example.com", "Kim", "baker"),
    ("Lee@example.com", "Lee", "Chen"),
    ("ola@example.com", "Ola", "Nowak"),
]
CREATED = [p[0] for p in PEOPLE]


@pytest.fixture
def people(scim) -> list[str]:
    for user_name, given, family in PEOPLE:
        scim.create_user(user_name, name={"givenName": given, "familyName": family})
    return CREATED


def _page(scim, **params: Any) -> dict[str, Any]:
    response = scim.get("/Users", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _names(page: dict[str, Any]) -> list[str]:
    return [r["userName"] for r in page["Resources"]]


@pytest.mark.parametrize(
    ("params", "start", "expected"),
    [
        ({}, 1, CREATED),
        ({"startIndex": 1, "count": 3}, 1, CREATED[0:3]),
        ({"startIndex": 4, "count": 3}, 4, CREATED[3:6]),
        ({"startIndex": 7, "count": 3}, 7, CREATED[6:7]),
        ({"startIndex": 2, "count": 100}, 2, CREATED[1:]),
        ({"startIndex": 8, "count": 3}, 8, []),
        ({"startIndex": 1000, "count": 100}, 1000, []),
        ({"count": 0}, 1, []),
        ({"startIndex": 0, "count": 2}, 1, CREATED[0:2]),
        ({"startIndex": -5, "count": 2}, 1, CREATED[0:2]),
        ({"count": -1}, 1, []),
        ({"startIndex": "", "count": ""}, 1, CREATED),
    ],
    ids=[
        "defaults",
        "first page",
        "middle page",
        "last partial page",
        "count above the rest",
        "startIndex one past the end",
        "startIndex far beyond the end",
        "count 0 gives only totals",
        "startIndex 0 is 1",
        "negative startIndex is 1",
        "negative count is 0",
        "empty values are defaults",
    ],
)
def test_pages_are_one_based_slices_with_integer_totals(
    scim, people, params: dict, start: int, expected: list[str]
) -> None:
    page = _page(scim, **params)
    assert page["schemas"] == [LIST_RESPONSE]
    assert _names(page) == expected
    assert page["totalResults"] == len(PEOPLE)
    assert page["startIndex"] == start
    assert page["itemsPerPage"] == len(expected)
    for key in ("totalResults", "startIndex", "itemsPerPage"):
        assert type(page[key]) is int


@pytest.mark.parametrize(
    "params",
    [
        {"count": "ten"},
        {"count": "1.5"},
        {"startIndex": "first"},
        {"startIndex": "2e3"},
        {"count": "99999999999999999999"},
        {"sortOrder": "sideways"},
        {"sortBy": "nosuch"},
        {"sortBy": 'emails[type eq "work"]'},
    ],
)
def test_non_integer_paging_or_bad_sorting_is_400_invalid_value(scim, people, params) -> None:
    assert_scim_error(scim.get("/Users", query_string=params), 400, "invalidValue")


def test_count_above_the_maximum_is_served_as_the_maximum(scim_app) -> None:
    scim = scim_app(SCIM_MAX_COUNT=3)
    for user_name, *_ in PEOPLE:
        scim.create_user(user_name)
    page = _page(scim, count=100)
    assert _names(page) == CREATED[:3]
    assert page["itemsPerPage"] == 3
    assert page["totalResults"] == len(PEOPLE)
    assert _names(_page(scim)) == CREATED[:3]
    search = scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], "count": 100})
    assert search.get_json()["itemsPerPage"] == 3


def test_okta_user_name_lookup_pages_like_any_other_filter(scim, people) -> None:
    flt = 'userName eq "ZOE@example.com"'
    assert _names(_page(scim, filter=flt, startIndex=1, count=100)) == ["zoe@example.com"]
    beyond = _page(scim, filter=flt, startIndex=2, count=100)
    assert (beyond["Resources"], beyond["totalResults"], beyond["startIndex"]) == ([], 1, 2)
    counted = _page(scim, filter=flt, count=0)
    assert (counted["Resources"], counted["totalResults"]) == ([], 1)


BY_USER_NAME = sorted(CREATED, key=str.lower)
BY_FAMILY_NAME = [p[0] for p in sorted(PEOPLE, key=lambda p: p[2].lower())]


@pytest.mark.parametrize(
    ("sort_by", "sort_order", "expected"),
    [
        ("userName", None, BY_USER_NAME),
        ("userName", "ascending", BY_USER_NAME),
        ("userName", "descending", BY_USER_NAME[::-1]),
        ("USERNAME", "DESCENDING", BY_USER_NAME[::-1]),
        ("name.familyName", "ascending", BY_FAMILY_NAME),
        ("name.familyName", "descending", BY_FAMILY_NAME[::-1]),
        ("meta.created", "ascending", CREATED),
        ("meta.created", "descending", CREATED[::-1]),
        ("urn:ietf:params:scim:schemas:core:2.0:User:userName", "ascending", BY_USER_NAME),
    ],
)
def test_sort_by_orders_every_page(scim, people, sort_by, sort_order, expected) -> None:
    params = {"sortBy": sort_by, "count": 3}
    if sort_order:
        params["sortOrder"] = sort_order
    pages = [_page(scim, startIndex=start, **params) for start in (1, 4, 7)]
    assert [name for page in pages for name in _names(page)] == expected


def test_search_pages_and_sorts_like_get(scim, people) -> None:
    body = {
        "schemas": [SEARCH_REQUEST],
        "startIndex": 2,
        "count": 2,
        "sortBy": "userName",
        "sortOrder": "descending",
    }
    page = scim.post("/Users/.search", body).get_json()
    assert _names(page) == BY_USER_NAME[::-1][1:3]
    assert (page["startIndex"], page["itemsPerPage"], page["totalResults"]) == (2, 2, 7)


def test_groups_page_the_same_way(scim) -> None:
    names = [f"Group {i}" for i in range(5)]
    for name in names:
        scim.create_group(name)
    page = scim.get("/Groups", query_string={"startIndex": 2, "count": 2}).get_json()
    assert [g["displayName"] for g in page["Resources"]] == names[1:3]
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    counted = scim.get("/Groups", query_string={"count": 0}).get_json()
    assert (counted["Resources"], counted["totalResults"]) == ([], 5)
    descending = scim.get(
        "/Groups", query_string={"sortBy": "displayName", "sortOrder": "descending"}
    )
    assert [g["displayName"] for g in descending.get_json()["Resources"]] == names[::-1]


def test_users_created_during_an_import_neither_repeat_nor_hide_existing_ones(scim, people) -> None:
    seen: list[str] = []
    start = 1
    added = 0
    while True:
        page = _page(scim, startIndex=start, count=3)
        seen.extend(_names(page))
        # Okta keeps paging while new users are provisioned between its requests.
        if added < 2:
            scim.create_user(f"aaa{added}@example.com")
            added += 1
        if start + 3 > page["totalResults"]:
            break
        start += 3
    assert len(seen) == len(set(seen))
    assert set(CREATED) <= set(seen)


def test_the_unsorted_order_is_the_same_for_every_page_size(scim, people) -> None:
    for size in (1, 2, 3, 5):
        names = [
            n
            for start in range(1, 8, size)
            for n in _names(_page(scim, startIndex=start, count=size))
        ]
        assert names == CREATED
