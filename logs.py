"""Logging set-up: readable text, and secrets in URLs cut out of every record."""

from __future__ import annotations

import logging
import re

# Tokens that travel in URL paths (enrollment links, the first-run setup link).
_TOKEN_IN_PATH = re.compile(r"(/(?:enroll|admin/setup)/)[^\s?\"'/]+")


def redact(text: str) -> str:
    """``text`` with URL-path tokens replaced by a marker."""
    return _TOKEN_IN_PATH.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """Rewrite each record's message so path tokens never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact, and keep the record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure(level: str) -> None:
    """Log to stderr at ``level``; the dev server's access log is redacted too."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redactor = RedactTokens()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactTokens) for f in handler.filters):
            handler.addFilter(redactor)
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(redactor)
