"""The SQLite database and its WAL files are readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from database import open_database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_files_are_created_0600(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # the usual default, which would give 0644
    try:
        db = open_database(f"sqlite:///{tmp_path}/new/scim.db")
        db.connect()
        db.execute_sql("CREATE TABLE t (x INTEGER)")
        db.execute_sql("INSERT INTO t VALUES (1)")
        files = sorted(p.name for p in (tmp_path / "new").iterdir())
        modes = {p.name: _mode(p) for p in (tmp_path / "new").iterdir()}
        db.close()
    finally:
        os.umask(old_umask)
    assert files == ["scim.db", "scim.db-shm", "scim.db-wal"]
    assert modes == dict.fromkeys(files, 0o600)


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    open_database(f"sqlite:///{path}")
    assert _mode(path) == 0o600
