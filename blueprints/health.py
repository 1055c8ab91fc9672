"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from peewee import PeeweeException

from extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is alive."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """The database answers a query."""
    try:
        db.execute_sql("SELECT 1").fetchone()
    except (PeeweeException, OSError) as exc:
        return jsonify(status="unavailable", reason=type(exc).__name__), 503
    return jsonify(status="ok")
