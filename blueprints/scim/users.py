"""SCIM /Users endpoints (RFC 7644 §3.3-§3.6)."""

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
from blueprints.scim.representation import user_resource
from models import User
from scim.projection import Projection
from scim.resources import UserSchema
from scim.schemas import USER_RESOURCE
from services.platform.audit import Actor
from services.resources import versions
from services.users import provisioning

LINKS = links_by_id("Users", "User")


def _actor() -> Actor:
    return Actor.scim_token(g.scim_token.id)


def _render(
    user: User,
    projection: Projection | None,
    status: int = 200,
    groups: list[tuple[str, str]] | None = None,
) -> ResponseReturnValue:
    if groups is None:
        groups = provisioning.groups_of([user])[user.id]
    body = user_resource(user, groups, scim_base_url(), projection)
    headers = {"ETag": versions.etag(user.version)}
    if status == 201:
        headers["Location"] = f"{scim_base_url()}/Users/{user.scim_id}"
    return scim_json(body, status, headers)


def _page(query_and_projection: tuple[provisioning.ListQuery, Projection]) -> ResponseReturnValue:
    query, projection = query_and_projection
    page = provisioning.list_users(g.integration, query)
    wants_groups = projection.wants(USER_RESOURCE, "groups")
    groups = provisioning.groups_of(page.items) if wants_groups else {}
    base = scim_base_url()
    resources = [user_resource(u, groups.get(u.id, []), base, projection) for u in page.items]
    return scim_json(list_response(page, resources))


@blp.route("/Users")
class Users(MethodView):
    """The users of the token's integration."""

    @blp.doc(parameters=LIST_PARAMETERS, summary="List or filter users")
    @answers(200, ListResponseSchema, errors=(400, 401))
    def get(self) -> ResponseReturnValue:
        """List users, with filter, paging, sorting and attribute selection."""
        return _page(query_from_args(USER_RESOURCE))

    @blp.doc(
        summary="Create a user",
        responses={201: LINKS},
        **request_body("User"),
    )
    @answers(201, UserSchema, errors=(400, 409))
    def post(self) -> ResponseReturnValue:
        """Create a user; 409 when the userName is taken (case-insensitively)."""
        user = provisioning.create_user(g.integration, _actor(), read_json_body())
        # Always a new row, which no group can hold yet: no membership lookup.
        return _render(user, projection_from_args(USER_RESOURCE), 201, groups=[])


@blp.route("/Users/.search")
class UserSearch(MethodView):
    """Search users with a POSTed query (RFC 7644 §3.4.3)."""

    @blp.doc(summary="Search users", **request_body("SearchRequest"))
    @answers(200, ListResponseSchema, errors=(400,))
    def post(self) -> ResponseReturnValue:
        """Search users."""
        return _page(query_from_search(read_json_body(), USER_RESOURCE))


@blp.route("/Users/<string:scim_id>")
class UserById(MethodView):
    """One user."""

    @blp.doc(summary="Get a user", responses={200: LINKS})
    @answers(200, UserSchema, errors=(404,), not_modified=True)
    def get(self, scim_id: str) -> ResponseReturnValue:
        """Get a user; 304 when If-None-Match names its current version."""
        user, groups = provisioning.get_user_with_groups(g.integration, scim_id)
        if if_none_match_hit(user.version):
            return scim_json(None, 304, {"ETag": versions.etag(user.version)})
        return _render(user, projection_from_args(USER_RESOURCE), groups=groups)

    @blp.doc(
        summary="Replace a user",
        responses={200: LINKS},
        **request_body("User"),
    )
    @answers(200, UserSchema, errors=(400, 404, 409, 412))
    def put(self, scim_id: str) -> ResponseReturnValue:
        """Replace a user (Okta sends back our GET plus its changes)."""
        body = read_json_body()
        user, groups = provisioning.replace_user(g.integration, _actor(), scim_id, body, if_match())
        return _render(user, projection_from_args(USER_RESOURCE), groups=groups)

    @blp.doc(
        summary="Patch a user",
        responses={200: LINKS},
        **request_body("PatchOp"),
    )
    @answers(200, UserSchema, errors=(400, 404, 412))
    def patch(self, scim_id: str) -> ResponseReturnValue:
        """Apply PATCH operations, all or nothing."""
        body = read_json_body()
        user, groups = provisioning.patch_user(g.integration, _actor(), scim_id, body, if_match())
        return _render(user, projection_from_args(USER_RESOURCE), groups=groups)

    @blp.doc(summary="Delete a user")
    @answers(204, None, errors=(404, 412))
    def delete(self, scim_id: str) -> ResponseReturnValue:
        """Delete a user: its personal data is erased and its userName freed."""
        provisioning.delete_user(g.integration, _actor(), scim_id, if_match())
        return scim_json(None, 204)
