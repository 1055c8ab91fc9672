"""Apply a SCIM PatchOp message (RFC 7644 §3.5.2) to a resource document in memory.

Pure: no I/O, and the caller's document is never mutated (the engine works on a deep copy,
so a failing operation leaves nothing half-applied). Choices where the RFC leaves room, and
client quirks, are commented where they are handled:

- ``schemas`` may be omitted; when present it must list the PatchOp URN.
- ``Operations``, and each operation's ``op``/``path``/``value`` keys, match
  case-insensitively; ``op`` values too ("Add", "Replace", "Remove" from Microsoft Entra).
- An empty or null ``path`` means "no path".
- A path must name an attribute of the resource's schemas (else ``invalidPath``). A path-less
  value is a resource fragment and follows the POST/PUT rule: top-level names the schemas do
  not define are kept verbatim, and so are unknown sub-attributes inside object values.
- ``null`` in add/replace unassigns (RFC 7643 §2.5); unassigning or removing a required
  attribute is ``invalidValue``.
- readOnly attributes: anything that would change them is ``mutability``; an echo of the
  current value (Okta's group rename carries the resource ``id``) is ignored. Immutable ones
  can be set once. writeOnly ones (``password``) are type-checked and dropped.
- ``remove`` of a single-valued attribute ignores any ``value``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from scim.errors import (
    InvalidPathError,
    InvalidSyntaxError,
    InvalidValueError,
    MutabilityError,
    NoTargetError,
    ScimError,
)
from scim.filter import parse_path
from scim.filter_ast import And, AttrPath, Filter, Not, Or, PatchPath, ValuePath
from scim.matching import matches
from scim.schemas import COMMON_ATTRIBUTES_BY_NAME, Attribute, ResourceType, Schema

__all__ = ["MAX_OPERATIONS", "PATCH_OP_URN", "MemberOp", "PatchResult", "apply_patch"]

PATCH_OP_URN: Final = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS: Final = 1000
"""Most operations accepted in one PATCH request."""

Action = Literal["add", "remove", "replace"]
_ACTIONS: Final[dict[str, Action]] = {"add": "add", "remove": "remove", "replace": "replace"}
# Keys of a path-less value that are resource metadata, not attributes: Okta echoes resources.
_IGNORED_KEYS: Final = frozenset({"schemas", "meta"})


@dataclass(frozen=True)
class MemberOp:
    """A validated change to a deferred multi-valued attribute (a group's ``members``).

    ``add``: ``values`` are the ids to add. ``replace``: ``values`` is the complete new list.
    ``remove``: ``value_filter`` (``members[value eq "…"]``), or ``values`` (Entra lists the
    members to remove), or neither: remove every member.
    """

    action: Action
    values: tuple[str, ...] | None = None
    value_filter: Filter | None = None


@dataclass(frozen=True)
class PatchResult:
    """The patched document, the top-level attributes whose value changed, and member ops."""

    document: dict[str, Any]
    changed: tuple[str, ...]
    member_ops: tuple[MemberOp, ...] = ()


@dataclass(frozen=True)
class _Operation:
    """One validated entry of ``Operations``."""

    action: Action
    path: str | None
    has_value: bool
    value: Any


@dataclass(frozen=True)
class _Target:
    """What a path names: an attribute (None when the schema does not define it), an
    optional value filter, and an optional sub-attribute (``name.givenName`` or
    ``emails[type eq "work"].value``)."""

    schema: Schema
    attr: Attribute | None
    name: str
    path: str
    sub: Attribute | None = None
    value_filter: Filter | None = None
    # ``urn:…:attr.sub`` in an extension the server does not declare.
    custom_sub: str | None = None

    @property
    def label(self) -> str:
        """The attribute's name for error details."""
        return self.path if self.value_filter is not None else _label(self.schema, self.name)


def apply_patch(
    document: Mapping[str, Any],
    body: Any,
    resource: ResourceType,
    *,
    deferred: frozenset[str] = frozenset(),
) -> PatchResult:
    """Apply a PatchOp ``body`` to ``document`` (all or nothing) and return the result.

    ``deferred`` names multi-valued complex attributes of the core schema (``members``) whose
    operations are validated and returned as ``member_ops`` instead of being applied.

    :raises InvalidSyntaxError: the body is not a PatchOp message.
    :raises InvalidPathError: a path is malformed or names no attribute.
    :raises InvalidValueError: a value does not fit its attribute, or too many operations.
    :raises NoTargetError: remove without a path, or a value filter matched nothing.
    :raises MutabilityError: the operation would change a readOnly or immutable attribute.
    """
    operations = _parse_message(body)
    patcher = _Patcher(copy.deepcopy(dict(document)), resource, _deferred_names(resource, deferred))
    for index, operation in enumerate(operations):
        try:
            patcher.apply(operation)
        except ScimError as exc:
            raise _at(index, exc) from exc
    changed = patcher.finish(document)
    return PatchResult(patcher.doc, changed, tuple(patcher.member_ops))


# --- message validation -----------------------------------------------------------------


def _at(index: int, exc: ScimError) -> ScimError:
    """The same error with the operation's index in front of its detail."""
    return type(exc)(
        f"Operations[{index}]: {exc.detail}", status=exc.status, scim_type=exc.scim_type
    )


def _folded(obj: Mapping[Any, Any]) -> dict[str, Any]:
    """An object's members keyed by lowercased name (the first spelling wins)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(key, str):
            out.setdefault(key.lower(), value)
    return out


def _parse_message(body: Any) -> list[_Operation]:
    """Validate the PatchOp envelope (RFC 7644 §3.5.2) and each operation's shape."""
    if not isinstance(body, Mapping):
        raise InvalidSyntaxError('A PATCH body must be a JSON object with "Operations"')
    fields = _folded(body)
    # Okta and Entra always send "schemas"; some hand-written clients omit it, and nothing is
    # ambiguous without it, so only a "schemas" that names something else is refused.
    if "schemas" in fields:
        schemas = fields["schemas"]
        listed = [schemas] if isinstance(schemas, str) else schemas
        if not isinstance(listed, list) or not any(
            isinstance(urn, str) and urn.lower() == PATCH_OP_URN.lower() for urn in listed
        ):
            raise InvalidSyntaxError(f'"schemas" must contain "{PATCH_OP_URN}"')
    # Some clients send "operations"; RFC 7643 §2.1 names are case-insensitive anyway.
    operations = fields.get("operations")
    if operations is None:
        raise InvalidSyntaxError('The PATCH body has no "Operations"')
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntaxError('"Operations" must be a non-empty array')
    if len(operations) > MAX_OPERATIONS:
        raise InvalidValueError(
            f"{len(operations)} operations in one request; the maximum is {MAX_OPERATIONS}"
        )
    return [_parse_operation(index, raw) for index, raw in enumerate(operations)]


def _parse_operation(index: int, raw: Any) -> _Operation:
    """Validate one operation object: ``op``, optional ``path``, and ``value`` where needed."""
    where = f"Operations[{index}]"
    if not isinstance(raw, Mapping):
        raise InvalidSyntaxError(f"{where} must be an object")
    fields = _folded(raw)
    op = fields.get("op")
    # Microsoft Entra capitalises op values ("Replace"); Okta sends them lowercase.
    action = _ACTIONS.get(op.lower()) if isinstance(op, str) else None
    if action is None:
        raise InvalidSyntaxError(
            f'{where}: "op" must be "add", "remove" or "replace", not {op!r:.40}'
        )
    path = fields.get("path")
    if path is not None and not isinstance(path, str):
        raise InvalidSyntaxError(f'{where}: "path" must be a string')
    if path is not None and not path.strip():
        path = None
    has_value = "value" in fields
    if action != "remove" and not has_value:
        raise InvalidValueError(f'{where}: "{action}" needs a "value"')
    return _Operation(action, path, has_value, fields.get("value"))


def _deferred_names(resource: ResourceType, deferred: frozenset[str]) -> frozenset[str]:
    """Lowercased deferred names, checked: multi-valued complex core attributes with a value."""
    for name in deferred:
        attr = resource.schema.attribute(name)
        if attr is None or not attr.multi_valued or attr.sub("value") is None:
            raise ValueError(f"cannot defer {name!r}: not a multi-valued attribute with a value")
    return frozenset(name.lower() for name in deferred)


# --- document helpers -------------------------------------------------------------------


def _find_key(obj: Mapping[str, Any], name: str) -> str | None:
    """The key spelling ``name`` in ``obj``, matched case-insensitively (RFC 7643 §2.1)."""
    if name in obj:
        return name
    folded = name.lower()
    return next((key for key in obj if isinstance(key, str) and key.lower() == folded), None)


def _get(obj: Mapping[str, Any], name: str) -> Any:
    key = _find_key(obj, name)
    return None if key is None else obj[key]


def _put(obj: dict[str, Any], name: str, value: Any) -> None:
    """Set ``name``, dropping other spellings of it so the canonical one is the only key."""
    for key in [k for k in obj if isinstance(k, str) and k.lower() == name.lower() and k != name]:
        del obj[key]
    obj[name] = value


def _drop(obj: dict[str, Any], name: str) -> None:
    for key in [k for k in obj if isinstance(k, str) and k.lower() == name.lower()]:
        del obj[key]


def _same(left: Any, right: Any) -> bool:
    """JSON equality: unlike ``==``, ``True`` is not ``1``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return bool(left == right)


def _q(text: str) -> str:
    """Quote a name or path for an error detail without nesting double quotes."""
    return f"'{text}'" if '"' in text else f'"{text}"'


def _label(schema: Schema, name: str) -> str:
    """An attribute's name for details: URN-qualified when it lives in an extension."""
    return (
        name
        if schema.id.startswith("urn:ietf:params:scim:schemas:core:")
        else f"{schema.id}:{name}"
    )


# --- value validation -------------------------------------------------------------------


def _coerce(attr: Attribute, value: Any, where: str) -> Any:
    """Check one non-null value against ``attr`` (not its multi-valuedness) and canonicalise.

    :raises InvalidValueError: the value has the wrong JSON type.
    """
    kind = attr.type
    if kind == "complex":
        if not isinstance(value, Mapping):
            raise InvalidValueError(f"{_q(where)} must be an object")
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = attr.sub(key)
            if sub is None:
                # Unknown sub-attributes are kept as sent, as POST/PUT keep them.
                out[key] = copy.deepcopy(item)
            elif item is not None:
                sub_where = f"{where}.{sub.name}"
                out[sub.name] = (
                    _coerce_list(sub, item, sub_where)
                    if sub.multi_valued
                    else _coerce(sub, item, sub_where)
                )
        return out
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        # Microsoft Entra sends booleans as "True"/"False" strings.
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidValueError(f"{_q(where)} must be a boolean")
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise InvalidValueError(f"{_q(where)} must be an integer")
    if kind == "decimal":
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return value
        raise InvalidValueError(f"{_q(where)} must be a number")
    # string, reference, dateTime and binary travel as JSON strings (RFC 7643 §2.3).
    if isinstance(value, str):
        return value
    raise InvalidValueError(f"{_q(where)} must be a string")


def _coerce_list(attr: Attribute, value: Any, where: str) -> list[Any]:
    """The elements of a multi-valued value; a single value is wrapped (RFC 7644 §3.5.2.1)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for index, item in enumerate(items):
        if item is None:
            continue
        element = _coerce(attr, item, f"{where}[{index}]")
        if element != {}:
            out.append(element)
    return out


def _check_value_filter(attr: Attribute, flt: Filter, path: str) -> None:
    """Require every attribute in a value filter to be a sub-attribute of ``attr``."""
    stack = [flt]
    while stack:
        node = stack.pop()
        if isinstance(node, And | Or):
            stack += [node.left, node.right]
        elif isinstance(node, Not):
            stack.append(node.expr)
        elif isinstance(node, ValuePath):
            raise InvalidPathError(f"value filters cannot be nested (path {_q(path)})")
        elif (
            node.path.uri is not None
            or node.path.sub_attr is not None
            or not attr.sub(node.path.attr)
        ):
            raise InvalidPathError(
                f'"{node.path.key()}" in the filter of path {_q(path)} is not a sub-attribute '
                f'of "{attr.name}"'
            )


def _primary_key(element: Mapping[str, Any]) -> str | None:
    return _find_key(element, "primary")


def _one_primary(attr: Attribute, elements: list[Any], touched: Iterable[int]) -> None:
    """RFC 7643 §2.4: at most one ``primary: true``; a new primary demotes the old one.

    :raises InvalidValueError: the operation itself made more than one value primary.
    """
    if attr.sub("primary") is None:
        return
    made_primary = [
        index
        for index in touched
        if isinstance(elements[index], Mapping) and _get(elements[index], "primary") is True
    ]
    if len(made_primary) > 1:
        raise InvalidValueError(f'"{attr.name}": at most one value can be primary')
    if not made_primary:
        return
    for index, element in enumerate(elements):
        if index != made_primary[0] and isinstance(element, dict):
            key = _primary_key(element)
            if key is not None and element[key] is True:
                element[key] = False


# --- the engine -------------------------------------------------------------------------


class _Patcher:
    """Applies operations to one (already copied) document."""

    def __init__(
        self, doc: dict[str, Any], resource: ResourceType, deferred: frozenset[str]
    ) -> None:
        self.doc = doc
        self.resource = resource
        self.deferred = deferred
        self.member_ops: list[MemberOp] = []
        self._touched: dict[tuple[str, str], tuple[Schema, str]] = {}
        # Extension schemas the server does not declare, which POST and PUT keep verbatim.
        self._custom: dict[str, Schema] = {}

    # dispatch

    def apply(self, operation: _Operation) -> None:
        """Apply one operation."""
        if operation.path is not None:
            self._apply_path(
                operation.action, operation.path, operation.has_value, operation.value, False
            )
            return
        if operation.action == "remove":
            raise NoTargetError('"remove" needs a "path" (RFC 7644 §3.5.2.2)')
        # Okta sends PATCH without a path, the attributes inside "value" (docs/okta.md §1.4).
        if not isinstance(operation.value, Mapping):
            raise InvalidValueError(
                f'"{operation.action}" without a "path" needs an object "value" of attributes'
            )
        for key, value in operation.value.items():
            if not isinstance(key, str) or key.lower() in _IGNORED_KEYS:
                continue
            # Keys are paths: "active", "name.givenName" (Entra), URN-qualified names, or an
            # extension URN whose object merges into the extension.
            self._apply_path(operation.action, key, True, value, True)

    def _apply_path(
        self, action: Action, text: str, has_value: bool, value: Any, fragment: bool
    ) -> None:
        extension = self.resource.extension(text.strip())
        if extension is not None:
            self._apply_extension(action, extension, value)
            return
        parsed = parse_path(text)
        custom = self._custom_extension(text.strip(), parsed, value)
        if custom is not None:
            self._apply_extension(action, custom, value)
            return
        target = self._resolve(parsed, text, fragment)
        attr = target.attr
        if (
            attr is not None
            and target.schema is self.resource.schema
            and attr.name.lower() in self.deferred
        ):
            self._defer(action, target, has_value, value)
            return
        self._touch(target.schema, target.name)
        if attr is None:
            self._put_unknown(target, None if action == "remove" else value, action)
        elif action == "remove":
            self._remove(target, attr, has_value, value)
        elif target.value_filter is not None:
            self._update_matching(action, target, attr, value)
        elif target.sub is not None:
            parent = self._parent(target, attr)
            self._assign(parent, target.sub, value, f"{target.label}.{target.sub.name}", attr)
            self._store_parent(target, attr, parent)
        elif attr.multi_valued:
            container = self._container(target.schema, create=True)
            if action == "add":
                self._append(container, attr, value, target.label)
            else:
                self._set_list(container, attr, value, target.label)
        else:
            # RFC 7644 §3.5.2.1/§3.5.2.3: add and replace both set a single value and merge
            # the sub-attributes of a complex one.
            self._assign(self._container(target.schema, create=True), attr, value, target.label)

    def _resolve(self, parsed: PatchPath, text: str, fragment: bool) -> _Target:
        """Resolve a parsed path against the resource's schemas."""
        top = AttrPath(parsed.attr.uri, parsed.attr.attr)
        try:
            schema, attr, _ = self.resource.resolve(top)
        except InvalidPathError:
            schema_or_none = self.resource.schema_for(parsed.attr.uri)
            if (
                schema_or_none is None
                and parsed.attr.uri
                and parsed.value_filter is None
                and self._extension_urn(parsed.attr.uri)
            ):
                # An attribute of an extension the server does not declare: kept as sent,
                # inside the extension's object, as POST and PUT keep it (RFC 7643 §3.3).
                custom = self._custom_schema(parsed.attr.uri)
                name = parsed.attr.attr
                if parsed.attr.sub_attr is not None:
                    return _Target(custom, None, name, text, custom_sub=parsed.attr.sub_attr)
                return _Target(custom, None, name, text)
            if schema_or_none is None:
                raise InvalidPathError(
                    f"{_q(text)} is not an attribute of a schema of the {self.resource.name} "
                    f"resource ({', '.join(s.id for s in self.resource.schemas)})"
                ) from None
            if fragment and parsed.attr.sub_attr is None and parsed.value_filter is None:
                # A path-less value is a resource fragment: keep attributes the schema does not
                # define, as POST and PUT do.
                return _Target(schema_or_none, None, parsed.attr.attr, text)
            raise
        if parsed.value_filter is not None:
            if not attr.multi_valued or attr.type != "complex" or parsed.attr.sub_attr:
                raise InvalidPathError(
                    f"path {_q(text)}: only a multi-valued complex attribute takes a value filter"
                )
            _check_value_filter(attr, parsed.value_filter, text)
            sub = self._sub(attr, parsed.sub_attr, text)
            return _Target(schema, attr, attr.name, text, sub, parsed.value_filter)
        sub = self._sub(attr, parsed.attr.sub_attr, text)
        if sub is not None and attr.multi_valued:
            raise InvalidPathError(
                f'path {_q(text)}: a sub-attribute of the multi-valued "{attr.name}" needs a '
                f'value filter, e.g. {attr.name}[type eq "work"].{sub.name}'
            )
        return _Target(schema, attr, attr.name, text, sub)

    def _known_urn(self, urn: str) -> str | None:
        """The spelling of ``urn`` the document already uses (a key or in ``schemas``)."""
        listed = _get(self.doc, "schemas")
        names = [k for k in self.doc if isinstance(k, str)]
        names += [u for u in listed if isinstance(u, str)] if isinstance(listed, list) else []
        return next((n for n in names if n.lower() == urn.lower()), None)

    def _extension_urn(self, urn: str) -> bool:
        """Whether an undeclared URN may hold extension attributes: one the document already
        uses, or one of the ``urn:…:extension:…`` form (RFC 7643 §3.3); another URN is more
        likely a typo of a schema we declare."""
        if not urn.lower().startswith("urn:"):
            return False
        return self._known_urn(urn) is not None or ":extension:" in urn.lower()

    def _custom_schema(self, urn: str) -> Schema:
        """An undeclared extension schema, named as the document already names it."""
        spelled = self._known_urn(urn) or urn
        return self._custom.setdefault(
            spelled.lower(), Schema(id=spelled, name=spelled, description="", attributes=())
        )

    def _custom_extension(self, text: str, parsed: PatchPath, value: Any) -> Schema | None:
        """The undeclared extension that a path names as a whole, or None.

        ``urn:…:2.0:User`` names the whole extension when the document already has it, or
        when its value is an object and its prefix (``urn:…:2.0``) is no extension in use;
        otherwise the last segment is an attribute of the extension its prefix names.
        """
        if not self._extension_urn(text) or self.resource.schema_for(text) is not None:
            return None
        if parsed.value_filter is not None or parsed.attr.sub_attr is not None:
            return None
        if self._known_urn(text) is not None:
            return self._custom_schema(text)
        prefix = parsed.attr.uri
        prefix_known = prefix is not None and (
            self.resource.schema_for(prefix) is not None
            or prefix.lower() in self._custom
            or self._known_urn(prefix) is not None
        )
        if isinstance(value, Mapping) and not prefix_known:
            return self._custom_schema(text)
        return None

    @staticmethod
    def _sub(attr: Attribute, name: str | None, text: str) -> Attribute | None:
        if name is None:
            return None
        sub = attr.sub(name) if attr.type == "complex" else None
        if sub is None:
            raise InvalidPathError(f'path {_q(text)}: "{attr.name}" has no sub-attribute "{name}"')
        return sub

    # containers

    def _container(self, schema: Schema, *, create: bool) -> dict[str, Any]:
        """The object holding ``schema``'s attributes: the document, or its extension object
        (RFC 7643 §3.3); a fresh detached object when absent and ``create`` is false."""
        if schema is self.resource.schema:
            return self.doc
        current = _get(self.doc, schema.id)
        if isinstance(current, dict):
            return current
        fresh: dict[str, Any] = {}
        if create:
            _put(self.doc, schema.id, fresh)
        return fresh

    def _parent(self, target: _Target, attr: Attribute) -> dict[str, Any]:
        """The complex value that ``name.givenName``-style paths write into."""
        current = _get(self._container(target.schema, create=False), attr.name)
        return current if isinstance(current, dict) else {}

    def _store_parent(self, target: _Target, attr: Attribute, parent: dict[str, Any]) -> None:
        container = self._container(target.schema, create=bool(parent))
        if parent:
            _put(container, attr.name, parent)
        else:
            _drop(container, attr.name)

    def _touch(self, schema: Schema, name: str) -> None:
        self._touched.setdefault((schema.id, name.lower()), (schema, name))

    # single values

    def _assign(
        self,
        container: dict[str, Any],
        attr: Attribute,
        value: Any,
        where: str,
        parent: Attribute | None = None,
    ) -> None:
        """Set a single-valued attribute; a complex value merges into the current one."""
        if value is None:
            self._unassign(container, attr, where, parent)
            return
        if attr.mutability == "writeOnly":
            # RFC 7643 §4.1.1 password: Okta sends a placeholder on create and on password
            # sync (docs/okta.md §1.4). Check its type, never store it.
            _coerce(attr, value, where)
            _drop(container, attr.name)
            return
        if attr.multi_valued:
            self._set_list(container, attr, value, where)
            return
        current = _get(container, attr.name)
        read_only = attr.mutability == "readOnly" or _read_only(parent)
        if attr.type == "complex" and isinstance(value, Mapping):
            merged = dict(current) if isinstance(current, dict) else {}
            self._merge(merged, attr, value, where)
            if _same(merged, current if isinstance(current, dict) else {}):
                return
            if read_only:
                raise MutabilityError(f"{_q(where)} is readOnly; it cannot be changed")
            if merged:
                _put(container, attr.name, merged)
            else:
                _drop(container, attr.name)
            return
        coerced = _coerce(attr, value, where)
        if _same(coerced, current):
            # A no-op: e.g. Okta's group rename carries the unchanged resource id.
            return
        if read_only:
            raise MutabilityError(f"{_q(where)} is readOnly; it cannot be changed")
        if attr.mutability == "immutable" and current is not None:
            raise MutabilityError(f"{_q(where)} is immutable; it cannot be changed once set")
        if attr.required and coerced == "":
            raise InvalidValueError(f"{_q(where)} is required and cannot be empty")
        _put(container, attr.name, coerced)

    def _merge(
        self, target: dict[str, Any], attr: Attribute, value: Mapping[str, Any], where: str
    ) -> None:
        """Merge an object's members into a complex value (RFC 7644 §3.5.2.3)."""
        for key, item in value.items():
            sub = attr.sub(key)
            if sub is None:
                # Unknown sub-attributes are kept as sent, as POST/PUT keep them.
                if item is None:
                    _drop(target, key)
                else:
                    _put(target, key, copy.deepcopy(item))
            else:
                self._assign(target, sub, item, f"{where}.{sub.name}", attr)

    def _unassign(
        self,
        container: dict[str, Any],
        attr: Attribute,
        where: str,
        parent: Attribute | None = None,
    ) -> None:
        """Remove an attribute's value (RFC 7644 §3.5.2.2); removing nothing is a no-op."""
        if attr.required:
            # RFC 7644 §3.12 invalidValue: "a required value was missing".
            raise InvalidValueError(f"{_q(where)} is required; it cannot be removed")
        current = _get(container, attr.name)
        if current is None or current == [] or attr.mutability == "writeOnly":
            _drop(container, attr.name)
            return
        if attr.mutability == "readOnly" or _read_only(parent):
            raise MutabilityError(f"{_q(where)} is readOnly; it cannot be removed")
        if attr.mutability == "immutable":
            raise MutabilityError(f"{_q(where)} is immutable; it cannot be removed once set")
        _drop(container, attr.name)

    def _put_unknown(self, target: _Target, value: Any, action: Action = "replace") -> None:
        """Add or replace an attribute the schema does not define: stored as sent (``add``
        of a list to a list appends the values not already there, RFC 7644 §3.5.2.1)."""
        container = self._container(target.schema, create=value is not None)
        current = _get(container, target.name)
        if action == "add" and isinstance(current, list) and isinstance(value, list):
            value = current + [v for v in value if not any(_same(v, c) for c in current)]
        if target.custom_sub is not None:
            # ``urn:…:attr.sub`` of an undeclared extension: a member of a complex value.
            current = _get(container, target.name)
            parent = dict(current) if isinstance(current, Mapping) else {}
            if value is None:
                _drop(parent, target.custom_sub)
            else:
                _put(parent, target.custom_sub, copy.deepcopy(value))
            if parent:
                _put(self._container(target.schema, create=True), target.name, parent)
            else:
                _drop(container, target.name)
            return
        if value is None:
            _drop(container, target.name)
        else:
            _put(container, target.name, copy.deepcopy(value))

    # multi-valued

    def _set_list(self, container: dict[str, Any], attr: Attribute, value: Any, where: str) -> None:
        """Replace all values of a multi-valued attribute (RFC 7644 §3.5.2.3)."""
        elements = _coerce_list(attr, value, where)
        current = _get(container, attr.name)
        if _same(elements, current if isinstance(current, list) else []):
            return
        if attr.mutability == "readOnly":
            raise MutabilityError(f"{_q(where)} is readOnly; it cannot be changed")
        if attr.mutability == "immutable" and current:
            raise MutabilityError(f"{_q(where)} is immutable; it cannot be changed once set")
        if attr.required and not elements:
            raise InvalidValueError(f"{_q(where)} is required; it cannot be emptied")
        _one_primary(attr, elements, range(len(elements)))
        if elements:
            _put(container, attr.name, elements)
        else:
            _drop(container, attr.name)

    def _append(self, container: dict[str, Any], attr: Attribute, value: Any, where: str) -> None:
        """Add values to a multi-valued attribute, skipping exact duplicates (§3.5.2.1)."""
        new = _coerce_list(attr, value, where)
        _one_primary(attr, new, range(len(new)))
        current = _get(container, attr.name)
        elements = list(current) if isinstance(current, list) else []
        touched = []
        for element in new:
            if not any(_same(element, existing) for existing in elements):
                elements.append(element)
                touched.append(len(elements) - 1)
        if not touched:
            return
        if attr.mutability == "readOnly":
            raise MutabilityError(f"{_q(where)} is readOnly; it cannot be changed")
        if attr.mutability == "immutable" and current:
            raise MutabilityError(f"{_q(where)} is immutable; it cannot be changed once set")
        _one_primary(attr, elements, touched)
        _put(container, attr.name, elements)

    def _matching(self, target: _Target, attr: Attribute) -> tuple[list[Any], list[int]]:
        """The current values and the indices of those the path's value filter selects.

        :raises NoTargetError: nothing matches (RFC 7644 §3.5.2.2, §3.5.2.3).
        """
        current = _get(self._container(target.schema, create=False), attr.name)
        elements = current if isinstance(current, list) else []
        assert target.value_filter is not None

        def case_exact(key: str) -> bool:
            sub = attr.sub(key)
            return sub is not None and sub.case_exact

        selected = [
            index
            for index, element in enumerate(elements)
            if isinstance(element, dict)
            and matches(target.value_filter, element, case_exact=case_exact)
        ]
        if not selected:
            raise NoTargetError(f'no value of "{attr.name}" matches the path {_q(target.path)}')
        return elements, selected

    def _update_matching(
        self, action: Action, target: _Target, attr: Attribute, value: Any
    ) -> None:
        """add/replace on ``attr[filter]`` or ``attr[filter].sub``."""
        if attr.mutability == "readOnly":
            raise MutabilityError(f'"{attr.name}" is readOnly; it cannot be changed')
        elements, selected = self._matching(target, attr)
        for index in selected:
            element = elements[index]
            if target.sub is not None:
                self._assign(element, target.sub, value, target.path, attr)
            elif action == "add":
                if not isinstance(value, Mapping):
                    raise InvalidValueError(f"{_q(target.path)} needs an object value")
                self._merge(element, attr, value, target.path)
            else:
                # RFC 7644 §3.5.2.3: matching values are replaced, not merged.
                replacement = _coerce(attr, value, target.path)
                self._check_element_change(attr, element, replacement, target.path)
                elements[index] = replacement
        _one_primary(attr, elements, selected)
        self._store_elements(target, attr, elements)

    def _store_elements(self, target: _Target, attr: Attribute, elements: list[Any]) -> None:
        """Write back values changed in place; values left empty are unassigned (§2.5)."""
        remaining = [element for element in elements if element != {}]
        if attr.required and not remaining:
            raise InvalidValueError(f'"{attr.name}" is required; it cannot be emptied')
        container = self._container(target.schema, create=bool(remaining))
        if remaining:
            _put(container, attr.name, remaining)
        else:
            _drop(container, attr.name)

    @staticmethod
    def _check_element_change(
        attr: Attribute, old: Mapping[str, Any], new: Mapping[str, Any], where: str
    ) -> None:
        """Refuse a replacement that changes readOnly or already-set immutable sub-values."""
        if _same(old, new):
            return
        for sub in attr.sub_attributes:
            before, after = _get(old, sub.name), _get(new, sub.name)
            if _same(before, after):
                continue
            if sub.mutability == "readOnly" or (
                sub.mutability == "immutable" and before is not None
            ):
                raise MutabilityError(f"{_q(f'{where}.{sub.name}')} is {sub.mutability}")

    # remove

    def _remove(self, target: _Target, attr: Attribute, has_value: bool, value: Any) -> None:
        """RFC 7644 §3.5.2.2 remove."""
        container = self._container(target.schema, create=False)
        if target.value_filter is not None:
            elements, selected = self._matching(target, attr)
            if target.sub is not None:
                for index in selected:
                    self._unassign(elements[index], target.sub, target.path, attr)
                self._store_elements(target, attr, elements)
                return
            self._remove_elements(
                container, attr, elements, selected, _label(target.schema, attr.name)
            )
            return
        if target.sub is not None:
            parent = self._parent(target, attr)
            self._unassign(parent, target.sub, f"{target.label}.{target.sub.name}", attr)
            self._store_parent(target, attr, parent)
            return
        if attr.multi_valued and has_value and value is not None:
            # Microsoft Entra lists the values to remove:
            # {"op": "Remove", "path": "members", "value": [{"value": "<id>"}]}
            current = _get(container, attr.name)
            elements = current if isinstance(current, list) else []
            wanted = _coerce_list(attr, value, target.label)
            selected = [
                index
                for index, element in enumerate(elements)
                if any(_includes(attr, element, item) for item in wanted)
            ]
            if selected:
                self._remove_elements(container, attr, elements, selected, target.label)
            return
        # A value on a single-valued remove is ignored: the RFC gives it no meaning there.
        self._unassign(container, attr, target.label)

    def _remove_elements(
        self,
        container: dict[str, Any],
        attr: Attribute,
        elements: list[Any],
        selected: list[int],
        where: str,
    ) -> None:
        if attr.mutability in ("readOnly", "immutable"):
            raise MutabilityError(f"{_q(where)} is {attr.mutability}; values cannot be removed")
        remaining = [element for index, element in enumerate(elements) if index not in selected]
        if attr.required and not remaining:
            raise InvalidValueError(f"{_q(where)} is required; it cannot be emptied")
        if remaining:
            _put(container, attr.name, remaining)
        else:
            # RFC 7644 §3.5.2.2: when no values remain the attribute is unassigned.
            _drop(container, attr.name)

    # extension objects

    def _apply_extension(self, action: Action, extension: Schema, value: Any) -> None:
        """An extension URN as a path or path-less key: its object's members are paths."""
        container = self._container(extension, create=False)
        if action == "remove" or value is None:
            for key in list(container):
                self._apply_path("remove", f"{extension.id}:{key}", False, None, True)
            return
        if not isinstance(value, Mapping):
            raise InvalidValueError(f'"{extension.id}" must be an object')
        for key, item in value.items():
            if isinstance(key, str):
                self._apply_path(action, f"{extension.id}:{key}", True, item, True)

    # deferred attributes

    def _defer(self, action: Action, target: _Target, has_value: bool, value: Any) -> None:
        """Validate an operation on a deferred attribute and record it as a MemberOp."""
        name = target.name
        if target.sub is not None:
            raise InvalidPathError(
                f"path {_q(target.path)}: {name} sub-attributes cannot be patched; "
                "remove the member and add it again"
            )
        if target.value_filter is not None:
            if action != "remove":
                raise InvalidPathError(
                    f'path {_q(target.path)}: only "remove" takes a filter on {name}'
                )
            self.member_ops.append(MemberOp("remove", value_filter=target.value_filter))
        elif action == "remove" and not (has_value and value is not None):
            self.member_ops.append(MemberOp("remove"))
        else:
            values = () if value is None else _member_values(value, name)
            self.member_ops.append(MemberOp(action, values=values))

    # finishing

    def finish(self, original: Mapping[str, Any]) -> tuple[str, ...]:
        """Tidy the document and return the changed top-level attribute names, in order."""
        for schema in self.resource.schemas:
            container = self._container(schema, create=False)
            for defined in schema.attributes:
                if defined.mutability == "writeOnly":
                    _drop(container, defined.name)
        self._sync_extensions()
        changed = []
        for schema, name in self._touched.values():
            attr = schema.attribute(name)
            if attr is None and schema is self.resource.schema:
                attr = COMMON_ATTRIBUTES_BY_NAME.get(name.lower())
            if attr is not None and attr.mutability == "writeOnly":
                continue  # never stored, so never a change (a password sync changes nothing)
            before = _value_at(original, schema, name, self.resource)
            after = _value_at(self.doc, schema, name, self.resource)
            if not _same(before, after):
                changed.append(_label(schema, name if attr is None else attr.name))
        return tuple(changed)

    def _sync_extensions(self) -> None:
        """Drop emptied extension objects and list the extensions in use in ``schemas``."""
        touched = {schema_id for schema_id, _ in self._touched}
        extensions = [ext for ext, _ in self.resource.extensions if ext.id in touched]
        extensions += [ext for ext in self._custom.values() if ext.id in touched]
        if not extensions:
            return
        listed = _get(self.doc, "schemas")
        schemas = [s for s in listed if isinstance(s, str)] if isinstance(listed, list) else []
        before = list(schemas)
        for extension in extensions:
            present = bool(_get(self.doc, extension.id))
            if not present:
                _drop(self.doc, extension.id)
            named = [s for s in schemas if s.lower() == extension.id.lower()]
            if present and not named:
                schemas.append(extension.id)
            elif not present:
                schemas = [s for s in schemas if s not in named]
        if schemas != before or (listed is None and schemas):
            if not any(s.lower() == self.resource.schema.id.lower() for s in schemas):
                schemas.insert(0, self.resource.schema.id)
            _put(self.doc, "schemas", schemas)


def _read_only(attr: Attribute | None) -> bool:
    return attr is not None and attr.mutability == "readOnly"


def _value_at(doc: Mapping[str, Any], schema: Schema, name: str, resource: ResourceType) -> Any:
    """The value of a top-level attribute of ``schema`` in ``doc`` (None when absent)."""
    container = doc if schema is resource.schema else _get(doc, schema.id)
    return _get(container, name) if isinstance(container, Mapping) else None


def _includes(attr: Attribute, element: Any, wanted: Any) -> bool:
    """Whether ``element`` has every sub-value ``wanted`` lists (strings per caseExact)."""
    if not isinstance(element, Mapping) or not isinstance(wanted, Mapping):
        return _same(element, wanted)
    for key, expected in wanted.items():
        actual = _get(element, key)
        sub = attr.sub(key)
        if isinstance(actual, str) and isinstance(expected, str) and not (sub and sub.case_exact):
            if actual.casefold() != expected.casefold():
                return False
        elif not _same(actual, expected):
            return False
    return True


def _member_values(value: Any, name: str) -> tuple[str, ...]:
    """The ids in a list of member objects (``display``/``type``/``$ref`` are ignored).

    :raises InvalidValueError: an element is not an object with a non-empty string value.
    """
    items = value if isinstance(value, list) else [value]
    ids: list[str] = []
    for index, item in enumerate(items):
        member_id = _get(item, "value") if isinstance(item, Mapping) else None
        if not isinstance(member_id, str) or not member_id:
            raise InvalidValueError(
                f'"{name}[{index}]" must be an object whose "value" is a non-empty string id'
            )
        if member_id not in ids:
            ids.append(member_id)
    return tuple(ids)
