"""Open the configured database, run migrations, and connect per request."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from flask import Flask
from peewee import Database, OperationalError, PostgresqlDatabase
from playhouse.migrations import Runner
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from extensions import db

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# WAL lets readers run beside the one writer; foreign keys are off by default in SQLite;
# busy_timeout makes a second writer wait instead of failing at once.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
}


_background = threading.local()
_lock_wait = threading.local()
# After each commit a background thread leaves the write lock free this long: longer than a
# waiting writer's retry interval, so web requests get their turn between worker transactions.
BACKGROUND_COMMIT_PAUSE = 0.001


@contextlib.contextmanager
def background_writes() -> Iterator[None]:
    """Mark this thread's writes as background work that yields to web requests (SQLite)."""
    previous = getattr(_background, "active", False)
    _background.active = True
    try:
        yield
    finally:
        _background.active = previous


class FairSqliteDatabase(PooledSqliteDatabase):
    """SQLite whose writers take turns promptly.

    SQLite's built-in busy handler sleeps 1, 2, 5, ... up to 100 ms between tries, so a
    writer that waits (an Okta event-hook delivery) keeps losing the lock to one that
    writes in a loop (the worker). Here BEGIN IMMEDIATE is retried every half millisecond
    instead, and background threads pause briefly after each commit, so a waiting web
    request gets the lock as soon as the current transaction ends.
    """

    begin_timeout = 10.0

    def commit(self) -> None:
        """Commit; background threads then step aside for a moment."""
        super().commit()
        if getattr(_background, "active", False):
            time.sleep(BACKGROUND_COMMIT_PAUSE)

    def begin(self, lock_type: str | None = None) -> None:
        """BEGIN IMMEDIATE, retried briefly while another writer holds the lock."""
        deadline = time.monotonic() + getattr(_lock_wait, "seconds", self.begin_timeout)
        self.execute_sql("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    super().begin(lock_type)
                    return
                except OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.0005)
        finally:
            self.execute_sql(f"PRAGMA busy_timeout = {SQLITE_PRAGMAS['busy_timeout']}")


@contextlib.contextmanager
def lock_wait(seconds: float) -> Iterator[None]:
    """Wait at most this long for SQLite's write lock in this thread (then "locked")."""
    previous = getattr(_lock_wait, "seconds", None)
    _lock_wait.seconds = seconds
    try:
        yield
    finally:
        if previous is None:
            del _lock_wait.seconds
        else:
            _lock_wait.seconds = previous


def sqlite_path() -> Path | None:
    """The SQLite database file in use, or None on Postgres (or an in-memory database)."""
    if is_postgres() or db.obj is None or db.obj.database in ("", ":memory:"):
        return None
    return Path(db.obj.database)


# The statement_timeout each pooled Postgres connection carries (absent: the server default),
# and the one this thread's current work wants (query_deadline.arm sets it for SCIM requests).
_statement_timeouts: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
_wanted_timeout = threading.local()


class TimeoutKeepingPostgresqlDatabase(PooledPostgresqlDatabase):
    """Pooled Postgres that sets ``statement_timeout`` only when it changes.

    Every SCIM request runs under a deadline; setting it when the request starts and
    resetting it when it ends cost two extra round trips per request. Instead a pooled
    connection keeps the timeout it last had, and a checkout changes it only when the work
    that takes the connection wants another (a SCIM request after an admin page or a worker
    job, or the other way round).
    """

    def _initialize_connection(self, conn: Any) -> None:
        super()._initialize_connection(conn)
        self._settle_timeout(conn, getattr(_wanted_timeout, "ms", None))

    def _settle_timeout(self, conn: Any, ms: int | None) -> None:
        if _statement_timeouts.get(conn) == ms:
            return
        with conn.cursor() as cursor:
            cursor.execute(
                f"SET statement_timeout = {int(ms)}" if ms else "RESET statement_timeout"
            )
        if ms:
            _statement_timeouts[conn] = ms
        else:
            _statement_timeouts.pop(conn, None)


def want_statement_timeout(ms: int) -> None:
    """Run this thread's Postgres statements under ``statement_timeout`` ``ms`` from now on.

    Applied at once to an open connection outside a transaction, else at its next checkout.
    """
    _wanted_timeout.ms = ms
    database = db.obj
    if (
        isinstance(database, TimeoutKeepingPostgresqlDatabase)
        and not database.is_closed()
        and not database.in_transaction()
    ):
        database._settle_timeout(database.connection(), ms)


def drop_statement_timeout() -> None:
    """This thread's work wants no statement_timeout any more.

    The connection it holds keeps its timeout until it is next checked out by work that
    wants another, so a run of SCIM requests sets it once.
    """
    with contextlib.suppress(AttributeError):
        del _wanted_timeout.ms


def _keep_private(path: str) -> None:
    """Make the SQLite file readable by its owner only (0600), before SQLite creates it.

    SQLite gives its -wal and -shm files the database file's permissions, so they follow.
    Files left group- or world-readable by an older version are tightened too.
    """
    if path in ("", ":memory:"):
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        with contextlib.suppress(FileNotFoundError):
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)


def open_database(url: str, pool_size: int = 10, pool_timeout: int = 10) -> Database:
    """Create (without connecting) the database object that ``url`` names."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db is relative to the working directory, sqlite:////abs.db absolute.
        path = unquote(parsed.path)[1:]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _keep_private(path)
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout
        # instead of deadlocking when both try to upgrade a read lock.
        return FairSqliteDatabase(
            path,
            pragmas=SQLITE_PRAGMAS,
            lock_type="IMMEDIATE",
            timeout=pool_timeout,
            max_connections=pool_size,
            stale_timeout=300,
            check_same_thread=False,
        )
    params: dict[str, Any] = {
        "database": unquote(parsed.path.lstrip("/")),
        "host": parsed.hostname,
        "port": parsed.port,
        "user": unquote(parsed.username) if parsed.username else None,
        "password": unquote(parsed.password) if parsed.password else None,
    }
    params = {k: v for k, v in params.items() if v is not None}
    return TimeoutKeepingPostgresqlDatabase(
        max_connections=pool_size,
        stale_timeout=300,
        timeout=pool_timeout,
        autorollback=False,
        **params,
    )


@contextlib.contextmanager
def durable_commits() -> Iterator[None]:
    """Commits inside reach the disk before they return, even on SQLite.

    SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit survives a crash of the
    process but may be lost if the machine loses power, in exchange for commits that cost
    microseconds instead of an fsync (about 4 ms on this machine). What we promise to have
    stored before answering (Okta's events: Okta will not send them again) is committed
    with ``FULL`` instead. Postgres always syncs at commit.
    """
    if is_postgres():
        yield
        return
    db.execute_sql("PRAGMA synchronous = FULL")
    try:
        yield
    finally:
        db.execute_sql(f"PRAGMA synchronous = {SQLITE_PRAGMAS['synchronous']}")


def is_postgres() -> bool:
    """True when the bound database is PostgreSQL."""
    return isinstance(db.obj, PostgresqlDatabase)


def migration_runner() -> Runner:
    """The migration runner over ``migrations/``, for the bound database."""
    return Runner(db.obj, directory=str(MIGRATIONS_DIR))


def upgrade() -> list[str]:
    """Apply pending migrations; returns the names applied."""
    with db.connection_context():
        return migration_runner().up()


@contextlib.contextmanager
def connection() -> Iterator[None]:
    """Hold a connection for the duration of a block (CLI commands, worker loops)."""
    opened = db.is_closed()
    if opened:
        db.connect()
    try:
        yield
    finally:
        if opened and not db.is_closed():
            db.close()


def init_app(app: Flask) -> None:
    """Bind the database named by DATABASE_URL; connections open on first use per request."""
    database = open_database(
        app.config["DATABASE_URL"], app.config["DB_POOL_SIZE"], app.config["DB_POOL_TIMEOUT"]
    )
    db.initialize(database)

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        if not db.is_closed():
            if db.in_transaction():
                db.rollback()
            db.close()


def for_update(query: Any, of: Any = None) -> Any:
    """Lock the selected rows (of the model ``of`` only, for an outer join) until the
    transaction ends (Postgres).

    SQLite needs no row lock: every write transaction begins IMMEDIATE and holds the
    database's single write lock, so reads inside it cannot go stale.
    """
    return query.for_update(of=of) if is_postgres() else query


class CompiledQuery:
    """A query shape compiled to SQL once per database class, then run with new values.

    Turning a 25-column SELECT into SQL costs peewee about half a millisecond, a hundred
    times more than SQLite takes to run it; the hot SCIM reads (token lookup, user by id,
    ``userName eq``) run on every Okta request. Values are bound as given: pass what the
    column stores (strings, ints), not objects that need a field's converter.
    """

    def __init__(self, model: Any, build: Any) -> None:
        self.model = model
        self.build = build
        self._compiled: dict[type, tuple[str, list[Any], list[int | None]]] = {}

    def _compile(self, arity: int) -> tuple[str, list[Any], list[int | None]]:
        markers = [f"\x00compiled-query-marker-{i}\x00" for i in range(arity)]
        sql, params = self.build(*markers).sql()
        slots = [markers.index(p) if isinstance(p, str) and p in markers else None for p in params]
        return sql, list(params), slots

    def statement(self, *values: Any) -> tuple[str, list[Any]]:
        """The SQL and its parameters for these values (for a caller that sends it itself)."""
        key = type(db.obj)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(len(values))
        sql, params, slots = compiled
        return sql, [values[s] if s is not None else p for p, s in zip(params, slots, strict=True)]

    def __call__(self, *values: Any) -> list[Any]:
        """Run the query with these values; returns model instances."""
        sql, bound = self.statement(*values)
        return list(self.model.raw(sql, *bound))

    def execute(self, *values: Any) -> int:
        """Run a compiled UPDATE or DELETE with these values; returns the rows it changed."""
        sql, bound = self.statement(*values)
        return int(db.execute_sql(sql, bound).rowcount or 0)

    def joined(self, models: tuple[Any, ...], *values: Any) -> list[tuple[Any, ...]]:
        """Run a query selecting every column of each of ``models`` in turn (a join);
        returns one tuple of model instances per row."""
        sql, bound = self.statement(*values)
        fields = [m._meta.sorted_fields for m in models]
        found = []
        for row in db.execute_sql(sql, bound).fetchall():
            instances, at = [], 0
            for model, columns in zip(models, fields, strict=True):
                data = {f.name: f.python_value(row[at + i]) for i, f in enumerate(columns)}
                # As peewee builds a row it read: nothing is dirty until the caller changes it.
                instance = model(__no_default__=1, **data)
                instance._dirty.clear()
                instances.append(instance)
                at += len(columns)
            found.append(tuple(instances))
        return found
