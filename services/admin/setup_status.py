"""An integration's setup checklist and the one health verdict derived from it.

The integration page's checklist, the integrations list and the dashboard all call
``setup_status``, so they never disagree: the verdict is computed from the same steps the
checklist shows (SCIM token, first SCIM request, hook verified, Okta API tested, group set,
last reconciliation, mail delivery) plus the worker's own ``unhealthy_reason``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from flask import current_app
from peewee import fn

from models import HookDelivery, Integration, Invitation, ScimToken, utcnow
from services.okta import reconciliation
from services.okta.connection import okta_ready
from services.okta.connection_check import ConnectionCheck

DONE: Final = "done"
WAITING: Final = "waiting"
FAILED: Final = "failed"
# What a sent email is called when the console mailer printed it (no SENDGRID_API_KEY).
PRINTED: Final = "printed (not delivered)"
# Which steps the health verdict reads (the rest only show progress).
HEALTH_STEPS: Final = frozenset(
    {"token", "first_request", "hook_verified", "okta_tested", "group", "reconciled", "mail"}
)


@dataclass(frozen=True)
class Step:
    """One setup step: whether it is done, waiting or failed, since when, and where to act."""

    key: str
    label: str
    state: str
    detail: str
    anchor: str
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Health:
    """The verdict shown everywhere: ``ok``, ``setup incomplete`` or ``unhealthy``."""

    verdict: str
    badge: str  # ok, waiting, problem (the CSS badge)
    reason: str


@dataclass(frozen=True)
class SetupStatus:
    """The checklist of one integration and its health."""

    steps: list[Step]
    health: Health

    @property
    def done(self) -> int:
        """How many steps are done."""
        return sum(step.state == DONE for step in self.steps)

    @property
    def total(self) -> int:
        """How many steps there are."""
        return len(self.steps)


def mail_is_delivered() -> bool:
    """Whether welcome emails leave the machine: false for the console mailer (chosen when
    no SENDGRID_API_KEY is set), which only prints them."""
    return getattr(current_app.extensions.get("mailer"), "name", "console") != "console"


def is_printed(invitation: Invitation) -> bool:
    """Whether this invitation's "sent" email was only printed by the console mailer."""
    return invitation.email_status == "sent" and (invitation.message_id or "").startswith(
        "console-"
    )


def email_status_label(invitation: Invitation) -> str:
    """The invitation's email status as the admin pages name it."""
    return PRINTED if is_printed(invitation) else str(invitation.email_status)


def note_hook_verified(integration_id: str) -> None:
    """Okta verified the event hook (its one-time GET with a challenge)."""
    Integration.update(hook_verified_at=utcnow()).where(Integration.id == integration_id).execute()


def record_connection_test(integration: Integration, check: ConnectionCheck) -> None:
    """Keep the outcome of "Test connection" for the checklist (None as error: it passed)."""
    integration.okta_tested_at = utcnow()
    integration.okta_test_error = None if check.ok else check.reason[:1000]
    Integration.update(
        okta_tested_at=integration.okta_tested_at, okta_test_error=integration.okta_test_error
    ).where(Integration.id == integration.id).execute()


def _token(integration: Integration) -> Step:
    first = (
        ScimToken.select(fn.MIN(ScimToken.created))
        .where(ScimToken.integration == integration.id, ScimToken.revoked_at.is_null())
        .scalar()
    )
    if first:
        return Step("token", "SCIM token created", DONE, "An active token exists.", "tokens", first)
    return Step("token", "SCIM token created", WAITING, "Create a token for Okta.", "tokens")


def _first_request(integration: Integration) -> Step:
    label = "Okta's Test API Credentials seen"
    if integration.first_scim_at:
        return Step(
            "first_request",
            label,
            DONE,
            "Okta reached the SCIM API with a valid token.",
            "step-api",
            integration.first_scim_at,
        )
    return Step(
        "first_request",
        label,
        WAITING,
        "In Okta choose Test API Credentials (or Test Connector Configuration).",
        "step-api",
    )


def _hook_verified(integration: Integration) -> Step:
    label = "Event hook verified"
    refused = (
        HookDelivery.select()
        .where(HookDelivery.integration == integration.id, HookDelivery.source == "hook")
        .order_by(HookDelivery.id.desc())
        .first()
    )
    if refused is not None and refused.status == 401:
        return Step(
            "hook_verified",
            label,
            FAILED,
            "Okta's last delivery was refused: its Authorization secret is not this hook's. "
            "Paste the current secret into the event hook in Okta.",
            "event-hook",
            refused.received,
        )
    if not integration.hook_secret_hash:
        return Step(
            "hook_verified", label, WAITING, "Generate the event hook secret.", "event-hook"
        )
    if integration.hook_verified_at:
        return Step(
            "hook_verified",
            label,
            DONE,
            "Okta verified the hook.",
            "event-hook",
            integration.hook_verified_at,
        )
    return Step(
        "hook_verified",
        label,
        WAITING,
        "In Okta, Workflow → Event Hooks: choose Verify on this hook.",
        "event-hook",
    )


def _first_event(integration: Integration) -> Step:
    first = (
        HookDelivery.select(fn.MIN(HookDelivery.received))
        .where(
            HookDelivery.integration == integration.id,
            HookDelivery.source == "hook",
            HookDelivery.status == 200,
            HookDelivery.events > 0,
        )
        .scalar()
    )
    if first:
        return Step(
            "first_event", "First event received", DONE, "Okta delivers events.", "step-hook", first
        )
    return Step(
        "first_event",
        "First event received",
        WAITING,
        "Arrives with the first change in Okta after the hook is active.",
        "step-hook",
    )


def _okta_tested(integration: Integration) -> Step:
    label = "Okta API credential tested"
    missing = okta_ready(integration) if not integration.unhealthy_reason else None
    if missing:
        return Step("okta_tested", label, WAITING, f"{missing}.", "okta-api")
    if integration.unhealthy_reason:
        return Step(
            "okta_tested",
            label,
            FAILED,
            integration.unhealthy_reason,
            "okta-api",
            integration.unhealthy_since,
        )
    if integration.okta_tested_at and integration.okta_test_error:
        return Step(
            "okta_tested",
            label,
            FAILED,
            f"Test connection failed: {integration.okta_test_error}",
            "okta-api",
            integration.okta_tested_at,
        )
    if integration.okta_tested_at:
        return Step(
            "okta_tested",
            label,
            DONE,
            "Test connection passed.",
            "okta-api",
            integration.okta_tested_at,
        )
    return Step(
        "okta_tested", label, WAITING, "Choose Test connection under Okta API settings.", "okta-api"
    )


def _group(integration: Integration) -> Step:
    if integration.group_id:
        return Step("group", "Passwordless group set", DONE, integration.group_id, "okta-api")
    return Step(
        "group", "Passwordless group set", WAITING, "Paste the group's address or ID.", "okta-api"
    )


def _app_id(integration: Integration) -> Step:
    if integration.okta_app_id:
        return Step("app_id", "Okta app ID set", DONE, integration.okta_app_id, "okta-api")
    return Step(
        "app_id",
        "Okta app ID set",
        WAITING,
        "Recommended: unassigning from the app then offboards even with Deactivate Users off.",
        "okta-api",
    )


def _reconciled(integration: Integration) -> Step:
    label = "First reconciliation"
    report = reconciliation.last_report(integration)
    if report is None:
        return Step(
            "reconciled",
            label,
            WAITING,
            "The worker compares the Okta group with the enrolled users once the API works.",
            "okta-api",
        )
    if report.get("error"):
        return Step(
            "reconciled",
            label,
            FAILED,
            f"The last pass failed: {report['error']}",
            "okta-api",
            integration.reconciled_at,
        )
    return Step(
        "reconciled", label, DONE, "The group was compared.", "okta-api", integration.reconciled_at
    )


def _mail(integration: Integration) -> Step:
    label = "First welcome email delivered"
    invitations = Invitation.select().where(Invitation.integration == integration.id)
    delivered = invitations.where(Invitation.email_status == "delivered")
    first = delivered.select(fn.MIN(Invitation.email_status_at)).scalar()
    if not mail_is_delivered():
        return Step(
            "mail",
            label,
            WAITING,
            "Mail is printed, not delivered: no SENDGRID_API_KEY is set.",
            "branding",
        )
    newest = invitations.where(Invitation.email_status.in_(["sent", "delivered", "failed"]))
    latest = newest.order_by(Invitation.email_status_at.desc()).first()
    if latest is not None and latest.email_status == "failed":
        return Step(
            "mail",
            label,
            FAILED,
            f"The newest welcome email failed: {latest.last_error or 'refused by SendGrid'}",
            "branding",
            latest.email_status_at,
        )
    if first:
        return Step("mail", label, DONE, "SendGrid reported a delivery.", "branding", first)
    return Step(
        "mail",
        label,
        WAITING,
        "Waits for SendGrid's first delivered event (its event webhook must be set up).",
        "branding",
    )


def _health(integration: Integration, steps: list[Step]) -> Health:
    relevant = [step for step in steps if step.key in HEALTH_STEPS]
    failed = [step for step in relevant if step.state == FAILED]
    if integration.unhealthy_reason:
        since = integration.unhealthy_since
        when = f" (since {since:%Y-%m-%d %H:%M:%S} UTC)" if since else ""
        return Health("unhealthy", "problem", integration.unhealthy_reason + when)
    if failed:
        return Health("unhealthy", "problem", f"{failed[0].label}: {failed[0].detail}")
    # Mail that SendGrid sends is healthy before its first "delivered" event arrives (its
    # event webhook is optional); printed mail is not.
    waiting = [
        step
        for step in relevant
        if step.state == WAITING and not (step.key == "mail" and mail_is_delivered())
    ]
    if waiting:
        problem = okta_ready(integration)
        reason = f"{waiting[0].label}: {waiting[0].detail}"
        if problem and any(step.key in {"okta_tested", "group"} for step in waiting):
            reason = f"{problem}; group changes wait until it is."
        return Health("setup incomplete", "waiting", reason)
    return Health("ok", "ok", "Every check passes; group changes and welcome emails go out.")


def setup_status(integration: Integration) -> SetupStatus:
    """The checklist (in the order of the setup) and the health verdict of an integration."""
    steps = [
        _token(integration),
        _first_request(integration),
        _hook_verified(integration),
        _first_event(integration),
        _okta_tested(integration),
        _group(integration),
        _app_id(integration),
        _reconciled(integration),
        _mail(integration),
    ]
    return SetupStatus(steps=steps, health=_health(integration, steps))
