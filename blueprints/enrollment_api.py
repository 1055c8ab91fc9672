"""The authenticator app's API: complete enrollment with an invitation token."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Request, abort
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from blueprints.json_errors import json_error, render_http_exception
from services.platform.inbound_json import InboundJsonError, parse_body
from services.users.enrollment import EnrollmentError, enroll

# The body is one token of at most 200 characters; this door needs no authentication.
MAX_BODY_BYTES = 16 * 1024


class InboundJsonParser(FlaskParser):
    """webargs' parser, reading JSON bodies through the shared inbound reader."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return super()._raw_load_json(req)
        try:
            return parse_body(req.get_data(cache=True), max_bytes=MAX_BODY_BYTES)
        except InboundJsonError as exc:
            if exc.kind == "too_large":
                abort(json_error(413, "request_entity_too_large", exc.message))
            abort(json_error(400, "invalid_request", f"invalid request body: {exc.message}"))


# Why a token cannot be used → the HTTP status the app gets (the code is passed on as is).
_STATUS = {
    "invalid_token": 404,
    "token_used": 409,
    "token_revoked": 410,
    "token_expired": 410,
    "user_inactive": 403,
}

blp = Blueprint(
    "enrollments",
    __name__,
    url_prefix="/api/v1",
    description="For the authenticator app: complete a user's enrollment.",
)
blp.register_error_handler(HTTPException, render_http_exception)
blp.ARGUMENTS_PARSER = InboundJsonParser()


class EnrollmentRequestSchema(ma.Schema):
    """The token from the enrollment link."""

    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class EnrollmentSchema(ma.Schema):
    """The enrolled user."""

    user_id = fields.String(data_key="userId")
    display_name = fields.String(data_key="displayName", allow_none=True)
    email = fields.String(allow_none=True)


class ApiErrorSchema(ma.Schema):
    """An API error."""

    error = fields.String(required=True)
    message = fields.String(required=True)


@blp.route("/enrollments")
class Enrollments(MethodView):
    """Enrollment completion."""

    @blp.arguments(EnrollmentRequestSchema)
    @blp.response(201, EnrollmentSchema)
    @blp.alt_response(400, schema=ApiErrorSchema)
    @blp.alt_response(403, schema=ApiErrorSchema)
    @blp.alt_response(404, schema=ApiErrorSchema)
    @blp.alt_response(409, schema=ApiErrorSchema)
    @blp.alt_response(410, schema=ApiErrorSchema)
    @blp.alt_response(413, schema=ApiErrorSchema)
    def post(self, body: dict[str, str]) -> Any:
        """Mark the token's user enrolled; the token cannot be used again."""
        try:
            return enroll(body["token"])
        except EnrollmentError as exc:
            return json_error(_STATUS[exc.code], exc.code, exc.message)
