"""gunicorn.conf.py: gunicorn started in the project takes its address, workers and limits from
it, and a SCIM GET with a long filter reaches the app instead of gunicorn's own 414."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import requests

from tests.conftest import OKTA_HEADERS
from tests.factories import okta_create_user_payload
from tests.servers import BIN, ROOT, Gunicorn, flask, service_env

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# 175 Okta user ids or'ed together: 6,996 characters, 7,703 once URL-encoded in the request line
# (over gunicorn's default limit of 4,094, under the 8,190 of gunicorn.conf.py).
LONG_FILTER = " or ".join(f'externalId eq "00u{n:017d}"' for n in range(175))


class ConfiguredGunicorn(Gunicorn):
    """``gunicorn`` with no arguments but ``extra``: everything else from gunicorn.conf.py."""

    def __init__(self, env: dict[str, str], logs: Path, *extra: str) -> None:
        super().__init__(env, logs=logs)
        self.env = {**env, "BIND": f"127.0.0.1:{self.port}", "GUNICORN_WORKERS": "1"}
        self.command = [str(BIN / "gunicorn"), *extra]


def _fresh_sqlite(tmp_path: Path, **settings: str) -> tuple[dict[str, str], str]:
    """A new SQLite database, migrated, with an integration; its env and a SCIM token."""
    env = service_env(f"sqlite:///{tmp_path / 'fresh.db'}", **settings)
    flask(env, "db", "upgrade")
    flask(env, "integrations", "create", "--name", "Gunicorn conf")
    token = flask(env, "tokens", "create", "--integration", "Gunicorn conf")
    return env, token


def _print_config(**env: str) -> dict[str, str]:
    """What gunicorn resolves from gunicorn.conf.py in ``env``: setting name to value."""
    result = subprocess.run(
        [str(BIN / "gunicorn"), "--print-config"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    settings = {}
    for line in result.stdout.splitlines():
        name, _, value = line.partition("=")
        settings[name.strip()] = value.strip()
    return {**settings, "returncode": str(result.returncode), "stderr": result.stderr}


def test_a_scim_get_with_a_7000_character_filter_gets_a_scim_answer(tmp_path: Path) -> None:
    env, token = _fresh_sqlite(tmp_path, ACCESS_LOG="true", LOG_FORMAT="json")
    headers = {**OKTA_HEADERS, "Authorization": f"Bearer {token}"}
    with ConfiguredGunicorn(env, tmp_path / "logs") as server:
        response = requests.get(
            f"{server.url}/scim/v2/Users",
            params={"filter": LONG_FILTER},
            headers=headers,
            timeout=10,
        )
        short = requests.get(
            f"{server.url}/scim/v2/Users",
            params={"filter": 'userName eq "nobody@example.com"'},
            headers={**headers, "X-Request-Id": "conf-1"},
            timeout=10,
        )
    assert len(LONG_FILTER) > 6900
    assert response.headers["Content-Type"].startswith("application/scim+json")
    assert SCIM_ERROR in response.json()["schemas"]
    assert response.status_code == 400
    assert response.json()["scimType"] == "tooMany"
    assert short.status_code == 200
    assert short.json()["totalResults"] == 0
    # The access log is on (ACCESS_LOG), in the service's JSON format, without the filter.
    access = [json.loads(line) for line in server.stdout_path.read_text().splitlines()]
    line = next(entry for entry in access if entry["request_id"] == "conf-1")
    assert line["logger"] == "gunicorn.access"
    assert '"GET /scim/v2/Users" 200' in line["message"]
    assert "nobody" not in server.stdout_path.read_text()


def test_without_the_conf_limit_gunicorn_itself_refuses_the_long_filter(tmp_path: Path) -> None:
    # The contrast: gunicorn's default request-line limit answers before the app can.
    env, token = _fresh_sqlite(tmp_path)
    headers = {**OKTA_HEADERS, "Authorization": f"Bearer {token}"}
    with ConfiguredGunicorn(env, tmp_path / "logs", "--limit-request-line", "4094") as server:
        response = requests.get(
            f"{server.url}/scim/v2/Users",
            params={"filter": LONG_FILTER},
            headers=headers,
            timeout=10,
        )
    assert response.status_code in (400, 414)
    assert not response.headers.get("Content-Type", "").startswith("application/scim+json")


def test_gunicorn_ignores_forwarded_headers_the_app_does_not_trust(tmp_path: Path) -> None:
    # TRUSTED_PROXY_HOPS=0: X-Forwarded-Proto from 127.0.0.1 changes nothing (gunicorn alone
    # would believe it from there); with 1 hop, the app's ProxyFix takes it.
    for hops, scheme in (("0", "http"), ("1", "https")):
        env, token = _fresh_sqlite(tmp_path / hops, TRUSTED_PROXY_HOPS=hops)
        headers: dict[str, Any] = {
            **OKTA_HEADERS,
            "Authorization": f"Bearer {token}",
            "X-Forwarded-Proto": "https",
        }
        with ConfiguredGunicorn(env, tmp_path / hops / "logs") as server:
            created = requests.post(
                f"{server.url}/scim/v2/Users",
                json=okta_create_user_payload(),
                headers=headers,
                timeout=10,
            )
        assert created.status_code == 201
        assert created.headers["Location"].startswith(f"{scheme}://127.0.0.1:")


def test_address_and_workers_come_from_the_environment() -> None:
    settings = _print_config(PORT="9123", GUNICORN_WORKERS="3")
    assert (settings["bind"], settings["workers"]) == ("['127.0.0.1:9123']", "3")
    settings = _print_config(BIND="0.0.0.0:8000", GUNICORN_THREADS="2", GUNICORN_TIMEOUT="30")
    assert settings["bind"] == "['0.0.0.0:8000']"
    assert (settings["threads"], settings["timeout"]) == ("2", "30")
    assert settings["limit_request_line"] == "8190"
    assert settings["accesslog"] == "None"
    defaults = _print_config()
    assert defaults["bind"] == "['127.0.0.1:8000']"
    assert 3 <= int(defaults["workers"]) <= 8


def test_a_bad_number_stops_gunicorn_with_a_message_naming_the_setting() -> None:
    settings = _print_config(GUNICORN_WORKERS="many")
    assert settings["returncode"] != "0"
    assert "GUNICORN_WORKERS must be a whole number, got 'many'." in settings["stderr"]
