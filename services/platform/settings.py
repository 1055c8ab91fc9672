"""Settings and per-request context the services read: the one place they touch Flask."""

from __future__ import annotations

import contextvars
import datetime as dt
from functools import lru_cache
from typing import Any

from flask import current_app

from services.platform.secrets import Encryptor

# The origin the request being served came to, noted by the app before each request so that
# links made during it point back to us when PUBLIC_BASE_URL is not set.
request_origin: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_origin", default=None
)


def setting(name: str) -> Any:
    """A configuration value of the running app."""
    return current_app.config[name]


def configured_base_url() -> str | None:
    """PUBLIC_BASE_URL, the origin an operator set for every absolute link, or None."""
    configured: str | None = current_app.config.get("PUBLIC_BASE_URL")
    return configured or None


def public_base_url() -> str | None:
    """The origin for absolute links: PUBLIC_BASE_URL, else the origin of the request being
    served. The one place this is decided; outside a request it is PUBLIC_BASE_URL or None."""
    return configured_base_url() or request_origin.get()


@lru_cache(maxsize=4)
def _encryptor(keys: tuple[str, ...]) -> Encryptor:
    return Encryptor(list(keys))


def encryptor() -> Encryptor:
    """Encrypts with the first of ENCRYPTION_KEYS, decrypts with any."""
    return _encryptor(tuple(current_app.config["ENCRYPTION_KEYS"]))


def hours(name: str) -> dt.timedelta:
    """A duration setting given in hours."""
    return dt.timedelta(hours=current_app.config[name])


def seconds(name: str) -> dt.timedelta:
    """A duration setting given in seconds."""
    return dt.timedelta(seconds=current_app.config[name])
