"""SendGrid's signed Event Webhook at /hooks/sendgrid (being written)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sendgrid_hooks", __name__, url_prefix="/hooks/sendgrid")
