"""App-wide error handling: the format follows the URL space the request was for.

Blueprints register their own handlers (SCIM JSON, hook JSON, admin HTML); this covers what
reaches no blueprint (routing 404/405) and anything unexpected (a 500 that logs the
exception and answers a generic message, never a traceback).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable

from flask import Flask, Response, current_app, make_response, request
from flask.sansio.app import App
from peewee import InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    SecurityError,
    ServiceUnavailable,
)

from blueprints.html_errors import html_error_page
from blueprints.json_errors import render_http_exception
from extensions import db

log = logging.getLogger(__name__)


def _rollback() -> None:
    if not db.is_closed() and db.in_transaction():
        db.rollback()


ERROR_RENDERERS = "scim_onboard.error_renderers"


def render_errors_under(
    app: App, prefix: str, renderer: Callable[[HTTPException], Response]
) -> None:
    """Errors under ``prefix`` are rendered by ``renderer``, even those that reach no view
    (a routing 404 or 405): a blueprint with its own error format (SCIM) registers here."""
    app.extensions.setdefault(ERROR_RENDERERS, {})[prefix] = renderer


def render_http_error(error: HTTPException) -> Response:
    """Render an HTTP error in the format of the URL space it happened in."""
    path = request.path
    for prefix, renderer in current_app.extensions.get(ERROR_RENDERERS, {}).items():
        if path == prefix or path.startswith(f"{prefix}/"):
            return renderer(error)
    if path.startswith(("/admin", "/enroll")) and isinstance(error, SecurityError):
        # An untrusted Host header: no URL (so no page layout) can be built for it.
        return make_response((f"{error.description}\n", 400, {"Content-Type": "text/plain"}))
    if path.startswith(("/admin", "/enroll")):
        template = "admin/error.html" if path.startswith("/admin") else "errors/error.html"
        return html_error_page(error, template)
    return render_http_exception(error)


def handle_unexpected(error: Exception) -> Response:
    """Log the exception, roll back, and answer a generic 500 in the right format."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    _rollback()
    return render_http_error(InternalServerError("An internal error occurred."))


# Raised by the driver when the database cannot be reached or refuses the connection.
DATABASE_DOWN = (OperationalError, InterfaceError, MaxConnectionsExceeded)
RETRY_AFTER_SECONDS = 30
# SQLite reports both outages and bad SQL as OperationalError: only these mean "try later".
_SQLITE_UNAVAILABLE = (
    "locked",
    "busy",
    "unable to open",
    "disk i/o",
    "readonly",
    "database or disk is full",
)


def is_database_unavailable(error: BaseException) -> bool:
    """Whether an error means the database is unreachable or busy (not a bug or bad data)."""
    if isinstance(error, InterfaceError | MaxConnectionsExceeded):
        return True
    if not isinstance(error, OperationalError):
        return False
    original = error.args[0] if error.args and isinstance(error.args[0], Exception) else error
    if isinstance(original, sqlite3.Error):
        message = str(original).lower()
        return any(marker in message for marker in _SQLITE_UNAVAILABLE)
    # psycopg raises OperationalError for connection failures, server shutdown and the like;
    # peewee wraps it with the original as the first argument.
    return True


def handle_database_down(error: Exception) -> Response:
    """The database is unreachable: 503 with an integer Retry-After, so clients retry."""
    if not is_database_unavailable(error):
        return handle_unexpected(error)
    log.error("database unavailable: %s", type(error).__name__)
    _rollback_quietly()
    unavailable = ServiceUnavailable("The service is temporarily unavailable; retry later.")
    response = render_http_error(unavailable)
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _rollback_quietly() -> None:
    with contextlib.suppress(*DATABASE_DOWN):
        _rollback()


def register(app: Flask) -> None:
    """Install the app-level handlers (overriding flask-smorest's JSON-only one)."""
    app.register_error_handler(HTTPException, render_http_error)
    for exc in DATABASE_DOWN:
        app.register_error_handler(exc, handle_database_down)
    app.register_error_handler(Exception, handle_unexpected)
