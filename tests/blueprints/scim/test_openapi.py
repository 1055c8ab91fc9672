"""The OpenAPI document describes the SCIM API that is really routed."""

from __future__ import annotations

import re
from typing import Any

import pytest

SCIM_COMPONENTS = ["User", "Group", "PatchOp", "SearchRequest", "ScimError"]


@pytest.fixture
def spec(client) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _routed_scim_operations(app) -> set[tuple[str, str]]:
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/scim/v2"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        operations |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return operations


def test_the_document_is_openapi_3_1(spec) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"]


def test_every_routed_scim_operation_is_described_and_nothing_else(app, spec) -> None:
    routed = _routed_scim_operations(app)
    described = {
        (path, method)
        for path, item in spec["paths"].items()
        if path.startswith("/scim/v2")
        for method in item
        if method in {"get", "put", "post", "patch", "delete"}
    }
    assert routed
    assert described == routed


@pytest.mark.parametrize("name", SCIM_COMPONENTS)
def test_scim_message_components_exist(spec, name: str) -> None:
    assert name in spec["components"]["schemas"]


def test_core_attributes_are_described(spec) -> None:
    schemas = spec["components"]["schemas"]
    assert "userName" in schemas["User"]["properties"]
    assert "displayName" in schemas["Group"]["properties"]
    assert "Operations" in schemas["PatchOp"]["properties"]
    assert "filter" in schemas["SearchRequest"]["properties"]
    assert {"schemas", "status", "detail", "scimType"} <= set(schemas["ScimError"]["properties"])


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_reference_resolves(spec) -> None:
    refs = set(_refs(spec))
    assert refs
    for ref in refs:
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict), ref


@pytest.mark.parametrize(
    ("path", "method", "component"),
    [
        ("/scim/v2/Users", "post", "User"),
        ("/scim/v2/Users/{scim_id}", "put", "User"),
        ("/scim/v2/Users/{scim_id}", "patch", "PatchOp"),
        ("/scim/v2/Users/.search", "post", "SearchRequest"),
        ("/scim/v2/Groups", "post", "Group"),
        ("/scim/v2/Groups/{scim_id}", "put", "Group"),
        ("/scim/v2/Groups/{scim_id}", "patch", "PatchOp"),
        ("/scim/v2/Groups/.search", "post", "SearchRequest"),
    ],
)
def test_write_operations_describe_their_request_body(spec, path, method, component) -> None:
    content = spec["paths"][path][method]["requestBody"]["content"]
    assert set(content) >= {"application/scim+json", "application/json"}
    for media in content.values():
        assert media["schema"]["$ref"] == f"#/components/schemas/{component}"


def test_error_responses_use_the_scim_error_schema(spec) -> None:
    responses = spec["paths"]["/scim/v2/Users/{scim_id}"]["get"]["responses"]
    content = responses["404"]["content"]["application/scim+json"]
    assert content["schema"]["$ref"] == "#/components/schemas/ScimError"
