"""Cap how long one SCIM request may keep the database busy.

Postgres gets ``statement_timeout`` for the request's session; the pooled
connection keeps it, and a checkout by work that wants none (an admin page, a worker job)
resets it (database.TimeoutKeepingPostgresqlDatabase). SQLite has no statement timeout: a progress
handler, called every few thousand virtual-machine steps, interrupts the statement once the
deadline has passed; the deadline restarts with each statement outside a transaction, but
inside one it runs from ``BEGIN``, so the time one SCIM write holds SQLite's single write lock
is capped by the same setting.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from peewee import OperationalError, PostgresqlDatabase

import database
from extensions import db

# How many SQLite virtual-machine instructions run between two looks at the clock
# (about a tenth of a millisecond's work).
PROGRESS_STEPS = 2000

_armed = threading.local()


def _on_postgres() -> bool:
    return isinstance(db.obj, PostgresqlDatabase)


# What the databases say when a statement ran past its deadline or was too complex to plan.
_TOO_EXPENSIVE_MESSAGES = (
    "interrupted",  # SQLite: our progress handler stopped the statement
    "parser stack overflow",
    "expression tree is too large",
    "too many sql variables",
    "too many terms",
    "canceling statement due to statement timeout",  # Postgres
    "stack depth limit exceeded",
)
_POSTGRES_TOO_EXPENSIVE = ("QueryCanceled", "StatementTooComplex", "ProgramLimitExceeded")


def arm(timeout_ms: int) -> None:
    """Start this thread's deadline on its current connection (opened if need be)."""
    if _on_postgres():
        # Set only if this pooled connection does not carry it already (database.py).
        database.want_statement_timeout(int(timeout_ms))
        db.connect(reuse_if_open=True)
        _armed.timeout = timeout_ms
        return
    db.connect(reuse_if_open=True)
    connection = db.connection()
    budget = timeout_ms / 1000
    deadline = [time.monotonic() + budget]

    def past_deadline() -> int:
        return 1 if time.monotonic() > deadline[0] else 0

    def statement_starts(_sql: str) -> None:
        # BEGIN itself is traced outside the transaction: a write's clock starts there.
        if not connection.in_transaction:
            deadline[0] = time.monotonic() + budget

    connection.set_progress_handler(past_deadline, PROGRESS_STEPS)
    connection.set_trace_callback(statement_starts)
    _armed.timeout = timeout_ms
    _armed.connection = connection


def disarm() -> None:
    """Remove the deadline, so the pooled connection serves the next request unbounded."""
    if getattr(_armed, "timeout", None) is None:
        return
    _armed.timeout = None
    connection = getattr(_armed, "connection", None)
    _armed.connection = None
    if connection is not None:
        # The SQLite connection armed, even if the request has handed it back already.
        connection.set_progress_handler(None, 0)
        connection.set_trace_callback(None)
        return
    # Postgres: the connection keeps its timeout until work that wants none checks it out.
    database.drop_statement_timeout()
    if not db.is_closed() and db.in_transaction():
        db.rollback()


def is_too_expensive(error: BaseException) -> bool:
    """Whether a database error means the query cost too much (not that the database is down)."""
    if not isinstance(error, OperationalError):
        return False
    causes: list[Any] = [error, *error.args, error.__cause__, error.__context__]
    for cause in causes:
        if type(cause).__name__ in _POSTGRES_TOO_EXPENSIVE:
            return True
    message = " ".join(str(cause) for cause in causes if cause is not None).lower()
    return any(marker in message for marker in _TOO_EXPENSIVE_MESSAGES)
