"""``flask backup``: a consistent, atomic copy of a SQLite database that is being written."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import database
from extensions import db
from models import AuditEntry, Integration, Invitation, User
from services.platform.audit import SYSTEM
from services.users import provisioning
from tests.conftest import OKTA_HEADERS, ON_POSTGRES, make_app
from tests.factories import make_integration, make_token, okta_create_user_payload
from tests.ops.conftest import close_pool


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Open apps on SQLite files (on either test database: backups are a SQLite feature)."""

    def open_app(path: Path, migrate: bool = True) -> Flask:
        close_pool()
        application = make_app(path.parent / f"{path.stem}-instance", f"sqlite:///{path}")
        if migrate:
            database.upgrade()
        return application

    yield open_app
    close_pool()


def _create_user(integration: Any, user_name: str) -> str:
    return provisioning.create_user(
        integration, SYSTEM, okta_create_user_payload(user_name)
    ).scim_id


def test_a_backup_taken_while_writes_go_on_holds_every_user_committed_before_it(
    sqlite_app: Callable[..., Flask], tmp_path: Path
) -> None:
    live = sqlite_app(tmp_path / "live.db")
    with live.app_context():
        integration = make_integration(name="Backup Okta")
        token = make_token(integration)
        committed = [_create_user(integration, f"seed{n}@example.com") for n in range(40)]
    stop = threading.Event()

    def write() -> None:
        with live.app_context():
            n = 0
            while not stop.is_set():
                committed.append(_create_user(integration, f"writer{n}@example.com"))
                n += 1
            db.close()

    (tmp_path / "copies").mkdir()
    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(committed) < 80:
            time.sleep(0.005)
        existed = list(committed)
        result = live.test_cli_runner().invoke(args=["backup", str(tmp_path / "copies")])
        written_during = len(committed) - len(existed)
        time.sleep(0.05)
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert written_during > 0, "the writer should have kept writing during the backup"
    copies = list((tmp_path / "copies").iterdir())
    assert len(copies) == 1 and copies[0].name.startswith("scim_onboard-")
    assert copies[0].suffix == ".db", "no temporary file is left behind"

    restored = sqlite_app(copies[0], migrate=False)
    with restored.app_context():
        found = {scim_id for (scim_id,) in User.select(User.scim_id).tuples()}
        assert set(existed) <= found
        assert found <= set(committed)
        # Whole transactions only: each user came with its invitation and audit entry.
        assert Invitation.select().count() == len(found)
        assert AuditEntry.select().where(AuditEntry.action == "user.create").count() == len(found)
    status = restored.test_cli_runner().invoke(args=["db", "status"])
    assert status.exit_code == 0
    lines = status.output.strip().splitlines()
    assert len(lines) == len(database.migration_runner().migrations())
    assert all(" applied " in line for line in lines), status.output
    headers = {**OKTA_HEADERS, "Authorization": f"Bearer {token}"}
    answer = restored.test_client().get(f"/scim/v2/Users/{existed[0]}", headers=headers)
    assert answer.status_code == 200


def test_a_backup_is_one_self_contained_file_at_the_given_path(
    sqlite_app: Callable[..., Flask], tmp_path: Path
) -> None:
    live = sqlite_app(tmp_path / "live.db")
    with live.app_context():
        make_integration(name="Backup Okta")
        db.close()
    target = tmp_path / "backups" / "nightly.db"
    result = live.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert f"to {target}" in result.output
    assert sorted(p.name for p in target.parent.iterdir()) == ["nightly.db"]
    again = live.test_cli_runner().invoke(args=["backup", str(target)])
    assert again.exit_code == 0, "a second backup replaces the first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["nightly.db"]


def test_a_backup_never_replaces_the_live_database(
    sqlite_app: Callable[..., Flask], tmp_path: Path
) -> None:
    live = sqlite_app(tmp_path / "live.db")
    with live.app_context():
        make_integration(name="Backup Okta")
        db.close()
    result = live.test_cli_runner().invoke(args=["backup", str(tmp_path / "live.db")])
    assert result.exit_code != 0
    assert "must not replace the database" in result.output
    with live.app_context():
        assert Integration.select().count() == 1


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="the refusal is what a Postgres-bound app does; this run has no Postgres database "
    "(set DATABASE_URL to one to run it)",
)
def test_a_backup_of_postgres_is_refused_with_the_pg_dump_advice(
    app: Flask, runner: Any, tmp_path: Path
) -> None:
    make_integration(name="Postgres Okta")
    result = runner.invoke(args=["backup", str(tmp_path / "copy.db")])
    assert result.exit_code != 0
    assert "pg_dump" in result.output and "README" in result.output
    assert not (tmp_path / "copy.db").exists()
    assert Integration.select().count() == 1, "the live database is untouched"
