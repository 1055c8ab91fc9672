"""Admin sessions: who is signed in, for how long, and signing out everywhere."""

from __future__ import annotations

import datetime as dt
import time

from flask import current_app, request, session

from models import AdminUser

SEEN_RESOLUTION_SECONDS = 60


def sign_in(admin: AdminUser) -> None:
    """Start a fresh session for ``admin`` (a new session id against fixation)."""
    session.clear()
    now = int(time.time())
    session.update(admin_id=admin.id, epoch=admin.session_epoch, signed_in_at=now, seen_at=now)
    session.permanent = True


def sign_out() -> None:
    """End the session."""
    session.clear()


_CACHE_KEY = "scim_onboard.admin"


def current_admin() -> AdminUser | None:
    """The signed-in admin, or None when there is none or the session has expired."""
    # Cached per request (in the WSGI environ, not ``g``: an app context can outlive a request).
    if _CACHE_KEY not in request.environ:
        request.environ[_CACHE_KEY] = _load()
    admin: AdminUser | None = request.environ[_CACHE_KEY]
    return admin


def _load() -> AdminUser | None:
    admin_id = session.get("admin_id")
    if admin_id is None:
        return None
    now = int(time.time())
    lifetime = dt.timedelta(hours=current_app.config["ADMIN_SESSION_HOURS"]).total_seconds()
    idle = dt.timedelta(minutes=current_app.config["ADMIN_IDLE_MINUTES"]).total_seconds()
    if now - session.get("signed_in_at", 0) > lifetime or now - session.get("seen_at", 0) > idle:
        session.clear()
        return None
    admin = AdminUser.get_or_none(AdminUser.id == admin_id)
    if admin is None or admin.disabled or admin.session_epoch != session.get("epoch"):
        session.clear()
        return None
    if now - session.get("seen_at", 0) > SEEN_RESOLUTION_SECONDS:
        session["seen_at"] = now
    return admin
