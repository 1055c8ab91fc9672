"""The dashboard: users by state, last requests, background work and email counts."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from blueprints.admin import bp
from services.dashboard import dashboard as dashboard_data


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    """The overview page."""
    return render_template("admin/dashboard.html", data=dashboard_data())
