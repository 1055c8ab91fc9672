"""Start the service under gunicorn on a fresh database and seed it, for benchmarks."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def latency_ms(latencies: list[float]) -> str:
    """p50, p95, p99 and max of answer times in seconds, as milliseconds."""
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000

    return (
        f"p50 {at(0.5):.1f} ms, p95 {at(0.95):.1f} ms, p99 {at(0.99):.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms"
    )


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", PG_ADMIN_URL, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
    )


class Server:
    """gunicorn serving ``app:create_app()`` on a fresh SQLite file or Postgres database."""

    def __init__(
        self,
        db: str = "sqlite",
        workers: int = 2,
        extra_env: dict[str, str] | None = None,
        app_factory: str = "app:create_app()",
        database_url: str | None = None,
    ):
        self.app_factory = app_factory
        self.db = db
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = tempfile.TemporaryDirectory(prefix="scim-bench-")
        self.pg_name = f"scim_onboard_bench_{os.getpid()}_{self.port}"
        self.env = {
            **os.environ,
            "SECRET_KEY": "bench-secret-key-" + "x" * 32,
            "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "LOG_LEVEL": "WARNING",
            # Benchmarks measure the service, not its abuse protection.
            "SCIM_RATE_LIMIT": "100000000 per minute",
            **(extra_env or {}),
        }
        if database_url:
            # A named database: Postgres gets it created (and dropped after), SQLite a new file.
            self.db = "postgres" if database_url.startswith("postgres") else "sqlite"
            if self.db == "postgres":
                self.pg_name = database_url.rsplit("/", 1)[1].split("?")[0]
            self.env["DATABASE_URL"] = database_url
        elif db == "postgres":
            self.env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{self.pg_name}"
        else:
            self.env["DATABASE_URL"] = f"sqlite:///{self.tmp.name}/bench.db"
        self.process: subprocess.Popen[bytes] | None = None
        self.integration_id = ""

    def flask(self, *args: str) -> str:
        """Run a ``flask --app app`` command against this server's database."""
        result = subprocess.run(
            [str(BIN / "flask"), "--app", "app", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def __enter__(self) -> Server:
        if self.db == "postgres":
            _psql(f"CREATE DATABASE {self.pg_name}")
        self.flask("db", "upgrade")
        self.integration_id = self.flask("integrations", "create", "--name", "Bench Okta")
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                self.app_factory,
            ],
            cwd=ROOT,
            env=self.env,
        )
        self._wait()
        return self

    def _wait(self) -> None:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        if self.db == "postgres":
            _psql(f"DROP DATABASE IF EXISTS {self.pg_name} WITH (FORCE)")
        self.tmp.cleanup()

    def token(self) -> str:
        """A new SCIM token for the bench integration."""
        return self.flask("tokens", "create", "--integration", self.integration_id)

    def worker_pids(self) -> list[int]:
        """Process ids of the gunicorn workers."""
        assert self.process is not None
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(pid) for pid in out.split()]


def seed_users(server: Server, count: int, sample: int = 5000) -> list[tuple[str, str]]:
    """Insert ``count`` users the way a SCIM create stores them; return a sample of
    (id, userName) pairs for the load to use."""
    code = f"""
import random, sys, json
from app import create_app
from extensions import db
from models import User, utcnow, new_id
from scim.resources import load_resource
from scim.schemas import USER_RESOURCE
from services.resources.user_columns import columns_from
app = create_app()
with app.app_context():
    rows, picked = [], []
    now = utcnow()
    for i in range({count}):
        name = f"seed.{{i:07d}}@example.com"
        doc = load_resource({{
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name, "name": {{"givenName": "Seed", "familyName": f"User{{i}}"}},
            "emails": [{{"primary": True, "value": name, "type": "work"}}],
            "displayName": f"Seed User {{i}}", "locale": "en-US",
            "externalId": f"00u{{i:017d}}", "active": True}}, USER_RESOURCE)
        doc.pop("active")
        scim_id = new_id()
        rows.append(dict(scim_id=scim_id, integration="{server.integration_id}", document=doc,
                         active=True, state="invited", created=now, last_modified=now,
                         status_changed_at=now, **columns_from(doc)))
        picked.append((scim_id, name))
        if len(rows) == 1000:
            with db.atomic():
                User.insert_many(rows).execute()
            rows = []
    if rows:
        with db.atomic():
            User.insert_many(rows).execute()
    random.seed(7)
    json.dump(random.sample(picked, min({sample}, len(picked))), sys.stdout)
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
        text=True,
    )
    import json

    pairs: list[Any] = json.loads(result.stdout.strip().splitlines()[-1])
    random.shuffle(pairs)
    return [(a, b) for a, b in pairs]
