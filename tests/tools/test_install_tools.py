"""tools/find-python picks a supported interpreter or says why not; the installed CLI works."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import TEST_ENCRYPTION_KEY
from tests.servers import BIN, ROOT

FIND_PYTHON = str(ROOT / "tools" / "find-python")


def test_find_python_prints_a_supported_interpreter() -> None:
    found = subprocess.run([FIND_PYTHON], capture_output=True, text=True, check=True).stdout.strip()
    version = subprocess.run(
        [found, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    ).stdout.strip()
    assert version in {"(3, 11)", "(3, 12)", "(3, 13)"}


def test_find_python_refuses_an_unsupported_python_plainly() -> None:
    env = {**os.environ, "PYTHON": "/usr/bin/false"}
    result = subprocess.run([FIND_PYTHON], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "is not Python 3.11, 3.12 or 3.13" in result.stderr


def test_the_installed_scim_onboard_command_offers_the_flask_cli(tmp_path) -> None:
    result = subprocess.run(
        [str(BIN / "scim-onboard"), "integrations", "--help"],
        capture_output=True,
        text=True,
        cwd="/",
        env={
            **os.environ,
            "PATH": f"{BIN}:{os.environ['PATH']}",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "SECRET_KEY": "x" * 40,
            "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        },
    )
    assert result.returncode == 0, result.stderr
    assert "reconcile" in result.stdout and "test-connection" in result.stdout


def test_every_top_level_module_is_installed() -> None:
    import tomllib

    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "py-modules"
    ]
    # gunicorn.conf.py is gunicorn's settings file, read from the working directory.
    modules = {p.stem for p in ROOT.glob("*.py") if "." not in p.stem}
    assert set(listed) == modules
