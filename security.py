"""HTTP security: session cookies, response headers, and input no database can store."""

from __future__ import annotations

from itertools import chain

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import BadRequest, NotFound

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# No inline scripts or styles anywhere; images may come from a brand's https logo URL.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class SessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions marked ``Secure`` whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured so, or when this request is HTTPS."""
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def _harden(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _refuse_nul() -> None:
    """A NUL in the URL or a form names nothing stored here (Postgres refuses NUL outright).

    The path gets a 404, query and form values a 400, each rendered by the blueprint's own
    error handler (a SCIM error body under /scim/v2, a page under /admin).
    """
    if "\x00" in request.path:
        raise NotFound()
    values = request.args.items(multi=True)
    if request.mimetype in FORM_TYPES:
        values = chain(values, request.form.items(multi=True))
    if any("\x00" in key or "\x00" in value for key, value in values):
        raise BadRequest("NUL characters are not allowed in parameters.")


def init_app(app: Flask) -> None:
    """Cookie flags and security headers."""
    app.session_interface = SessionInterface()
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "scim_onboard_session"
    public = app.config.get("PUBLIC_BASE_URL") or ""
    app.config["SESSION_COOKIE_SECURE"] = public.startswith("https://")
    app.before_request(_refuse_nul)
    app.after_request(_harden)
