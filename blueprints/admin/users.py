"""The users pages: search and filter all users, and one user's attributes, history and fixes."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from blueprints.admin.blueprint import bp
from blueprints.admin.session import current_admin
from models import STATES, Invitation, User
from services.admin.setup_status import email_status_label, is_printed
from services.admin.user_details import find_user, user_details
from services.admin.user_directory import UserQuery, integration_names, search_users
from services.admin.user_export import users_as_csv
from services.admin.user_order import Order
from services.email.kept_emails import KeptEmail, kept_email
from services.errors import ConflictError
from services.okta import group_sync
from services.platform.audit import Actor
from services.users import lifecycle

MAX_QUERY_LENGTH = 200


def _query(names: dict[str, str]) -> UserQuery:
    """The users list's filters, order and cursor from the query string."""
    state = request.args.get("state") or None
    integration_id = request.args.get("integration") or None
    return UserQuery(
        text=(request.args.get("q") or "").strip()[:MAX_QUERY_LENGTH],
        state=state if state in STATES else None,
        integration_id=integration_id if integration_id in names else None,
        order=Order.parse(request.args.get("sort"), request.args.get("order")),
        after=request.args.get("after"),
        before=request.args.get("before"),
    )


def _kept(query: UserQuery) -> dict[str, str]:
    """The filters and order to carry into paging, sorting and export links."""
    kept = {"q": query.text, "state": query.state, "integration": query.integration_id}
    if query.order != Order():
        kept.update(sort=query.order.sort, order=query.order.direction)
    return {name: value for name, value in kept.items() if value}


bp.add_app_template_global(email_status_label)
bp.add_app_template_global(is_printed)


@bp.get("/users")
def users() -> ResponseReturnValue:
    """Users, newest first or sorted: search by name, email or Okta id; filter; page both ways."""
    names = integration_names()
    query = _query(names)
    return render_template(
        "admin/users/list.html",
        page=search_users(query),
        query=query,
        args=_kept(query),
        states=STATES,
        integrations=names,
    )


@bp.get("/users.csv")
def users_csv() -> ResponseReturnValue:
    """The current filtered list as CSV, streamed in bounded batches."""
    names = integration_names()
    query = _query(names)
    response = Response(stream_with_context(users_as_csv(query, names)), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="users.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/users/<scim_id>")
def user(scim_id: str) -> ResponseReturnValue:
    """One user: synced attributes, troubleshooting answers, timeline and actions."""
    details = user_details(scim_id)
    if details is None:
        abort(404, description="There is no user with this id.")
    return render_template("admin/users/detail.html", details=details)


def _user_or_404(scim_id: str) -> User:
    found = find_user(scim_id)
    if found is None:
        abort(404, description="There is no user with this id.")
    return found


@bp.post("/users/<scim_id>/resend")
def user_resend(scim_id: str) -> ResponseReturnValue:
    """Revoke the user's enrollment link and send a new welcome email."""
    found = _user_or_404(scim_id)
    admin = current_admin()
    actor = Actor("admin", admin.email if admin else None)
    try:
        lifecycle.resend_welcome_email(found.id, actor)
    except ConflictError as exc:
        flash(f"No email was sent: {exc}.", "error")
    else:
        flash("A new welcome email is on its way; the previous link no longer works.")
    return redirect(url_for("admin.user", scim_id=scim_id))


@bp.post("/users/<scim_id>/group-sync/retry")
def user_retry_group_sync(scim_id: str) -> ResponseReturnValue:
    """Try the user's unfinished Okta group membership change again now."""
    found = _user_or_404(scim_id)
    if group_sync.retry(found):
        flash("The group membership change will be retried now.")
    else:
        flash("There is no unfinished group membership change to retry.", "error")
    return redirect(url_for("admin.user", scim_id=scim_id))


# A kept email is HTML from our own templates but carries user data: no scripts, no forms,
# only inline styles and https images, framed by our page only.
EMAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox"
)


def _kept_or_404(scim_id: str, invitation_id: int) -> KeptEmail:
    found = _user_or_404(scim_id)
    invitation = Invitation.get_or_none(
        (Invitation.id == invitation_id) & (Invitation.user == found.id)
    )
    kept = kept_email(invitation.id) if invitation else None
    if kept is None:
        abort(404, description="No copy of this email was kept.")
    return kept


@bp.get("/users/<scim_id>/emails/<int:invitation_id>")
def user_email(scim_id: str, invitation_id: int) -> ResponseReturnValue:
    """A welcome email the console mailer printed instead of sending."""
    kept = _kept_or_404(scim_id, invitation_id)
    response = make_response(
        render_template(
            "admin/users/email.html", kept=kept, scim_id=scim_id, invitation_id=invitation_id
        )
    )
    response.headers["Cache-Control"] = "no-store"  # it holds a working enrollment link
    return response


@bp.get("/users/<scim_id>/emails/<int:invitation_id>/html")
def user_email_html(scim_id: str, invitation_id: int) -> ResponseReturnValue:
    """The kept email's HTML part, for the sandboxed frame on the page above."""
    response = make_response(_kept_or_404(scim_id, invitation_id).html)
    response.headers["Content-Security-Policy"] = EMAIL_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
