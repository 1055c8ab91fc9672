"""`make audit` (tools/audit.py) tells a clean audit, a finding and an audit that could not run
apart, and never reports "no vulnerabilities" for packages it could not check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testkit.fakes.osv import FakeOsv, advisory
from tests.servers import ROOT, free_port


@pytest.fixture
def lock_file(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.lock"
    path.write_text("flask==3.1.3\npeewee==3.18.2\n")
    return path


def audit(lock_file: Path, osv_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(Path(sys.executable).parent),
        "AUDIT_SERVICE": "osv",
        "AUDIT_OSV_URL": osv_url,
        "AUDIT_CACHE_DIR": str(lock_file.parent / "cache"),
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "audit.py"), str(lock_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_clean_audit_passes_and_says_how_many_packages_it_checked(lock_file: Path) -> None:
    with FakeOsv({}) as osv:
        result = audit(lock_file, osv.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 packages checked, no known vulnerabilities" in result.stdout
    assert sorted(query["package"]["name"] for query in osv.queries) == ["flask", "peewee"]


def test_a_known_vulnerability_fails_and_names_the_package_and_fix(lock_file: Path) -> None:
    with FakeOsv({"peewee": [advisory("GHSA-test-0001", "peewee", "3.19.0")]}) as osv:
        result = audit(lock_file, osv.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "VULNERABLE peewee 3.18.2: GHSA-test-0001 (fixed in 3.19.0)" in result.stdout


def test_an_unreachable_service_is_not_a_pass(lock_file: Path) -> None:
    result = audit(lock_file, f"http://127.0.0.1:{free_port()}/v1/query")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "NOT RUN" in result.stdout
    assert "no known vulnerabilities" not in result.stdout
