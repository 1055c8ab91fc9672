"""Query and search parameters of SCIM list requests (RFC 7644 §3.4.2, §3.4.3)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, request

from blueprints.scim.http import parse_int_param
from scim.errors import InvalidFilterError, InvalidPathError, InvalidSyntaxError, InvalidValueError
from scim.filter import parse_filter, parse_path
from scim.filter_ast import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from scim.projection import Projection, parse_attribute_list
from scim.schemas import ResourceType
from services.users.provisioning import ListQuery, Page

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def _sort_by(text: str | None, resource: ResourceType) -> AttrPath | None:
    if text is None or not text.strip():
        return None
    try:
        path = parse_path(text.strip())
        if path.value_filter is not None:
            raise InvalidPathError("a filter is not allowed in sortBy")
        resource.resolve(path.attr)
    except InvalidPathError as exc:
        raise InvalidValueError(f"sortBy: {exc.detail}") from None
    return path.attr


def _descending(text: str | None) -> bool:
    if text is None or not text.strip():
        return False
    order = text.strip().lower()
    if order not in {"ascending", "descending"}:
        raise InvalidValueError('sortOrder must be "ascending" or "descending"')
    return order == "descending"


def _bounded(start_index: int, count: int) -> tuple[int, int]:
    # RFC 7644 §3.4.2.4: startIndex below 1 means 1, a negative count means 0, and a count
    # above the maximum is served as the maximum (advertised in ServiceProviderConfig).
    maximum = current_app.config["SCIM_MAX_COUNT"]
    return max(start_index, 1), min(max(count, 0), maximum)


def _build(
    resource: ResourceType,
    filter_text: str | None,
    start_index: int,
    count: int,
    sort_by: str | None,
    sort_order: str | None,
    attributes: str | None,
    excluded: str | None,
) -> tuple[ListQuery, Projection]:
    start_index, count = _bounded(start_index, count)
    parsed = parse_filter(filter_text) if filter_text is not None else None
    query = ListQuery(
        filter=parsed,
        start_index=start_index,
        count=count,
        sort_by=_sort_by(sort_by, resource),
        descending=_descending(sort_order),
    )
    projection = Projection(
        attributes=parse_attribute_list(attributes, resource, "attributes"),
        excluded=parse_attribute_list(excluded, resource, "excludedAttributes"),
    )
    return query, projection


def projection_from_args(resource: ResourceType) -> Projection:
    """The ``attributes``/``excludedAttributes`` query parameters of a single-resource request."""
    return Projection(
        attributes=parse_attribute_list(request.args.get("attributes"), resource, "attributes"),
        excluded=parse_attribute_list(
            request.args.get("excludedAttributes"), resource, "excludedAttributes"
        ),
    )


def query_from_args(resource: ResourceType) -> tuple[ListQuery, Projection]:
    """A list query from GET parameters.

    :raises ScimError: invalidFilter or invalidValue (400).
    """
    args = request.args
    return _build(
        resource,
        args.get("filter"),
        parse_int_param("startIndex", 1),
        parse_int_param("count", current_app.config["SCIM_DEFAULT_COUNT"]),
        args.get("sortBy"),
        args.get("sortOrder"),
        args.get("attributes"),
        args.get("excludedAttributes"),
    )


def _text_or_list(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if isinstance(value, str):
        return value
    raise InvalidValueError(f"{key} must be a list of attribute names")


def _int_field(body: Mapping[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**31 - 1:
        raise InvalidValueError(f"{key} must be an integer")
    return value


def _search_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The checked members of a SearchRequest body (RFC 7644 §3.4.3), as ``_build`` takes them.

    :raises ScimError: invalidSyntax or invalidValue (400).
    """
    schemas = body.get("schemas", [SEARCH_REQUEST])
    if not isinstance(schemas, list) or SEARCH_REQUEST not in schemas:
        raise InvalidSyntaxError(f'"schemas" must contain {SEARCH_REQUEST}')
    filter_text = body.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise InvalidValueError("filter must be a string")
    for key in ("sortBy", "sortOrder"):
        if body.get(key) is not None and not isinstance(body.get(key), str):
            raise InvalidValueError(f"{key} must be a string")
    return {
        "filter_text": filter_text,
        "start_index": _int_field(body, "startIndex", 1),
        "count": _int_field(body, "count", current_app.config["SCIM_DEFAULT_COUNT"]),
        "sort_by": body.get("sortBy"),
        "sort_order": body.get("sortOrder"),
        "attributes": _text_or_list(body, "attributes"),
        "excluded": _text_or_list(body, "excludedAttributes"),
    }


def query_from_search(
    body: Mapping[str, Any], resource: ResourceType
) -> tuple[ListQuery, Projection]:
    """A list query from a POST .search body (RFC 7644 §3.4.3).

    :raises ScimError: invalidSyntax, invalidFilter or invalidValue (400).
    """
    return _build(resource, **_search_fields(body))


@dataclass(frozen=True)
class RootSearch:
    """A search at the SCIM root, across resource types (RFC 7644 §3.4.3).

    ``queries`` holds, per resource type the filter can match, its list query (paging left to
    the caller: it spans the types) and projection. A ``sortBy`` that a type does not define
    leaves that type's query unsorted: its resources have no value, so they sort last (first
    when descending).
    """

    queries: tuple[tuple[ResourceType, ListQuery, Projection], ...]
    start_index: int
    count: int
    sort_by: str | None
    descending: bool


def _applicable(text: str | None, resource: ResourceType, param: str) -> tuple[AttrPath, ...]:
    """The entries of an attribute list that ``resource`` defines (the rest name other types)."""
    if text is None:
        return ()
    paths: list[AttrPath] = []
    for part in text.split(","):
        with contextlib.suppress(InvalidValueError):
            paths += parse_attribute_list(part, resource, param)
    return tuple(paths)


def _check_names(text: str | None, resources: tuple[ResourceType, ...], param: str) -> None:
    """Refuse an attribute list entry that no resource type defines."""
    for part in (text or "").split(","):
        errors: list[InvalidValueError] = []
        for resource in resources:
            try:
                parse_attribute_list(part, resource, param)
            except InvalidValueError as exc:
                errors.append(exc)
        if len(errors) == len(resources):
            raise errors[0]


def _defines(resource: ResourceType, path: AttrPath) -> bool:
    try:
        resource.resolve(path)
    except InvalidPathError:
        return False
    return True


def _for_type(flt: Filter, resource: ResourceType) -> Filter | bool:
    """The filter as it applies to one type: a comparison on an attribute the type does not
    define has no value to match, so it is false (True/False stand for constant results)."""
    if isinstance(flt, Compare | Present | ValuePath):
        return flt if _defines(resource, flt.path) else False
    if isinstance(flt, Not):
        inner = _for_type(flt.expr, resource)
        return (not inner) if isinstance(inner, bool) else Not(inner)
    left, right = _for_type(flt.left, resource), _for_type(flt.right, resource)
    if isinstance(flt, And):
        if left is False or right is False:
            return False
        if left is True or right is True:
            return right if left is True else left
        return And(left, right)
    if left is True or right is True:
        return True
    if left is False or right is False:
        return right if left is False else left
    return Or(left, right)


def _filter_paths(flt: Filter) -> list[AttrPath]:
    if isinstance(flt, Compare | Present | ValuePath):
        return [flt.path]
    if isinstance(flt, Not):
        return _filter_paths(flt.expr)
    return _filter_paths(flt.left) + _filter_paths(flt.right)


def root_search_from_body(
    body: Mapping[str, Any], resources: tuple[ResourceType, ...]
) -> RootSearch:
    """The per-type queries of a root-level POST .search body.

    Attribute names in ``attributes``, ``excludedAttributes`` and ``sortBy`` apply to the
    types that define them; a name no type defines is ``invalidValue``.

    :raises ScimError: invalidSyntax, invalidFilter or invalidValue (400).
    """
    fields = _search_fields(body)
    start_index, count = _bounded(fields["start_index"], fields["count"])
    descending = _descending(fields["sort_order"])
    parsed = parse_filter(fields["filter_text"]) if fields["filter_text"] is not None else None
    for path in _filter_paths(parsed) if parsed is not None else []:
        if not any(_defines(resource, path) for resource in resources):
            raise InvalidFilterError(f"filter: no resource type has an attribute {path.key()!r}")
    _check_names(fields["attributes"], resources, "attributes")
    _check_names(fields["excluded"], resources, "excludedAttributes")
    sort_errors: list[InvalidValueError] = []
    queries = []
    for resource in resources:
        try:
            sort_by = _sort_by(fields["sort_by"], resource)
        except InvalidValueError as exc:
            sort_errors.append(exc)
            sort_by = None
        attributes = _applicable(fields["attributes"], resource, "attributes")
        if fields["attributes"] and not attributes:
            # Only attributes of other types were asked for: this type shows its id.
            attributes = (AttrPath(None, "id"),)
        projection = Projection(
            attributes=attributes,
            excluded=_applicable(fields["excluded"], resource, "excludedAttributes"),
        )
        applied = _for_type(parsed, resource) if parsed is not None else True
        if applied is False:
            continue
        query = ListQuery(
            filter=None if applied is True else applied, sort_by=sort_by, descending=descending
        )
        queries.append((resource, query, projection))
    if len(sort_errors) == len(resources):
        raise sort_errors[0]
    return RootSearch(
        queries=tuple(queries),
        start_index=start_index,
        count=count,
        sort_by=(fields["sort_by"] or "").strip() or None,
        descending=descending,
    )


def _within_bytes(resources: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The leading resources whose JSON fits in ``limit`` bytes (always at least one)."""
    used = 0
    for count, resource in enumerate(resources):
        used += len(json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode())
        if count and used > limit:
            return resources[:count]
    return resources


def list_response(page: Page, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A ListResponse with integer totals (Okta requires integers, docs/okta.md §1.5).

    The page stops early past SCIM_MAX_PAGE_BYTES; ``itemsPerPage`` then says how many came
    back and ``totalResults`` stays the number of matches, so a client pages on from
    ``startIndex + itemsPerPage`` (RFC 7644 §3.4.2.4 lets a page hold fewer than asked).
    Streamed group members are written in batches and are not counted.
    """
    shown = _within_bytes(resources, current_app.config["SCIM_MAX_PAGE_BYTES"])
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": page.total,
        "startIndex": page.start_index,
        "itemsPerPage": len(shown),
        "Resources": shown,
    }
