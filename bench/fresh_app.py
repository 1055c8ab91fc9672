"""An app context on a fresh, migrated SQLite file or Postgres database, for benchmarks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

from cryptography.fernet import Fernet

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def fresh_app(database: str, name: str, **settings: Any) -> Iterator[None]:
    """Run the block in an app (and request) context on a new ``database`` ("sqlite" or
    "postgres"); a Postgres database is dropped afterwards."""
    from app import create_app
    from database import upgrade

    tmp = tempfile.mkdtemp(prefix=f"scim-bench-{name}-")
    pg_name = f"scim_onboard_bench_{name}_{os.getpid()}"
    if database == "postgres":
        subprocess.run(["psql", PG_ADMIN_URL, "-qc", f"CREATE DATABASE {pg_name}"], check=True)
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_name}"
    else:
        url = f"sqlite:///{tmp}/bench.db"
    config = {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key-" + "x" * 32,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "INSTANCE_PATH": tmp,
        "LOG_LEVEL": "WARNING",
        **settings,
    }
    try:
        app = create_app(config)
        with app.app_context(), app.test_request_context():
            upgrade()
            yield
    finally:
        if database == "postgres":
            from extensions import db

            db.close()
            drop = f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"
            subprocess.run(["psql", PG_ADMIN_URL, "-qc", drop], check=True)


def print_side_by_side(title: str, results: dict[str, dict[str, str]]) -> None:
    """One line per figure, each database's value beside the others."""
    print(title)
    for name in next(iter(results.values())):
        cells = " | ".join(f"{db}: {figures[name]}" for db, figures in results.items())
        print(f"- {name}: {cells}")
