"""Configuration, health probes and the headless set-up CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_config
from models import ScimToken
from services.platform.secrets import hash_secret
from tests.conftest import TEST_ENCRYPTION_KEY, make_app


def test_quick_start_generates_a_secret_key_once_and_keeps_it(tmp_path: Path) -> None:
    first = load_config(tmp_path, {})
    second = load_config(tmp_path, {})
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first["DATABASE_URL"] == f"sqlite:///{tmp_path / 'scim_onboard.db'}"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ENCRYPTION_KEYS"])
def test_postgres_without_a_shared_secret_fails_naming_the_setting(
    tmp_path: Path, missing: str
) -> None:
    env = {
        "DATABASE_URL": "postgresql://db.example/scim",
        "SECRET_KEY": "s" * 40,
        "ENCRYPTION_KEYS": "x",
    }
    del env[missing]
    with pytest.raises(ConfigError, match=f"{missing} is not set"):
        load_config(tmp_path, env)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DB_POOL_SIZE", "many", "DB_POOL_SIZE must be a whole number"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL must start with"),
        ("PUBLIC_BASE_URL", "scim.example.com", "PUBLIC_BASE_URL must be an absolute"),
        ("ENCRYPTION_KEYS", "not-a-key", "ENCRYPTION_KEYS must be a comma-separated list"),
        ("RUN_WORKER_IN_PROCESS", "maybe", "RUN_WORKER_IN_PROCESS must be true or false"),
        ("SENDGRID_BASE_URL", "api.sendgrid.com", "SENDGRID_BASE_URL must be an http"),
        ("SENDGRID_BASE_URL", "https://", "SENDGRID_BASE_URL must be an http"),
        ("SENDGRID_BASE_URL", "https://api.sendgrid.com:x", "SENDGRID_BASE_URL must be an http"),
    ],
)
def test_invalid_settings_fail_with_a_message_that_names_them(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path, {name: value})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"SCIM_MAX_COUNT": "abc"}, "Error: SCIM_MAX_COUNT must be a whole number, got 'abc'."),
        (
            {"DATABASE_URL": "postgresql://db.example/scim", "SECRET_KEY": ""},
            "Error: SECRET_KEY is not set.",
        ),
    ],
)
def test_the_flask_cli_reports_a_bad_setting_in_one_line(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SECRET_KEY": "x" * 40,
        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        **settings,
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "app", "db", "upgrade"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def test_healthz_answers_while_the_process_lives(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_answers_when_the_database_is_reachable(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200


def test_readyz_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        "postgresql://nobody@127.0.0.1:1/none",
        SECRET_KEY="k" * 40,
        DB_POOL_TIMEOUT=1,
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_commits_inside_durable_commits_reach_the_disk(app) -> None:
    import database
    from extensions import db

    if database.is_postgres():
        with database.durable_commits():  # Postgres syncs every commit already
            assert db.execute_sql("SHOW synchronous_commit").fetchone()[0] == "on"
        return
    level = lambda: db.execute_sql("PRAGMA synchronous").fetchone()[0]  # noqa: E731
    assert level() == 1  # NORMAL: a commit survives the process, not a power cut
    with database.durable_commits():
        assert level() == 2  # FULL: fsync at every commit
    assert level() == 1


def test_db_status_lists_the_applied_migrations(runner) -> None:
    result = runner.invoke(args=["db", "status"])
    assert result.exit_code == 0, result.output
    assert re.search(r"0001_initial\s+applied", result.output)


def test_db_upgrade_on_a_current_database_says_so(runner) -> None:
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_integrations_create_prints_the_new_id(runner) -> None:
    result = runner.invoke(args=["integrations", "create", "--name", "Acme"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"[0-9a-f-]{36}\n", result.output)


def test_integrations_create_refuses_a_duplicate_name(runner) -> None:
    runner.invoke(args=["integrations", "create", "--name", "Acme"])
    result = runner.invoke(args=["integrations", "create", "--name", "Acme"])
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_tokens_create_prints_only_the_token_and_stores_only_its_hash(runner) -> None:
    integration_id = runner.invoke(args=["integrations", "create", "--name", "Acme"]).output.strip()
    result = runner.invoke(
        args=["tokens", "create", "--integration", "Acme", "--label", "Okta prod"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert result.output == token + "\n"
    assert re.fullmatch(r"scim_[A-Za-z0-9_-]{43}", token)
    stored = ScimToken.get()
    assert stored.token_hash == hash_secret(token)
    assert token not in (stored.prefix, stored.label, stored.token_hash)
    assert str(stored.integration_id) == integration_id


def test_tokens_create_for_an_unknown_integration_fails_clearly(runner) -> None:
    result = runner.invoke(args=["tokens", "create", "--integration", "nope"])
    assert result.exit_code != 0
    assert "no integration with id or name 'nope'" in result.output


def test_tokens_list_shows_prefix_label_and_status_but_never_the_token(runner) -> None:
    runner.invoke(args=["integrations", "create", "--name", "Acme"])
    token = runner.invoke(args=["tokens", "create", "--integration", "Acme", "--label", "prod"])
    token = token.output.strip()
    result = runner.invoke(args=["tokens", "list"])
    assert result.exit_code == 0
    assert token[:12] in result.output
    assert token not in result.output
    assert "prod" in result.output
    assert "active" in result.output


def test_tokens_revoke_stops_the_token_working(runner, client) -> None:
    runner.invoke(args=["integrations", "create", "--name", "Acme"])
    token = runner.invoke(args=["tokens", "create", "--integration", "Acme"]).output.strip()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    token_id = ScimToken.get().id
    result = runner.invoke(args=["tokens", "revoke", str(token_id)])
    assert result.exit_code == 0, result.output
    assert client.get("/scim/v2/Users", headers=headers).status_code == 401
    assert "revoked" in runner.invoke(args=["tokens", "list"]).output


def test_an_unparseable_rate_limit_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SCIM_RATE_LIMIT must be a rate"):
        load_config(tmp_path, {"SCIM_RATE_LIMIT": "lots"})


def test_a_token_revoked_elsewhere_stops_working_within_the_cache_time(app, client) -> None:
    import time

    from models import utcnow
    from tests.factories import make_integration, make_token

    app.config["SCIM_TOKEN_CACHE_SECONDS"] = 1
    token = make_token(make_integration(name="Cached"))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    # Another process revokes it: this process remembers the token for a moment only.
    ScimToken.update(revoked_at=utcnow()).execute()
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    time.sleep(1.1)
    assert client.get("/scim/v2/Users", headers=headers).status_code == 401


def test_db_upgrade_names_each_migration_once(tmp_path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'once.db'}",
        "SECRET_KEY": "x" * 40,
        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "LOG_LEVEL": "INFO",
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "app", "db", "upgrade"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert output.count("0001_initial") == 1, output
    assert "applied 0001_initial" in result.stdout


def test_request_hosts_are_pinned_unless_public_base_url_is_set(tmp_path: Path) -> None:
    assert load_config(tmp_path, {})["TRUSTED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]
    custom = load_config(tmp_path, {"TRUSTED_HOSTS": "onboard.lan, 10.0.0.5"})
    assert custom["TRUSTED_HOSTS"] == ["onboard.lan", "10.0.0.5"]
    public = load_config(tmp_path, {"PUBLIC_BASE_URL": "https://onboard.example.com"})
    assert public["TRUSTED_HOSTS"] is None
