"""Integration pages: the Okta setup steps with their values, tokens, hook secret, branding."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from blueprints.admin.blueprint import bp
from blueprints.admin.forms import ActionForm
from blueprints.admin.integration_forms import (
    BrandingForm,
    IntegrationNameForm,
    OktaSettingsForm,
    TokenForm,
)
from blueprints.admin.session import current_admin
from blueprints.scim.http import base_url, scim_base_url
from models import Integration, utcnow
from services.admin.setup_status import record_connection_test, setup_status
from services.email.branding import effective_branding
from services.email.i18n import LANGUAGES, negotiate
from services.email.welcome_email import TEMPLATE_DATA_FIELDS, preview_welcome
from services.errors import NotFoundError, ServiceError, ValidationError
from services.integrations.registry import (
    create_integration,
    get_integration,
    integrations_with_token_counts,
    rename_integration,
    set_branding,
)
from services.integrations.scim_tokens import create_token, list_tokens, revoke_token
from services.okta import reconciliation
from services.okta.connection import check_okta_connection, okta_ready
from services.okta.hook_secrets import rotate_hook_secret
from services.okta.org_settings import configure_okta
from services.platform.audit import Actor
from services.platform.settings import encryptor

# What the event hook must subscribe to, with the names Okta's event picker shows
# (docs/okta.md §3.6).
HOOK_EVENT_TYPES = (
    ("user.lifecycle.deactivate", "Deactivate Okta user"),
    ("user.lifecycle.reactivate", "Reactivate Okta user"),
    ("user.lifecycle.activate", "Activate Okta user"),
    ("user.lifecycle.suspend", "Suspend Okta user"),
    ("user.lifecycle.unsuspend", "Unsuspend Okta user"),
    ("user.lifecycle.delete.initiated", "Delete Okta user initiated"),
    ("user.account.update_profile", "Update user profile for Okta"),
    ("application.user_membership.add", "Add user to application membership"),
    ("application.user_membership.remove", "Remove user from application membership"),
)
OKTA_SCOPES = "okta.groups.manage okta.users.read okta.apps.read okta.logs.read"
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français"}
# The preview is an email: inline styles and https images, nothing that runs, nothing that
# navigates; only our own pages may frame it. The sandbox keeps our origin only so that the
# page's script can read the email's height to size the frame; with no script allowed in
# the email, that gives the email nothing.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox allow-same-origin"
)


def _actor() -> Actor:
    admin = current_admin()
    return Actor("admin", admin.email if admin else None)


def _integration(integration_id: str) -> Integration:
    """The integration with this id (not name), or a 404."""
    try:
        integration = get_integration(integration_id)
    except NotFoundError:
        abort(404)
    if integration.id != integration_id:
        abort(404)
    return integration


def _back(integration: Integration) -> ResponseReturnValue:
    """Post/Redirect/Get to the integration page, where the flashed message shows."""
    return redirect(url_for("admin.integration", integration_id=integration.id, _anchor="main"))


ONE_TIME_SECRET = "one_time_secret"  # noqa: S105 (the session key, not a secret)


def _show_secret_once(integration: Integration, kind: str, secret: str, anchor: str) -> Any:
    """Post/redirect/get: keep the new secret (encrypted, as the session is a cookie) for
    the next page view only, so a reload shows the page instead of making another secret."""
    session[ONE_TIME_SECRET] = {
        "integration": integration.id,
        "kind": kind,
        "value": encryptor().encrypt(secret),
    }
    return redirect(url_for("admin.integration", integration_id=integration.id, _anchor=anchor))


def _take_secret(integration: Integration) -> dict[str, str]:
    """The secret waiting to be shown on this integration's page, removed from the session."""
    kept = session.get(ONE_TIME_SECRET)
    if not isinstance(kept, dict) or kept.get("integration") != integration.id:
        return {}
    session.pop(ONE_TIME_SECRET, None)
    kind = {"token": "new_token", "hook": "hook_secret"}.get(str(kept.get("kind")))
    return {kind: encryptor().decrypt(str(kept["value"]))} if kind else {}


def _page(integration: Integration, status: int = 200, **overrides: Any) -> tuple[str, int]:
    """Render the integration page; ``overrides`` replace forms or add a one-time secret."""
    language = negotiate(request.args.get("lang"))
    subject, _, text = preview_welcome(integration, language)
    now = utcnow()
    previous_until = integration.hook_secret_previous_expires
    context: dict[str, Any] = {
        "integration": integration,
        "scim_url": scim_base_url(),
        "hook_url": base_url() + url_for("okta_hooks.deliver", integration_id=integration.id),
        "origin": base_url(),
        "tokens": list_tokens(integration),
        "hook_previous_until": previous_until if previous_until and previous_until > now else None,
        "okta_problem": okta_ready(integration),
        "setup": setup_status(integration),
        "placeholder_stores": effective_branding(integration).placeholder_store_links,
        "credential_set": bool(integration.okta_secret),
        "event_types": HOOK_EVENT_TYPES,
        "okta_scopes": OKTA_SCOPES,
        "reconciliation": reconciliation.last_report(integration),
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
        "preview_language": language,
        "preview_subject": subject,
        "preview_text": text,
        "template_data_fields": TEMPLATE_DATA_FIELDS,
        "name_form": IntegrationNameForm(formdata=None, data={"name": integration.name}),
        "token_form": TokenForm(formdata=None),
        "okta_form": OktaSettingsForm.for_integration(integration),
        "branding_form": BrandingForm(formdata=None, data=integration.branding or {}),
        "new_token": None,
        "hook_secret": None,
    }
    context.update(overrides)
    return render_template("admin/integrations/show.html", **context), status


@bp.get("/integrations")
def integrations() -> ResponseReturnValue:
    """All integrations: Okta org, health, live tokens, last SCIM request."""
    rows = integrations_with_token_counts()
    statuses = {integration.id: setup_status(integration) for integration, _ in rows}
    return render_template("admin/integrations/list.html", rows=rows, statuses=statuses)


@bp.route("/integrations/new", methods=["GET", "POST"])
def integration_new() -> ResponseReturnValue:
    """Create an integration, then continue on its page."""
    form = IntegrationNameForm()
    if form.validate_on_submit():
        try:
            integration = create_integration(form.name.data or "", _actor())
        except ServiceError as exc:
            form.name.errors = [str(exc)]
        else:
            flash(f"Created {integration.name}. Follow the steps below to connect Okta.")
            return _back(integration)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/integrations/new.html", form=form), status


@bp.get("/integrations/<integration_id>")
def integration(integration_id: str) -> ResponseReturnValue:
    """Everything the Okta admin needs, in the order of the steps in Okta; a secret just
    created shows here once, in a page that is never cached."""
    integration = _integration(integration_id)
    if integration.deleting_at is not None:
        return redirect(url_for("admin.integration_delete", integration_id=integration.id))
    secret = _take_secret(integration)
    response = make_response(_page(integration, 200, **secret))
    if secret:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/integrations/<integration_id>/name")
def integration_edit(integration_id: str) -> ResponseReturnValue:
    """Rename the integration."""
    integration = _integration(integration_id)
    form = IntegrationNameForm()
    if form.validate_on_submit():
        try:
            rename_integration(integration, form.name.data or "", _actor())
        except ServiceError as exc:
            form.name.errors = [str(exc)]
        else:
            flash("Renamed.")
            return _back(integration)
    return _page(integration, 400, name_form=form)


@bp.post("/integrations/<integration_id>/tokens")
def integration_token_create(integration_id: str) -> ResponseReturnValue:
    """Issue a SCIM token and show it this once."""
    integration = _integration(integration_id)
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(integration, 400, token_form=form)
    _, plaintext = create_token(integration, form.label.data or "", _actor())
    return _show_secret_once(integration, "token", plaintext, "tokens")


@bp.post("/integrations/<integration_id>/tokens/<int:token_id>/revoke")
def integration_token_revoke(integration_id: str, token_id: int) -> ResponseReturnValue:
    """Revoke one of this integration's tokens (another integration's is a 404)."""
    integration = _integration(integration_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        token = revoke_token(token_id, integration, _actor())
    except NotFoundError:
        abort(404)
    flash(f"Revoked the token {token.prefix}…; Okta can no longer use it.")
    return _back(integration)


@bp.post("/integrations/<integration_id>/hook-secret")
def integration_hook_secret(integration_id: str) -> ResponseReturnValue:
    """Generate or rotate the event-hook secret and show it this once."""
    integration = _integration(integration_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    secret = rotate_hook_secret(integration, _actor())
    return _show_secret_once(integration, "hook", secret, "event-hook")


@bp.post("/integrations/<integration_id>/okta")
def integration_okta(integration_id: str) -> ResponseReturnValue:
    """Save the Okta org URL, passwordless group and API credential."""
    integration = _integration(integration_id)
    form = OktaSettingsForm()
    changes = form.changes(integration) if form.validate_on_submit() else None
    if changes is not None:
        try:
            configure_okta(integration, actor=_actor(), **changes)
        except ValidationError as exc:
            form.add_service_error(str(exc))
        else:
            flash("Saved the Okta settings. Use “Test connection” to check them.")
            return _back(integration)
    return _page(integration, 400, okta_form=form)


@bp.post("/integrations/<integration_id>/okta/test")
def integration_test(integration_id: str) -> ResponseReturnValue:
    """Try the Okta credential and group; the reason shows as a message."""
    integration = _integration(integration_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    check = check_okta_connection(integration)
    record_connection_test(integration, check)
    if check.ok:
        flash(f"Connection test passed: {check.reason}")
    else:
        flash(f"Connection test failed: {check.reason}", "error")
    return _back(integration)


@bp.post("/integrations/<integration_id>/branding")
def integration_branding(integration_id: str) -> ResponseReturnValue:
    """Save the branding of the welcome email and the landing page."""
    integration = _integration(integration_id)
    form = BrandingForm()
    branding = form.load() if form.validate_on_submit() else None
    if branding is None:
        return _page(integration, 400, branding_form=form)
    set_branding(integration, branding, _actor())
    flash("Saved the branding. The preview below shows the welcome email with it.")
    return redirect(url_for("admin.integration", integration_id=integration.id, _anchor="branding"))


@bp.get("/integrations/<integration_id>/preview")
def integration_preview(integration_id: str) -> ResponseReturnValue:
    """The welcome email's HTML for a sample user, framed by the integration page.

    With ``draft=1`` the branding comes from the other query parameters (the form as the
    admin types, sent by the page's script), not from what is saved.
    """
    integration = _integration(integration_id)
    draft = request.args.to_dict() if request.args.get("draft") == "1" else None
    _, html, _ = preview_welcome(integration, negotiate(request.args.get("lang")), draft)
    response = make_response(html)
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
