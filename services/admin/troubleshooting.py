"""Answers to what support gets asked: "no welcome email", "cannot enroll"."""

from __future__ import annotations

from dataclasses import dataclass

from models import GroupSync, Integration, Invitation, User, utcnow
from services.admin.setup_status import is_printed
from services.okta.connection import okta_ready

EMAIL_ANSWERS = {
    "queued": ("waiting", "The welcome email is queued and will be sent shortly."),
    "sending": ("waiting", "The welcome email is being sent."),
    "sent": ("ok", "The welcome email was handed to the mail provider."),
    "processed": ("ok", "The mail provider accepted the welcome email."),
    "delivered": ("ok", "The welcome email was delivered to the user's mail server."),
    "deferred": ("waiting", "Delivery was deferred by the receiving server; it is retried."),
    "bounced": ("problem", "The welcome email bounced: check the address, then resend."),
    "dropped": ("problem", "The mail provider dropped the email (e.g. a previous bounce)."),
    "spamreport": ("problem", "The user marked the welcome email as spam."),
    "unsubscribed": ("problem", "The user unsubscribed from these emails."),
    "failed": ("problem", "Sending failed permanently."),
    "cancelled": ("info", "The email was cancelled before it went out."),
}


@dataclass(frozen=True)
class Finding:
    """One question, its answer, and whether that answer is a problem."""

    question: str
    answer: str
    severity: str  # ok, info, waiting, problem


def _status(user: User) -> Finding:
    question = "Is the user assigned and active in our records?"
    if user.state == "deleted":
        return Finding(question, "No: the user was deleted (only a tombstone is kept).", "problem")
    if user.state == "deactivated":
        return Finding(
            question, "No: the user is deactivated (unassigned or deactivated in Okta).", "problem"
        )
    if user.state == "suspended":
        return Finding(
            question,
            "The user is suspended in Okta: sign-in and enrollment are blocked.",
            "problem",
        )
    if user.state == "enrolled":
        return Finding(
            question, f"Yes, and enrolled on {user.enrolled_at:%Y-%m-%d %H:%M} UTC.", "ok"
        )
    return Finding(question, "Yes: invited, waiting for the user to enroll.", "ok")


def _email(invitation: Invitation | None, user: User) -> Finding:
    question = "Was the welcome email sent?"
    if invitation is None:
        if user.state in {"invited"}:
            return Finding(question, "No invitation exists for this user.", "problem")
        return Finding(question, "No welcome email was needed.", "info")
    if is_printed(invitation):
        return Finding(
            question,
            "No: the welcome email was printed to the server's log by the console mailer, not "
            "sent, because no SENDGRID_API_KEY is set. Nobody received it "
            f"(it was meant for {user.email or 'no address'}).",
            "problem",
        )
    severity, answer = EMAIL_ANSWERS.get(invitation.email_status, ("info", invitation.email_status))
    if invitation.last_error and severity != "ok":
        answer += f" Reason: {invitation.last_error}"
    return Finding(question, f"{answer} (to {user.email or 'no address'})", severity)


# What to do in Okta when the user's state, not the link, is the reason it cannot be used: no
# resend helps until Okta brings the user back (docs/okta.md §1.2, the README's lifecycle).
OKTA_ACTIONS = {
    "suspended": (
        "No: the user is suspended in Okta. In Okta, Directory → People → the user → More "
        "Actions → Unsuspend; the event hook then brings them back, with a new link if they "
        "had not enrolled."
    ),
    "deactivated": (
        "No: the user is deactivated or unassigned. In Okta, assign the user to the app again "
        "(Applications → the app → Assignments), or reactivate them (Directory → People → the "
        "user → Activate) if they are deactivated; Okta's SCIM update then emails a new link."
    ),
    "deleted": (
        "No: the user was deleted in Okta, which is final. Create the person again in Okta and "
        "assign the app: they are provisioned as a new user with a new link."
    ),
}


def _link(invitation: Invitation | None, user: User) -> Finding:
    question = "Can the enrollment link still be used?"
    if invitation is None:
        if user.state in OKTA_ACTIONS:
            return Finding(question, OKTA_ACTIONS[user.state], "problem")
        return Finding(question, "There is no link.", "info")
    if invitation.used_at:
        return Finding(question, f"It was used on {invitation.used_at:%Y-%m-%d %H:%M} UTC.", "ok")
    if user.state in OKTA_ACTIONS:
        return Finding(question, OKTA_ACTIONS[user.state], "problem")
    if invitation.revoked_at:
        return Finding(
            question,
            f"No: it was revoked ({invitation.revoked_reason}). Resend the email.",
            "problem",
        )
    if invitation.expires_at <= utcnow():
        return Finding(question, "No: it expired. Resend the welcome email.", "problem")
    return Finding(question, f"Yes, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC.", "ok")


def _group(user: User, integration: Integration) -> Finding:
    question = "Is the Okta group membership right?"
    sync = GroupSync.get_or_none(GroupSync.user == user.id)
    if sync is None:
        return Finding(question, "The user has never been added to the passwordless group.", "info")
    if sync.status == "done":
        where = "in" if sync.confirmed == "in" else "out of"
        return Finding(question, f"Yes: Okta confirmed the user is {where} the group.", "ok")
    reason = sync.last_error or okta_ready(integration) or ""
    if sync.status == "pending":
        return Finding(
            question, f"A change ({sync.desired}) is pending. {reason}".strip(), "waiting"
        )
    return Finding(
        question, f"The group change ({sync.desired}) is {sync.status}: {reason}", "problem"
    )


def diagnose(user: User) -> list[Finding]:
    """The troubleshooting panel for one user."""
    integration = Integration.get_by_id(user.integration_id)
    invitation = (
        Invitation.select().where(Invitation.user == user.id).order_by(Invitation.id.desc()).first()
    )
    return [
        _status(user),
        _email(invitation, user),
        _link(invitation, user),
        _group(user, integration),
    ]
