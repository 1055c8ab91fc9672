"""Restore a SQLite backup (made by ``backup``) over the service's database.

The counterpart of services/platform/backup.py. A restore checks the backup before touching
anything: it must be a SQLite database that passes ``PRAGMA integrity_check`` and whose
migrations this version knows (a backup from a newer version is refused). An existing database
with data is replaced only with ``force``, and never while a running service holds a lock on
it; the database being replaced is first copied aside. Pending migrations are applied
afterwards.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import database
from extensions import db
from services.platform.backup import BackupError, backup_sqlite, last_migration


@dataclass(frozen=True)
class RestoreResult:
    """What was restored, the copy of what it replaced, and the migrations applied after."""

    restored_from: Path
    replaced_copy: Path | None
    applied: list[str]


def _known_migrations() -> set[str]:
    return {path.stem for path in database.MIGRATIONS_DIR.glob("[0-9]*.py")}


def check_backup(source: Path) -> str | None:
    """The backup's last migration, after checking it is a sound backup of ours.

    :raises BackupError: not a file, not SQLite, corrupt, or from a newer version.
    """
    if not source.is_file():
        raise BackupError(f"there is no backup at {source}")
    try:
        connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            check = connection.execute("PRAGMA integrity_check").fetchone()
            names = {row[0] for row in connection.execute("SELECT name FROM schema_migration")}
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{source} is not a SQLite backup of this service: {exc}") from None
    if not check or check[0] != "ok":
        raise BackupError(f"{source} failed SQLite's integrity check: {check}")
    unknown = sorted(names - _known_migrations())
    if unknown:
        raise BackupError(
            f"{source} was made by a newer version (migrations {', '.join(unknown)}): "
            "upgrade the service before restoring it"
        )
    return max(names) if names else None


def _has_data(target: Path) -> bool:
    if not target.is_file() or target.stat().st_size == 0:
        return False
    connection = sqlite3.connect(target)
    try:
        return last_migration(connection) is not None
    finally:
        connection.close()


def restore_sqlite(source: Path, force: bool = False) -> RestoreResult:
    """Replace the app's SQLite database with the backup at ``source``.

    :raises BackupError: the database is Postgres, the backup is unsound, the database holds
        data and ``force`` is off, or a running service is using it.
    """
    if database.is_postgres():
        raise BackupError(
            "The database is PostgreSQL: restore it with pg_restore (see docs/operations.md)."
        )
    target = Path(db.obj.database).resolve()
    if source.resolve() == target:
        raise BackupError("the backup is the database itself; choose the backup file")
    check_backup(source)
    db.close()
    replaced = None
    if _has_data(target):
        if not force:
            raise BackupError(
                f"{target} holds a live database: stop the service and its workers, then run "
                "restore again with --force (the current database is copied aside first)"
            )
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        replaced = backup_sqlite(target.with_name(f"{target.stem}.before-restore-{stamp}.db")).path
        db.close()
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    live = sqlite3.connect(target, timeout=0.5)
    try:
        try:
            live.execute("BEGIN EXCLUSIVE")
            live.rollback()
        except sqlite3.OperationalError:
            raise BackupError(
                f"{target} is in use by a running service: stop it and its workers first"
            ) from None
        backup.backup(live)
    finally:
        live.close()
        backup.close()
    return RestoreResult(source, replaced, database.upgrade())
