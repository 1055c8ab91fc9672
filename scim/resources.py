"""Validate and canonicalise SCIM resources with marshmallow schemas built from RFC 7643 data.

One marshmallow schema per resource type is generated from the attribute definitions in
``scim.schemas``: it checks types, coerces the boolean strings Microsoft Entra sends, maps
attribute names (case-insensitive, RFC 7643 §2.1) to their canonical spelling, drops what a
client may not set (readOnly ``id``/``meta``/``groups``, writeOnly ``password``) and keeps
attributes it does not know, so a PUT can round-trip whatever Okta sent. The same schemas
describe the resources in the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import fields, validate

from scim.errors import InvalidSyntaxError, InvalidValueError
from scim.schemas import (
    COMMON_ATTRIBUTES_BY_NAME,
    GROUP_RESOURCE,
    USER_RESOURCE,
    Attribute,
    ResourceType,
)

# Refuse absurd values with a clear 400 rather than storing them: identifiers Okta sends are
# short, and nothing legitimate in a user profile comes near these sizes.
MAX_IDENTIFIER_LENGTH = 512
MAX_STRING_LENGTH = 8192
MAX_VALUES = 100
# A pushed group may carry every member at once (Okta "Push Now", docs/okta.md §1.2).
MAX_MEMBERS = 200_000
_IDENTIFIERS = frozenset({"userName", "externalId", "displayName", "value"})


class ScimBoolean(fields.Boolean):
    """A JSON boolean; the strings "true"/"false" in any case are accepted too.

    Microsoft Entra sends "True"/"False" (docs/okta.md §1.8); numbers are refused.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return value.strip().lower() == "true"
        raise ma.ValidationError("Not a valid boolean.")


class StrictInteger(fields.Integer):
    """A JSON integer (booleans and numeric strings are refused)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ma.ValidationError("Not a valid integer.")
        return value


class StrictNumber(fields.Float):
    """A JSON number (booleans and numeric strings are refused)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ma.ValidationError("Not a valid number.")
        return value


def _iso_datetime(value: str) -> None:
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ma.ValidationError("Not a valid ISO 8601 dateTime.") from None


class _ResourcePart(ma.Schema):
    """Base for generated schemas: canonical names, nulls as unassigned, unknowns kept."""

    names: ClassVar[dict[str, str]] = {}
    dropped: ClassVar[frozenset[str]] = frozenset()
    multi: ClassVar[frozenset[str]] = frozenset()
    # Output keys that cannot be marshmallow field names (URNs contain dots).
    renames: ClassVar[dict[str, str]] = {}

    class Meta:
        unknown = ma.INCLUDE

    @ma.pre_load
    def canonicalise(self, data: Any, **_: Any) -> Any:
        """Rename keys to canonical spelling, drop nulls and client-immutable attributes."""
        if not isinstance(data, Mapping):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            name = self.names.get(key.lower(), key) if isinstance(key, str) else key
            # RFC 7643 §2.5: null is equivalent to unassigned.
            if name in self.dropped or value is None:
                continue
            if name in self.multi and not isinstance(value, list):
                # A single value for a multi-valued attribute: clients do send it bare.
                value = [value]
            out[name] = value
        return out

    @ma.post_load
    def restore_names(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Put extension objects back under their URN keys."""
        for field_name, key in self.renames.items():
            if field_name in data:
                data[key] = data.pop(field_name)
        return data


def _field(attr: Attribute, owner: str) -> fields.Field:
    """The marshmallow field for one attribute definition."""
    read_only = attr.mutability == "readOnly"
    kwargs: dict[str, Any] = {
        "required": attr.required and not read_only,
        "dump_only": read_only,
        "load_only": attr.mutability == "writeOnly",
        "metadata": {"description": attr.description},
    }
    field: fields.Field
    if attr.type == "complex":
        nested = _schema_class(
            f"{owner}{attr.name[:1].upper()}{attr.name[1:]}", attr.sub_attributes
        )
        field = fields.Nested(nested, **({} if attr.multi_valued else kwargs))
    elif attr.type == "boolean":
        field = ScimBoolean(**({} if attr.multi_valued else kwargs))
    elif attr.type == "integer":
        field = StrictInteger(**({} if attr.multi_valued else kwargs))
    elif attr.type == "decimal":
        field = StrictNumber(allow_nan=False, **({} if attr.multi_valued else kwargs))
    else:
        limit = MAX_IDENTIFIER_LENGTH if attr.name in _IDENTIFIERS else MAX_STRING_LENGTH
        # A required string may not be empty either (RFC 7643 §4.1.1: userName is non-empty).
        validators: list[Any] = [validate.Length(min=1 if attr.required else 0, max=limit)]
        if attr.type == "dateTime":
            validators.append(_iso_datetime)
        field = fields.String(validate=validators, **({} if attr.multi_valued else kwargs))
    if attr.multi_valued:
        most = MAX_MEMBERS if attr.name == "members" else MAX_VALUES
        return fields.List(field, validate=validate.Length(max=most), **kwargs)
    return field


def _schema_class(
    name: str, attributes: tuple[Attribute, ...], extra: dict[str, fields.Field] | None = None
) -> type[_ResourcePart]:
    """Generate a schema class for a set of attributes (recursively for complex ones)."""
    declared: dict[str, Any] = {attr.name: _field(attr, name) for attr in attributes}
    declared.update(extra or {})
    declared["names"] = {attr.name.lower(): attr.name for attr in attributes}
    declared["dropped"] = frozenset(
        a.name for a in attributes if a.mutability in {"readOnly", "writeOnly"}
    )
    declared["multi"] = frozenset(a.name for a in attributes if a.multi_valued)
    return type(f"{name}Schema", (_ResourcePart,), declared)


def _resource_schema(resource: ResourceType) -> type[_ResourcePart]:
    common = tuple(COMMON_ATTRIBUTES_BY_NAME.values())
    extensions: dict[str, fields.Field] = {
        f"extension{i}": fields.Nested(
            _schema_class(f"{resource.name}{ext.name}", ext.attributes),
            data_key=ext.id,
            metadata={"description": ext.description},
        )
        for i, (ext, _required) in enumerate(resource.extensions)
    }
    extensions["schemas"] = fields.List(fields.String(), metadata={"description": "Schema URNs"})
    cls = _schema_class(resource.name, common + resource.schema.attributes, extensions)
    names = dict(cls.names)
    names.update({ext.id.lower(): ext.id for ext, _ in resource.extensions})
    names["schemas"] = "schemas"
    cls.names = names
    cls.renames = {f"extension{i}": ext.id for i, (ext, _) in enumerate(resource.extensions)}
    return cls


UserSchema = _resource_schema(USER_RESOURCE)
GroupSchema = _resource_schema(GROUP_RESOURCE)
# One instance per resource type: building a schema (and its nested ones) costs more than
# loading a resource with it, and marshmallow 4 schemas hold no per-load state.
_SCHEMAS: dict[str, _ResourcePart] = {"User": UserSchema(), "Group": GroupSchema()}


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            if key == "_schema":
                out.append(f"{prefix or 'body'}: must be a JSON object")
                continue
            out.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {' '.join(messages)}" if prefix else " ".join(messages)]
    if isinstance(messages, list):
        return [line for m in messages for line in _flatten(m, prefix)]
    return [f"{prefix}: {messages}"]


def _check_schemas(body: Mapping[str, Any], resource: ResourceType) -> list[str]:
    """The ``schemas`` list: must name the core schema and every extension object in the body.

    RFC 7643 §3: ``schemas`` lists the core schema and the extensions used. Okta always
    sends it; a missing list is read as the core schema alone.
    """
    declared = body.get("schemas")
    if declared is None:
        declared = [resource.schema.id]
    if not isinstance(declared, list) or not all(isinstance(s, str) for s in declared):
        raise InvalidSyntaxError('"schemas" must be a list of schema URNs')
    lowered = {s.lower() for s in declared}
    if resource.schema.id.lower() not in lowered:
        raise InvalidSyntaxError(
            f'"schemas" must include {resource.schema.id} for a {resource.name} resource'
        )
    known = {s.id.lower() for s in resource.schemas}
    extension_keys = {
        k.lower() for k in body if isinstance(k, str) and k.lower().startswith("urn:")
    }
    for urn in declared:
        if urn.lower() not in known and urn.lower() not in extension_keys:
            raise InvalidSyntaxError(
                f'unknown schema "{urn}": a {resource.name} accepts {", ".join(sorted(known))} '
                "and extension schemas whose attributes are in the body"
            )
    # An extension object whose URN the client forgot to list (real clients do) is listed
    # for it: the object itself says which schema it belongs to (RFC 7643 §3.3).
    unlisted = {
        k.lower(): k
        for k in body
        if isinstance(k, str) and k.lower() in extension_keys and k.lower() not in lowered
    }
    ordered = [resource.schema.id]
    ordered += [ext.id for ext in resource.schemas[1:] if ext.id.lower() in extension_keys]
    ordered += sorted(
        [s for s in declared if s.lower() not in known]
        + [k for low, k in unlisted.items() if low not in known],
        key=str.lower,
    )
    return ordered


def load_resource(body: Any, resource: ResourceType) -> dict[str, Any]:
    """Validate a resource body (POST, PUT, or a PATCH result) into the document to store.

    The result uses canonical attribute names, has no ``id``, ``meta``, ``groups`` or
    ``password``, and keeps unknown attributes as sent.

    :raises InvalidSyntaxError: the body is not an object or ``schemas`` is wrong.
    :raises InvalidValueError: an attribute is missing, of the wrong type or too long.
    """
    if not isinstance(body, Mapping):
        raise InvalidSyntaxError(f"a {resource.name} must be a JSON object")
    schemas = _check_schemas(body, resource)
    try:
        document: dict[str, Any] = _SCHEMAS[resource.name].load(body)
    except ma.ValidationError as exc:
        raise InvalidValueError("; ".join(_flatten(exc.messages))) from None
    _check_primary(document, resource)
    document["schemas"] = schemas
    return document


def _check_primary(document: Mapping[str, Any], resource: ResourceType) -> None:
    """RFC 7643 §2.4: at most one value of a multi-valued attribute is primary."""
    for attr in resource.schema.attributes:
        if attr.multi_valued and attr.sub("primary") is not None:
            values = document.get(attr.name) or []
            primaries = [v for v in values if isinstance(v, Mapping) and v.get("primary") is True]
            if len(primaries) > 1:
                raise InvalidValueError(f"{attr.name}: at most one value may be primary")
