"""The mailer interface and its console and recording implementations.

Composition (what the welcome email says) lives in ``services.email.welcome_email``; a mailer
only delivers an ``OutgoingEmail``. Which mailer runs is chosen by configuration.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.email.email_headers import escape_controls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingEmail:
    """One email to send, fully composed."""

    invitation_id: int
    to_email: str
    to_name: str | None
    from_email: str
    from_name: str | None
    reply_to: str | None
    subject: str
    text: str
    html: str
    categories: tuple[str, ...] = ("welcome",)
    template_id: str | None = None
    template_data: dict[str, Any] = field(default_factory=dict)
    # Secrets in the body (the enrollment token) that must never reach a log.
    secrets: tuple[str, ...] = ()

    def redacted(self, text: str) -> str:
        """``text`` with every secret cut to a short prefix."""
        for secret in self.secrets:
            text = text.replace(secret, secret[:8] + "…")
        return text


class MailError(Exception):
    """Sending failed."""


class MailTransientError(MailError):
    """Try again later (rate limited, provider down); ``retry_after`` in seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MailInDoubtError(MailTransientError):
    """The request went out but no answer came back: the message may have been accepted.

    Such an email is not simply retried; it is settled the way a crashed send is (by the
    provider's records or its delivery events) before anything is sent again.
    """


class MailPermanentError(MailError):
    """The provider refused the message; retrying will not help (bad key, bad address)."""


class SentLookupUnavailableError(MailError):
    """The provider cannot tell whether a message was sent."""


class Mailer(Protocol):
    """Delivers composed emails."""

    name: str
    # True when ``find_sent`` answers from a complete record (no lag): "not found" then
    # means "not sent" and the email can go out again at once.
    authoritative_lookup: bool

    def send(self, email: OutgoingEmail) -> str:
        """Send one email; return the provider's message id.

        :raises MailTransientError: retry later.
        :raises MailPermanentError: do not retry.
        """

    def find_sent(self, invitation_id: int) -> str | None:
        """The message id of an email already sent for this invitation, or None.

        Used when a worker died mid-send and it is unknown whether the email went out.

        :raises SentLookupUnavailableError: when the provider cannot tell.
        """


class RecordingMailer:
    """Keeps every email in memory; for tests. ``fail_with`` makes the next sends fail."""

    name = "recording"
    authoritative_lookup = True

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []
        self.fail_with: deque[MailError] = deque()
        self._lock = threading.Lock()
        self._ids: dict[int, str] = {}

    def send(self, email: OutgoingEmail) -> str:
        """Record the email (or raise the next scripted failure)."""
        with self._lock:
            if self.fail_with:
                raise self.fail_with.popleft()
            self.sent.append(email)
            message_id = f"recorded-{len(self.sent)}"
            self._ids[email.invitation_id] = message_id
            return message_id

    def find_sent(self, invitation_id: int) -> str | None:
        """The recorded message id for this invitation, if any."""
        with self._lock:
            return self._ids.get(invitation_id)


class ConsoleMailer:
    """Prints each email instead of sending it: the quick-start default.

    The enrollment link is shortened in what is printed (tokens never reach a log); the
    whole message is kept in the database, encrypted, for the admin pages to show.
    """

    name = "console"
    authoritative_lookup = True

    def send(self, email: OutgoingEmail) -> str:
        """Print the email (secrets shortened) and keep it."""
        from models import EmailMessage
        from services.platform.settings import encryptor

        crypt = encryptor()
        message = EmailMessage.create(
            invitation=email.invitation_id,
            mailer=self.name,
            to_email=email.to_email,
            subject=email.subject,
            text_encrypted=crypt.encrypt(email.text),
            html_encrypted=crypt.encrypt(email.html),
        )
        # Every value is escaped onto its own line and each body line is quoted with "| ",
        # so nothing from a user (a name with CRLF) can forge a header or a log line.
        body = email.redacted(email.text).replace("\r\n", "\n").split("\n")
        log.info(
            "welcome email (console mailer, not sent)\nTo: %s <%s>\nSubject: %s\n%s",
            escape_controls(email.to_name or ""),
            escape_controls(email.to_email),
            escape_controls(email.subject),
            "\n".join("| " + escape_controls(line) for line in body),
        )
        return f"console-{message.id}"

    def find_sent(self, invitation_id: int) -> str | None:
        """The kept copy's id, if this invitation's email was printed."""
        from models import EmailMessage

        kept = EmailMessage.get_or_none(EmailMessage.invitation == invitation_id)
        return f"console-{kept.id}" if kept else None
