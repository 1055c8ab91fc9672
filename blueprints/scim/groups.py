"""SCIM /Groups endpoints: what Okta's Push Groups sends (docs/okta.md §1.2)."""

from __future__ import annotations

from flask import g
from flask.typing import ResponseReturnValue
from flask.views import MethodView

from blueprints.scim.blueprint import answers, blp
from blueprints.scim.docs import (
    LIST_PARAMETERS,
    ListResponseSchema,
    links_by_id,
    request_body,
)
from blueprints.scim.http import (
    if_match,
    if_none_match_hit,
    read_json_body,
    scim_base_url,
    scim_json,
)
from blueprints.scim.listing import (
    list_response,
    projection_from_args,
    query_from_args,
    query_from_search,
)
from blueprints.scim.streaming import group_body, streamed
from models import Group
from scim.projection import Projection
from scim.resources import GroupSchema
from scim.schemas import GROUP_RESOURCE
from services.groups import scim_groups
from services.platform.audit import Actor
from services.resources import versions
from services.users.provisioning import ListQuery

LINKS = links_by_id("Groups", "Group")


def _actor() -> Actor:
    return Actor.scim_token(g.scim_token.id)


def _render(group: Group, projection: Projection, status: int = 200) -> ResponseReturnValue:
    members = projection.wants(GROUP_RESOURCE, "members")
    base = scim_base_url()
    body = group_body(group, base, projection, members)
    headers = {"ETag": versions.etag(group.version)}
    if status == 201:
        headers["Location"] = f"{base}/Groups/{group.scim_id}"
    return streamed(body, [group], base, status, headers)


def _page(query_and_projection: tuple[ListQuery, Projection]) -> ResponseReturnValue:
    query, projection = query_and_projection
    page = scim_groups.list_groups(g.integration, query)
    wants_members = projection.wants(GROUP_RESOURCE, "members")
    base = scim_base_url()
    resources = [group_body(grp, base, projection, wants_members) for grp in page.items]
    return streamed(list_response(page, resources), page.items, base)


@blp.route("/Groups")
class Groups(MethodView):
    """The groups of the token's integration."""

    @blp.doc(parameters=LIST_PARAMETERS, summary="List or filter groups")
    @answers(200, ListResponseSchema, errors=(400, 401))
    def get(self) -> ResponseReturnValue:
        """List groups (Okta filters by displayName)."""
        return _page(query_from_args(GROUP_RESOURCE))

    @blp.doc(
        summary="Create a group",
        responses={201: LINKS},
        **request_body("Group"),
    )
    @answers(201, GroupSchema, errors=(400,))
    def post(self) -> ResponseReturnValue:
        """Create a group with its members."""
        group = scim_groups.create_group(g.integration, _actor(), read_json_body())
        return _render(group, projection_from_args(GROUP_RESOURCE), 201)


@blp.route("/Groups/.search")
class GroupSearch(MethodView):
    """Search groups with a POSTed query (RFC 7644 §3.4.3)."""

    @blp.doc(summary="Search groups", **request_body("SearchRequest"))
    @answers(200, ListResponseSchema, errors=(400,))
    def post(self) -> ResponseReturnValue:
        """Search groups."""
        return _page(query_from_search(read_json_body(), GROUP_RESOURCE))


@blp.route("/Groups/<string:scim_id>")
class GroupById(MethodView):
    """One group."""

    @blp.doc(summary="Get a group", responses={200: LINKS})
    @answers(200, GroupSchema, errors=(404,), not_modified=True)
    def get(self, scim_id: str) -> ResponseReturnValue:
        """Get a group with its members."""
        group = scim_groups.get_group(g.integration, scim_id)
        if if_none_match_hit(group.version):
            return scim_json(None, 304, {"ETag": versions.etag(group.version)})
        return _render(group, projection_from_args(GROUP_RESOURCE))

    @blp.doc(
        summary="Replace a group",
        responses={200: LINKS},
        **request_body("Group"),
    )
    @answers(200, GroupSchema, errors=(400, 404, 412))
    def put(self, scim_id: str) -> ResponseReturnValue:
        """Replace a group; its members become exactly those in the body."""
        body = read_json_body()
        group = scim_groups.replace_group(g.integration, _actor(), scim_id, body, if_match())
        return _render(group, projection_from_args(GROUP_RESOURCE))

    @blp.doc(
        summary="Patch a group",
        responses={200: LINKS},
        **request_body("PatchOp"),
    )
    @answers(200, GroupSchema, errors=(400, 404, 412))
    def patch(self, scim_id: str) -> ResponseReturnValue:
        """Rename or change members; the 200 carries the group as GET shows it (RFC 7644
        §3.5.2), members streamed. ``excludedAttributes=members`` leaves them out: the change
        itself costs in proportion to the members named, the member list to the group's size."""
        body = read_json_body()
        projection = projection_from_args(GROUP_RESOURCE)
        group = scim_groups.patch_group(g.integration, _actor(), scim_id, body, if_match())
        return _render(group, projection)

    @blp.doc(summary="Delete a group")
    @answers(204, None, errors=(404,))
    def delete(self, scim_id: str) -> ResponseReturnValue:
        """Delete a group (Okta: unlink pushed group and delete it in the app)."""
        scim_groups.delete_group(g.integration, _actor(), scim_id, if_match())
        return scim_json(None, 204)
