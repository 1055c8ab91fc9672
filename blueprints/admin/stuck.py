"""The stuck list: invited users who have not enrolled after a while, and a bulk resend."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from blueprints.admin.blueprint import bp
from blueprints.admin.session import current_admin
from services.admin.stuck import BULK_RESEND_LIMIT, resend_to, stuck_after, stuck_users
from services.admin.user_directory import integration_names
from services.platform.audit import Actor


@bp.get("/users/stuck")
def stuck() -> ResponseReturnValue:
    """Invited users who have not enrolled within the stuck threshold, oldest first."""
    names = integration_names()
    integration_id = request.args.get("integration") or None
    integration_id = integration_id if integration_id in names else None
    found, total = stuck_users(integration_id)
    return render_template(
        "admin/users/stuck.html",
        stuck=found,
        total=total,
        days=stuck_after().days,
        integrations=names,
        integration_id=integration_id,
        limit=BULK_RESEND_LIMIT,
    )


@bp.post("/users/stuck/resend")
def stuck_resend() -> ResponseReturnValue:
    """Resend the welcome email to the selected users."""
    selected = [value for value in request.form.getlist("user") if value and len(value) <= 36]
    back = redirect(url_for("admin.stuck", integration=request.form.get("integration") or None))
    if not selected:
        flash("No email was sent: select at least one user.", "error")
        return back
    if len(selected) > BULK_RESEND_LIMIT:
        flash(f"No email was sent: select at most {BULK_RESEND_LIMIT} users at a time.", "error")
        return back
    admin = current_admin()
    result = resend_to(selected, Actor("admin", admin.email if admin else None))
    plural = "" if result.sent == 1 else "s"
    flash(f"{result.sent} new welcome email{plural} queued; their previous links no longer work.")
    if result.skipped:
        flash(f"Not waiting to enroll, so skipped: {', '.join(result.skipped)}.", "error")
    return back
