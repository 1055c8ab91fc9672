"""A local HTTP server that speaks SendGrid's v3 Mail Send and Email Activity APIs, for tests,
and a signer for SendGrid's signed Event Webhook.

Usage::

    with FakeSendGrid(api_key="SG.test.key") as sendgrid:
        mailer = SendGridMailer("SG.test.key", base_url=sendgrid.url, timeout=1)
        ...
        (message,) = sendgrid.by_invitation(invitation.id)
        assert message.body["subject"] == "Set up the app"

Wire format as SendGrid documents it: ``Authorization: Bearer <key>``; a 202 with an empty
body and an ``X-Message-Id`` header for an accepted message; ``{"errors": [{"message",
"field", "help"}]}`` for refusals, with the Mail Send error texts of SendGrid's docs; Email
Activity (``GET /v3/messages``) answering 403 unless the paid add-on is switched on.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import itertools
import json
import re
import secrets
import select
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testkit import leaks
from testkit.fakes.local_server import FakeHandler, FakeHTTPServer, LocalServer, LoggedRequest

DEFAULT_API_KEY = "SG.fake-key-id.fake-key-secret-DoNotLeak"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

# Default messages for fail_next(), by status (SendGrid's texts where its docs give them).
_DEFAULT_ERRORS = {
    400: "Bad Request",
    401: "The provided authorization grant is invalid, expired, or revoked",
    403: "access forbidden",
    404: "not found",
    413: "Payload Too Large",
    429: "too many requests",
}
_TOP_LEVEL = frozenset(
    {
        "personalizations",
        "from",
        "reply_to",
        "reply_to_list",
        "subject",
        "content",
        "attachments",
        "template_id",
        "sections",
        "headers",
        "categories",
        "custom_args",
        "send_at",
        "batch_id",
        "asm",
        "ip_pool_name",
        "mail_settings",
        "tracking_settings",
    }
)
_ACTIVITY_QUERY = re.compile(r"\(?\s*unique_args\['([^']+)'\]\s*=\s*\"([^\"]*)\"\s*\)?")


def sendgrid_errors(*messages: str | tuple[str, str | None]) -> dict[str, Any]:
    """SendGrid's error body; each item a message, or (message, field)."""
    errors = []
    for item in messages:
        message, field_name = item if isinstance(item, tuple) else (item, None)
        errors.append({"message": message, "field": field_name, "help": None})
    return {"errors": errors}


@dataclass(frozen=True)
class AcceptedMessage:
    """A message SendGrid accepted: the parsed request body and the ids it was given."""

    message_id: str  # the X-Message-Id answered to the sender
    sg_message_id: str  # the per-recipient id events and Email Activity use
    body: dict[str, Any]

    @property
    def custom_args(self) -> dict[str, str]:
        """The message's custom args."""
        return dict(self.body.get("custom_args") or {})

    @property
    def to(self) -> str:
        """The first recipient's address."""
        return str(self.body["personalizations"][0]["to"][0]["email"])


@dataclass
class _Fault:
    remaining: int
    status: int
    body: Any
    headers: dict[str, str]


class _Answer(NamedTuple):
    status: int
    body: Any = None  # dict/list → JSON, bytes → as is, None → no body
    headers: Mapping[str, str] = {}


class _Handler(FakeHandler):
    timeout = 10


class _Server(FakeHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-answer is expected here (timeouts); stay quiet."""


@dataclass(eq=False)
class FakeSendGrid(LocalServer):
    """SendGrid's API on ``http://127.0.0.1:<port>``; use as a context manager."""

    api_key: str = field(default=DEFAULT_API_KEY, repr=False)
    #: Seconds to hang before handling a request; a request whose client gave up waiting
    #: meanwhile is dropped unprocessed (a front end that stalled before SendGrid had it).
    delay: float = 0.0
    #: Seconds to hang after accepting a message, before answering (the answer is lost if
    #: the client gives up first: the message went out all the same).
    delay_after_accept: float = 0.0
    #: Whether the account has the Email Activity add-on (GET /v3/messages); 403 without.
    activity_available: bool = False
    messages: list[AcceptedMessage] = field(default_factory=list, repr=False)
    requests_log: list[LoggedRequest] = field(default_factory=list, repr=False)
    port: int = 0

    def __post_init__(self) -> None:
        LocalServer.__init__(self)
        leaks.register("SendGrid API key", self.api_key)
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)

    # Lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> FakeSendGrid:
        """Start serving."""
        self.serve(_Server(("127.0.0.1", 0), _Handler, self))
        self.port = self.server_port
        return self

    @property
    def url(self) -> str:
        """The API base URL (what SENDGRID_BASE_URL would be)."""
        return f"http://127.0.0.1:{self.port}"

    # Scripting --------------------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        status: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` Mail Send requests with ``status`` (after authentication).

        ``body`` defaults to SendGrid's error body for the status (a dict is sent as JSON,
        bytes as they are); ``headers`` are added, e.g. ``{"Retry-After": "2"}``.
        """
        if body is None and status >= 400:
            body = sendgrid_errors(_DEFAULT_ERRORS.get(status, "internal server error"))
        with self._lock:
            self._faults.append(_Fault(count, status, body, dict(headers or {})))

    def by_invitation(self, invitation_id: int | str) -> list[AcceptedMessage]:
        """Accepted messages whose ``invitation_id`` custom arg is this invitation's."""
        with self._lock:
            return [
                m for m in self.messages if m.custom_args.get("invitation_id") == str(invitation_id)
            ]

    def requests_to(self, path: str) -> list[LoggedRequest]:
        """The logged requests to one path (without the query string)."""
        with self._lock:
            return [r for r in self.requests_log if urlsplit(r.path).path == path]

    # Dispatch ---------------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        _, _, headers, body = handler.logged()
        if self.delay:
            self._closing.wait(self.delay)
            if _client_gone(handler.connection):
                return
        parts = urlsplit(handler.path)
        if not self._authorized(headers.get("Authorization", "")):
            answer = _Answer(401, sendgrid_errors(_DEFAULT_ERRORS[401]))
        elif parts.path == "/v3/mail/send":
            answer = self._mail_send(body) if handler.command == "POST" else _method_not_allowed()
        elif parts.path == "/v3/messages":
            answer = (
                self._activity(parse_qs(parts.query))
                if handler.command == "GET"
                else _method_not_allowed()
            )
        else:
            answer = _Answer(404, sendgrid_errors(_DEFAULT_ERRORS[404]))
        if answer.status == 202 and self.delay_after_accept:
            self._closing.wait(self.delay_after_accept)
        with contextlib.suppress(OSError):
            _respond(handler, answer)

    def _authorized(self, authorization: str) -> bool:
        scheme, _, credential = authorization.partition(" ")
        return scheme == "Bearer" and hmac.compare_digest(
            credential.encode(), self.api_key.encode()
        )

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.pop(0)
            return fault

    def _mail_send(self, raw: bytes) -> _Answer:
        fault = self._next_fault()
        if fault is not None:
            return _Answer(fault.status, fault.body, fault.headers)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _Answer(400, sendgrid_errors(("Bad Request", None)))
        problems = validate_mail_send(body)
        if problems:
            return _Answer(400, sendgrid_errors(*problems))
        # The enrollment links in the mail: a worker process made them, so the test never did.
        leaks.register_tokens_in(raw.decode("utf-8", "replace"))
        number = next(self._ids)
        message_id = secrets.token_urlsafe(16)
        message = AcceptedMessage(
            message_id=message_id,
            sg_message_id=f"{message_id}.filterdrecv-fake-{number}-0.0",
            body=body,
        )
        with self._lock:
            self.messages.append(message)
        return _Answer(202, None, {"X-Message-Id": message_id})

    def _activity(self, query: dict[str, list[str]]) -> _Answer:
        if not self.activity_available:
            return _Answer(403, sendgrid_errors(_DEFAULT_ERRORS[403]))
        limit = query.get("limit", [""])[0]
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            return _Answer(400, sendgrid_errors(("limit must be between 1 and 1000", "limit")))
        wanted = query.get("query", [""])[0]
        match = _ACTIVITY_QUERY.fullmatch(wanted.strip())
        if match is None:
            return _Answer(400, sendgrid_errors(("invalid query", "query")))
        name, value = match.groups()
        with self._lock:
            found = [m for m in self.messages if m.custom_args.get(name) == value]
        return _Answer(
            200,
            {
                "messages": [
                    {
                        "from_email": m.body["from"]["email"],
                        "msg_id": m.sg_message_id,
                        "subject": m.body.get("subject", ""),
                        "to_email": m.to,
                        "status": "delivered",
                        "opens_count": 0,
                        "clicks_count": 0,
                        "last_event_time": "2024-01-01T00:00:00Z",
                    }
                    for m in reversed(found[-int(limit) :])
                ]
            },
        )


def validate_mail_send(body: Any) -> list[tuple[str, str | None]]:
    """Problems SendGrid would answer 400 for, as (message, field); empty when valid."""
    if not isinstance(body, dict):
        return [("Bad Request", None)]
    problems: list[tuple[str, str | None]] = [
        (f"The {key} parameter is not allowed.", key) for key in body if key not in _TOP_LEVEL
    ]
    templated = "template_id" in body
    if templated and (not isinstance(body["template_id"], str) or not body["template_id"]):
        problems.append(("The template_id must be a valid template ID.", "template_id"))
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.append(("You must have at least one personalization.", "personalizations"))
        personalizations = []
    for index, personalization in enumerate(personalizations):
        where = f"personalizations.{index}"
        if not isinstance(personalization, dict):
            problems.append(("Bad Request", where))
            continue
        tos = personalization.get("to")
        if not isinstance(tos, list) or not tos:
            problems.append(
                ("The to parameter is required for all personalization objects.", f"{where}.to")
            )
            tos = []
        for to_index, to in enumerate(tos):
            if not _is_address(to):
                problems.append(
                    (
                        "Each to object must at least have an email address and may also "
                        'contain a name. e.g. {"email": "example@example.com"}',
                        f"{where}.to.{to_index}.email",
                    )
                )
        data = personalization.get("dynamic_template_data")
        if data is not None and not isinstance(data, dict):
            problems.append(
                ("dynamic_template_data must be an object", f"{where}.dynamic_template_data")
            )
    sender = body.get("from")
    if not isinstance(sender, dict) or "email" not in sender:
        problems.append(
            (
                "The from object must be provided for every email send. It is an object that "
                "requires the email parameter, but may also contain a name parameter.",
                "from",
            )
        )
    elif not _is_address(sender):
        problems.append(("The from email does not contain a valid address.", "from.email"))
    if "reply_to" in body and not _is_address(body["reply_to"]):
        problems.append(("The reply_to email does not contain a valid address.", "reply_to"))
    if not templated:
        subjects = [p.get("subject") for p in personalizations if isinstance(p, dict)]
        if not (isinstance(body.get("subject"), str) and body["subject"]) and not (
            subjects and all(isinstance(s, str) and s for s in subjects)
        ):
            problems.append(
                (
                    "The subject is required. You can get around this requirement if you use a "
                    "template with a subject defined or if every personalization has a subject "
                    "defined.",
                    "subject",
                )
            )
    problems.extend(_content_problems(body.get("content"), required=not templated))
    custom_args = body.get("custom_args")
    if custom_args is not None and (
        not isinstance(custom_args, dict)
        or not all(isinstance(v, str) for v in custom_args.values())
    ):
        problems.append(("Custom args must be an object of string values.", "custom_args"))
    categories = body.get("categories")
    if categories is not None and (
        not isinstance(categories, list)
        or len(categories) > 10
        or not all(isinstance(c, str) and 0 < len(c) <= 255 for c in categories)
        or len(set(categories)) != len(categories)
    ):
        problems.append(
            ("Categories must be up to 10 unique strings of 255 characters.", "categories")
        )
    return problems


def _content_problems(content: Any, *, required: bool) -> list[tuple[str, str | None]]:
    if content is None and not required:
        return []
    if not isinstance(content, list) or not content:
        return [
            (
                "Unless a valid template_id is provided, the content parameter is required.",
                "content",
            )
        ]
    problems: list[tuple[str, str | None]] = []
    types = []
    for index, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            problems.append(("The content type must be a string.", f"content.{index}.type"))
            continue
        types.append(part["type"])
        value = part.get("value")
        if not isinstance(value, str) or not value:
            problems.append(
                (
                    "The content value must be a string at least one character in length.",
                    f"content.{index}.value",
                )
            )
    if "text/plain" in types and types[0] != "text/plain":
        problems.append(
            (
                "The text/plain content type must be first, followed by text/html or any "
                "other content.",
                "content.0.type",
            )
        )
    if len(set(types)) != len(types):
        problems.append(("Each content type may be used only once.", "content"))
    return problems


def _is_address(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    address, name = value.get("email"), value.get("name")
    if name is not None and not isinstance(name, str):
        return False
    return (
        isinstance(address, str) and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address) is not None
    )


def _client_gone(connection: socket.socket) -> bool:
    """True when the client closed its end (it stopped waiting for our answer)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _respond(handler: _Handler, answer: _Answer) -> None:
    payload = b""
    if isinstance(answer.body, bytes):
        payload = answer.body
    elif answer.body is not None:
        payload = json.dumps(answer.body).encode()
    handler.send_response(answer.status)
    names = {name.lower() for name in answer.headers}
    if payload and "content-type" not in names:
        handler.send_header("Content-Type", "application/json")
    for name, value in answer.headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)
    handler.wfile.flush()


def _method_not_allowed() -> _Answer:
    return _Answer(405, sendgrid_errors("method not allowed"))


# --- Event Webhook ------------------------------------------------------------------------------


def sendgrid_event(
    message: AcceptedMessage | None,
    event: str,
    *,
    sg_event_id: str | None = None,
    timestamp: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One Event Webhook event as SendGrid posts it: custom args become top-level keys.

    ``message=None`` gives an event about a message that is not ours (pass the fields).
    """
    payload: dict[str, Any] = {
        "event": event,
        "timestamp": int(time.time()) if timestamp is None else timestamp,
        "sg_event_id": sg_event_id or base64.urlsafe_b64encode(secrets.token_bytes(16)).decode(),
    }
    if message is not None:
        payload.update(
            {
                "email": message.to,
                "sg_message_id": message.sg_message_id,
                "smtp-id": f"<{message.message_id}@fake.sendgrid.net>",
                "category": list(message.body.get("categories") or []),
                **message.custom_args,
            }
        )
    payload.update(fields)
    return payload


class WebhookSigner:
    """Signs Event Webhook deliveries the way SendGrid does, with a fresh P-256 key pair."""

    def __init__(self) -> None:
        self._private_key = ec.generate_private_key(ec.SECP256R1())
        der = self._private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        #: The verification key as SendGrid's Mail Settings page shows it.
        self.public_key_b64 = base64.b64encode(der).decode()

    def sign(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        """The headers of a signed delivery: ECDSA-SHA256 over timestamp + raw body."""
        stamp = str(int(time.time())) if timestamp is None else timestamp
        signature = self._private_key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: base64.b64encode(signature).decode(),
            TIMESTAMP_HEADER: stamp,
        }

    def delivery(
        self, events: list[dict[str, Any]], timestamp: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A signed delivery of ``events``: (body, headers)."""
        body = json.dumps(events).encode()
        return body, self.sign(body, timestamp)
