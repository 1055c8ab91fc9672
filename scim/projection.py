"""Partial responses: the ``attributes`` and ``excludedAttributes`` parameters (RFC 7644 §3.9)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scim.errors import InvalidPathError, InvalidValueError
from scim.filter import parse_path
from scim.filter_ast import AttrPath
from scim.schemas import Attribute, ResourceType

# Always returned, whatever the client asks (RFC 7643 §7 "returned": "always", plus schemas).
_ALWAYS_TOP = frozenset({"id", "schemas"})


@dataclass(frozen=True)
class Projection:
    """Which attributes a response carries: ``attributes`` wins over ``excludedAttributes``."""

    attributes: tuple[AttrPath, ...] = ()
    excluded: tuple[AttrPath, ...] = ()

    def wants(self, resource: ResourceType, name: str) -> bool:
        """Whether a top-level attribute of the core schema is in the response.

        Lets a service skip loading what will not be returned (a group's members).
        """
        _, attr, _ = resource.resolve(AttrPath(None, name))
        if self.attributes:
            return attr.returned == "always" or any(
                _top_name(resource, p) == attr.name for p in self.attributes
            )
        if attr.returned == "request":
            return False
        return not any(
            _top_name(resource, p) == attr.name and p.sub_attr is None for p in self.excluded
        )


def parse_attribute_list(
    text: str | None, resource: ResourceType, param: str
) -> tuple[AttrPath, ...]:
    """Parse a comma-separated attribute list such as ``userName,name.givenName``.

    :raises InvalidValueError: when an entry is not an attribute of the resource.
    """
    if text is None or not text.strip():
        return ()
    paths: list[AttrPath] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            patch_path = parse_path(part)
            if patch_path.value_filter is not None or patch_path.sub_attr is not None:
                raise InvalidPathError("filters are not allowed here")
            resource.resolve(patch_path.attr)
        except InvalidPathError as exc:
            raise InvalidValueError(
                f"{param}: {part[:100]!r} is not usable: {exc.detail}"
            ) from None
        paths.append(patch_path.attr)
    return tuple(paths)


def _top_name(resource: ResourceType, path: AttrPath) -> str:
    schema, attr, _ = resource.resolve(path)
    if schema is not resource.schema:
        return schema.id
    return attr.name


def _default_keys(resource: ResourceType, document: Mapping[str, Any]) -> set[str]:
    keys: set[str] = set()
    for key in document:
        attr = _attribute(resource, key)
        if attr is None or attr.returned in {"default", "always"}:
            keys.add(key)
    return keys


def _attribute(resource: ResourceType, key: str) -> Attribute | None:
    if key.lower().startswith("urn:"):
        return None
    try:
        return resource.resolve(AttrPath(None, key))[1]
    except InvalidPathError:
        return None


def _subset(value: Any, subs: Iterable[str]) -> Any:
    wanted = {s.lower() for s in subs}
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k.lower() in wanted}
    if isinstance(value, list):
        return [_subset(item, wanted) for item in value]
    return value


def _without(value: Any, subs: Iterable[str]) -> Any:
    unwanted = {s.lower() for s in subs}
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k.lower() not in unwanted}
    if isinstance(value, list):
        return [_without(item, unwanted) for item in value]
    return value


def project(
    document: Mapping[str, Any], resource: ResourceType, projection: Projection
) -> dict[str, Any]:
    """The document as the client asked to see it.

    ``never`` attributes are never returned, ``always`` attributes always are.
    """
    if projection.attributes:
        return _include(document, resource, projection.attributes)
    keys = _default_keys(resource, document)
    out = {k: document[k] for k in document if k in keys}
    for path in projection.excluded:
        name = _top_name(resource, path)
        if name in _ALWAYS_TOP or name not in out:
            continue
        schema = resource.schema_for(path.uri) if path.uri else None
        if schema is not None and schema is not resource.schema:
            # An extension attribute: remove it from inside the extension object.
            inner = _without(out[name], [path.attr]) if path.sub_attr is None else out[name]
            out[name] = inner
        elif path.sub_attr is None:
            del out[name]
        else:
            out[name] = _without(out[name], [path.sub_attr])
    return out


def _include(
    document: Mapping[str, Any], resource: ResourceType, paths: tuple[AttrPath, ...]
) -> dict[str, Any]:
    out: dict[str, Any] = {k: document[k] for k in document if k in _ALWAYS_TOP}
    whole: set[str] = set()
    parts: dict[str, set[str]] = {}
    for path in paths:
        schema, attr, _ = resource.resolve(path)
        if schema is not resource.schema:
            # Extension attribute: keep only the named attributes inside the extension object.
            parts.setdefault(schema.id, set()).add(attr.name)
            continue
        if path.sub_attr is None:
            whole.add(attr.name)
        else:
            parts.setdefault(attr.name, set()).add(path.sub_attr)
    for key, value in document.items():
        if key in whole:
            out[key] = value
        elif key in parts:
            out[key] = _subset(value, parts[key])
    return out
