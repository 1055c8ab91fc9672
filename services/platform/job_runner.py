"""The background worker: runs jobs that make reality match the desired state in the database.

Jobs claim rows with leases (``services.platform.claims``), so any number of workers, in
threads or processes, share the work; a killed worker's leases simply expire. The worker keeps
no state of its own worth losing. A job that fails on a row retries it after ``retry_delay``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask

from database import background_writes
from extensions import db
from services.platform import wakeup

log = logging.getLogger(__name__)
T = TypeVar("T")


#: The longest a failed row waits before its next try (an email, a group change).
MAX_RETRY_DELAY = dt.timedelta(minutes=30)
_FIRST_RETRY_SECONDS = 5


def retry_delay(failures: int, retry_after: float | None = None) -> dt.timedelta:
    """How long a row waits after its ``failures``-th failure in a row: 5 s, doubling, up to
    MAX_RETRY_DELAY, with ±50% jitter so that rows that failed together spread out. A
    ``Retry-After`` the other side sent wins (at least a second)."""
    if retry_after is not None:
        return dt.timedelta(seconds=max(retry_after, 1.0))
    base = min(2 ** max(failures - 1, 0) * _FIRST_RETRY_SECONDS, MAX_RETRY_DELAY.total_seconds())
    return dt.timedelta(seconds=base * random.uniform(0.5, 1.5))  # noqa: S311 (jitter)


# Background work yields the CPU to request handling: Okta waits only 3 s for an event-hook
# answer, while a welcome email can go out a moment later.
WORKER_NICENESS = 10


def _lower_priority() -> None:
    """Lower this thread's scheduling priority (Linux applies it per thread)."""
    # Not supported everywhere: then the worker simply runs at normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)


@dataclass
class JobContext:
    """What a job gets: who is working, the mailer, and a way to fan out."""

    app: Flask
    owner: str
    mailer: Any
    executor: ThreadPoolExecutor
    batch_size: int = 20

    def parallel(self, fn: Callable[[T], None], items: Iterable[T]) -> None:
        """Run ``fn`` on each item in the worker's threads, each in an app context."""

        def run(item: T) -> None:
            _lower_priority()
            with self.app.app_context(), background_writes():
                try:
                    fn(item)
                finally:
                    if not db.is_closed():
                        db.close()

        list(self.executor.map(run, items))


def run_claimed(
    context: JobContext,
    rows: list[T],
    run_one: Callable[[T], object],
    *,
    crashed: Callable[[T], None] | None = None,
    in_parallel: bool = True,
) -> int:
    """The one skeleton of a job's batch: run each claimed row, and keep one row's bug
    from stopping the others; returns how many rows there were.

    A row whose run raises is logged with its traceback and handed to ``crashed`` (which
    gives its lease back with a later retry); without ``crashed`` it stays leased and is
    tried again when the lease runs out. ``in_parallel`` runs the rows in the worker's
    threads; without it they run one after another, in order (Okta events).
    """

    def safely(row: T) -> None:
        try:
            run_one(row)
        except Exception:
            log.exception("%s %s failed", type(row).__name__, getattr(row, "id", row))
            if crashed is not None:
                crashed(row)

    if in_parallel:
        context.parallel(safely, rows)
    else:
        for row in rows:
            safely(row)
    return len(rows)


@dataclass(frozen=True)
class Job:
    """A named unit of background work; returns how many items it handled."""

    name: str
    run: Callable[[JobContext], int]


@dataclass
class Worker:
    """Runs its jobs until stopped, sleeping when there is nothing to do."""

    app: Flask
    jobs: list[Job]
    mailer: Any
    threads: int = 8
    poll_seconds: float = 0.5
    name: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="job")
        self.context = JobContext(
            self.app, self.name, self.mailer, self._executor, self.threads * 2
        )

    def run_once(self) -> int:
        """Run every job once; returns the number of items handled."""
        handled = 0
        for job in self.jobs:
            with self.app.app_context(), background_writes():
                try:
                    handled += job.run(self.context)
                except Exception:
                    # A failing job must not stop the others; it is retried next round.
                    log.exception("worker job %s failed", job.name)
                finally:
                    if not db.is_closed():
                        db.close()
        return handled

    def run_until_idle(self, max_rounds: int = 100) -> int:
        """Run rounds until nothing is left to do now (for tests and one-shot runs)."""
        total = 0
        for _ in range(max_rounds):
            handled = self.run_once()
            total += handled
            if not handled:
                break
        return total

    def run_forever(self) -> None:
        """Work until ``stopping`` is set."""
        _lower_priority()
        log.info("worker %s started", self.name)
        while not self.stopping.is_set():
            if not self.run_once():
                wakeup.wait(self.poll_seconds)
        self._executor.shutdown(wait=True)
        log.info("worker %s stopped", self.name)

    def stop(self) -> None:
        """Ask the loop to finish its current round and return."""
        self.stopping.set()
        wakeup.wake()
