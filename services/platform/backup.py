"""Online backups of the SQLite database: a consistent copy taken while the service runs."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import database
from extensions import db
from services.errors import ServiceError

# How long the backup waits for a writer to let go of the database before giving up.
BUSY_TIMEOUT_SECONDS = 30.0


class BackupError(ServiceError):
    """The backup could not be made; the message says why and what to do instead."""


@dataclass(frozen=True)
class BackupResult:
    """Where the copy went, how big it is, and the last migration it carries."""

    path: Path
    size: int
    last_migration: str | None


def _source_path() -> Path:
    """The SQLite file the app uses.

    :raises BackupError: the database is Postgres.
    """
    if database.is_postgres():
        raise BackupError(
            "The database is PostgreSQL: back it up with pg_dump (see README, Backups), "
            'e.g. pg_dump --format=custom --file=scim_onboard.dump "$DATABASE_URL".'
        )
    return Path(db.obj.database).resolve()


def _target_path(destination: Path) -> Path:
    """A file path: a directory gets a time-stamped file name inside it."""
    if destination.is_dir():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return destination / f"scim_onboard-{stamp}.db"
    return destination


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def last_migration(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT max(name) FROM schema_migration").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def backup_sqlite(destination: Path) -> BackupResult:
    """Copy the SQLite database to ``destination`` (a file, or a directory to put one in).

    SQLite's online backup API copies one consistent snapshot while other connections keep
    writing; the copy goes to a temporary file beside the target and is renamed into place
    only when complete and checked, so the target is never a half-written file.

    :raises BackupError: the database is Postgres or missing, the target is the database
        itself, or the copy failed its integrity check.
    """
    source_path = _source_path()
    if not source_path.is_file():
        raise BackupError(f"there is no database at {source_path} to back up")
    target = _target_path(destination)
    if target.resolve() == source_path:
        raise BackupError("the backup must not replace the database it copies; choose another path")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        source = sqlite3.connect(source_path, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            copy = sqlite3.connect(temp)
            try:
                # All pages in one step: under WAL that step reads one snapshot, so writers
                # carry on and the backup is not restarted by their commits.
                source.backup(copy)
                # A single self-contained file: no -wal beside it to forget when copying.
                copy.execute("PRAGMA journal_mode=DELETE")
                check = copy.execute("PRAGMA quick_check").fetchone()
                if not check or check[0] != "ok":
                    raise BackupError(f"the copy failed SQLite's integrity check: {check}")
                copied_migration = last_migration(copy)
            finally:
                copy.close()
        finally:
            source.close()
        with open(temp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)
    return BackupResult(target, target.stat().st_size, copied_migration)
