"""Logging set-up: text or JSON lines, each with its request id, and secrets cut out."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import uuid
from typing import Any, TextIO

# Tokens that travel in URL paths (enrollment links, the first-run setup link).
_TOKEN_IN_PATH = re.compile(r"(/(?:enroll|admin/setup)/)[^\s?\"'/]+")
# Credentials that could reach a message or a traceback: a header value quoted by a library,
# a bearer/SSWS credential, our own token formats (services.platform.secrets.generate_token) and
# SendGrid API keys.
_AUTHORIZATION = re.compile(
    r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+(\s+[^\s\"',}]+)?"
)
_SCHEME_CREDENTIAL = re.compile(r"(?i)(bearer|ssws|basic)(?:\s|%20|\+)+[A-Za-z0-9._~+/=-]{16,}")
# On the token's shape alone, wherever it appears: a token right after a letter or digit
# (``%22scim_…`` in a query string) is still a token.
_OUR_TOKENS = re.compile(r"(scim|okhs|enr|setup|sess)_[A-Za-z0-9_-]{30,}")
_SENDGRID_KEY = re.compile(r"SG\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")
# Terminal colour and style codes (werkzeug colours its request lines by status).
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

REDACTED = "[redacted]"
NO_REQUEST = "-"
REQUEST_ID_HEADER = "X-Request-Id"
# What a client (or a proxy in front) may choose as a request id: short, and safe in a log line.
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NO_REQUEST)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
GUNICORN_LOGGERS = ("gunicorn.error", "gunicorn.access")


def redact(text: str) -> str:
    """``text`` with URL-path tokens and credentials replaced by a marker."""
    text = _TOKEN_IN_PATH.sub(rf"\1{REDACTED}", text)
    text = _AUTHORIZATION.sub(rf"\1{REDACTED}", text)
    text = _SCHEME_CREDENTIAL.sub(rf"\1 {REDACTED}", text)
    text = _OUR_TOKENS.sub(rf"\1_{REDACTED}", text)
    return _SENDGRID_KEY.sub(f"SG.{REDACTED}", text)


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes."""
    return _ANSI_ESCAPE.sub("", text)


def accepted_request_id(candidate: str | None) -> str:
    """The incoming request id if it is acceptable, else a new random one."""
    if candidate and _ACCEPTED_REQUEST_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


class RedactTokens(logging.Filter):
    """Rewrite each record's message so path tokens never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact, and keep the record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request it was logged in ("-" outside one).

    gunicorn writes its access line after the request is over; the id is then taken from
    the response's X-Request-Id header, which gunicorn passes along with the line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Set ``record.request_id``, and keep the record."""
        if not getattr(record, "request_id", None):
            record.request_id = _access_log_request_id(record) or request_id.get()
        return True


def _access_log_request_id(record: logging.LogRecord) -> str | None:
    if record.name != "gunicorn.access" or not isinstance(record.args, dict):
        return None
    value = record.args.get("{x-request-id}o")
    return value if isinstance(value, str) and _ACCEPTED_REQUEST_ID.fullmatch(value) else None


class TextFormatter(logging.Formatter):
    """Readable lines; the whole line, traceback included, is redacted."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """Format, then redact."""
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with a fixed set of keys and every value redacted.

    Only the listed attributes are written: ``extra=`` values and arguments never reach
    the output unless they are part of the message, which is redacted like the rest.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": strip_ansi(redact(record.getMessage())),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class ServiceHandler(logging.StreamHandler[TextIO]):
    """The stderr handler this module installs (so a second ``configure`` finds it).

    Colour codes (werkzeug's request lines) reach a terminal only: a file, a pipe or the
    journal gets plain text.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Format; without colour codes unless the stream is a terminal."""
        text = super().format(record)
        return text if _is_terminal(self.stream) else strip_ansi(text)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT ("text" or "json")."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def _add_filters(handler: logging.Handler) -> None:
    for kind in (RedactTokens, RequestIdFilter):
        if not any(isinstance(f, kind) for f in handler.filters):
            handler.addFilter(kind())


def configure(level: str, log_format: str = "text") -> None:
    """Log to stderr at ``level`` in ``log_format``; every handler redacts tokens.

    Like ``logging.basicConfig``, a stderr handler is added only when nothing has set up
    the root logger yet; handlers someone else installed keep their format but get the
    filters. gunicorn's own loggers (set up before the app is created, and not propagating
    to the root) are given the same filters and format.
    """
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        root.addHandler(ServiceHandler(sys.stderr))
    for handler in root.handlers:
        _add_filters(handler)
        if isinstance(handler, ServiceHandler):
            handler.setFormatter(formatter_for(log_format))
    configure_gunicorn(log_format)
    # The dev server's access log, and gunicorn's, carry request paths.
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RequestIdFilter) for f in logger.filters):
            # Before redaction, which may drop the arguments the request id is read from.
            logger.filters.insert(0, RequestIdFilter())
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def configure_gunicorn(log_format: str) -> None:
    """Give gunicorn's handlers (if any are installed) our filters and formatter."""
    for name in GUNICORN_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            _add_filters(handler)
            handler.setFormatter(formatter_for(log_format))
