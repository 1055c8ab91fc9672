"""Admin sessions kept in the database, so that ending one ends it on every instance."""

from __future__ import annotations

import datetime as dt

from models import AdminSession, AdminUser, utcnow
from services.platform.secrets import generate_token, hash_secret

SESSION_PREFIX = "sess_"
# A session's last-seen time is written at most this often (one write a minute, not a write
# per page).
SEEN_RESOLUTION = dt.timedelta(seconds=60)


def start_session(admin: AdminUser, lifetime: dt.timedelta) -> str:
    """A new session for ``admin``; returns the id to keep in the cookie.

    The admin's sessions older than ``lifetime`` are deleted on the way: they can no longer
    be used, and nothing else sweeps them.
    """
    AdminSession.delete().where(
        AdminSession.admin == admin.id, AdminSession.created < utcnow() - lifetime
    ).execute()
    raw = generate_token(SESSION_PREFIX)
    AdminSession.create(id_hash=hash_secret(raw), admin=admin.id)
    return raw


def session_admin(raw: str) -> AdminUser | None:
    """The enabled admin whose live session ``raw`` names, or None."""
    row = (
        AdminSession.select(AdminSession, AdminUser)
        .join(AdminUser)
        .where(AdminSession.id_hash == hash_secret(raw))
        .first()
    )
    if row is None or row.admin.disabled:
        return None
    now = utcnow()
    if now - row.seen_at > SEEN_RESOLUTION:
        AdminSession.update(seen_at=now).where(AdminSession.id_hash == row.id_hash).execute()
    admin: AdminUser = row.admin
    return admin


def end_session(raw: str) -> None:
    """End one session (signing out)."""
    AdminSession.delete().where(AdminSession.id_hash == hash_secret(raw)).execute()


def end_sessions(admin_id: int, keep: str | None = None) -> int:
    """End every session of an admin, except ``keep`` (the one making the change); returns
    how many ended."""
    query = AdminSession.delete().where(AdminSession.admin == admin_id)
    if keep is not None:
        query = query.where(AdminSession.id_hash != hash_secret(keep))
    return int(query.execute())
