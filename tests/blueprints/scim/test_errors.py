"""Every SCIM failure is an RFC 7644 §3.12 error with the right status and scimType, and a
failed write leaves the stored resource exactly as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest

from models import ScimToken
from services.integrations.scim_tokens import revoke_token
from tests.blueprints.scim.conftest import (
    GROUP_URN,
    USER_URN,
    assert_scim_error,
    patch_op,
)
from tests.conftest import OKTA_HEADERS
from tests.factories import make_token


def _nested(depth: int) -> dict[str, Any]:
    value: Any = "deep"
    for _ in range(depth - 1):
        value = {"x": value}
    return {"schemas": [USER_URN], "userName": "ann@example.com", "nickName": value}


def _user(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER_URN],
        "userName": "ann@example.com",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@example.com", "type": "work", "primary": True}],
        "active": True,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


# (raw body bytes, status, scimType): bodies refused before or by validation.
BAD_USER_BODIES = {
    "malformed JSON": (b'{"userName": "ann@example.com",', 400, "invalidSyntax"),
    "NaN is not JSON": (b'{"userName": "ann@example.com", "x": NaN}', 400, "invalidSyntax"),
    "invalid UTF-8": (b'{"userName": "ann\xff\xfe@example.com"}', 400, "invalidSyntax"),
    "empty body": (b"", 400, "invalidSyntax"),
    "a JSON array": (b'[{"userName": "ann@example.com"}]', 400, "invalidSyntax"),
    "a JSON string": (b'"ann@example.com"', 400, "invalidSyntax"),
    "nesting deeper than 32": (json.dumps(_nested(40)).encode(), 400, "invalidSyntax"),
    "very deep nesting": (b'{"a":' * 5000 + b"1" + b"}" * 5000, 400, "invalidSyntax"),
    "missing userName": (json.dumps(_user(userName=...)).encode(), 400, "invalidValue"),
    "userName null": (json.dumps(_user(userName=None)).encode(), 400, "invalidValue"),
    "userName a number": (json.dumps(_user(userName=42)).encode(), 400, "invalidValue"),
    # RFC 7643 §4.1.1: "Each User MUST include a non-empty userName value."
    "userName empty": (json.dumps(_user(userName="")).encode(), 400, "invalidValue"),
    # RFC 7643 §2.4: the primary value "true" MUST appear no more than once.
    "two primary emails": (
        json.dumps(
            _user(
                emails=[
                    {"value": "ann@example.com", "type": "work", "primary": True},
                    {"value": "ann@home.example", "type": "home", "primary": True},
                ]
            )
        ).encode(),
        400,
        "invalidValue",
    ),
    "userName over 512 characters": (
        json.dumps(_user(userName="a" * 513)).encode(),
        400,
        "invalidValue",
    ),
    "title over 8192 characters": (
        json.dumps(_user(title="t" * 8193)).encode(),
        400,
        "invalidValue",
    ),
    'active "maybe"': (json.dumps(_user(active="maybe")).encode(), 400, "invalidValue"),
    "active 1": (json.dumps(_user(active=1)).encode(), 400, "invalidValue"),
    "emails a list of strings": (
        json.dumps(_user(emails=["ann@example.com"])).encode(),
        400,
        "invalidValue",
    ),
    "name a string": (json.dumps(_user(name="Ann Lee")).encode(), 400, "invalidValue"),
    "Group schema posted to /Users": (
        json.dumps(_user(schemas=[GROUP_URN])).encode(),
        400,
        "invalidSyntax",
    ),
    "schemas not a list": (json.dumps(_user(schemas=USER_URN)).encode(), 400, "invalidSyntax"),
    "an unknown schema URN": (
        json.dumps(_user(schemas=[USER_URN, "urn:example:unknown:2.0:Thing"])).encode(),
        400,
        "invalidSyntax",
    ),
}


def _snapshot(scim, user_id: str) -> dict[str, Any]:
    response = scim.get(f"/Users/{user_id}")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def ann(scim) -> dict[str, Any]:
    return scim.create_user("ann@example.com", title="Engineer")


@pytest.mark.parametrize(
    ("raw", "status", "scim_type"), BAD_USER_BODIES.values(), ids=BAD_USER_BODIES
)
def test_a_bad_create_body_is_refused_and_creates_nothing(
    scim, raw: bytes, status: int, scim_type: str
) -> None:
    response = scim.post("/Users", data=raw, headers={"Content-Type": "application/scim+json"})
    assert_scim_error(response, status, scim_type)
    assert scim.get("/Users").get_json()["totalResults"] == 0


@pytest.mark.parametrize(
    ("raw", "status", "scim_type"), BAD_USER_BODIES.values(), ids=BAD_USER_BODIES
)
def test_a_bad_replace_body_is_refused_and_changes_nothing(
    scim, ann, raw: bytes, status: int, scim_type: str
) -> None:
    before = _snapshot(scim, ann["id"])
    response = scim.put(
        f"/Users/{ann['id']}", data=raw, headers={"Content-Type": "application/scim+json"}
    )
    assert_scim_error(response, status, scim_type)
    assert _snapshot(scim, ann["id"]) == before


BAD_GROUP_BODIES = {
    "missing displayName": ({"schemas": [GROUP_URN]}, "invalidValue"),
    "empty displayName": ({"schemas": [GROUP_URN], "displayName": ""}, "invalidValue"),
    "displayName a number": ({"schemas": [GROUP_URN], "displayName": 7}, "invalidValue"),
    "displayName over 512 characters": (
        {"schemas": [GROUP_URN], "displayName": "d" * 513},
        "invalidValue",
    ),
    "members a list of ids": (
        {"schemas": [GROUP_URN], "displayName": "Team", "members": ["abc"]},
        "invalidValue",
    ),
    "User schema posted to /Groups": (
        {"schemas": [USER_URN], "displayName": "Team"},
        "invalidSyntax",
    ),
}


@pytest.mark.parametrize(("body", "scim_type"), BAD_GROUP_BODIES.values(), ids=BAD_GROUP_BODIES)
def test_a_bad_group_body_is_refused_and_creates_nothing(scim, body: dict, scim_type: str) -> None:
    assert_scim_error(scim.post("/Groups", body), 400, scim_type)
    assert scim.get("/Groups").get_json()["totalResults"] == 0


def _raw_user(**attributes: str) -> bytes:
    """A user body whose attribute values are raw JSON text (to send what json.dumps won't)."""
    members = "".join(f', "{name}": {value}' for name, value in attributes.items())
    return f'{{"schemas": ["{USER_URN}"], "userName": "odd@example.com"{members}}}'.encode()


# Well-formed JSON that is unusual to store: each must be kept exactly or refused with a 400,
# on every database, and must never leave behind a record that breaks later reads.
ODD_USER_VALUES = {
    "externalId of 300 characters": _raw_user(externalId=json.dumps("e" * 300)),
    "externalId at the 512-character limit": _raw_user(externalId=json.dumps("e" * 512)),
    "locale of 100 characters": _raw_user(locale=json.dumps("l" * 100)),
    "preferredLanguage of 100 characters": _raw_user(preferredLanguage=json.dumps("p" * 100)),
    "NUL in displayName": _raw_user(displayName=r'"Ann\u0000Lee"'),
    "NUL in an unindexed attribute": _raw_user(title=r'"Lead\u0000"'),
    "lone surrogate in an unindexed attribute": _raw_user(title=r'"Lead\udfff"'),
    "lone surrogate in displayName": _raw_user(displayName=r'"Ann\ud800"'),
    "number overflowing to infinity": _raw_user(floor="1e400"),
    "huge integer": _raw_user(floor="1" + "0" * 40),
}


@pytest.mark.parametrize("raw", ODD_USER_VALUES.values(), ids=ODD_USER_VALUES)
def test_an_odd_value_is_stored_exactly_or_refused_never_a_server_error(scim, raw: bytes) -> None:
    response = scim.post("/Users", data=raw, headers={"Content-Type": "application/scim+json"})
    listed = scim.get("/Users")
    assert listed.status_code == 200, "a stored record now breaks every listing"
    assert response.status_code in (201, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert_scim_error(response, 400)
        assert listed.get_json()["totalResults"] == 0
        return
    sent = json.loads(raw)
    fetched = scim.get(f"/Users/{response.get_json()['id']}")
    assert fetched.status_code == 200
    for key, value in sent.items():
        assert fetched.get_json()[key] == value


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("externalId", "e" * 300),
        ("displayName", r"Team\u0000"),
    ],
    ids=["externalId of 300 characters", "NUL in displayName"],
)
def test_an_odd_group_value_is_stored_exactly_or_refused(scim, attribute: str, value: str) -> None:
    fields = {"schemas": f'["{GROUP_URN}"]', "displayName": '"Team"', attribute: f'"{value}"'}
    raw = "{" + ", ".join(f'"{name}": {text}' for name, text in fields.items()) + "}"
    response = scim.post("/Groups", data=raw.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code in (201, 400), response.get_data(as_text=True)
    listed = scim.get("/Groups")
    assert listed.status_code == 200
    if response.status_code == 201:
        assert listed.get_json()["Resources"][0][attribute] == json.loads(raw)[attribute]


@pytest.mark.parametrize(
    "value",
    [r"Lead\u0000", "e" * 300],
    ids=["NUL", "300 characters"],
)
def test_an_odd_value_patched_in_is_stored_exactly_or_refused(scim, ann, value: str) -> None:
    before = _snapshot(scim, ann["id"])
    raw = json.dumps(patch_op({"op": "replace", "path": "externalId", "value": "@"}))
    raw = raw.replace('"@"', f'"{value}"')
    response = scim.patch(
        f"/Users/{ann['id']}", data=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    after = _snapshot(scim, ann["id"])
    if response.status_code == 400:
        assert after == before
    else:
        assert after["externalId"] == json.loads(f'"{value}"')


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", None],
)
def test_a_body_that_is_not_json_is_415(scim, ann, content_type: str | None) -> None:
    before = _snapshot(scim, ann["id"])
    headers = {"Content-Type": content_type} if content_type else {}
    raw = json.dumps(_user(title="Changed")).encode()
    assert_scim_error(scim.put(f"/Users/{ann['id']}", data=raw, headers=headers), 415)
    assert_scim_error(scim.post("/Users", data=raw, headers=headers), 415)
    assert _snapshot(scim, ann["id"]) == before


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/scim+json", "application/scim+json; charset=utf-8"],
)
def test_both_json_media_types_are_accepted(scim, content_type: str) -> None:
    raw = json.dumps(_user()).encode()
    assert scim.post("/Users", data=raw, headers={"Content-Type": content_type}).status_code == 201


def test_a_body_over_max_content_length_is_413_and_creates_nothing(scim_app) -> None:
    scim = scim_app(MAX_CONTENT_LENGTH=2048)
    response = scim.post("/Users", _user(nickName="n" * 4096))
    assert_scim_error(response, 413)
    assert scim.get("/Users").get_json()["totalResults"] == 0
    assert scim.post("/Users", _user(nickName="n" * 1024)).status_code == 201


def test_a_patch_over_max_content_length_is_413_and_changes_nothing(scim_app) -> None:
    scim = scim_app(MAX_CONTENT_LENGTH=2048)
    user = scim.create_user("ann@example.com")
    before = _snapshot(scim, user["id"])
    body = patch_op({"op": "replace", "path": "nickName", "value": "n" * 4096})
    assert_scim_error(scim.patch(f"/Users/{user['id']}", body), 413)
    assert _snapshot(scim, user["id"]) == before


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/Nope", 404),
        ("GET", "/Users/abc/extra", 404),
        ("GET", "/users", 404),
        ("GET", "/Bulk", 404),
        ("GET", "/Me", 404),
        ("DELETE", "/Users", 405),
        ("PUT", "/Users", 405),
        ("POST", "/Users/abc", 405),
        ("GET", "/Users/.search", 404),
        ("GET", "/Groups/.search", 404),
        ("POST", "/ServiceProviderConfig", 405),
        ("DELETE", "/Schemas", 405),
        # SCIM defines no OPTIONS: not Flask's automatic empty text/html 200.
        ("OPTIONS", "/Users", 405),
        ("OPTIONS", "/Users/abc", 405),
        ("OPTIONS", "/Groups", 405),
        ("OPTIONS", "/ServiceProviderConfig", 405),
        # Repeated slashes: not Werkzeug's HTML 308 redirect to the merged path.
        ("GET", "//Users", 404),
        ("GET", "/Users//abc", 404),
        ("POST", "//Users/.search", 404),
        ("GET", f"/Schemas//{USER_URN}", 404),
    ],
)
def test_routing_errors_under_scim_v2_are_scim_errors(
    scim, method: str, path: str, status: int
) -> None:
    response = scim.request(method, path)
    assert_scim_error(response, status)
    assert "Location" not in response.headers
    if status == 405:
        assert response.headers["Allow"]
        assert "OPTIONS" not in response.headers["Allow"]


def test_a_wrong_method_names_the_allowed_ones(scim) -> None:
    response = scim.request("DELETE", "/Users")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer not-a-token", "non-token", "Basic YWxpY2U6c2VjcmV0"],
)
def test_requests_without_a_valid_token_are_401_with_www_authenticate(
    client, authorization: str | None
) -> None:
    headers = dict(OKTA_HEADERS)
    if authorization is not None:
        headers["Authorization"] = authorization
    for path in ("/scim/v2/Users", "/scim/v2/Groups", "/scim/v2/Users/some-id"):
        response = client.get(path, headers=headers)
        assert_scim_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_write_without_a_token_is_401_and_creates_nothing(client, scim) -> None:
    response = client.post("/scim/v2/Users", json=_user(), headers=OKTA_HEADERS)
    assert_scim_error(response, 401)
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_a_revoked_token_is_401(client, integration) -> None:
    token = make_token(integration, "to revoke")
    headers = {**OKTA_HEADERS, "Authorization": f"Bearer {token}"}
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    revoke_token(
        ScimToken.get(ScimToken.integration == integration, ScimToken.label == "to revoke").id
    )
    assert_scim_error(client.get("/scim/v2/Users", headers=headers), 401)


@pytest.mark.parametrize("template", ["{token}", "bearer {token}", "BEARER  {token} "])
def test_a_bare_or_oddly_cased_bearer_token_is_accepted(client, scim_token, template: str) -> None:
    headers = {**OKTA_HEADERS, "Authorization": template.format(token=scim_token)}
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200


INVALID_FILTERS = [
    "userName eq",
    'userName xx "ann@example.com"',
    'userName eq "ann@example.com',
    '(userName eq "ann@example.com"',
    'userName eq "ann@example.com" and',
    'userName eq "ann@example.com" or or title eq "x"',
    "userName",
    'emails[type eq "work"',
    'emails[type eq "work"]]',
    'nosuch eq "x"',
    'name.nosuch eq "x"',
    'urn:example:unknown:2.0:User:userName eq "x"',
    'name eq "Ann"',
    "active gt true",
    'active eq "maybe"',
    'meta.created gt "yesterday"',
    "userName eq 42",
    "userName co null",
    'title eq "x" and not title eq "y"',
    "",
    "   ",
]


@pytest.mark.parametrize("flt", INVALID_FILTERS)
def test_an_invalid_user_filter_is_400_invalid_filter_never_an_empty_list(
    scim, ann, flt: str
) -> None:
    assert_scim_error(scim.get("/Users", query_string={"filter": flt}), 400, "invalidFilter")


@pytest.mark.parametrize("flt", INVALID_FILTERS)
def test_an_invalid_user_search_filter_is_400_invalid_filter(scim, ann, flt: str) -> None:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": flt}
    assert_scim_error(scim.post("/Users/.search", body), 400, "invalidFilter")


@pytest.mark.parametrize(
    "flt",
    [
        r'userName eq "ann\u0000@example.com"',
        r'title eq "Lead\u0000"',
        r'emails[value eq "ann\u0000@example.com"]',
        r'userName co "\u0000"',
    ],
)
def test_a_filter_value_no_user_can_hold_matches_nothing_or_is_400(scim, ann, flt: str) -> None:
    response = scim.get("/Users", query_string={"filter": flt})
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 200:
        assert response.get_json()["totalResults"] == 0
    else:
        assert_scim_error(response, 400, "invalidFilter")


# password is write-only (RFC 7643 §4.1.1, returned "never") and never stored: a filter or
# sortBy on it could only pretend to answer.
PASSWORD_QUERIES = {
    "filter password pr": {"filter": "password pr"},
    "filter password eq": {"filter": 'password eq "1mz050nq"'},
    "filter in any case": {"filter": 'PassWord ne "x"'},
    "filter by full URN": {"filter": f"{USER_URN}:password pr"},
    "filter inside a larger one": {"filter": 'userName pr and not (password eq "x")'},
    "sortBy password": {"sortBy": "password"},
    "sortBy by full URN": {"sortBy": f"{USER_URN}:password"},
}


@pytest.mark.parametrize("params", PASSWORD_QUERIES.values(), ids=PASSWORD_QUERIES)
def test_filtering_or_sorting_on_the_write_only_password_is_400_invalid_filter(
    scim, ann, params: dict[str, str]
) -> None:
    body = assert_scim_error(scim.get("/Users", query_string=params), 400, "invalidFilter")
    assert "password" in body["detail"].lower()
    assert "write-only" in body["detail"]
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], **params}
    assert_scim_error(scim.post("/Users/.search", search), 400, "invalidFilter")


# Filters that may be well formed but are more than the server will process (RFC 7644 §3.12).
TOO_LARGE_FILTERS = {
    "longer than 4096 characters": 'userName eq "' + "x" * 4096 + '"',
    "nested deeper than 32 levels": "(" * 33 + "userName pr" + ")" * 33,
    "more than 100 and/or operators": " or ".join(["userName pr"] * 102),
}


@pytest.mark.parametrize("resource", ["/Users", "/Groups"])
@pytest.mark.parametrize("flt", TOO_LARGE_FILTERS.values(), ids=TOO_LARGE_FILTERS)
def test_a_filter_over_the_limits_is_400_too_many(scim, ann, resource: str, flt: str) -> None:
    body = assert_scim_error(scim.get(resource, query_string={"filter": flt}), 400, "tooMany")
    assert "too large" in body["detail"]
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": flt}
    assert_scim_error(scim.post(f"{resource}/.search", search), 400, "tooMany")


@pytest.mark.parametrize(
    "flt", ['nosuch eq "x"', 'userName eq "x"', 'members.nosuch eq "x"', "displayName eq"]
)
def test_an_invalid_group_filter_is_400_invalid_filter(scim, flt: str) -> None:
    scim.create_group("Engineers")
    assert_scim_error(scim.get("/Groups", query_string={"filter": flt}), 400, "invalidFilter")


# (operations, scimType): PATCHes that must fail as a whole.
BAD_PATCHES = {
    "unknown attribute path": (
        [{"op": "replace", "path": "nosuch", "value": "x"}],
        "invalidPath",
    ),
    "unknown sub-attribute path": (
        [{"op": "replace", "path": "name.nosuch", "value": "x"}],
        "invalidPath",
    ),
    "unterminated value filter": (
        [{"op": "replace", "path": 'emails[type eq "work"', "value": "x"}],
        "invalidPath",
    ),
    "filter on a single-valued attribute's unknown sub": (
        [{"op": "replace", "path": 'emails[nosuch eq "work"].value', "value": "x"}],
        "invalidPath",
    ),
    "unknown schema URN in path": (
        [{"op": "replace", "path": "urn:example:unknown:2.0:User:x", "value": "x"}],
        "invalidPath",
    ),
    "value filter matching nothing on replace": (
        [{"op": "replace", "path": 'emails[type eq "home"].value', "value": "h@example.com"}],
        "noTarget",
    ),
    "value filter matching nothing on remove": (
        [{"op": "remove", "path": 'emails[type eq "home"]'}],
        "noTarget",
    ),
    "remove without a path": ([{"op": "remove"}], "noTarget"),
    "changing id by path": ([{"op": "replace", "path": "id", "value": "other"}], "mutability"),
    "changing id without a path": ([{"op": "replace", "value": {"id": "other"}}], "mutability"),
    "changing meta": (
        [{"op": "replace", "path": "meta.created", "value": "2001-01-01T00:00:00Z"}],
        "mutability",
    ),
    "removing userName": ([{"op": "remove", "path": "userName"}], "invalidValue"),
    "active maybe": ([{"op": "replace", "path": "active", "value": "maybe"}], "invalidValue"),
    "name a string": ([{"op": "replace", "path": "name", "value": "Ann"}], "invalidValue"),
    "add without a value": ([{"op": "add", "path": "title"}], "invalidValue"),
    "unknown op": ([{"op": "merge", "path": "title", "value": "x"}], "invalidSyntax"),
    "op missing": ([{"path": "title", "value": "x"}], "invalidSyntax"),
    "path not a string": ([{"op": "replace", "path": 7, "value": "x"}], "invalidSyntax"),
    "operation not an object": (["replace title"], "invalidSyntax"),
}


@pytest.mark.parametrize(("operations", "scim_type"), BAD_PATCHES.values(), ids=BAD_PATCHES)
def test_a_bad_patch_is_400_with_its_scim_type_and_changes_nothing(
    scim, ann, operations: list[Any], scim_type: str
) -> None:
    before = _snapshot(scim, ann["id"])
    response = scim.patch(f"/Users/{ann['id']}", patch_op(*operations))
    assert_scim_error(response, 400, scim_type)
    assert _snapshot(scim, ann["id"]) == before


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": {"op": "add"}},
        {"schemas": [USER_URN], "Operations": [{"op": "replace", "path": "title", "value": "x"}]},
    ],
    ids=["no Operations", "empty Operations", "Operations an object", "wrong schemas"],
)
def test_a_patch_that_is_not_a_patch_op_message_is_invalid_syntax(scim, ann, body: dict) -> None:
    before = _snapshot(scim, ann["id"])
    assert_scim_error(scim.patch(f"/Users/{ann['id']}", body), 400, "invalidSyntax")
    assert _snapshot(scim, ann["id"]) == before


def test_errors_carry_no_traceback_or_internal_names(scim) -> None:
    response = scim.post(
        "/Users", data=b'{"userName": ', headers={"Content-Type": "application/json"}
    )
    detail = assert_scim_error(response, 400, "invalidSyntax")["detail"]
    assert "Traceback" not in detail
    assert "json.decoder" not in detail
