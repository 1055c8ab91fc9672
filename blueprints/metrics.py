"""GET /metrics for Prometheus (behind METRICS_TOKEN), and the request hooks that feed it."""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Response, abort, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from services.okta import reconciliation
from services.platform import metrics

bp = Blueprint("metrics", __name__)

_STARTED = "scim_onboard.request_started"
UNMATCHED = "unmatched"

# Which SCIM operation each view method is: endpoint → (resource, {HTTP method: operation}).
_SCIM_ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "scim.Users": ("User", {"GET": "list", "POST": "create"}),
    "scim.UserSearch": ("User", {"POST": "search"}),
    "scim.UserById": (
        "User",
        {"GET": "get", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"},
    ),
    "scim.Groups": ("Group", {"GET": "list", "POST": "create"}),
    "scim.GroupSearch": ("Group", {"POST": "search"}),
    "scim.GroupById": (
        "Group",
        {"GET": "get", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"},
    ),
}
OKTA_HOOK_DELIVERY = "okta_hooks.deliver"


def _start_timer() -> None:
    request.environ[_STARTED] = time.perf_counter()


@bp.record_once
def _time_every_request(state: BlueprintSetupState) -> None:
    # First of the app's before-request hooks: a request that an earlier hook answers on its
    # own (rate limit, CSRF) is timed too.
    state.app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)


@bp.after_app_request
def _count(response: Response) -> Response:
    """Count the answered request in the HTTP, SCIM and event-hook metrics."""
    started = request.environ.get(_STARTED)
    elapsed = time.perf_counter() - started if started is not None else None
    endpoint = request.url_rule.endpoint if request.url_rule is not None else UNMATCHED
    status = response.status_code
    metrics.observe_request(endpoint, request.method, status, elapsed)
    route = _SCIM_ROUTES.get(endpoint)
    if route is not None:
        resource, operations = route
        operation = operations.get(request.method)
        if operation is not None:
            metrics.scim_operation(operation, resource, status)
    elif endpoint == OKTA_HOOK_DELIVERY and request.method == "POST":
        metrics.hook_delivery(status)
    return response


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "").strip()
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@bp.get("/metrics")
def metrics_page() -> Response:
    """The metrics in Prometheus' text format; 404 unless METRICS_TOKEN is set.

    :raises Unauthorized: the bearer token is missing or not METRICS_TOKEN.
    """
    expected = current_app.config.get("METRICS_TOKEN")
    if not expected:
        abort(404)
    if not hmac.compare_digest(_bearer_token().encode(), expected.encode()):
        raise Unauthorized(
            "send Authorization: Bearer <METRICS_TOKEN>",
            www_authenticate=WWWAuthenticate("bearer", {"realm": "metrics"}),
        )
    body, content_type = metrics.render(reconciliation.drift_gauges)
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
