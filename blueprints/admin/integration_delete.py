"""Deleting an integration: a confirmation naming what goes, then progress until it is gone."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from blueprints.admin.blueprint import bp
from blueprints.admin.forms import DeleteIntegrationForm
from blueprints.admin.session import current_admin
from models import Integration
from services.errors import ServiceError
from services.integrations.deletion import deletion_summary, start_deletion
from services.platform.audit import Actor


def _found(integration_id: str) -> Integration:
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        abort(404)
    return integration


@bp.route("/integrations/<integration_id>/delete", methods=["GET", "POST"])
def integration_delete(integration_id: str) -> ResponseReturnValue:
    """Confirm the deletion (the name typed again), or show how far it has got."""
    integration = _found(integration_id)
    if integration.deleting_at is not None:
        return render_template("admin/integrations/deleting.html", integration=integration)
    form = DeleteIntegrationForm()
    if form.validate_on_submit():
        if (form.name.data or "").strip() != integration.name:
            form.name.errors = ["That is not this integration's name."]
        else:
            admin = current_admin()
            try:
                start_deletion(integration, Actor("admin", admin.email if admin else None))
            except ServiceError as exc:
                flash(str(exc).capitalize() + ".", "error")
            return redirect(url_for("admin.integration_deleted", integration_id=integration_id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/integrations/delete.html",
        integration=integration,
        summary=deletion_summary(integration),
        form=form,
    ), status


@bp.get("/integrations/deleted/<integration_id>")
def integration_deleted(integration_id: str) -> ResponseReturnValue:
    """Where a deletion sends the admin: its progress while it runs, the list once done."""
    if Integration.get_or_none(Integration.id == integration_id) is not None:
        return redirect(url_for("admin.integration_delete", integration_id=integration_id))
    flash("The integration and all its data are erased.")
    return redirect(url_for("admin.integrations"))
