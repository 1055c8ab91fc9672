"""Small JSON error bodies for the non-SCIM APIs (event hooks, enrollment)."""

from __future__ import annotations

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException


def json_error(status: int, code: str, message: str) -> Response:
    """``{"error": code, "message": message}`` with the given status."""
    response = jsonify(error=code, message=message)
    response.status_code = status
    return response


def render_http_exception(error: HTTPException) -> Response:
    """A werkzeug error as a JSON error body (a 422 from argument parsing becomes a 400)."""
    status = error.code or 500
    if status == 422:
        messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
        return json_error(400, "invalid_request", f"invalid request body: {messages}")
    code = (error.name or "error").lower().replace(" ", "_")
    response = json_error(status, code, error.description or error.name or "error")
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
