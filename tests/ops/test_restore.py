"""``flask restore``: a backup, a change, and a restore bring the backed-up data back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

import database
from extensions import db
from models import Integration
from tests.conftest import make_app
from tests.factories import make_integration
from tests.ops.conftest import close_pool


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    def open_app(path: Path) -> Flask:
        close_pool()
        application = make_app(path.parent / f"{path.stem}-instance", f"sqlite:///{path}")
        database.upgrade()
        return application

    yield open_app
    close_pool()


def _names(app: Flask) -> list[str]:
    with app.app_context():
        names = sorted(i.name for i in Integration.select())
        db.close()
        return names


def test_backup_change_restore(sqlite_app: Callable[..., Flask], tmp_path: Path) -> None:
    app = sqlite_app(tmp_path / "live.db")
    runner = app.test_cli_runner()
    with app.app_context():
        make_integration(name="Before")
    backup = tmp_path / "backup.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    with app.app_context():
        make_integration(name="After the backup")
        db.close()
    assert _names(app) == ["After the backup", "Before"]

    refused = runner.invoke(args=["restore", str(backup)])
    assert refused.exit_code != 0
    assert "holds a live database" in refused.output and "--force" in refused.output
    assert _names(app) == ["After the backup", "Before"]  # nothing touched

    restored = runner.invoke(args=["restore", str(backup), "--force"])
    assert restored.exit_code == 0, restored.output
    assert restored.output.splitlines()[-1] == f"restored {backup}"
    assert _names(app) == ["Before"]
    copies = list(tmp_path.glob("live.before-restore-*.db"))
    assert len(copies) == 1  # the replaced database was kept


def test_a_corrupt_or_foreign_file_is_refused(
    sqlite_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = sqlite_app(tmp_path / "live.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    result = app.test_cli_runner().invoke(args=["restore", str(junk), "--force"])
    assert result.exit_code != 0
    assert "is not a SQLite backup of this service" in result.output


def test_a_backup_from_a_newer_version_is_refused(
    sqlite_app: Callable[..., Flask], tmp_path: Path
) -> None:
    import sqlite3

    app = sqlite_app(tmp_path / "live.db")
    backup = tmp_path / "newer.db"
    assert app.test_cli_runner().invoke(args=["backup", str(backup)]).exit_code == 0
    connection = sqlite3.connect(backup)
    connection.execute(
        "INSERT INTO schema_migration (name, applied) VALUES ('9999_future', '2030-01-01')"
    )
    connection.commit()
    connection.close()
    result = app.test_cli_runner().invoke(args=["restore", str(backup), "--force"])
    assert result.exit_code != 0
    assert "made by a newer version (migrations 9999_future)" in result.output
