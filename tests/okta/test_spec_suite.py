"""Okta's published SCIM 2.0 spec test (docs/okta.md §1.11), replayed step by step.

Each step sends what Okta's Runscope suite sends (its User-Agent, application/json bodies)
and asserts what the suite asserts.
"""

from __future__ import annotations

import uuid

import pytest

SUITE_HEADERS = {"User-Agent": "OKTA SCIM Integration", "Accept": "application/scim+json"}
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def auth(scim_token: str) -> dict[str, str]:
    return {**SUITE_HEADERS, "Authorization": f"Bearer {scim_token}"}


def _spec_user(user_name: str) -> dict:
    return {
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Runscope", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Runscope User",
        "active": True,
    }


def _assert_user_fields(resource: dict) -> None:
    assert resource["id"]
    assert resource["name"]["familyName"]
    assert resource["name"]["givenName"]
    assert resource["userName"]
    assert isinstance(resource["active"], bool)
    assert resource["emails"][0]["value"]


def test_okta_spec_suite_passes_end_to_end(client, auth) -> None:
    # "Create at least one user in your SCIM server before running." (PREP)
    seeded = client.post("/scim/v2/Users", json=_spec_user("seed@atko.com"), headers=auth)
    assert seeded.status_code == 201

    # 1. GET /Users?count=1&startIndex=1
    r = client.get("/scim/v2/Users?count=1&startIndex=1", headers=auth)
    assert r.status_code == 200
    body = r.get_json()
    assert LIST in body["schemas"]
    assert body["Resources"]
    for key in ("itemsPerPage", "startIndex", "totalResults"):
        assert isinstance(body[key], int) and not isinstance(body[key], bool)
    _assert_user_fields(body["Resources"][0])
    first_id = body["Resources"][0]["id"]

    # 2. GET /Users/{id}
    r = client.get(f"/scim/v2/Users/{first_id}", headers=auth)
    assert r.status_code == 200
    _assert_user_fields(r.get_json())
    assert r.get_json()["id"] == first_id

    # 3. filter on a user that does not exist: 200 with totalResults 0
    r = client.get('/scim/v2/Users?filter=userName eq "abcdefgh@atko.com"', headers=auth)
    assert r.status_code == 200
    assert LIST in r.get_json()["schemas"]
    assert r.get_json()["totalResults"] == 0

    # 4. GET an id that does not exist: 404 with an Error body and a detail
    r = client.get("/scim/v2/Users/010101001010101011001010101011", headers=auth)
    assert r.status_code == 404
    assert r.get_json()["detail"]
    assert ERROR in r.get_json()["schemas"]

    # 5. filter on a random userName
    random_name = f"{uuid.uuid4().hex}@atko.com"
    r = client.get(f'/scim/v2/Users?filter=userName eq "{random_name}"', headers=auth)
    assert r.status_code == 200
    assert r.get_json()["totalResults"] == 0

    # 6. POST a user with Content-Type application/json; names echoed exactly
    user_name = f"Runscope300Hflu{uuid.uuid4().hex[:6]}@atko.com"
    r = client.post("/scim/v2/Users", json=_spec_user(user_name), headers=auth)
    assert r.status_code == 201
    created = r.get_json()
    assert created["active"] is True
    assert created["id"]
    assert created["userName"] == user_name
    assert created["name"] == {"givenName": "Runscope", "familyName": "User"}
    assert USER in created["schemas"]

    # 7. GET the new user: values match
    r = client.get(f"/scim/v2/Users/{created['id']}", headers=auth)
    assert r.status_code == 200
    assert r.get_json()["userName"] == user_name
    assert r.get_json()["name"]["familyName"] == "User"

    # 8. the same POST again: 409
    r = client.post("/scim/v2/Users", json=_spec_user(user_name), headers=auth)
    assert r.status_code == 409

    # 9. userName filter in capitals: 200 (and, since userName is case-insensitive, a match)
    r = client.get(f'/scim/v2/Users?filter=userName eq "{user_name.upper()}"', headers=auth)
    assert r.status_code == 200
    assert r.get_json()["totalResults"] == 1
    assert r.get_json()["Resources"][0]["userName"] == user_name

    # 10. GET /Groups: 200, Resources an array
    r = client.get("/scim/v2/Groups", headers=auth)
    assert r.status_code == 200
    assert isinstance(r.get_json()["Resources"], list)

    # 11. a filter request with a bad Authorization header: 401 with an Error body
    bad = {**SUITE_HEADERS, "Authorization": "non-token"}
    r = client.get(f'/scim/v2/Users?filter=userName eq "{user_name}"', headers=bad)
    assert r.status_code == 401
    assert r.get_json()["detail"]
    assert int(r.get_json()["status"]) == 401
    assert ERROR in r.get_json()["schemas"]

    # 12. GET another id that does not exist: 404
    r = client.get("/scim/v2/Users/00919288221112222", headers=auth)
    assert r.status_code == 404
    assert r.get_json()["detail"]
    assert int(r.get_json()["status"]) == 404
    assert ERROR in r.get_json()["schemas"]
