"""Discovery endpoints (RFC 7644 §4) tell the truth, and every URL we generate is absolute and
uses PUBLIC_BASE_URL when it is set, else the host the request came to."""

from __future__ import annotations

from typing import Any

import pytest

from tests.blueprints.scim.conftest import (
    ENTERPRISE_URN,
    GROUP_URN,
    LIST_RESPONSE,
    USER_URN,
    assert_scim_error,
)

SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


def test_service_provider_config_is_truthful(scim) -> None:
    response = scim.get("/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.mimetype == "application/scim+json"
    config = response.get_json()
    assert config["schemas"] == [SPC_URN]
    assert config["patch"] == {"supported": True}
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    assert config["sort"] == {"supported": True}
    assert config["etag"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    assert config["changePassword"] == {"supported": False}
    assert [s["type"] for s in config["authenticationSchemes"]] == ["oauthbearertoken"]
    assert config["meta"]["location"] == "http://localhost/scim/v2/ServiceProviderConfig"
    assert config["meta"]["resourceType"] == "ServiceProviderConfig"


def test_filter_max_results_is_the_configured_maximum_page(scim_app) -> None:
    scim = scim_app(SCIM_MAX_COUNT=25)
    assert scim.get("/ServiceProviderConfig").get_json()["filter"]["maxResults"] == 25
    for i in range(26):
        scim.create_user(f"user{i}@example.com")
    page = scim.get("/Users", query_string={"filter": "userName pr", "count": 500}).get_json()
    assert (page["itemsPerPage"], page["totalResults"]) == (25, 26)


def test_pagination_advertises_index_paging_with_the_configured_page_sizes(scim_app) -> None:
    scim = scim_app(SCIM_DEFAULT_COUNT=7, SCIM_MAX_COUNT=25)
    config = scim.get("/ServiceProviderConfig").get_json()
    # RFC 9865 §4: what paging the server supports, its default and largest page.
    assert config["pagination"] == {
        "cursor": False,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 7,
        "maxPageSize": 25,
    }
    assert config["filter"] == {"supported": True, "maxResults": 25}
    for i in range(8):
        scim.create_user(f"user{i}@example.com")
    assert scim.get("/Users").get_json()["itemsPerPage"] == 7
    assert scim.get("/Users", query_string={"count": 500}).get_json()["itemsPerPage"] == 8


def test_bulk_is_not_routed_as_the_config_says(scim) -> None:
    assert_scim_error(scim.post("/Bulk", {"schemas": [], "Operations": []}), 404)


def test_resource_types_list_user_and_group(scim) -> None:
    body = scim.get("/ResourceTypes").get_json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == 2
    by_name = {rt["name"]: rt for rt in body["Resources"]}
    assert set(by_name) == {"User", "Group"}
    assert by_name["User"]["endpoint"] == "/Users"
    assert by_name["User"]["schema"] == USER_URN
    assert by_name["User"]["schemaExtensions"] == [{"schema": ENTERPRISE_URN, "required": False}]
    assert by_name["Group"]["endpoint"] == "/Groups"
    assert by_name["Group"]["schema"] == GROUP_URN
    for name, rt in by_name.items():
        assert rt["meta"]["location"] == f"http://localhost/scim/v2/ResourceTypes/{name}"


def test_one_resource_type_by_name(scim) -> None:
    user = scim.get("/ResourceTypes/User")
    assert user.status_code == 200
    listed = scim.get("/ResourceTypes").get_json()["Resources"]
    assert user.get_json() == next(rt for rt in listed if rt["name"] == "User")


def _attribute(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in schema["attributes"] if a["name"] == name)


def test_schemas_list_the_user_enterprise_and_group_schemas(scim) -> None:
    body = scim.get("/Schemas").get_json()
    assert body["schemas"] == [LIST_RESPONSE]
    ids = [s["id"] for s in body["Resources"]]
    assert sorted(ids) == sorted([USER_URN, ENTERPRISE_URN, GROUP_URN])
    assert body["totalResults"] == 3
    for schema in body["Resources"]:
        assert schema["meta"]["location"] == f"http://localhost/scim/v2/Schemas/{schema['id']}"


def test_the_user_schema_says_user_name_is_case_insensitive_and_unique(scim) -> None:
    response = scim.get(f"/Schemas/{USER_URN}")
    assert response.status_code == 200
    schema = response.get_json()
    assert schema["id"] == USER_URN
    user_name = _attribute(schema, "userName")
    assert user_name["caseExact"] is False
    assert user_name["uniqueness"] == "server"
    assert user_name["required"] is True
    assert _attribute(schema, "password")["returned"] == "never"
    assert _attribute(schema, "password")["mutability"] == "writeOnly"
    assert _attribute(schema, "groups")["mutability"] == "readOnly"


def test_the_group_schema_describes_members(scim) -> None:
    schema = scim.get(f"/Schemas/{GROUP_URN}").get_json()
    members = _attribute(schema, "members")
    assert members["multiValued"] is True
    assert {sub["name"] for sub in members["subAttributes"]} >= {"value", "$ref", "type", "display"}
    assert _attribute(schema, "displayName")["required"] is True


@pytest.mark.parametrize(
    "path",
    [
        "/ResourceTypes/Nope",
        "/ResourceTypes/user",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nope",
        "/Schemas/User",
    ],
)
def test_an_unknown_resource_type_or_schema_is_a_scim_404(scim, path: str) -> None:
    assert_scim_error(scim.get(path), 404)


def _generated_urls(scim) -> dict[str, str]:
    """Every URL a SCIM response carries, from a fresh user in a fresh group."""
    created = scim.post("/Users", {"schemas": [USER_URN], "userName": "ann@example.com"})
    user = created.get_json()
    made = scim.post(
        "/Groups",
        {"schemas": [GROUP_URN], "displayName": "Engineers", "members": [{"value": user["id"]}]},
    )
    group = made.get_json()
    fetched = scim.get(f"/Users/{user['id']}").get_json()
    config = scim.get("/ServiceProviderConfig").get_json()
    return {
        "user Location": created.headers["Location"],
        "user meta.location": user["meta"]["location"],
        "group Location": made.headers["Location"],
        "group meta.location": group["meta"]["location"],
        "member $ref": group["members"][0]["$ref"],
        "groups $ref": fetched["groups"][0]["$ref"],
        "listed user": scim.get("/Users").get_json()["Resources"][0]["meta"]["location"],
        "listed group $ref": scim.get("/Groups").get_json()["Resources"][0]["members"][0]["$ref"],
        "config": config["meta"]["location"],
        "documentation": config["documentationUri"],
        "resource type": scim.get("/ResourceTypes/User").get_json()["meta"]["location"],
        "schema": scim.get(f"/Schemas/{USER_URN}").get_json()["meta"]["location"],
    }


@pytest.mark.parametrize("configured", ["https://scim.example.com", "https://scim.example.com/"])
def test_every_generated_url_uses_public_base_url(scim_app, configured: str) -> None:
    scim = scim_app(PUBLIC_BASE_URL=configured)
    scim.base_url = "http://internal-pod:8000"
    urls = _generated_urls(scim)
    for name, url in urls.items():
        assert url.startswith("https://scim.example.com/"), name
        assert "internal-pod" not in url
        assert "//" not in url.removeprefix("https://"), name
    assert urls["user Location"] == urls["user meta.location"] == urls["member $ref"]
    assert urls["group Location"] == urls["groups $ref"]


def test_without_public_base_url_urls_use_the_host_the_request_came_to(app, scim) -> None:
    app.config["TRUSTED_HOSTS"] = ["scim.customer.example"]  # Host names are pinned then
    scim.base_url = "https://scim.customer.example:8443"
    urls = _generated_urls(scim)
    for name, url in urls.items():
        assert url.startswith("https://scim.customer.example:8443/"), name
    assert urls["user Location"].startswith("https://scim.customer.example:8443/scim/v2/Users/")
