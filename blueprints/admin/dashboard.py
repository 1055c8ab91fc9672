"""The dashboard: users by state, last requests, background work and email counts."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from blueprints.admin.blueprint import bp
from services.admin.charts_svg import activity_svg, funnel_svg
from services.admin.dashboard import dashboard as dashboard_data
from services.admin.rollout import rollout_overview

bp.add_app_template_global(funnel_svg)
bp.add_app_template_global(activity_svg)


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    """The overview page."""
    return render_template(
        "admin/dashboard.html", data=dashboard_data(), rollout=rollout_overview()
    )
