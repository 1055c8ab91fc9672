"""The admin blueprint itself: its session gate, caching rule, error pages, navigation and
template helpers. The views in this package register on ``bp``."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app, redirect, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from blueprints.admin.session import current_admin
from blueprints.html_errors import html_error_page

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Endpoints reachable without a session.
PUBLIC_ENDPOINTS = frozenset(
    {"admin.login", "admin.setup", "admin.oidc_login", "admin.oidc_callback"}
)


@bp.before_request
def require_admin() -> ResponseReturnValue | None:
    """Everything under /admin needs a signed-in admin, except signing in itself."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_admin() is None:
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    return None


@bp.after_app_request
def never_cache(response: Response) -> Response:
    """Admin pages show people's data and secrets: no browser or proxy may keep a copy.

    Registered app-wide and matched on the path, so that /admin 404s are covered too.
    """
    if request.path == bp.url_prefix or request.path.startswith(f"{bp.url_prefix}/"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _root() -> ResponseReturnValue:
    """The address the quick start prints (the server's origin) opens the console."""
    return redirect(url_for("admin.dashboard"))


@bp.record_once
def _register_root(state: BlueprintSetupState) -> None:
    """``/`` sits outside the blueprint's prefix, so the app gets the rule."""
    state.app.add_url_rule("/", "root", _root, methods=["GET"])


@bp.errorhandler(HTTPException)
def html_error(error: HTTPException) -> ResponseReturnValue:
    """Admin errors as HTML pages."""
    return html_error_page(error, "admin/error.html")


# The navigation: (endpoint, label, endpoint prefix that marks the section as current).
SECTIONS = (
    ("admin.dashboard", "Dashboard", "admin.dashboard"),
    ("admin.integrations", "Integrations", "admin.integration"),
    ("admin.users", "Users", "admin.user"),
    ("admin.deliveries", "Event hooks", "admin.deliveries"),
    ("admin.audit", "Audit log", "admin.audit"),
    ("admin.work", "Work queue", "admin.work"),
    ("admin.admin_list", "Admins", "admin.admin"),
)


@bp.app_context_processor
def inject_admin() -> dict[str, object]:
    """Templates can show who is signed in, and the sections that exist."""
    routed = {rule.endpoint for rule in current_app.url_map.iter_rules()}
    return {
        "admin": current_admin() if request.blueprint == "admin" else None,
        "admin_sections": [s for s in SECTIONS if s[0] in routed],
    }


@bp.app_template_filter("datetime")
def format_datetime(value: dt.datetime | None) -> str:
    """Stored naive-UTC times, shown as such."""
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "never"
