"""Properties of the SCIM filter parser and PATCH engine, checked through the real HTTP API.

``tests/scim`` checks the protocol core on its own; these check what Okta would see: any
filter text is a ListResponse or a 400 invalidFilter (never a 5xx, whatever the database
makes of it), and a PATCH with a failing operation leaves the stored resource exactly as it
was, down to the bytes of its representation and its version.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.blueprints.scim.conftest import (
    ENTERPRISE_URN,
    ERROR,
    LIST_RESPONSE,
    SEARCH_REQUEST,
    USER_URN,
    Scim,
    patch_op,
)
from tests.conftest import OKTA_HEADERS
from tests.factories import make_integration, make_token

# derandomize: CI runs the same examples every time; database=None: nothing written to disk.
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PATCH_PROPERTY = settings(PROPERTY, max_examples=60)


@pytest.fixture
def scim(configured_app) -> Scim:
    """A SCIM client on an app whose rate limit stays out of the way of many examples."""
    app = configured_app(SCIM_RATE_LIMIT="100000 per minute")
    token = make_token(make_integration(name="Property Okta"))
    scim = Scim(app.test_client(), {**OKTA_HEADERS, "Authorization": f"Bearer {token}"})
    # Something for filters to match against, including a group with a member.
    enterprise = {ENTERPRISE_URN: {"department": "Ops", "manager": {"value": "boss"}}}
    ann = scim.create_user(
        "ann@example.com", title="Engineer", schemas=[USER_URN, ENTERPRISE_URN], **enterprise
    )
    scim.create_user("bob@example.com", active=False)
    scim.create_group("Engineers", [ann["id"]])
    return scim


# --- filters --------------------------------------------------------------------------------

FILTER_WORDS = [
    "userName",
    "displayName",
    "emails",
    "emails.value",
    "emails.type",
    "name.familyName",
    "meta.lastModified",
    "meta.created",
    "members",
    "members.value",
    "groups.value",
    "externalId",
    "id",
    "active",
    "title",
    f"{ENTERPRISE_URN}:department",
    f"{ENTERPRISE_URN}:manager.value",
    "eq",
    "ne",
    "co",
    "sw",
    "ew",
    "gt",
    "ge",
    "lt",
    "le",
    "pr",
    "and",
    "or",
    "not",
    "(",
    ")",
    "[",
    "]",
    '"ann@example.com"',
    '"Engineers"',
    '"2026-01-01T00:00:00Z"',
    '"%"',
    '"_"',
    '"\\\\"',
    '"\\u0000"',
    '"\\ud800"',
    '"é😀"',
    "true",
    "false",
    "null",
    "0",
    "-1.5e300",
    "1e999",
    "99999999999999999999999",
]
filter_text = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.lists(st.sampled_from(FILTER_WORDS), max_size=12).map(" ".join),
    st.builds(
        lambda attr, op, value: f"{attr} {op} {value}",
        st.sampled_from(FILTER_WORDS[:16]),
        st.sampled_from(FILTER_WORDS[16:27]),
        st.sampled_from(FILTER_WORDS[34:]) | st.text(max_size=10).map(json.dumps),
    ),
)


def assert_list_or_invalid_filter(response: Any, body_refusal: str | None = None) -> None:
    """A ListResponse, or a 400 invalidFilter SCIM error (or ``body_refusal``, when the
    request body as a whole is refused before its filter is read); never anything else."""
    assert response.status_code in (200, 400), (response.status_code, response.data[:500])
    body = response.get_json()
    if response.status_code == 200:
        assert body["schemas"] == [LIST_RESPONSE]
        assert isinstance(body["totalResults"], int)
        assert len(body["Resources"]) == body["itemsPerPage"] <= body["totalResults"]
    else:
        assert body["schemas"] == [ERROR]
        assert body.get("scimType") in ("invalidFilter", body_refusal), body


@PROPERTY
@given(text=filter_text, resource=st.sampled_from(["/Users", "/Groups"]))
def test_any_filter_text_is_a_list_or_an_invalid_filter_error(
    scim: Scim, text: str, resource: str
) -> None:
    assert_list_or_invalid_filter(scim.get(resource, query_string={"filter": text}))
    search = {"schemas": [SEARCH_REQUEST], "filter": text}
    # Every SCIM body with a NUL in a string is refused as invalidValue before it is read.
    refusal = "invalidValue" if "\x00" in text else None
    assert_list_or_invalid_filter(scim.post(f"{resource}/.search", search), refusal)


@settings(PROPERTY, max_examples=60)
@given(raw=st.binary(max_size=60), resource=st.sampled_from(["/Users", "/Groups"]))
def test_any_bytes_in_the_filter_parameter_are_a_list_or_an_invalid_filter_error(
    scim: Scim, raw: bytes, resource: str
) -> None:
    # Percent-encoded bytes that need not be UTF-8: what a broken client could send.
    response = scim.get(resource, query_string="filter=" + quote_from_bytes(raw))
    assert_list_or_invalid_filter(response)


# --- PATCH: all or nothing ------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.sampled_from(["", "work", "home", "x@example.com", "Ann"])
    | st.text(max_size=6)
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["value", "type", "primary", "display", "givenName", "department"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=6,
)
USER_PATHS = [
    "title",
    "nickName",
    "displayName",
    "name.givenName",
    "name",
    "emails",
    'emails[type eq "work"].value',
    'emails[type eq "home"]',
    "phoneNumbers",
    "active",
    "externalId",
    "locale",
    f"{ENTERPRISE_URN}:department",
    f"{ENTERPRISE_URN}:manager.value",
]
user_operations = st.one_of(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "replace", "remove"]), "path": st.sampled_from(USER_PATHS)},
        optional={"value": _json},
    ),
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "replace"]),
            "value": st.dictionaries(st.sampled_from([*USER_PATHS[:6], "active"]), _json),
        }
    ),
)
# Operations that fail on their own, whatever comes before or after them.
FAILING_USER_OPERATIONS = [
    {"op": "replace", "path": "id", "value": "stolen"},
    {"op": "replace", "value": {"id": "stolen"}},
    {"op": "replace", "path": "meta.created", "value": "2001-01-01T00:00:00Z"},
    {"op": "replace", "path": "nosuchAttribute", "value": "x"},
    {"op": "replace", "path": 'emails[type eq "work"', "value": "x"},
    {"op": "merge", "path": "title", "value": "x"},
    {"op": "add", "path": "title"},
    {"path": "title", "value": "x"},
    {"op": "replace", "path": 7, "value": "x"},
    "replace title",
]


def _stored(scim: Scim, path: str) -> tuple[bytes, str]:
    response = scim.get(path)
    assert response.status_code == 200
    return response.get_data(), response.headers["ETag"]


_names = itertools.count()


@PATCH_PROPERTY
@given(
    before=st.lists(user_operations, max_size=3),
    failing=st.sampled_from(FAILING_USER_OPERATIONS),
    after=st.lists(user_operations, max_size=3),
)
def test_a_user_patch_with_a_failing_operation_changes_nothing(
    scim: Scim, before: list[Any], failing: Any, after: list[Any]
) -> None:
    user = scim.create_user(f"patched{next(_names)}@example.com", title="Engineer")
    path = f"/Users/{user['id']}"
    stored = _stored(scim, path)
    response = scim.patch(path, patch_op(*before, failing, *after))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["schemas"] == [ERROR]
    assert _stored(scim, path) == stored


@PATCH_PROPERTY
@given(operations=st.lists(user_operations, min_size=1, max_size=5))
def test_a_user_patch_applies_wholly_or_changes_nothing(scim: Scim, operations: list[Any]) -> None:
    user = scim.create_user(f"patched{next(_names)}@example.com", title="Engineer")
    path = f"/Users/{user['id']}"
    stored = _stored(scim, path)
    response = scim.patch(path, patch_op(*operations))
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 200:
        assert response.headers["ETag"] == _stored(scim, path)[1]
    else:
        assert response.get_json()["schemas"] == [ERROR]
        assert _stored(scim, path) == stored


@PATCH_PROPERTY
@given(data=st.data())
def test_a_group_patch_with_a_failing_operation_changes_nothing(
    scim: Scim, data: st.DataObject
) -> None:
    people = [scim.create_user(f"member{next(_names)}@example.com")["id"] for _ in range(3)]
    group = scim.create_group(f"Group {next(_names)}", people[:1])
    member = st.sampled_from(people).map(lambda i: {"value": i})
    valid = st.one_of(
        st.builds(lambda m: {"op": "add", "path": "members", "value": m}, st.lists(member)),
        st.builds(lambda m: {"op": "remove", "path": f'members[value eq "{m["value"]}"]'}, member),
        st.builds(lambda m: {"op": "replace", "path": "members", "value": m}, st.lists(member)),
        st.builds(
            lambda name: {"op": "replace", "value": {"id": group["id"], "displayName": name}},
            st.sampled_from(["Renamed", "Engineers 2", group["displayName"]]),
        ),
        st.just({"op": "replace", "path": "externalId", "value": "ext-1"}),
    )
    failing = st.sampled_from(
        [
            # (An unknown member id is skipped, not a failure: tests/blueprints/scim.)
            {"op": "add", "path": "members", "value": [{"nosuch": "no-such-user"}]},
            {"op": "replace", "path": "id", "value": "stolen"},
            {"op": "replace", "value": {"id": "another-id", "displayName": "x"}},
            {"op": "replace", "path": "displayName", "value": ""},
            {"op": "replace", "path": "nosuchAttribute", "value": "x"},
            {"op": "merge", "path": "displayName", "value": "x"},
            {"op": "add", "path": "members", "value": ["not-an-object"]},
        ]
    )
    operations = [
        *data.draw(st.lists(valid, max_size=3)),
        data.draw(failing),
        *data.draw(st.lists(valid, max_size=3)),
    ]
    path = f"/Groups/{group['id']}"
    stored = _stored(scim, path)
    response = scim.patch(path, patch_op(*operations))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["schemas"] == [ERROR]
    assert _stored(scim, path) == stored
    listed = scim.get("/Groups", query_string={"filter": f'id eq "{group["id"]}"'})
    assert (
        listed.get_json()["Resources"][0]["meta"]["version"]
        == json.loads(stored[0])["meta"]["version"]
    )
