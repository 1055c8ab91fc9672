"""How much unknown and extension data a resource carries, measured as the JSON we store.

Everything a client sends beyond the core schema (unknown attributes, unknown
sub-attributes of known ones, extension objects) is kept as sent, so it is bounded per
resource: without a bound one POST can store megabytes that every list page then returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from scim.errors import InvalidValueError
from scim.schemas import COMMON_ATTRIBUTES, Attribute, ResourceType


def _extra(value: Mapping[str, Any], attributes: tuple[Attribute, ...]) -> list[Any]:
    """The parts of ``value`` that no attribute in ``attributes`` describes."""
    known = {attr.name.lower(): attr for attr in attributes}
    out: list[Any] = []
    for key, child in value.items():
        attr = known.get(key.lower()) if isinstance(key, str) else None
        if attr is None:
            out.append({key: child})
        elif attr.sub_attributes:
            for item in child if isinstance(child, list) else [child]:
                if isinstance(item, Mapping):
                    out += _extra(item, attr.sub_attributes)
    return out


def extra_data_bytes(document: Mapping[str, Any], resource: ResourceType) -> int:
    """Bytes of the unknown and extension data in a stored ``document``, as compact JSON."""
    core = {key: value for key, value in document.items() if key != "schemas"}
    extra = _extra(core, COMMON_ATTRIBUTES + resource.schema.attributes)
    if not extra:
        return 0
    text = json.dumps(extra, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8"))


def check_extra_data(document: Mapping[str, Any], resource: ResourceType, limit: int) -> None:
    """Refuse a document whose unknown and extension data is larger than ``limit`` bytes.

    :raises InvalidValueError: when it is.
    """
    size = extra_data_bytes(document, resource)
    if size > limit:
        raise InvalidValueError(
            f"this {resource.name} carries {size} bytes of extension and unrecognised "
            f"attributes; at most {limit} bytes are stored per resource (SCIM_MAX_RESOURCE_BYTES)"
        )
