"""Under load, gunicorn workers keep a bounded set of database connections and reuse them."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import psycopg
import requests
from flask import Flask

from extensions import db
from tests.conftest import OKTA_HEADERS, ON_POSTGRES
from tests.factories import make_integration, make_token, okta_create_user_payload
from tests.servers import Gunicorn, service_env

WORKERS = 2
THREADS = 8  # more request threads than pooled connections: the pool is the limit
POOL_SIZE = 3
CLIENTS = 16
REQUESTS = 600
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"

# One connection as a set member: (backend pid) on Postgres, (worker pid, fd) on SQLite.
Connection = tuple[int, ...]


@dataclass
class Sample:
    """The server's open connections at one moment, and how far the load had got."""

    done: int
    connections: frozenset[Connection]


@dataclass
class Watcher:
    """Samples the server's connections to the database every few milliseconds."""

    look: Callable[[], frozenset[Connection]]
    progress: Callable[[], int]
    samples: list[Sample] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Sample until stopped."""
        while not self.stopping.is_set():
            self.samples.append(Sample(self.progress(), self.look()))
            time.sleep(0.01)


class PostgresBackends:
    """A look at pg_stat_activity: the backends of this database that the server opened."""

    def __init__(self, url: str, application_name: str) -> None:
        self.checker = psycopg.connect(url, autocommit=True)
        self.application_name = application_name

    def __call__(self) -> frozenset[Connection]:
        """The backend pids now."""
        rows = self.checker.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s",
            (self.application_name,),
        ).fetchall()
        return frozenset((pid,) for (pid,) in rows)

    def close(self) -> None:
        """Close the checker's own connection."""
        self.checker.close()


class SqliteHandles:
    """A look at /proc: the workers' open file descriptors on the database file."""

    def __init__(self, path: Path, server: Gunicorn) -> None:
        self.target = str(path.resolve())
        self.server = server

    def __call__(self) -> frozenset[Connection]:
        """(worker pid, fd) of every open handle on the database file now."""
        found = set()
        for pid in self.server.worker_pids():
            try:
                entries = list(Path(f"/proc/{pid}/fd").iterdir())
            except OSError:
                continue  # the worker is exiting
            for entry in entries:
                try:
                    if os.readlink(entry) == self.target:
                        found.add((pid, int(entry.name)))
                except OSError:
                    continue  # closed while we looked
        return frozenset(found)

    def close(self) -> None:
        """Nothing to close."""


class Load:
    """Okta-like SCIM traffic: create, read, filter, deactivate, replace, group, delete."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = f"{base_url}/scim/v2"
        self.headers = {**OKTA_HEADERS, "Authorization": f"Bearer {token}"}
        self.numbers = itertools.count()
        self.lock = threading.Lock()
        self.statuses: list[int] = []

    @property
    def done(self) -> int:
        """Requests answered so far."""
        return len(self.statuses)

    def _send(self, session: requests.Session, method: str, path: str, body: Any = None) -> Any:
        response = session.request(
            method, self.base + path, json=body, headers=self.headers, timeout=30
        )
        with self.lock:
            self.statuses.append(response.status_code)
        return response

    def unit(self, session: requests.Session) -> None:
        """Six requests about one new user."""
        n = next(self.numbers)
        name = f"pool.{n}@example.com"
        created = self._send(session, "POST", "/Users", okta_create_user_payload(name))
        user_id = created.json()["id"]
        self._send(session, "GET", f"/Users/{user_id}")
        self._send(session, "GET", f'/Users?filter=userName eq "{name}"')
        off = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
        self._send(session, "PATCH", f"/Users/{user_id}", off)
        if n % 2:
            group = {"displayName": f"Pool {n}", "members": [{"value": user_id}]}
            self._send(session, "POST", "/Groups", {**group, "schemas": [GROUP_URN]})
        else:
            self._send(session, "GET", "/Groups?count=5")
        self._send(session, "DELETE", f"/Users/{user_id}")

    def client(self, units: int) -> None:
        """One Okta-like client, over one keep-alive session."""
        with requests.Session() as session:
            for _ in range(units):
                self.unit(session)


def test_gunicorn_workers_keep_a_bounded_reused_set_of_connections(
    app: Flask, tmp_path: Path
) -> None:
    token = make_token(make_integration(name="Pooling"))
    db.close()  # the test's own connection is not the server's
    url = app.config["DATABASE_URL"]
    application_name = f"scim-onboard-pool-test-{os.getpid()}"
    server = Gunicorn(
        # libpq names the server's connections, so the checker counts only those.
        service_env(url, DB_POOL_SIZE=str(POOL_SIZE), PGAPPNAME=application_name),
        logs=tmp_path / "logs",
        workers=WORKERS,
        threads=THREADS,
    )
    with server:
        load = Load(server.url, token)
        look: PostgresBackends | SqliteHandles
        if ON_POSTGRES:
            look = PostgresBackends(url, application_name)
        else:
            look = SqliteHandles(Path(unquote(urlparse(url).path)[1:]), server)
        watcher = Watcher(look, lambda: load.done)
        sampling = threading.Thread(target=watcher.run)
        sampling.start()
        try:
            units = REQUESTS // 6
            per_client = [units // CLIENTS + (i < units % CLIENTS) for i in range(CLIENTS)]
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(load.client, per_client))
            time.sleep(0.1)
        finally:
            watcher.stopping.set()
            sampling.join()
            look.close()

    assert load.done == REQUESTS
    assert all(status < 400 for status in load.statuses), sorted(set(load.statuses))
    counts = [len(s.connections) for s in watcher.samples]
    assert max(counts) <= WORKERS * POOL_SIZE, max(counts)
    # Reused, not reopened: over the whole run no more distinct connections were ever seen
    # than the pools can hold; and once the pools had grown to their peak, the very same
    # connections stayed open to the end (none closed, none replaced).
    seen = frozenset().union(*(s.connections for s in watcher.samples))
    assert len(seen) <= WORKERS * POOL_SIZE, len(seen)
    peak = next(i for i, count in enumerate(counts) if count == max(counts))
    assert watcher.samples[peak].done < REQUESTS, "the peak came during the load"
    assert all(s.connections == watcher.samples[peak].connections for s in watcher.samples[peak:])


def test_starting_the_app_leaves_no_connection_checked_out(
    app_factory: Callable[..., Flask],
) -> None:
    app_factory(TESTING=False)
    assert db.is_closed()
