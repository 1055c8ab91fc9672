"""Signing in and out: local passwords, the first-run setup link, and Okta (OIDC)."""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded

from blueprints.admin.blueprint import bp
from blueprints.admin.forms import ActionForm, SetupForm, SignInForm
from blueprints.admin.session import current_admin, sign_in, sign_out
from extensions import limiter
from services.admin import admins
from services.errors import ServiceError

OKTA_UNREACHABLE = (
    "Signing in with Okta is not possible right now: this service cannot reach your Okta "
    "org. Sign in with your email and password, or try again later."
)


def _okta_client() -> Any:
    """The app's Okta OIDC client, or None when Okta sign-in is not configured."""
    registry = current_app.extensions.get("authlib.integrations.flask_client")
    return registry.create_client("okta") if registry is not None else None


def _safe_next(target: str | None) -> str:
    """Only same-site paths under /admin, never an open redirect nor a broken header."""
    if (
        target
        and target.startswith("/admin")
        # CR, LF and other control characters cannot go into a Location header.
        and not any(ord(char) < 32 or ord(char) == 127 for char in target)
        and not urlsplit(target).netloc
        and "\\" not in target
    ):
        return target
    return url_for("admin.dashboard")


@bp.errorhandler(RateLimitExceeded)
def throttled(error: RateLimitExceeded) -> ResponseReturnValue:
    """Too many sign-in (or setup) attempts: say how long to wait, with Retry-After."""
    wait = _seconds_until_allowed(error)
    if request.endpoint == "admin.login":
        back_url, back_label = (
            url_for("admin.login", next=request.args.get("next")),
            "Back to sign-in",
        )
    else:
        back_url, back_label = request.path, "Try again"
    response = make_response(
        render_template(
            "admin/throttled.html",
            wait=_duration_text(wait),
            back_url=back_url,
            back_label=back_label,
        ),
        429,
    )
    response.headers["Retry-After"] = str(wait)
    return response


def _seconds_until_allowed(error: RateLimitExceeded) -> int:
    """Whole seconds until the exhausted limit's window ends (at least 1)."""
    breached = limiter.current_limit
    if breached is not None:
        # window.reset_time, not reset_at: that one is rounded up a further second.
        return max(1, math.ceil(breached.window.reset_time - time.time()))
    return max(1, error.limit.limit.get_expiry())


def _duration_text(seconds: int) -> str:
    """``seconds`` as people say it: "1 second", "45 seconds", "15 minutes"."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def _sign_in_limit() -> str:
    return str(current_app.config["ADMIN_SIGN_IN_LIMIT"])


def _failed(response: object) -> bool:
    return getattr(response, "status_code", 200) == 401


@bp.route("/login", methods=["GET", "POST"])
# Per client address only: a limit per email would let anyone lock the real admin out.
@limiter.limit(_sign_in_limit, methods=["POST"], deduct_when=_failed)
def login() -> ResponseReturnValue:
    """Sign in with email and password (or with Okta, when configured)."""
    if current_admin() is not None:
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    oidc = bool(current_app.config.get("ADMIN_OIDC_ISSUER"))
    if form.validate_on_submit():
        admin = admins.authenticate(form.email.data or "", form.password.data or "")
        if admin is not None:
            sign_in(admin)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = ["Wrong email or password."]
        return render_template("admin/login.html", form=form, oidc=oidc), 401
    status = 400 if request.method == "POST" else 200
    return render_template("admin/login.html", form=form, oidc=oidc), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out (a POST with a CSRF token, so no other site can sign you out)."""
    if ActionForm().validate_on_submit():
        sign_out()
    return redirect(url_for("admin.login"))


@bp.route("/setup/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def setup(token: str) -> ResponseReturnValue:
    """First run: the link printed on the server's console creates the first admin."""
    if not admins.setup_token_valid(token):
        return render_template("admin/setup_invalid.html"), 404
    form = SetupForm()
    if form.validate_on_submit():
        try:
            admin = admins.complete_setup(token, form.email.data or "", form.password.data or "")
        except ServiceError as exc:
            form.email.errors = [str(exc)]
        else:
            sign_in(admin)
            flash("Your admin account is ready.")
            return redirect(url_for("admin.dashboard"))
    return render_template("admin/setup.html", form=form)


@bp.get("/login/okta")
def oidc_login() -> ResponseReturnValue:
    """Start signing in with the organisation's Okta (OpenID Connect)."""
    client = _okta_client()
    if client is None:
        return redirect(url_for("admin.login"))
    try:
        return client.authorize_redirect(url_for("admin.oidc_callback", _external=True))
    except Exception as exc:
        # authlib first reads the issuer's OpenID configuration: requests' errors when it is
        # unreachable or answers 4xx/5xx, ValueError when the answer is not JSON,
        # RuntimeError when it names no authorization endpoint. All mean "not now".
        current_app.logger.warning(
            "Okta sign-in unavailable: cannot read the OpenID configuration of "
            "ADMIN_OIDC_ISSUER %s (%s: %s)",
            current_app.config["ADMIN_OIDC_ISSUER"],
            type(exc).__name__,
            exc,
        )
        return _sign_in_page(OKTA_UNREACHABLE, 502)


def _sign_in_page(oidc_error: str, status: int) -> ResponseReturnValue:
    """The sign-in page with an Okta sign-in problem shown above the form."""
    return render_template(
        "admin/login.html", form=SignInForm(), oidc=True, oidc_error=oidc_error
    ), status


@bp.get("/login/okta/callback")
def oidc_callback() -> ResponseReturnValue:
    """Finish the Okta sign-in: allowed emails or group claim only."""
    client = _okta_client()
    if client is None:
        return redirect(url_for("admin.login"))
    try:
        token = client.authorize_access_token()
    except Exception:  # authlib raises several OAuth error types; all mean "not signed in"
        current_app.logger.warning("Okta sign-in failed at the token exchange")
        return _sign_in_page("Okta sign-in failed. Try again.", 401)
    claims = token.get("userinfo") or {}
    try:
        admin = admins.oidc_admin(
            subject=str(claims.get("sub", "")),
            email=claims.get("email"),
            # Okta includes it with the email scope; a boolean, per OpenID Connect Core §5.1.
            email_verified=claims.get("email_verified") is True,
            groups=claims.get("groups") or [],
            allowed_emails=current_app.config["ADMIN_OIDC_ALLOWED_EMAILS"],
            allowed_groups=current_app.config["ADMIN_OIDC_ALLOWED_GROUPS"],
        )
    except ServiceError as exc:
        return _sign_in_page(str(exc), 403)
    sign_in(admin)
    return redirect(url_for("admin.dashboard"))
