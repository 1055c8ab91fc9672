"""Compose the welcome email that carries a user's enrollment link."""

from __future__ import annotations

from models import Integration, Invitation, User
from services.mailer import MailPermanentError, OutgoingEmail
from services.settings import setting


def enrollment_link(invitation: Invitation, token: str) -> str:
    """The absolute enrollment link for an invitation.

    :raises MailPermanentError: when no public origin is known (set PUBLIC_BASE_URL).
    """
    base = setting("PUBLIC_BASE_URL") or invitation.base_url or _previous_base(invitation)
    if not base:
        raise MailPermanentError("no public URL is known for enrollment links: set PUBLIC_BASE_URL")
    return f"{base.rstrip('/')}/enroll/{token}"


def _previous_base(invitation: Invitation) -> str | None:
    earlier = (
        Invitation.select(Invitation.base_url)
        .where(Invitation.user == invitation.user_id, Invitation.base_url.is_null(False))
        .order_by(Invitation.id.desc())
        .first()
    )
    return earlier.base_url if earlier else None


def compose_welcome(
    invitation: Invitation, user: User, integration: Integration, token: str
) -> OutgoingEmail:
    """The welcome email for one invitation."""
    link = enrollment_link(invitation, token)
    name = user.given_name or user.display_name or user.user_name or ""
    product = setting("MAIL_PRODUCT_NAME")
    text = (
        f"Hello {name},\n\n"
        f"You have been invited to set up {product}, the sign-in app for {integration.name}.\n"
        f"Open this link on your phone to install it and finish setting up:\n\n{link}\n\n"
        f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n"
    )
    html = (
        f"<p>Hello {_escape(name)},</p>"
        f"<p>You have been invited to set up {_escape(product)}.</p>"
        f'<p><a href="{_escape(link)}">Set up {_escape(product)}</a></p>'
    )
    return OutgoingEmail(
        invitation_id=invitation.id,
        to_email=user.email or "",
        to_name=user.display_name,
        from_email=setting("MAIL_FROM_EMAIL"),
        from_name=setting("MAIL_FROM_NAME"),
        reply_to=None,
        subject=f"Set up {product}",
        text=text,
        html=html,
        secrets=(token,),
    )


def _escape(value: str) -> str:
    from markupsafe import escape

    return str(escape(value))
