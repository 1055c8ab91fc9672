"""SCIM schema and resource-type definitions as data (RFC 7643 §3, §4, §6, §7, §8.7).

Used by the /Schemas and /ResourceTypes discovery endpoints, the PATCH engine, filtering
and response projection. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from scim.errors import InvalidPathError
from scim.filter_ast import AttrPath

AttributeType = Literal[
    "string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex"
]
Mutability = Literal["readOnly", "readWrite", "immutable", "writeOnly"]
Returned = Literal["always", "never", "default", "request"]
Uniqueness = Literal["none", "server", "global"]

SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"

# RFC 7643 §2.3: caseExact is meaningful for these types only; §7 lists it per attribute.
_CASE_TYPES = frozenset({"string", "reference", "binary", "dateTime"})


@dataclass(frozen=True)
class Attribute:
    """One attribute definition with its RFC 7643 §7 characteristics (§2.2 defaults)."""

    name: str
    type: AttributeType = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = "readWrite"
    returned: Returned = "default"
    uniqueness: Uniqueness = "none"
    sub_attributes: tuple[Attribute, ...] = ()
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    description: str = ""

    @cached_property
    def _subs_by_name(self) -> dict[str, Attribute]:
        return {sub.name.lower(): sub for sub in self.sub_attributes}

    def sub(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name`` (case-insensitive, RFC 7643 §2.1), or None."""
        return self._subs_by_name.get(name.lower())

    def to_scim(self) -> dict[str, Any]:
        """The RFC 7643 §7 JSON representation of this attribute."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
        }
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.type in _CASE_TYPES:
            out["caseExact"] = self.case_exact
        out["mutability"] = self.mutability
        out["returned"] = self.returned
        if self.type != "complex" and self.type != "boolean":
            out["uniqueness"] = self.uniqueness
        if self.type == "reference":
            out["referenceTypes"] = list(self.reference_types)
        if self.type == "complex":
            out["subAttributes"] = [sub.to_scim() for sub in self.sub_attributes]
        return out


@dataclass(frozen=True)
class Schema:
    """A schema (core or extension): its URN, name and top-level attributes (RFC 7643 §7)."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    @cached_property
    def _by_name(self) -> dict[str, Attribute]:
        return {attr.name.lower(): attr for attr in self.attributes}

    def attribute(self, name: str) -> Attribute | None:
        """The top-level attribute called ``name`` (case-insensitive), or None."""
        return self._by_name.get(name.lower())

    def to_scim(self, location: str) -> dict[str, Any]:
        """The /Schemas representation (RFC 7643 §7, §8.7), with ``meta.location``."""
        return {
            "schemas": [SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [attr.to_scim() for attr in self.attributes],
            "meta": {"resourceType": "Schema", "location": location},
        }


@dataclass(frozen=True)
class ResourceType:
    """A resource type (RFC 7643 §6): endpoint, core schema and schema extensions."""

    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[tuple[Schema, bool], ...] = ()

    @property
    def schemas(self) -> tuple[Schema, ...]:
        """The core schema followed by the extension schemas."""
        return (self.schema, *(ext for ext, _required in self.extensions))

    def extension(self, uri: str) -> Schema | None:
        """The declared extension schema whose URN is ``uri`` (case-insensitive), or None."""
        wanted = uri.lower()
        return next((ext for ext, _ in self.extensions if ext.id.lower() == wanted), None)

    def schema_for(self, uri: str | None) -> Schema | None:
        """The schema an attribute reference points into: the core one when ``uri`` is None."""
        if uri is None or uri.lower() == self.schema.id.lower():
            return self.schema
        return self.extension(uri)

    def to_scim(self, location: str) -> dict[str, Any]:
        """The /ResourceTypes representation (RFC 7643 §6), with ``meta.location``."""
        out: dict[str, Any] = {
            "schemas": [RESOURCE_TYPE_URN],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
        }
        if self.extensions:
            out["schemaExtensions"] = [
                {"schema": ext.id, "required": required} for ext, required in self.extensions
            ]
        out["meta"] = {"resourceType": "ResourceType", "location": location}
        return out

    def resolve(self, path: AttrPath) -> tuple[Schema, Attribute, Attribute | None]:
        """The schema, attribute and sub-attribute an attribute path names.

        Unqualified names resolve to the core schema or the common attributes (RFC 7643
        §3.1), then to an extension attribute when exactly one extension defines that name
        (clients write ``department`` for the enterprise attribute). Common attributes live
        at the top level of the resource, so they resolve to the core schema.

        :raises InvalidPathError: the schema, attribute or sub-attribute does not exist.
        """
        schema, attr = self._top_level(path)
        if path.sub_attr is None:
            return schema, attr, None
        if attr.type != "complex":
            raise InvalidPathError(f'"{attr.name}" has no sub-attributes (path "{_text(path)}")')
        sub = attr.sub(path.sub_attr)
        if sub is None:
            raise InvalidPathError(
                f'"{attr.name}" has no sub-attribute "{path.sub_attr}" (path "{_text(path)}")'
            )
        return schema, attr, sub

    def _top_level(self, path: AttrPath) -> tuple[Schema, Attribute]:
        schema = self.schema_for(path.uri)
        if schema is None:
            raise InvalidPathError(
                f'schema "{path.uri}" is not a schema of the {self.name} resource'
            )
        attr = schema.attribute(path.attr)
        if attr is not None:
            return schema, attr
        if schema is self.schema:
            common = COMMON_ATTRIBUTES_BY_NAME.get(path.attr.lower())
            if common is not None:
                return schema, common
            if path.uri is None:
                found = [
                    (ext, ext_attr)
                    for ext, _ in self.extensions
                    if (ext_attr := ext.attribute(path.attr)) is not None
                ]
                if len(found) == 1:
                    return found[0]
        raise InvalidPathError(
            f'unknown attribute "{path.attr}" in schema {schema.id} (path "{_text(path)}")'
        )

    def case_exact(self, key: str) -> bool:
        """Whether the attribute named by a lowercased dotted key (``AttrPath.key()``) is
        compared case-sensitively; unknown attributes compare case-insensitively (§2.2)."""
        lowered = key.lower()
        uri: str | None = None
        rest = key
        for schema in self.schemas:
            prefix = schema.id.lower() + ":"
            if lowered.startswith(prefix):
                uri, rest = schema.id, key[len(prefix) :]
                break
        attr_name, _, sub_name = rest.partition(".")
        try:
            _, attr, sub = self.resolve(AttrPath(uri, attr_name, sub_name or None))
        except InvalidPathError:
            return False
        return (sub or attr).case_exact


def _text(path: AttrPath) -> str:
    base = path.attr if path.sub_attr is None else f"{path.attr}.{path.sub_attr}"
    return f"{path.uri}:{base}" if path.uri else base


def _multi_valued_subs(
    value_description: str,
    *,
    types: tuple[str, ...] = (),
    value_type: AttributeType = "string",
    value_case_exact: bool = False,
    reference_types: tuple[str, ...] = (),
) -> tuple[Attribute, ...]:
    """The RFC 7643 §2.4 default sub-attributes: value, display, type, primary."""
    return (
        Attribute(
            "value",
            type=value_type,
            case_exact=value_case_exact,
            reference_types=reference_types,
            description=value_description,
        ),
        Attribute(
            "display",
            description="A human-readable name, primarily used for display purposes.",
        ),
        Attribute(
            "type",
            canonical_values=types,
            description="A label indicating the attribute's function.",
        ),
        Attribute(
            "primary",
            type="boolean",
            description="Whether this is the primary value; 'true' appears at most once.",
        ),
    )


# RFC 7643 §3.1: common attributes of every resource; not part of any schema's /Schemas body.
COMMON_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "id",
        case_exact=True,
        mutability="readOnly",
        returned="always",
        uniqueness="server",
        description="A unique identifier for the resource, assigned by the service provider.",
    ),
    Attribute(
        "externalId",
        case_exact=True,
        description="An identifier for the resource as defined by the provisioning client.",
    ),
    Attribute(
        "meta",
        type="complex",
        mutability="readOnly",
        description="Resource metadata.",
        sub_attributes=(
            Attribute(
                "resourceType",
                case_exact=True,
                mutability="readOnly",
                description="The name of the resource type of the resource.",
            ),
            Attribute(
                "created",
                type="dateTime",
                mutability="readOnly",
                description="When the resource was added to the service provider.",
            ),
            Attribute(
                "lastModified",
                type="dateTime",
                mutability="readOnly",
                description="When the resource was last modified.",
            ),
            Attribute(
                "location",
                type="reference",
                case_exact=True,
                mutability="readOnly",
                reference_types=("uri",),
                description="The URI of the resource being returned.",
            ),
            Attribute(
                "version",
                case_exact=True,
                mutability="readOnly",
                description="The version (ETag) of the resource being returned.",
            ),
        ),
    ),
)
COMMON_ATTRIBUTES_BY_NAME: dict[str, Attribute] = {a.name.lower(): a for a in COMMON_ATTRIBUTES}

USER_SCHEMA = Schema(
    id=USER_URN,
    name="User",
    description="User Account",
    attributes=(
        Attribute(
            "userName",
            required=True,
            uniqueness="server",
            description=(
                "Unique identifier for the User, typically used by the user to directly "
                "authenticate to the service provider. REQUIRED."
            ),
        ),
        Attribute(
            "name",
            type="complex",
            description="The components of the user's real name.",
            sub_attributes=(
                Attribute("formatted", description="The full name, formatted for display."),
                Attribute("familyName", description="The family name of the User."),
                Attribute("givenName", description="The given name of the User."),
                Attribute("middleName", description="The middle name(s) of the User."),
                Attribute("honorificPrefix", description="The honorific prefix(es)."),
                Attribute("honorificSuffix", description="The honorific suffix(es)."),
            ),
        ),
        Attribute("displayName", description="The name of the User, suitable for display."),
        Attribute("nickName", description="The casual way to address the user in real life."),
        Attribute(
            "profileUrl",
            type="reference",
            case_exact=True,
            reference_types=("external",),
            description="A fully qualified URL pointing to the User's online profile.",
        ),
        Attribute("title", description="The user's title, such as 'Vice President'."),
        Attribute(
            "userType",
            description="The relationship between the organization and the user.",
        ),
        Attribute("preferredLanguage", description="The User's preferred language."),
        Attribute("locale", description="The User's default location for localisation."),
        Attribute("timezone", description="The User's time zone in the 'Olson' format."),
        Attribute(
            "active",
            type="boolean",
            description="A Boolean value indicating the User's administrative status.",
        ),
        Attribute(
            "password",
            mutability="writeOnly",
            returned="never",
            description="The User's cleartext password (never stored nor returned here).",
        ),
        Attribute(
            "emails",
            type="complex",
            multi_valued=True,
            description="Email addresses for the user.",
            sub_attributes=_multi_valued_subs(
                "Email address for the user.", types=("work", "home", "other")
            ),
        ),
        Attribute(
            "phoneNumbers",
            type="complex",
            multi_valued=True,
            description="Phone numbers for the User.",
            sub_attributes=_multi_valued_subs(
                "Phone number of the User.",
                types=("work", "home", "mobile", "fax", "pager", "other"),
            ),
        ),
        Attribute(
            "ims",
            type="complex",
            multi_valued=True,
            description="Instant messaging addresses for the User.",
            sub_attributes=_multi_valued_subs(
                "Instant messaging address for the User.",
                types=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
            ),
        ),
        Attribute(
            "photos",
            type="complex",
            multi_valued=True,
            description="URLs of photos of the User.",
            sub_attributes=_multi_valued_subs(
                "URL of a photo of the User.",
                types=("photo", "thumbnail"),
                value_type="reference",
                value_case_exact=True,
                reference_types=("external",),
            ),
        ),
        Attribute(
            "addresses",
            type="complex",
            multi_valued=True,
            description="A physical mailing address for this User.",
            sub_attributes=(
                Attribute("formatted", description="The full mailing address."),
                Attribute("streetAddress", description="The full street address component."),
                Attribute("locality", description="The city or locality component."),
                Attribute("region", description="The state or region component."),
                Attribute("postalCode", description="The zip code or postal code component."),
                Attribute("country", description="The country name component."),
                Attribute(
                    "type",
                    canonical_values=("work", "home", "other"),
                    description="A label indicating the attribute's function.",
                ),
                Attribute(
                    "primary",
                    type="boolean",
                    description="Whether this is the primary address.",
                ),
            ),
        ),
        Attribute(
            "groups",
            type="complex",
            multi_valued=True,
            mutability="readOnly",
            description="A list of groups to which the user belongs.",
            sub_attributes=(
                Attribute(
                    "value",
                    case_exact=True,
                    mutability="readOnly",
                    description="The identifier of the User's group.",
                ),
                Attribute(
                    "$ref",
                    type="reference",
                    case_exact=True,
                    mutability="readOnly",
                    reference_types=("Group",),
                    description="The URI of the corresponding 'Group' resource.",
                ),
                Attribute(
                    "display",
                    mutability="readOnly",
                    description="A human-readable name, primarily used for display purposes.",
                ),
                Attribute(
                    "type",
                    mutability="readOnly",
                    canonical_values=("direct", "indirect"),
                    description="A label indicating the attribute's function.",
                ),
            ),
        ),
        Attribute(
            "entitlements",
            type="complex",
            multi_valued=True,
            description="A list of entitlements for the User.",
            sub_attributes=_multi_valued_subs("The value of an entitlement."),
        ),
        Attribute(
            "roles",
            type="complex",
            multi_valued=True,
            description="A list of roles for the User.",
            sub_attributes=_multi_valued_subs("The value of a role."),
        ),
        Attribute(
            "x509Certificates",
            type="complex",
            multi_valued=True,
            description="A list of certificates issued to the User.",
            sub_attributes=_multi_valued_subs(
                "The value of an X.509 certificate.", value_type="binary", value_case_exact=True
            ),
        ),
    ),
)

ENTERPRISE_USER_SCHEMA = Schema(
    id=ENTERPRISE_USER_URN,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        Attribute("employeeNumber", description="Identifier assigned to a person by hire order."),
        Attribute("costCenter", description="Identifies the name of a cost center."),
        Attribute("organization", description="Identifies the name of an organization."),
        Attribute("division", description="Identifies the name of a division."),
        Attribute("department", description="Identifies the name of a department."),
        Attribute(
            "manager",
            type="complex",
            description="The User's manager.",
            sub_attributes=(
                Attribute(
                    "value",
                    case_exact=True,
                    description="The id of the SCIM resource representing the User's manager.",
                ),
                Attribute(
                    "$ref",
                    type="reference",
                    case_exact=True,
                    reference_types=("User",),
                    description="The URI of the SCIM resource representing the User's manager.",
                ),
                Attribute(
                    "displayName",
                    mutability="readOnly",
                    description="The displayName of the User's manager. READ-ONLY.",
                ),
            ),
        ),
    ),
)

GROUP_SCHEMA = Schema(
    id=GROUP_URN,
    name="Group",
    description="Group",
    attributes=(
        # RFC 7643 §4.2 makes displayName REQUIRED (the §8.7.1 listing says otherwise).
        Attribute("displayName", required=True, description="A human-readable name. REQUIRED."),
        Attribute(
            "members",
            type="complex",
            multi_valued=True,
            description="A list of members of the Group.",
            sub_attributes=(
                Attribute(
                    "value",
                    case_exact=True,
                    mutability="immutable",
                    description="Identifier of the member of this Group.",
                ),
                Attribute(
                    "$ref",
                    type="reference",
                    case_exact=True,
                    mutability="immutable",
                    reference_types=("User", "Group"),
                    description="The URI of the SCIM resource that is a member of this Group.",
                ),
                # Not in the §8.7.1 listing, but Okta sends it with every member
                # (docs/okta.md §1.4).
                Attribute("display", description="A human-readable name for the member."),
                Attribute(
                    "type",
                    mutability="immutable",
                    canonical_values=("User", "Group"),
                    description="The type of the member resource, 'User' or 'Group'.",
                ),
            ),
        ),
    ),
)

SCHEMAS: dict[str, Schema] = {
    schema.id: schema for schema in (USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA)
}

USER_RESOURCE = ResourceType(
    name="User",
    endpoint="/Users",
    description="User Account",
    schema=USER_SCHEMA,
    extensions=((ENTERPRISE_USER_SCHEMA, False),),
)
GROUP_RESOURCE = ResourceType(
    name="Group",
    endpoint="/Groups",
    description="Group",
    schema=GROUP_SCHEMA,
)

RESOURCE_TYPES: dict[str, ResourceType] = {rt.name: rt for rt in (USER_RESOURCE, GROUP_RESOURCE)}
