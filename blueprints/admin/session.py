"""Admin sessions: who is signed in, for how long, and signing out everywhere.

The cookie holds the session's id and its clocks; the database holds whether it is still
live (services.admin.admin_sessions), so signing out ends it on every instance even if someone
kept a copy of the cookie.
"""

from __future__ import annotations

import datetime as dt
import time

from flask import current_app, request, session

from models import AdminUser
from services.admin import admin_sessions

SEEN_RESOLUTION_SECONDS = 60


def sign_in(admin: AdminUser) -> None:
    """Start a fresh session for ``admin`` (a new session id against fixation)."""
    session.clear()
    now = int(time.time())
    sid = admin_sessions.start_session(admin, _lifetime())
    session.update(sid=sid, signed_in_at=now, seen_at=now)
    session.permanent = True


def sign_out() -> None:
    """End the session, here and wherever a copy of its cookie is."""
    sid = session.get("sid")
    if isinstance(sid, str):
        admin_sessions.end_session(sid)
    session.clear()


def session_id() -> str | None:
    """This browser's session id (to keep it when every other session of the admin ends)."""
    sid = session.get("sid")
    return sid if isinstance(sid, str) else None


def _lifetime() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["ADMIN_SESSION_HOURS"])


_CACHE_KEY = "scim_onboard.admin"


def current_admin() -> AdminUser | None:
    """The signed-in admin, or None when there is none or the session has expired."""
    # Cached per request (in the WSGI environ, not ``g``: an app context can outlive a request).
    if _CACHE_KEY not in request.environ:
        request.environ[_CACHE_KEY] = _load()
    admin: AdminUser | None = request.environ[_CACHE_KEY]
    return admin


def _load() -> AdminUser | None:
    sid = session_id()
    if sid is None:
        return None
    now = int(time.time())
    lifetime = _lifetime().total_seconds()
    idle = dt.timedelta(minutes=current_app.config["ADMIN_IDLE_MINUTES"]).total_seconds()
    if now - session.get("signed_in_at", 0) > lifetime or now - session.get("seen_at", 0) > idle:
        session.clear()
        return None
    admin = admin_sessions.session_admin(sid)
    if admin is None:
        session.clear()
        return None
    if now - session.get("seen_at", 0) > SEEN_RESOLUTION_SECONDS:
        session["seen_at"] = now
    return admin
