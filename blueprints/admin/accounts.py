"""Admin accounts: your own password, and the list of admins (add, remove)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from blueprints.admin.blueprint import bp
from blueprints.admin.forms import ActionForm, NewAdminForm, PasswordChangeForm
from blueprints.admin.session import current_admin, session_id, sign_out
from models import AdminUser
from services.admin import admins
from services.errors import ServiceError
from services.platform.audit import Actor


def _me() -> AdminUser:
    admin = current_admin()
    if admin is None:  # the blueprint's before_request already sent strangers to sign in
        abort(403)
    return admin


@bp.route("/account", methods=["GET", "POST"])
def account() -> ResponseReturnValue:
    """Change your own password; your other sessions end, this one stays."""
    me = _me()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            admins.change_password(
                me, form.current.data or "", form.password.data or "", keep_session=session_id()
            )
        except ServiceError as exc:
            form.current.errors = [str(exc).capitalize() + "."]
        else:
            flash("Password changed. Every other session of yours has ended.")
            return redirect(url_for("admin.account"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/account.html", form=form, me=me), status


@bp.route("/admins", methods=["GET", "POST"])
def admin_list() -> ResponseReturnValue:
    """Every admin with their last sign-in; add another."""
    me = _me()
    form = NewAdminForm()
    if form.validate_on_submit():
        try:
            added = admins.create_admin(
                form.email.data or "", form.password.data or "", Actor("admin", me.email)
            )
        except ServiceError as exc:
            form.email.errors = [str(exc).capitalize() + "."]
        else:
            flash(f"Added {added.email}. Give them their password in person or by phone.")
            return redirect(url_for("admin.admin_list"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/admins.html", form=form, admins=admins.list_admins(), me=me
    ), status


@bp.post("/admins/<int:admin_id>/remove")
def admin_remove(admin_id: int) -> ResponseReturnValue:
    """Remove an admin; their sessions end everywhere (never the last admin)."""
    me = _me()
    if not ActionForm().validate_on_submit():
        abort(400)
    target = AdminUser.get_or_none(AdminUser.id == admin_id)
    if target is None:
        abort(404)
    try:
        admins.remove_admin(target, Actor("admin", me.email))
    except ServiceError as exc:
        flash(str(exc).capitalize() + ".", "error")
        return redirect(url_for("admin.admin_list"))
    if target.id == me.id:
        sign_out()
        return redirect(url_for("admin.login"))
    flash(f"Removed {target.email}; their sessions have ended.")
    return redirect(url_for("admin.admin_list"))
