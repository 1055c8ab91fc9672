"""Fixtures of the operations tests: apps with their own settings on the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import database
from extensions import db
from tests.conftest import ON_POSTGRES, _app_tables, database_url_for, make_app


def close_pool() -> None:
    """Return this thread's connection and close every pooled one (psycopg warns otherwise)."""
    if db.obj is None:
        return
    if not db.is_closed():
        db.close()
    db.obj.close_all()


@pytest.fixture
def app_factory(tmp_path: Path, migrated_database: str) -> Iterator[Callable[..., Flask]]:
    """Build apps with setting overrides on one fresh test database (emptied on Postgres)."""
    url = database_url_for(tmp_path, migrated_database)
    built: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        close_pool()
        application = make_app(tmp_path, url, **overrides)
        if ON_POSTGRES and not built:
            with database.connection():
                tables = ", ".join(f'"{t}"' for t in _app_tables())
                db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        built.append(application)
        return application

    yield build
    close_pool()
