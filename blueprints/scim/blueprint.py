"""The SCIM blueprint itself: SCIM answers on every URL, authentication, the query deadline,
the last-request note and the error handlers. The views in this package register on ``blp``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, request
from flask.blueprints import BlueprintSetupState
from flask_smorest import Blueprint
from peewee import OperationalError
from werkzeug.exceptions import HTTPException

import query_deadline
from blueprints.errors import DATABASE_DOWN, render_errors_under
from blueprints.scim.auth import authenticate
from blueprints.scim.docs import CONTENT_TYPE, ScimErrorSchema
from blueprints.scim.errors import render_database_error, render_http_exception, render_scim_error
from extensions import limiter
from scim.errors import ScimError
from services.admin.scim_activity import note_request

V = TypeVar("V", bound=Callable[..., Any])


class ScimBlueprint(Blueprint):
    """A blueprint whose every URL answers in SCIM, never with Flask's or Werkzeug's HTML.

    Flask would answer OPTIONS itself (200, an empty text/html body) and Werkzeug would
    redirect ``/scim/v2//Users`` to the merged path with an HTML 308. SCIM defines neither,
    so OPTIONS is no method of these rules (a SCIM 405 with ``Allow``) and a path with
    repeated slashes matches none of them (a SCIM 404).
    """

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Any = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Register a rule without automatic OPTIONS and without slash merging."""
        options.setdefault("merge_slashes", False)
        # flask-smorest does not pass provide_automatic_options on; Flask reads the view's.
        if view_func is not None:
            view_func.provide_automatic_options = False
        super().add_url_rule(rule, endpoint, view_func, **options)


blp = ScimBlueprint(
    "scim",
    __name__,
    url_prefix="/scim/v2",
    description="SCIM 2.0 service provider (RFC 7643/7644) for Okta provisioning.",
)
# Authentication also applies the per-token SCIM_RATE_LIMIT and the per-address limit on
# failed authentications (blueprints.scim.auth): the key of the first is only known once
# the token is.
blp.before_request(authenticate)


@limiter.request_filter
def _limited_by_token() -> bool:
    """flask-limiter's own app-wide limits stay off SCIM.

    They could neither throttle Okta by address nor add their headers (a Retry-After of 0)
    to SCIM answers. A request filter answers before flask-limiter looks up which limits
    apply, which ``limiter.exempt`` on the blueprint still did on every request (about
    65 µs, a tenth of a GET by id).
    """
    return request.blueprint == "scim"


@blp.before_request
def bound_query_time() -> None:
    """Every SCIM statement from here on runs under SCIM_QUERY_TIMEOUT_MS."""
    query_deadline.arm(current_app.config["SCIM_QUERY_TIMEOUT_MS"])


@blp.teardown_request
def unbound_query_time(exc: BaseException | None) -> None:
    """Hand the connection back without the deadline (before the app closes it)."""
    with contextlib.suppress(*DATABASE_DOWN):
        query_deadline.disarm()


@blp.after_request
def remember_request(response: Response) -> Response:
    """Note the integration's last SCIM request (for the admin dashboard)."""
    integration = g.get("integration")
    if integration is not None:
        # The dashboard detail is not worth failing Okta's request over.
        with contextlib.suppress(*DATABASE_DOWN):
            note_request(integration.id, f"{request.method} {request.path}", response.status_code)
    return response


@blp.record_once
def _render_errors_in_scim(state: BlueprintSetupState) -> None:
    """Errors that reach no SCIM view (routing 404/405 under /scim/v2) answer in SCIM too."""
    render_errors_under(state.app, str(blp.url_prefix), render_http_exception)


# Class handlers on the blueprint: they win over flask-smorest's app-wide JSON handler.
blp.register_error_handler(ScimError, render_scim_error)
blp.register_error_handler(HTTPException, render_http_exception)
blp.register_error_handler(OperationalError, render_database_error)


def answers(
    status: int, schema: Any = None, *, errors: tuple[int, ...] = (), not_modified: bool = False
) -> Callable[[V], V]:
    """Document a view's answers: ``status`` (with ``schema``), a 304 when ``not_modified``,
    and each of ``errors`` as a SCIM error body, all as ``application/scim+json``."""

    def document(view: V) -> V:
        for code in reversed(errors):
            view = blp.alt_response(code, schema=ScimErrorSchema, content_type=CONTENT_TYPE)(view)
        if not_modified:
            view = blp.alt_response(304, description="Not modified (If-None-Match)")(view)
        return blp.response(status, schema, content_type=CONTENT_TYPE)(view)

    return document
