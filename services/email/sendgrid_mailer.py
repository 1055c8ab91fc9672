"""The SendGrid mailer: delivers welcome emails through SendGrid's v3 Mail Send API.

Built on the official ``sendgrid`` library (its ``helpers.mail`` builders and the
``python_http_client`` transport under ``SendGridAPIClient``). The library raises
``python_http_client.exceptions.HTTPError`` subclasses for non-2xx answers and lets urllib's
``OSError``s through for network failures; this module turns both into the mailer protocol's
``MailTransientError`` / ``MailPermanentError``, with SendGrid's own words in the message and
never the API key or the enrollment link.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urlsplit

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Category,
    Content,
    CustomArg,
    From,
    Mail,
    ReplyTo,
    Subject,
    TemplateId,
    To,
)

from services.email.mailer import (
    MailInDoubtError,
    MailPermanentError,
    MailTransientError,
    OutgoingEmail,
    SentLookupUnavailableError,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "INVITATION_ARG",
    "SendGridMailer",
    "build_request",
    "retry_after",
]

DEFAULT_BASE_URL: Final = "https://api.sendgrid.com"
#: The custom arg that ties a message (and every Event Webhook event about it) to our invitation.
INVITATION_ARG: Final = "invitation_id"

_MAX_MESSAGE: Final = 500  # characters of SendGrid's error text kept in an exception
# 408 (the server gave up waiting for our request) and 429 are worth retrying; SendGrid's
# docs list every other 4xx as a problem with the request or the account.
_RETRYABLE_4XX: Final = frozenset({408, 429})
_HINTS: Final = {
    401: "SendGrid rejected the API key; check SENDGRID_API_KEY",
    403: "the API key may not send mail (it needs the Mail Send permission)",
    413: "the message is too large for SendGrid",
}


class _DropRequestDumps(logging.Filter):
    """python_http_client logs every request's headers and body, and every answer, at DEBUG:
    the headers carry the API key, the body the enrollment link, answers recipients'
    addresses. Only its "<METHOD> Request: <url>" lines get through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return " Request: " in str(record.msg)


_library_log = logging.getLogger("python_http_client.client")
if not any(isinstance(f, _DropRequestDumps) for f in _library_log.filters):
    _library_log.addFilter(_DropRequestDumps())


class SendGridMailer:
    """Sends through SendGrid's v3 API; ``find_sent`` asks its Email Activity API."""

    name = "sendgrid"
    # The Email Activity feed lags behind sends: "not found" is not proof of "not sent".
    authoritative_lookup = False

    def __init__(
        self, api_key: str, base_url: str = DEFAULT_BASE_URL, timeout: float = 10.0
    ) -> None:
        if not api_key:
            raise ValueError("a SendGrid API key is required")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._api_key = api_key
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SendGridMailer(base_url={self.base_url!r}, timeout={self.timeout!r})"

    def _client(self) -> Any:
        # A client per call: python_http_client mutates its shared header dict on each
        # request, which is not safe across the worker's threads; building one is cheap.
        return SendGridAPIClient(api_key=self._api_key, host=self.base_url).client

    # --- sending --------------------------------------------------------------------------

    def send(self, email: OutgoingEmail) -> str:
        """POST one message to /v3/mail/send; return SendGrid's X-Message-Id.

        :raises MailTransientError: 429, 408, 5xx, timeouts and network errors.
        :raises MailPermanentError: any other 4xx, a message SendGrid could never accept, or
            a SENDGRID_BASE_URL that is not a usable URL.
        """
        body = build_request(email)
        if not self._base_url_usable():
            raise MailPermanentError(self._bad_base_url())
        try:
            response = self._client().mail.send.post(request_body=body, timeout=self.timeout)
        except HTTPError as exc:
            raise self._send_error(exc, email) from None
        except (ValueError, http.client.InvalidURL) as exc:
            # urllib refused the URL before connecting; retrying cannot fix the setting.
            raise MailPermanentError(self._bad_base_url(exc)) from None
        except urllib.error.URLError as exc:
            # urllib wraps only failures while connecting or writing the request: SendGrid
            # never had the whole message.
            raise MailTransientError(f"cannot reach SendGrid: {self._describe(exc)}") from None
        except (OSError, http.client.HTTPException) as exc:
            # Raised while waiting for the answer: the request was out, so SendGrid may have
            # accepted it. The retry waits long enough for that message's Event Webhook
            # events to arrive and settle the invitation, instead of sending it again.
            what = (
                f"no answer within {self.timeout:g}s"
                if isinstance(exc, TimeoutError)
                else self._describe(exc)
            )
            raise MailInDoubtError(
                f"SendGrid did not answer ({what}); the message may have been accepted"
            ) from None
        message_id = _header(response.headers, "X-Message-Id")
        return message_id or ""

    def _send_error(self, exc: HTTPError, email: OutgoingEmail) -> Exception:
        status = int(exc.status_code)
        detail = self._scrub(email.redacted(_error_text(exc)))
        hint = _HINTS.get(status)
        message = f"{status}: {detail}" + (f" ({hint})" if hint else "")
        if status == 429:
            return MailTransientError(message, retry_after=retry_after(exc.headers))
        if status >= 500 or status in _RETRYABLE_4XX:
            return MailTransientError(message)
        return MailPermanentError(message)

    # --- in-doubt look-up -----------------------------------------------------------------

    def find_sent(self, invitation_id: int) -> str | None:
        """The msg_id of a message SendGrid holds for this invitation, from Email Activity.

        The Email Activity API is a paid add-on: without it SendGrid answers 403 (or 404).

        :raises SentLookupUnavailableError: when the API is not available or does not answer.
        """
        # Query syntax: query={query_type}="{query_content}", URL-encoded by the client;
        # custom args are searched as unique_args['name'] (SendGrid's Email Activity docs).
        query = f"unique_args['{INVITATION_ARG}']=\"{int(invitation_id)}\""
        if not self._base_url_usable():
            raise SentLookupUnavailableError(self._bad_base_url())
        try:
            response = self._client().messages.get(
                query_params={"limit": 1, "query": query}, timeout=self.timeout
            )
        except (ValueError, http.client.InvalidURL) as exc:
            raise SentLookupUnavailableError(self._bad_base_url(exc)) from None
        except HTTPError as exc:
            status = int(exc.status_code)
            raise SentLookupUnavailableError(
                f"SendGrid Email Activity answered {status}: {self._scrub(_error_text(exc))}"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise SentLookupUnavailableError(
                f"cannot reach SendGrid Email Activity: {self._describe(exc)}"
            ) from None
        try:
            messages = json.loads(response.body or b"{}").get("messages")
        except (ValueError, AttributeError):
            messages = None
        if not isinstance(messages, list):
            raise SentLookupUnavailableError("SendGrid Email Activity sent an unreadable answer")
        for message in messages:
            if isinstance(message, dict) and isinstance(message.get("msg_id"), str):
                return str(message["msg_id"])
        return None

    # --- helpers --------------------------------------------------------------------------

    def _base_url_usable(self) -> bool:
        # Without a scheme urllib raises ValueError; without a host, a URLError that would
        # pass for a network failure and be retried forever.
        parts = urlsplit(self.base_url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)

    def _bad_base_url(self, exc: BaseException | None = None) -> str:
        reason = f" ({self._describe(exc)})" if exc is not None else ""
        return (
            f"SENDGRID_BASE_URL {self.base_url!r} is not a usable URL{reason}; set it to an "
            f"http(s) URL such as {DEFAULT_BASE_URL}"
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]")

    def _describe(self, exc: BaseException) -> str:
        reason = getattr(exc, "reason", None) or exc
        return self._scrub(f"{type(reason).__name__}: {reason}")[:_MAX_MESSAGE]


def build_request(email: OutgoingEmail) -> dict[str, Any]:
    """The v3 Mail Send request body for one email, built with SendGrid's helpers.

    :raises MailPermanentError: when the helpers refuse the message.
    """
    try:
        mail = Mail(from_email=From(email.from_email, email.from_name or None))
        mail.add_to(To(email.to_email, email.to_name or None))
        if email.reply_to:
            mail.reply_to = ReplyTo(email.reply_to)
        if email.template_id:
            mail.template_id = TemplateId(email.template_id)
            # Set after add_to: it lands in personalizations[0], beside the recipient.
            mail.dynamic_template_data = dict(email.template_data)
        else:
            mail.subject = Subject(email.subject)
            # The helper orders text/plain before text/html, as SendGrid requires.
            mail.add_content(Content("text/plain", email.text))
            mail.add_content(Content("text/html", email.html))
        # Custom args must be strings; they come back as top-level keys of webhook events.
        mail.add_custom_arg(CustomArg(INVITATION_ARG, str(email.invitation_id)))
        for category in reversed(email.categories):  # add_category prepends
            mail.add_category(Category(category))
        body: dict[str, Any] = mail.get()
    except Exception as exc:  # the helpers raise ValueError, TypeError, ApiKeyIncludedException
        raise MailPermanentError(
            f"cannot build the SendGrid request: {type(exc).__name__}"
        ) from None
    return body


def retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait from a 429's headers: Retry-After (seconds or an HTTP-date), else
    X-RateLimit-Reset (epoch seconds, what SendGrid's rate-limit docs describe), else None."""
    now = time.time() if now is None else now
    value = _header(headers, "Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - now)
    reset = _header(headers, "X-RateLimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset.strip()) - now)
        except ValueError:
            return None
    return None


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, Mapping):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == lowered), None)
    return str(value) if value is not None else None


def _error_text(exc: HTTPError) -> str:
    """SendGrid's error messages from ``{"errors": [{"message", "field", "help"}]}``."""
    raw = exc.body if isinstance(exc.body, bytes | str) else b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        errors = json.loads(text).get("errors")
    except (ValueError, AttributeError):
        errors = None
    parts: list[str] = []
    if isinstance(errors, list):
        for error in errors:
            if not isinstance(error, dict) or not error.get("message"):
                continue
            part = str(error["message"])
            if error.get("field"):
                part += f" (field {error['field']})"
            parts.append(part)
    if not parts:
        parts.append(str(getattr(exc, "reason", "") or text.strip() or "no details"))
    return "; ".join(parts)[:_MAX_MESSAGE]
