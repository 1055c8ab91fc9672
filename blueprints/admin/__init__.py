"""The admin console at /admin: server-rendered pages behind a session and CSRF tokens."""

from __future__ import annotations

# Views register themselves on ``bp`` when imported.
from blueprints.admin import (  # noqa: F401
    accounts,
    activity,
    auth,
    dashboard,
    integration_delete,
    integrations,
    stuck,
    users,
)
from blueprints.admin.blueprint import bp

__all__ = ["bp"]
