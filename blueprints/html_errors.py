"""Error pages in HTML, for the admin console and the enrollment landing page."""

from __future__ import annotations

from flask import Response, make_response, render_template
from werkzeug.exceptions import HTTPException


def html_error_page(error: HTTPException, template: str) -> Response:
    """The error as a page of ``template``, with the error's own headers (Allow on a 405,
    Retry-After on a 429 or 503)."""
    page = render_template(template, status=error.code, title=error.name, message=error.description)
    response = make_response(page, error.code or 500)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
