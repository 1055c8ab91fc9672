"""Choose the mailer from configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.email.mailer import ConsoleMailer, Mailer
from services.email.sendgrid_mailer import DEFAULT_BASE_URL, SendGridMailer


def mailer_from_config(config: Mapping[str, Any]) -> Mailer:
    """SendGrid when SENDGRID_API_KEY is set, else the console mailer (prints, sends nothing)."""
    api_key = config.get("SENDGRID_API_KEY")
    if api_key:
        return SendGridMailer(
            api_key,
            base_url=config.get("SENDGRID_BASE_URL") or DEFAULT_BASE_URL,
            timeout=float(config.get("SENDGRID_TIMEOUT_SECONDS") or 10.0),
        )
    return ConsoleMailer()
