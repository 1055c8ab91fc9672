"""The enrollment landing page at /enroll/<token> (being written)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("enroll", __name__)
