"""Compose the welcome email that carries a user's enrollment link, branded and localised.

Rendered with a standalone Jinja environment, not Flask's ``render_template``: the worker
composes emails outside any request. HTML templates autoescape; the text part does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models import Integration, Invitation, User, utcnow
from services.email.branding import Branding, draft_branding, effective_branding
from services.email.email_headers import address_problem, header_text
from services.email.enrollment_links import link_url
from services.email.i18n import format_datetime, negotiate, translate, translator
from services.email.mailer import MailPermanentError, OutgoingEmail
from services.platform.settings import configured_base_url, hours, public_base_url

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
HTML_TEMPLATE = "email/welcome.html"
TEXT_TEMPLATE = "email/welcome.txt"

# Who the preview shows the email to: nobody real, and no database row.
PREVIEW_FIRST_NAME = "Alex"
PREVIEW_DISPLAY_NAME = "Alex Example"
PREVIEW_TOKEN = "enr_preview-not-a-real-link"  # noqa: S105 (a placeholder, not a secret)
PREVIEW_BASE_URL = "https://onboard.example.com"

# What each field of ``welcome_fields`` holds, for whoever writes a SendGrid dynamic template
# (shown beside the template id on the branding form, and in README.md): every field is
# sent, as null when unknown.
TEMPLATE_DATA_FIELDS: dict[str, str] = {
    "subject": "The subject line, in the email's language. Set the template's subject to "
    "{{subject}}.",
    "language": "The email's language: en, de or fr (from the user's preferredLanguage or locale).",
    "first_name": "The user's given name (null when Okta sent none).",
    "display_name": "The user's display name (null when Okta sent none).",
    "product_name": "The app's name from the branding, else “the authenticator app” in the "
    "email's language.",
    "company_name": "The company name from the branding, else the integration's name.",
    "enrollment_link": "The user's personal enrollment link (absolute; it works once).",
    "expires_at": "When the link expires, in UTC: ISO 8601, e.g. 2025-01-31T09:00:00Z.",
    "expires_at_text": "The same moment written out in the email's language.",
    "app_store_url": "The App Store link for the app.",
    "play_store_url": "The Google Play link for the app.",
    "logo_url": "The logo's https:// URL (null when none is set).",
    "brand_color": "The brand colour, e.g. #1d4ed8.",
    "brand_text_color": "White or near-black: the text colour that reads on brand_color.",
    "link_color": "The brand colour if it reads on white, else a default blue: for links.",
    "support_email": "Where to ask for help: the support address, else the reply-to "
    "(null when neither is set).",
    "sender_name": "The sender's name.",
    "intro": "The branding's intro paragraph(s), plain text (null when none is set).",
}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def enrollment_link(invitation: Invitation, token: str) -> str:
    """The absolute enrollment link for an invitation.

    :raises MailPermanentError: when no public origin is known (set PUBLIC_BASE_URL).
    """
    base = configured_base_url() or invitation.base_url or _previous_base(invitation)
    if not base:
        raise MailPermanentError("no public URL is known for enrollment links: set PUBLIC_BASE_URL")
    return link_url(base, token)


def _previous_base(invitation: Invitation) -> str | None:
    earlier = (
        Invitation.select(Invitation.base_url)
        .where(Invitation.user == invitation.user_id, Invitation.base_url.is_null(False))
        .order_by(Invitation.id.desc())
        .first()
    )
    return earlier.base_url if earlier else None


def welcome_fields(
    branding: Branding,
    language: str,
    *,
    first_name: str | None,
    display_name: str | None,
    link: str,
    expires_at: dt.datetime,
) -> dict[str, Any]:
    """What the welcome email says, as named fields: our templates and SendGrid's use the same."""
    product = branding.product(language)
    company = branding.company_name
    if company:
        subject = translate(language, "email.subject", product=product, company=company)
    else:
        subject = translate(language, "email.subject_no_company", product=product)
    return {
        "language": language,
        "subject": subject,
        "first_name": first_name,
        "display_name": display_name,
        "product_name": product,
        "company_name": company,
        "enrollment_link": link,
        "expires_at": expires_at.replace(tzinfo=None).isoformat(timespec="seconds") + "Z",
        "expires_at_text": format_datetime(expires_at, language),
        "app_store_url": branding.app_store_url,
        "play_store_url": branding.play_store_url,
        "logo_url": branding.logo_url,
        "brand_color": branding.brand_color,
        "brand_text_color": branding.on_brand_color,
        "link_color": branding.link_color,
        "support_email": branding.support_contact,
        "sender_name": branding.sender_name,
        "intro": branding.intro_for(language),
    }


def _paragraphs(text: str | None) -> list[str]:
    if not text:
        return []
    blocks = text.replace("\r\n", "\n").split("\n\n")
    return [" ".join(line.strip() for line in block.splitlines()) for block in blocks if block]


def render_welcome(fields: dict[str, Any], branding: Branding) -> tuple[str, str, str]:
    """Subject, HTML and plain text of the welcome email from its fields."""
    language = fields["language"]
    context = {
        **fields,
        "intro_paragraphs": _paragraphs(fields["intro"]),
        "greeting_name": fields["first_name"] or fields["display_name"],
        "heading": branding.heading(language),
    }
    html = _env.get_template(HTML_TEMPLATE).render(context, t=translator(language, markup=True))
    text = _env.get_template(TEXT_TEMPLATE).render(context, t=translator(language))
    return fields["subject"], html, text


def compose_welcome(
    invitation: Invitation, user: User, integration: Integration, token: str
) -> OutgoingEmail:
    """The welcome email for one invitation, in the user's language and the integration's brand.

    :raises MailPermanentError: when no public origin is known for the link, or the user's
        address is not one valid email address.
    """
    if problem := address_problem(user.email):
        raise MailPermanentError(problem)
    branding = effective_branding(integration)
    language = negotiate(user.preferred_language, user.locale)
    fields = welcome_fields(
        branding,
        language,
        first_name=user.given_name,
        display_name=user.display_name,
        link=enrollment_link(invitation, token),
        expires_at=invitation.expires_at,
    )
    subject, html, text = render_welcome(fields, branding)
    return OutgoingEmail(
        invitation_id=invitation.id,
        to_email=user.email or "",
        to_name=header_text(user.display_name),
        from_email=branding.sender_email,
        from_name=header_text(branding.sender_name),
        reply_to=branding.reply_to,
        subject=header_text(subject) or "",
        text=text,
        html=html,
        # With a dynamic template SendGrid renders the email from these fields; our own
        # rendering still travels along for the console mailer and the admin pages.
        template_id=branding.sendgrid_template_id,
        template_data=fields if branding.sendgrid_template_id else {},
        secrets=(token,),
    )


def preview_welcome(
    integration: Integration, language: str = "en", draft: Mapping[str, Any] | None = None
) -> tuple[str, str, str]:
    """Subject, HTML and text of the integration's welcome email for a sample user, with
    its saved branding or with ``draft`` (form values not yet saved).

    Always our own templates (a SendGrid dynamic template renders only at SendGrid); the
    link is a placeholder that opens nothing.
    """
    language = negotiate(language)
    branding = (
        draft_branding(integration, draft) if draft is not None else effective_branding(integration)
    )
    fields = welcome_fields(
        branding,
        language,
        first_name=PREVIEW_FIRST_NAME,
        display_name=PREVIEW_DISPLAY_NAME,
        link=link_url(public_base_url() or PREVIEW_BASE_URL, PREVIEW_TOKEN),
        expires_at=utcnow() + hours("ENROLLMENT_TOKEN_TTL_HOURS"),
    )
    return render_welcome(fields, branding)
