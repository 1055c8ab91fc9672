"""Where each SCIM attribute lives in the database, for filters and sorting in SQL.

Attributes Okta filters on, and the admin pages search, have their own indexed columns;
everything else is found inside the stored SCIM document (a JSON column), so any attribute
of the declared schemas can be filtered on.
"""

from __future__ import annotations

from typing import Any

from peewee import SQL, JSONField

from models import Group, GroupMember, User
from scim.query import Attr, ColumnAttr, FieldMap, JsonAttr, JsonMultiAttr, RelatedAttr, SubAttr
from scim.schemas import GROUP_RESOURCE, USER_RESOURCE, Attribute, ResourceType, Schema
from services.resources import user_columns


def _prefix(resource: ResourceType, schema: Schema) -> str:
    """How an attribute's key starts: extension attributes carry their schema's URN."""
    return "" if schema is resource.schema else f"{schema.id.lower()}:"


def _write_only(resource: ResourceType) -> frozenset[str]:
    """Keys of the attributes never returned (``password``): never stored, never filtered."""
    return frozenset(
        _prefix(resource, schema) + attr.name.lower()
        for schema in resource.schemas
        for attr in schema.attributes
        if attr.returned == "never"
    )


def _document_attrs(resource: ResourceType, column: JSONField) -> dict[str, Attr]:
    """Every schema attribute located inside the JSON document (the returnable ones)."""
    attrs: dict[str, Attr] = {}
    for schema in resource.schemas:
        extension = schema is not resource.schema
        prefix = _prefix(resource, schema)
        base: tuple[str, ...] = (schema.id,) if extension else ()
        for attr in schema.attributes:
            if attr.returned == "never":
                continue
            key = prefix + attr.name.lower()
            keys = (*base, attr.name)
            if attr.multi_valued:
                attrs[key] = JsonMultiAttr(
                    column,
                    keys,
                    sub_attributes=_subs(attr),
                    type=attr.type,
                    case_exact=attr.case_exact,
                )
            elif attr.type == "complex":
                for sub in attr.sub_attributes:
                    attrs[f"{key}.{sub.name.lower()}"] = JsonAttr(
                        column, (*keys, sub.name), sub.type, sub.case_exact
                    )
            else:
                attrs[key] = JsonAttr(column, keys, attr.type, attr.case_exact)
    return attrs


def _subs(attr: Attribute) -> dict[str, SubAttr]:
    return {
        sub.name.lower(): SubAttr(sub.type, sub.case_exact, sub.name) for sub in attr.sub_attributes
    }


def _common(model: Any) -> dict[str, Attr]:
    return {
        "id": ColumnAttr(model.scim_id, "string", case_exact=True),
        "externalid": ColumnAttr(model.external_id, "string", case_exact=True),
        "meta.created": ColumnAttr(model.created, "dateTime"),
        "meta.lastmodified": ColumnAttr(model.last_modified, "dateTime"),
    }


def _user_groups() -> Any:
    return GroupMember.select(SQL("1")).join(Group).where(GroupMember.user == User.id)


def _group_members() -> Any:
    return GroupMember.select(SQL("1")).join(User).where(GroupMember.group == Group.id)


USER_FIELDS = FieldMap(
    attrs={
        **_document_attrs(USER_RESOURCE, User.document),
        **_common(User),
        **user_columns.filter_attrs(),
        "active": ColumnAttr(User.active, "boolean"),
        "groups": RelatedAttr(
            base=_user_groups,
            sub_attributes={
                "value": ColumnAttr(Group.scim_id, "string", case_exact=True),
                "display": ColumnAttr(Group.display_name, "string"),
            },
        ),
    },
    core_uri=USER_RESOURCE.schema.id,
    write_only=_write_only(USER_RESOURCE),
)

MEMBER_SUBS = {
    "value": ColumnAttr(User.scim_id, "string", case_exact=True),
    "display": ColumnAttr(User.display_name, "string"),
}

GROUP_FIELDS = FieldMap(
    attrs={
        **_document_attrs(GROUP_RESOURCE, Group.document),
        **_common(Group),
        "displayname": ColumnAttr(Group.display_name_key, "string", folded=True),
        "members": RelatedAttr(base=_group_members, sub_attributes=MEMBER_SUBS),
    },
    core_uri=GROUP_RESOURCE.schema.id,
    write_only=_write_only(GROUP_RESOURCE),
)

# Inside ``members[...]`` of a PATCH path: one membership row joined to its user.
MEMBER_FIELDS = FieldMap(attrs=MEMBER_SUBS, core_uri=GROUP_RESOURCE.schema.id)
