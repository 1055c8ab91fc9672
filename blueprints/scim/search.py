"""POST /.search at the SCIM root: one query across Users and Groups (RFC 7644 §3.4.3).

Each resource type is filtered, counted and paged in SQL by the same code as its own
endpoint (``provisioning.list_users``, ``scim_groups.list_groups``); this module only joins the
pages. Unsorted, the results are the users (in their list order) followed by the groups, so
paging is stable and each page costs what a page of one type costs. With ``sortBy``, each
type yields its first ``startIndex + count - 1`` resources in SQL order and the two lists are
merged, so a sorted root search costs in proportion to ``startIndex + count``; it is refused
(``tooMany``) beyond ``ROOT_SORT_WINDOW``. A filter that names attributes one type lacks
matches none of that type's resources; every result carries ``meta.resourceType``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import g
from flask.typing import ResponseReturnValue
from flask.views import MethodView

from blueprints.scim.blueprint import answers, blp
from blueprints.scim.docs import ListResponseSchema, request_body
from blueprints.scim.http import read_json_body, scim_base_url
from blueprints.scim.listing import RootSearch, list_response, root_search_from_body
from blueprints.scim.representation import group_resource, user_resource
from blueprints.scim.streaming import group_body, streamed
from models import Group
from scim.errors import InvalidFilterError, TooManyError
from scim.filter import parse_path
from scim.projection import Projection
from scim.schemas import GROUP_RESOURCE, USER_RESOURCE, ResourceType
from services.groups import scim_groups
from services.resources.scim_listing import ListQuery, Page
from services.users import provisioning

RESOURCES = (USER_RESOURCE, GROUP_RESOURCE)
# The most resources a sorted root search reads from each type to build one page.
ROOT_SORT_WINDOW = 10_000


def _list(resource: ResourceType, query: ListQuery) -> Page:
    if resource is USER_RESOURCE:
        return provisioning.list_users(g.integration, query)
    return scim_groups.list_groups(g.integration, query)


def _pages(search: RootSearch, window: tuple[int, int] | None) -> list[Page | None]:
    """Each type's page: ``window`` (startIndex, count) for all, else spanning the types.

    A type whose filter names attributes it does not define gives None (no matches); when
    that happens for every type the filter is refused with the first type's error.
    """
    pages: list[Page | None] = []
    errors: list[InvalidFilterError] = []
    skipped = search.start_index - 1
    wanted = search.count
    for resource, query, _projection in search.queries:
        if window is not None:
            start, count = window
        else:
            start, count = skipped + 1, wanted
        try:
            page = _list(resource, replace(query, start_index=start, count=count))
        except InvalidFilterError as exc:
            errors.append(exc)
            pages.append(None)
            continue
        pages.append(page)
        if window is None:
            skipped = max(skipped - page.total, 0)
            wanted -= len(page.items)
    if errors and len(errors) == len(search.queries):
        raise errors[0]
    return pages


def _render(
    resource: ResourceType,
    item: Any,
    projection: Projection,
    base: str,
    groups_by_user: dict[int, list[tuple[str, str]]],
) -> dict[str, Any]:
    if resource is USER_RESOURCE:
        body = user_resource(item, groups_by_user.get(item.id, []), base, projection)
    else:
        body = group_body(item, base, projection, projection.wants(GROUP_RESOURCE, "members"))
    # RFC 7644 §3.4.3: results of several types say which type each one is, whatever the
    # projection asked for.
    meta = body.get("meta")
    body["meta"] = {**(meta if isinstance(meta, dict) else {}), "resourceType": resource.name}
    return body


def _sort_value(body: Mapping[str, Any], path_text: str) -> Any:
    """A resource's value for ``sortBy``, as the list endpoints sort (primary element first)."""
    path = parse_path(path_text).attr
    container: Any = body
    if path.uri and path.uri.lower() not in {r.schema.id.lower() for r in RESOURCES}:
        container = next((v for k, v in body.items() if k.lower() == path.uri.lower()), {})
    value = _member(container, path.attr)
    if isinstance(value, list):
        primary = [v for v in value if isinstance(v, Mapping) and v.get("primary") is True]
        value = (primary or value or [None])[0]
    if path.sub_attr is not None:
        value = _member(value, path.sub_attr)
    elif isinstance(value, Mapping):
        value = value.get("value")
    return value.casefold() if isinstance(value, str) else value


def _member(obj: Any, name: str) -> Any:
    if not isinstance(obj, Mapping):
        return None
    return next((v for k, v in obj.items() if k.lower() == name.lower()), None)


def _key(value: Any) -> tuple[bool, str, Any]:
    # Missing values sort last ascending and first descending (RFC 7644 §3.4.2.3); values of
    # different JSON types never compare directly.
    return (value is None, type(value).__name__, value if value is not None else 0)


def _sorted(search: RootSearch, base: str) -> ResponseReturnValue:
    assert search.sort_by is not None
    window = search.start_index - 1 + search.count
    if window > ROOT_SORT_WINDOW:
        raise TooManyError(
            f"a sorted search at the root reads startIndex + count - 1 resources of each type; "
            f"keep it at most {ROOT_SORT_WINDOW}, or search /Users or /Groups"
        )
    pages = _pages(search, (1, window))
    candidates: list[tuple[Any, int, ResourceType, Any, Projection]] = []
    for (resource, query, projection), page in zip(search.queries, pages, strict=True):
        if page is None:
            continue
        for item in page.items:
            plain = _plain(resource, item, base)
            value = _sort_value(plain, search.sort_by) if query.sort_by is not None else None
            candidates.append((value, len(candidates), resource, item, projection))
    total = sum(page.total for page in pages if page is not None)
    # Stable either way: equal values keep list order (users first, then insertion order).
    ordered = sorted(candidates, key=lambda c: _key(c[0]), reverse=search.descending)
    chosen = ordered[search.start_index - 1 : window]
    return _answer(search, total, [(c[2], c[3], c[4]) for c in chosen], base)


def _plain(resource: ResourceType, item: Any, base: str) -> dict[str, Any]:
    if resource is USER_RESOURCE:
        return user_resource(item, [], base)
    return group_resource(item, None, base)


def _answer(
    search: RootSearch,
    total: int,
    chosen: list[tuple[ResourceType, Any, Projection]],
    base: str,
) -> ResponseReturnValue:
    users = [
        item
        for resource, item, projection in chosen
        if resource is USER_RESOURCE and projection.wants(USER_RESOURCE, "groups")
    ]
    groups_by_user = provisioning.groups_of(users) if users else {}
    resources = [
        _render(resource, item, projection, base, groups_by_user)
        for resource, item, projection in chosen
    ]
    page = Page(total=total, start_index=search.start_index, items=[])
    shown_groups = [item for resource, item, _ in chosen if isinstance(item, Group)]
    return streamed(list_response(page, resources), shown_groups, base)


@blp.route("/.search")
class RootSearchView(MethodView):
    """Search every resource type at once (RFC 7644 §3.4.3)."""

    @blp.doc(summary="Search users and groups", **request_body("SearchRequest"))
    @answers(200, ListResponseSchema, errors=(400,))
    def post(self) -> ResponseReturnValue:
        """Search users and groups with one filter; users come first unless sorted."""
        search = root_search_from_body(read_json_body(), RESOURCES)
        base = scim_base_url()
        if search.sort_by is not None:
            return _sorted(search, base)
        pages = _pages(search, None)
        chosen: list[tuple[ResourceType, Any, Projection]] = []
        for (resource, _query, projection), page in zip(search.queries, pages, strict=True):
            if page is not None:
                chosen += [(resource, item, projection) for item in page.items]
        total = sum(page.total for page in pages if page is not None)
        return _answer(search, total, chosen, base)
