"""SendGrid's signed Event Webhook at /hooks/sendgrid: delivery events for welcome emails.

Only signed deliveries are accepted ("Signed Event Webhook Requests" in SendGrid's Mail
Settings). SendGrid retries anything but a 2xx for up to 24 hours, so a delivery that fails
on our side (database down) is simply redelivered; duplicates are stored once.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from blueprints.json_errors import json_error, render_http_exception
from services.email.email_events import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    MalformedEventsError,
    SignatureError,
    apply_events,
    verify_signature,
)
from services.platform.inbound_json import InboundJsonError, parse_body

log = logging.getLogger(__name__)

# Why a delivery is not provably from SendGrid → the answer it gets.
_REFUSALS = {
    "unsigned": (401, "unauthorized"),
    "invalid": (403, "forbidden"),
    "not_configured": (503, "not_configured"),
}

bp = Blueprint("sendgrid_hooks", __name__, url_prefix="/hooks/sendgrid")
bp.register_error_handler(HTTPException, render_http_exception)


@bp.post("")
def receive() -> ResponseReturnValue:
    """Verify the signature, then store and apply the delivery's events."""
    public_key = current_app.config.get("SENDGRID_WEBHOOK_PUBLIC_KEY")
    if not public_key:
        return json_error(
            503,
            "not_configured",
            "set SENDGRID_WEBHOOK_PUBLIC_KEY to the verification key of SendGrid's signed "
            "Event Webhook; unsigned events are not accepted",
        )
    payload = request.get_data(cache=False)
    try:
        verify_signature(
            public_key,
            payload,
            request.headers.get(SIGNATURE_HEADER, ""),
            request.headers.get(TIMESTAMP_HEADER, ""),
            current_app.config["SENDGRID_WEBHOOK_MAX_AGE_SECONDS"],
        )
    except SignatureError as exc:
        status, code = _REFUSALS[exc.reason]
        log.warning("SendGrid webhook delivery refused (%s): %s", status, exc.message)
        return json_error(status, code, exc.message)
    try:
        result = apply_events(parse_body(payload))
    except InboundJsonError as exc:
        return json_error(400, "malformed", f"the body is not acceptable JSON: {exc.message}")
    except MalformedEventsError as exc:
        return json_error(400, "malformed", f"not a SendGrid Event Webhook delivery: {exc}")
    return {
        "received": result.received,
        "stored": result.stored,
        "duplicates": result.duplicates,
        "unmatched": result.unmatched,
    }
