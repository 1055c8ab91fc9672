"""Choose the mailer from configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.mailer import ConsoleMailer, Mailer


def mailer_from_config(config: Mapping[str, Any]) -> Mailer:
    """The console mailer for now; SendGrid when SENDGRID_API_KEY is set (issue 4)."""
    return ConsoleMailer()
