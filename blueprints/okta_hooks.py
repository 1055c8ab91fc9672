"""Okta Event Hooks receiver at /hooks/okta/<integration id> (docs/okta.md §3).

Answers fast: a delivery is validated and stored in one transaction (on SQLite, spooled to a
local file if another writer holds the lock too long) and the 200 goes out; the worker
applies the events. Okta waits 3 seconds and retries once (docs/okta.md §3.4).
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from blueprints.json_errors import json_error, render_http_exception
from hooks.envelope import MalformedDeliveryError, parse_delivery
from hooks.receiving import record_rejected
from hooks.spool import store_or_spool
from models import Integration
from services.admin.setup_status import note_hook_verified
from services.okta.hook_secrets import hook_secret_matches
from services.platform.inbound_json import InboundJsonError, parse_body

bp = Blueprint("okta_hooks", __name__, url_prefix="/hooks/okta")
bp.register_error_handler(HTTPException, render_http_exception)


def _integration(integration_id: str) -> Integration | None:
    if len(integration_id) > 36 or "\x00" in integration_id:
        return None
    return Integration.get_or_none(Integration.id == integration_id)


@bp.get("/<integration_id>")
def verify(integration_id: str) -> ResponseReturnValue:
    """Okta's one-time verification: echo the challenge header (docs/okta.md §3.2).

    The secret is not required here: Okta's docs do not say the verification request
    carries it, and the answer reveals nothing.
    """
    if _integration(integration_id) is None:
        return json_error(404, "unknown_integration", "no integration with this id")
    challenge = request.headers.get("x-okta-verification-challenge")
    if not challenge:
        return json_error(400, "missing_challenge", "x-okta-verification-challenge is missing")
    note_hook_verified(integration_id)
    return {"verification": challenge}


@bp.post("/<integration_id>")
def deliver(integration_id: str) -> ResponseReturnValue:
    """Store a delivery's events (duplicates once) and answer 200 with an empty body."""
    integration = _integration(integration_id)
    if integration is None:
        return json_error(404, "unknown_integration", "no integration with this id")
    if not hook_secret_matches(integration, request.headers.get("Authorization", "")):
        record_rejected(integration, 401, "Authorization did not match the event-hook secret")
        return json_error(401, "unauthorized", "the Authorization header is not this hook's secret")
    try:
        body = request.get_data(cache=False)
        delivery = parse_delivery(parse_body(body))
    except InboundJsonError as exc:
        record_rejected(integration, 400, exc.message)
        return json_error(400, "malformed", f"the body is not acceptable JSON: {exc.message}")
    except MalformedDeliveryError as exc:
        record_rejected(integration, 400, str(exc))
        return json_error(400, "malformed", f"not an Okta event hook delivery: {exc}")
    store_or_spool(integration, delivery, body)
    return Response(status=200)
