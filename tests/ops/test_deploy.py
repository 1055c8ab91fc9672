"""deploy/: the systemd units pass ``systemd-analyze verify``, run hardened as one user with the
SQLite file in their state directory; the environment template holds real settings only; and
nginx with deploy/nginx.conf in front of gunicorn gives the app the client's origin."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
import requests

from config import load_config
from testkit.fakes.okta import write_self_signed_certificate
from tests.conftest import OKTA_HEADERS, TEST_ENCRYPTION_KEY
from tests.factories import okta_create_user_payload
from tests.servers import BIN, ROOT, Gunicorn, flask, free_port, service_env

DEPLOY = ROOT / "deploy"
UNITS = ("scim-onboard-web.service", "scim-onboard-worker.service")
INSTALLED_ROOT = "/opt/scim-onboard"
SYSTEMD_ANALYZE = Path("/usr/bin/systemd-analyze")
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "StateDirectory": "scim-onboard",
    "CapabilityBoundingSet": "",
}


def _unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections: each key with every value it is given, in order."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = defaultdict(list)
    for raw in (DEPLOY / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), defaultdict(list))
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{name}: not a KEY=value line: {raw!r}"
        current[key.strip()].append(value.strip())
    return sections


def _installed_copy(name: str, into: Path) -> Path:
    """The unit with /opt/scim-onboard pointing at this checkout and its virtualenv."""
    text = (DEPLOY / name).read_text()
    text = text.replace(f"{INSTALLED_ROOT}/.venv/bin", str(BIN)).replace(INSTALLED_ROOT, str(ROOT))
    path = into / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", UNITS)
def test_systemd_accepts_each_unit_without_a_warning(name: str, tmp_path: Path) -> None:
    copy = _installed_copy(name, tmp_path)
    if SYSTEMD_ANALYZE.exists():
        result = subprocess.run(
            [str(SYSTEMD_ANALYZE), "verify", "--man=no", str(copy)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        # Unknown or misspelt keys are only warnings: there must be none.
        assert result.stdout + result.stderr == ""
    else:
        service = _unit(name)["Service"]
        for command in ("ExecStart", "ExecStartPre"):
            for line in service.get(command, []):
                copied = line.replace(INSTALLED_ROOT, str(ROOT))
                assert Path(copied.split()[0]).exists(), line


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_runs_hardened_as_the_service_user(name: str) -> None:
    unit = _unit(name)
    service = unit["Service"]
    for key, value in HARDENING.items():
        assert service[key] == [value], key
    assert service["User"] == ["scim-onboard"]
    assert service["EnvironmentFile"] == ["/etc/scim-onboard/scim-onboard.env"]
    assert service["WorkingDirectory"] == [INSTALLED_ROOT]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    # The multiprocess metrics directory of the environment template is created by both.
    assert "scim-onboard/metrics" in service["RuntimeDirectory"][0].split()


def test_the_web_unit_migrates_then_serves_with_gunicorn_conf() -> None:
    service = _unit("scim-onboard-web.service")["Service"]
    assert service["ExecStartPre"] == [f"{INSTALLED_ROOT}/.venv/bin/flask --app app db upgrade"]
    assert service["ExecStart"] == [
        f"{INSTALLED_ROOT}/.venv/bin/gunicorn --config {INSTALLED_ROOT}/gunicorn.conf.py"
    ]
    # gunicorn tells systemd when it is ready.
    assert service["Type"] == ["notify"]


def test_the_worker_unit_runs_the_worker_command_and_stops_it_with_sigterm() -> None:
    service = _unit("scim-onboard-worker.service")["Service"]
    assert service["ExecStart"] == [f"{INSTALLED_ROOT}/.venv/bin/flask --app app worker"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["Restart"] == ["always"]


def _template() -> dict[str, str]:
    """The template's settings as systemd reads them (double quotes around a value dropped)."""
    settings = {}
    for line in (DEPLOY / "scim-onboard.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            quoted = len(value) >= 2 and value[0] == value[-1] == '"'
            settings[key] = value[1:-1] if quoted else value
    return settings


def test_sh_reads_the_environment_template_as_systemd_does() -> None:
    # The CLI recipe of docs/operations.md sources the file with sh.
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    script = f'set -a; . "$0"; set +a; exec "$1" -c "{dump}"'
    result = subprocess.run(
        ["sh", "-c", script, str(DEPLOY / "scim-onboard.env.example"), sys.executable],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stderr == ""
    read_by_sh = json.loads(result.stdout)
    for key, value in _template().items():
        assert read_by_sh[key] == value, key


def _commented_settings() -> list[str]:
    text = (DEPLOY / "scim-onboard.env.example").read_text()
    return re.findall(r"^# ([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE)


def test_the_environment_template_names_only_real_settings() -> None:
    known = (ROOT / "config.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()
    known += (ROOT / "services" / "platform" / "metrics.py").read_text()
    for name in [*_template(), *_commented_settings()]:
        assert f'"{name}"' in known, f"{name} is not a setting"


def test_the_environment_template_loads_once_the_secrets_are_filled_in(tmp_path: Path) -> None:
    env = {**_template(), "SECRET_KEY": "s" * 64, "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY}
    config = load_config(tmp_path, env)
    assert config["DATABASE_URL"] == "sqlite:////var/lib/scim-onboard/scim-onboard.db"
    assert config["TRUSTED_PROXY_HOPS"] == 1
    assert config["PUBLIC_BASE_URL"] == "https://scim.example.com"
    # Nothing was generated under the (read-only, in production) instance directory.
    assert list(tmp_path.iterdir()) == []


def _nginx_config(directory: Path, upstream: int, http_port: int, https_port: int) -> Path:
    """deploy/nginx.conf on test ports and a test certificate, inside a minimal main file."""
    cert, key = write_self_signed_certificate(directory, host="scim.example.com")
    site = (DEPLOY / "nginx.conf").read_text()
    site = site.replace("127.0.0.1:8000", f"127.0.0.1:{upstream}")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    (directory / "site.conf").write_text(site)
    main = directory / "nginx.conf"
    main.write_text(
        f"pid {directory}/nginx.pid;\n"
        f"error_log {directory}/error.log;\n"
        "events {}\n"
        "http {\n"
        f"  access_log off;\n  client_body_temp_path {directory};\n"
        f"  proxy_temp_path {directory};\n"
        f"  include {directory}/site.conf;\n"
        "}\n"
    )
    return main


FORWARDED = {
    "X-Forwarded-For": "$proxy_add_x_forwarded_for",
    "X-Forwarded-Proto": "$scheme",
    "X-Forwarded-Host": "$host",
    "X-Forwarded-Port": "$server_port",
}


def test_behind_deploy_nginx_the_app_sees_the_clients_https_origin(tmp_path: Path) -> None:
    if shutil.which("nginx") is None:
        # Without nginx here, check that the file sets each header ProxyFix reads.
        site = (DEPLOY / "nginx.conf").read_text()
        for header, value in FORWARDED.items():
            assert f"proxy_set_header {header} {value};" in site
        return
    env = service_env(
        f"sqlite:///{tmp_path / 'proxied.db'}",
        TRUSTED_PROXY_HOPS="1",
        TRUSTED_HOSTS="scim.example.com,127.0.0.1",
    )
    flask(env, "db", "upgrade")
    flask(env, "integrations", "create", "--name", "Behind nginx")
    token = flask(env, "tokens", "create", "--integration", "Behind nginx")
    http_port, https_port = free_port(), free_port()
    with Gunicorn(env, logs=tmp_path / "logs", workers=1) as server:
        config = _nginx_config(tmp_path, server.port, http_port, https_port)
        with open(tmp_path / "nginx.out", "wb") as out:
            nginx = subprocess.Popen(
                ["nginx", "-c", str(config), "-p", str(tmp_path), "-g", "daemon off;"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            base = f"https://127.0.0.1:{https_port}"
            headers = {
                **OKTA_HEADERS,
                "Authorization": f"Bearer {token}",
                "Host": "scim.example.com",
            }
            created = _when_up(
                lambda: requests.post(
                    f"{base}/scim/v2/Users",
                    json=okta_create_user_payload(),
                    headers=headers,
                    verify=str(tmp_path / "cert.pem"),
                    timeout=10,
                )
            )
            plain = requests.get(
                f"http://127.0.0.1:{http_port}/scim/v2/Users",
                headers={"Host": "scim.example.com"},
                allow_redirects=False,
                timeout=10,
            )
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert created.headers["Location"] == (
        f"https://scim.example.com:{https_port}/scim/v2/Users/{user_id}"
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://scim.example.com/scim/v2/Users"


def _when_up(send: object) -> requests.Response:
    """Retry ``send`` while nginx is still starting."""
    assert callable(send)
    deadline = time.monotonic() + 15
    while True:
        try:
            response: requests.Response = send()
            return response
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
