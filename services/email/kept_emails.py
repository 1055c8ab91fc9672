"""Emails the console mailer kept instead of sending, for the admin pages."""

from __future__ import annotations

from dataclasses import dataclass

from models import EmailMessage
from services.platform.settings import encryptor


@dataclass(frozen=True)
class KeptEmail:
    """A printed (not sent) welcome email, decrypted."""

    to_email: str
    subject: str
    text: str
    html: str


def kept_email(invitation_id: int) -> KeptEmail | None:
    """The email kept for an invitation, if the console mailer handled it."""
    message = EmailMessage.get_or_none(EmailMessage.invitation == invitation_id)
    if message is None:
        return None
    crypt = encryptor()
    return KeptEmail(
        to_email=message.to_email,
        subject=message.subject,
        text=crypt.decrypt(message.text_encrypted),
        html=crypt.decrypt(message.html_encrypted),
    )
