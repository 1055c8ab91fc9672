"""The schema definitions match RFC 7643 and resolve attribute paths as clients write them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scim.errors import InvalidPathError
from scim.filter import parse_path
from scim.filter_ast import AttrPath
from scim.schemas import (
    COMMON_ATTRIBUTES,
    ENTERPRISE_USER_SCHEMA,
    GROUP_RESOURCE,
    GROUP_SCHEMA,
    RESOURCE_TYPES,
    SCHEMAS,
    USER_RESOURCE,
    USER_SCHEMA,
    Attribute,
    ResourceType,
    Schema,
)

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def scim_attribute(schema: Schema, dotted: str) -> dict[str, Any]:
    """The /Schemas JSON of ``attr`` or ``attr.sub`` in ``schema``."""
    name, _, sub = dotted.partition(".")
    body = schema.to_scim(f"https://example.test/scim/v2/Schemas/{schema.id}")
    attribute = next(a for a in body["attributes"] if a["name"] == name)
    if sub:
        attribute = next(a for a in attribute["subAttributes"] if a["name"] == sub)
    return dict(attribute)


def common(name: str) -> Attribute:
    return next(a for a in COMMON_ATTRIBUTES if a.name == name)


# --- RFC 7643 characteristics ------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "dotted", "expected"),
    [
        pytest.param(
            USER_SCHEMA,
            "userName",
            {
                "type": "string",
                "multiValued": False,
                "required": True,
                "caseExact": False,
                "mutability": "readWrite",
                "returned": "default",
                "uniqueness": "server",
            },
            id="userName is required, case-insensitive and unique per server (§4.1.1)",
        ),
        pytest.param(
            USER_SCHEMA,
            "password",
            {"mutability": "writeOnly", "returned": "never"},
            id="password is writeOnly and never returned",
        ),
        pytest.param(
            USER_SCHEMA,
            "active",
            {"type": "boolean", "multiValued": False, "mutability": "readWrite"},
            id="active is a boolean",
        ),
        pytest.param(
            USER_SCHEMA,
            "groups",
            {"type": "complex", "multiValued": True, "mutability": "readOnly"},
            id="groups is readOnly",
        ),
        pytest.param(
            USER_SCHEMA,
            "groups.$ref",
            {"type": "reference", "mutability": "readOnly", "referenceTypes": ["Group"]},
            id="groups.$ref references a Group",
        ),
        pytest.param(
            USER_SCHEMA,
            "emails.type",
            {"canonicalValues": ["work", "home", "other"], "caseExact": False},
            id="emails.type has the canonical values work, home, other",
        ),
        pytest.param(
            USER_SCHEMA,
            "emails.primary",
            {"type": "boolean", "required": False},
            id="emails.primary is a boolean",
        ),
        pytest.param(
            USER_SCHEMA,
            "phoneNumbers.type",
            {"canonicalValues": ["work", "home", "mobile", "fax", "pager", "other"]},
            id="phoneNumbers.type has the canonical values of §4.1.2",
        ),
        pytest.param(
            USER_SCHEMA,
            "photos.value",
            {"type": "reference", "referenceTypes": ["external"], "caseExact": True},
            id="photos.value is an external reference",
        ),
        pytest.param(
            USER_SCHEMA,
            "profileUrl",
            {"type": "reference", "referenceTypes": ["external"]},
            id="profileUrl is an external reference",
        ),
        pytest.param(
            USER_SCHEMA,
            "x509Certificates.value",
            {"type": "binary", "caseExact": True},
            id="x509Certificates.value is binary",
        ),
        pytest.param(
            ENTERPRISE_USER_SCHEMA,
            "manager",
            {"type": "complex", "multiValued": False, "mutability": "readWrite"},
            id="manager is a single complex attribute",
        ),
        pytest.param(
            ENTERPRISE_USER_SCHEMA,
            "manager.value",
            {"type": "string", "caseExact": True, "mutability": "readWrite"},
            id="manager.value is the manager's case-exact id",
        ),
        pytest.param(
            ENTERPRISE_USER_SCHEMA,
            "manager.$ref",
            {"type": "reference", "referenceTypes": ["User"]},
            id="manager.$ref references a User",
        ),
        pytest.param(
            ENTERPRISE_USER_SCHEMA,
            "manager.displayName",
            {"type": "string", "mutability": "readOnly"},
            id="manager.displayName is readOnly",
        ),
        pytest.param(
            GROUP_SCHEMA,
            "displayName",
            {"type": "string", "required": True},
            id="group displayName is required (§4.2)",
        ),
        pytest.param(
            GROUP_SCHEMA,
            "members",
            {"type": "complex", "multiValued": True, "mutability": "readWrite"},
            id="members is a multi-valued complex attribute",
        ),
        pytest.param(
            GROUP_SCHEMA,
            "members.value",
            {"mutability": "immutable", "caseExact": True},
            id="members.value is immutable",
        ),
        pytest.param(
            GROUP_SCHEMA,
            "members.$ref",
            {"referenceTypes": ["User", "Group"], "mutability": "immutable"},
            id="members.$ref references a User or a Group",
        ),
    ],
)
def test_schema_representation_has_the_rfc_characteristics(
    schema: Schema, dotted: str, expected: dict[str, Any]
) -> None:
    attribute = scim_attribute(schema, dotted)
    assert {key: attribute.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("name", "mutability", "returned", "case_exact"),
    [
        ("id", "readOnly", "always", True),
        ("externalId", "readWrite", "default", True),
        ("meta", "readOnly", "default", False),
    ],
)
def test_common_attributes_have_the_rfc_characteristics(
    name: str, mutability: str, returned: str, case_exact: bool
) -> None:
    attr = common(name)
    assert (attr.mutability, attr.returned, attr.case_exact) == (mutability, returned, case_exact)


def test_meta_has_the_rfc_sub_attributes_and_all_are_read_only() -> None:
    meta = common("meta")
    names = [sub.name for sub in meta.sub_attributes]
    assert names == ["resourceType", "created", "lastModified", "location", "version"]
    assert {sub.mutability for sub in meta.sub_attributes} == {"readOnly"}
    created = meta.sub("created")
    assert created is not None and created.type == "dateTime"


def test_user_schema_defines_every_rfc_attribute_in_order() -> None:
    assert [a.name for a in USER_SCHEMA.attributes] == [
        "userName",
        "name",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "password",
        "emails",
        "phoneNumbers",
        "ims",
        "photos",
        "addresses",
        "groups",
        "entitlements",
        "roles",
        "x509Certificates",
    ]


@pytest.mark.parametrize(
    ("schema", "name", "subs"),
    [
        (
            USER_SCHEMA,
            "name",
            [
                "formatted",
                "familyName",
                "givenName",
                "middleName",
                "honorificPrefix",
                "honorificSuffix",
            ],
        ),
        (
            USER_SCHEMA,
            "addresses",
            [
                "formatted",
                "streetAddress",
                "locality",
                "region",
                "postalCode",
                "country",
                "type",
                "primary",
            ],
        ),
        (USER_SCHEMA, "emails", ["value", "display", "type", "primary"]),
        (USER_SCHEMA, "groups", ["value", "$ref", "display", "type"]),
        (ENTERPRISE_USER_SCHEMA, "manager", ["value", "$ref", "displayName"]),
        (GROUP_SCHEMA, "members", ["value", "$ref", "display", "type"]),
    ],
)
def test_complex_attributes_have_the_rfc_sub_attributes(
    schema: Schema, name: str, subs: list[str]
) -> None:
    attr = schema.attribute(name)
    assert attr is not None
    assert [sub.name for sub in attr.sub_attributes] == subs


def test_enterprise_schema_defines_the_rfc_attributes() -> None:
    assert [a.name for a in ENTERPRISE_USER_SCHEMA.attributes] == [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
    ]


def test_common_attributes_are_not_listed_in_the_schema_bodies() -> None:
    for schema in SCHEMAS.values():
        names = {a["name"] for a in schema.to_scim("https://x")["attributes"]}
        assert not names & {"id", "externalId", "meta"}


# --- JSON representations ----------------------------------------------------------------


def test_schema_representation_carries_its_id_and_meta() -> None:
    location = f"https://example.test/scim/v2/Schemas/{USER_URN}"
    body = USER_SCHEMA.to_scim(location)
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
    assert (body["id"], body["name"], body["description"]) == (USER_URN, "User", "User Account")
    assert body["meta"] == {"resourceType": "Schema", "location": location}
    json.dumps(body)


def test_complex_attribute_representation_uses_camel_case_keys() -> None:
    emails = scim_attribute(USER_SCHEMA, "emails")
    assert list(emails) == [
        "name",
        "type",
        "multiValued",
        "description",
        "required",
        "mutability",
        "returned",
        "subAttributes",
    ]
    value = emails["subAttributes"][0]
    assert value == {
        "name": "value",
        "type": "string",
        "multiValued": False,
        "description": "Email address for the user.",
        "required": False,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    }


def test_every_attribute_representation_has_the_section_7_keys() -> None:
    def walk(attributes: list[dict[str, Any]]) -> None:
        for attribute in attributes:
            for key in ("name", "type", "multiValued", "description", "required"):
                assert key in attribute, (attribute["name"], key)
            assert attribute["description"]
            assert attribute["mutability"] in ("readOnly", "readWrite", "immutable", "writeOnly")
            assert attribute["returned"] in ("always", "never", "default", "request")
            if attribute["type"] == "reference":
                assert attribute["referenceTypes"]
            if attribute["type"] == "complex":
                walk(attribute["subAttributes"])

    for schema in SCHEMAS.values():
        walk(schema.to_scim("https://x")["attributes"])


def test_user_resource_type_declares_the_optional_enterprise_extension() -> None:
    location = "https://example.test/scim/v2/ResourceTypes/User"
    assert USER_RESOURCE.to_scim(location) == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER_URN,
        "schemaExtensions": [{"schema": ENTERPRISE_URN, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": location},
    }


def test_group_resource_type_has_no_extensions() -> None:
    body = GROUP_RESOURCE.to_scim("https://x/ResourceTypes/Group")
    assert (body["endpoint"], body["schema"]) == ("/Groups", GROUP_URN)
    assert "schemaExtensions" not in body


def test_registries_list_every_schema_and_resource_type() -> None:
    assert list(SCHEMAS) == [USER_URN, ENTERPRISE_URN, GROUP_URN]
    assert RESOURCE_TYPES == {"User": USER_RESOURCE, "Group": GROUP_RESOURCE}


# --- lookups -------------------------------------------------------------------------------


def test_lookups_ignore_case_and_return_canonical_names() -> None:
    name = USER_SCHEMA.attribute("NAME")
    assert name is not None and name.name == "name"
    given = name.sub("GIVENNAME")
    assert given is not None and given.name == "givenName"
    assert USER_SCHEMA.attribute("nope") is None
    assert name.sub("nope") is None


@pytest.mark.parametrize(
    ("resource", "path", "expected"),
    [
        (USER_RESOURCE, "userName", (USER_URN, "userName", None)),
        (USER_RESOURCE, "USERNAME", (USER_URN, "userName", None)),
        (USER_RESOURCE, "name.givenName", (USER_URN, "name", "givenName")),
        (USER_RESOURCE, f"{USER_URN}:userName", (USER_URN, "userName", None)),
        (USER_RESOURCE, f"{USER_URN}:name.familyName", (USER_URN, "name", "familyName")),
        (USER_RESOURCE, "emails.value", (USER_URN, "emails", "value")),
        (
            USER_RESOURCE,
            f"{ENTERPRISE_URN}:employeeNumber",
            (ENTERPRISE_URN, "employeeNumber", None),
        ),
        (USER_RESOURCE, f"{ENTERPRISE_URN}:manager.value", (ENTERPRISE_URN, "manager", "value")),
        (USER_RESOURCE, "department", (ENTERPRISE_URN, "department", None)),
        (USER_RESOURCE, "id", (USER_URN, "id", None)),
        (USER_RESOURCE, "externalId", (USER_URN, "externalId", None)),
        (USER_RESOURCE, "meta.lastModified", (USER_URN, "meta", "lastModified")),
        (USER_RESOURCE, f"{USER_URN}:id", (USER_URN, "id", None)),
        (GROUP_RESOURCE, "members.value", (GROUP_URN, "members", "value")),
        (GROUP_RESOURCE, "displayname", (GROUP_URN, "displayName", None)),
    ],
)
def test_resolve_finds_the_schema_attribute_and_sub_attribute(
    resource: ResourceType, path: str, expected: tuple[str, str, str | None]
) -> None:
    schema, attr, sub = resource.resolve(parse_path(path).attr)
    assert (schema.id, attr.name, sub.name if sub else None) == expected


@pytest.mark.parametrize(
    ("resource", "path", "detail"),
    [
        (USER_RESOURCE, AttrPath(None, "nope"), 'unknown attribute "nope"'),
        (USER_RESOURCE, AttrPath(None, "name", "nope"), 'no sub-attribute "nope"'),
        (USER_RESOURCE, AttrPath(None, "userName", "x"), "has no sub-attributes"),
        (USER_RESOURCE, AttrPath("urn:example:custom:1.0:User", "a"), "not a schema of"),
        (USER_RESOURCE, AttrPath(ENTERPRISE_URN, "userName"), 'unknown attribute "userName"'),
        (USER_RESOURCE, AttrPath(ENTERPRISE_URN, "id"), 'unknown attribute "id"'),
        (GROUP_RESOURCE, AttrPath(None, "userName"), 'unknown attribute "userName"'),
        (GROUP_RESOURCE, AttrPath(ENTERPRISE_URN, "department"), "not a schema of"),
    ],
)
def test_resolve_rejects_unknown_paths_with_invalid_path(
    resource: ResourceType, path: AttrPath, detail: str
) -> None:
    with pytest.raises(InvalidPathError, match=detail) as info:
        resource.resolve(path)
    assert info.value.scim_type == "invalidPath"


@pytest.mark.parametrize(
    ("resource", "key", "expected"),
    [
        (USER_RESOURCE, "id", True),
        (USER_RESOURCE, "externalid", True),
        (USER_RESOURCE, "username", False),
        (USER_RESOURCE, "urn:ietf:params:scim:schemas:core:2.0:user:username", False),
        (USER_RESOURCE, "emails.value", False),
        (USER_RESOURCE, "groups.value", True),
        (
            USER_RESOURCE,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager.value",
            True,
        ),
        (
            USER_RESOURCE,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:department",
            False,
        ),
        (USER_RESOURCE, "nosuchattribute", False),
        (GROUP_RESOURCE, "members.value", True),
        (GROUP_RESOURCE, "displayname", False),
    ],
)
def test_case_exact_follows_the_schema_for_lowercased_keys(
    resource: ResourceType, key: str, expected: bool
) -> None:
    assert resource.case_exact(key) is expected
