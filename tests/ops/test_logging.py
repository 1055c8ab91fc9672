"""Request ids on every response and log record; text and JSON log lines; secrets redacted."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import logs
from tests.conftest import OKTA_HEADERS
from tests.factories import make_integration, make_token
from tests.servers import Gunicorn, service_env

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
SECRET = "scim_" + "S3cr3tT0k3nValue" * 3


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What the service's own stderr handler would print, captured."""
    stream = io.StringIO()
    handler = logs.ServiceHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _app_with_failing_route(app_factory: Callable[..., Flask], **config: Any) -> Flask:
    """An app with /boom, a route that logs a secret and then fails with it."""
    application = app_factory(**config)

    def boom() -> str:
        logging.getLogger("tests.ops").warning("about to fail; Authorization: Bearer %s", SECRET)
        raise RuntimeError(f"failed while holding {SECRET}")

    application.add_url_rule("/boom", "boom", boom)
    return application


def _lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/scim/v2/Users", "scim"),
        ("GET", "/scim/v2/Users", None),
        ("POST", "/hooks/okta/no-such-integration", None),
        ("GET", "/admin/", None),
        ("GET", "/no/such/page", None),
        ("GET", "/healthz", None),
    ],
)
def test_every_response_carries_a_request_id(
    client: Any, scim_headers: dict[str, str], method: str, path: str, headers: str | None
) -> None:
    sent = scim_headers if headers == "scim" else {}
    response = client.open(path, method=method, headers=sent)
    assert GENERATED_ID.fullmatch(response.headers["X-Request-Id"])


def test_a_failing_request_logs_and_answers_with_the_same_request_id(
    captured: io.StringIO, app_factory: Callable[..., Flask]
) -> None:
    application = _app_with_failing_route(app_factory)
    response = application.test_client().get("/boom")
    assert response.status_code == 500
    request_id = response.headers["X-Request-Id"]
    failure = [line for line in _lines(captured) if "unhandled error" in line]
    assert failure and f"[{request_id}]" in failure[0]


def test_an_acceptable_incoming_request_id_is_kept(client: Any) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.9_Z-1"})
    assert response.headers["X-Request-Id"] == "lb-7f3a.9_Z-1"


@pytest.mark.parametrize(
    "incoming",
    ["", "x" * 65, "has space", "new\\nline", "semi;colon", "ünïcode", "<script>"],
)
def test_an_unacceptable_incoming_request_id_is_replaced(client: Any, incoming: str) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": incoming})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-Id"])


def test_each_request_gets_its_own_id_and_none_leaks_out(client: Any) -> None:
    first = client.get("/healthz").headers["X-Request-Id"]
    second = client.get("/healthz").headers["X-Request-Id"]
    assert first != second
    assert logs.request_id.get() == logs.NO_REQUEST


def test_records_outside_a_request_have_a_dash(captured: io.StringIO, app: Flask) -> None:
    logging.getLogger("tests.ops").warning("outside any request")
    assert "[-]: outside any request" in _lines(captured)[-1]


def test_text_lines_are_readable_and_carry_the_request_id(
    captured: io.StringIO, app_factory: Callable[..., Flask]
) -> None:
    application = _app_with_failing_route(app_factory)
    response = application.test_client().get("/boom", headers={"X-Request-Id": "req-text-1"})
    warning = next(line for line in _lines(captured) if "about to fail" in line)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING tests\.ops \[req-text-1\]: .*", warning
    )
    assert response.headers["X-Request-Id"] == "req-text-1"
    assert SECRET not in captured.getvalue()
    assert "Traceback" in captured.getvalue()


def test_json_lines_are_one_object_each_with_the_documented_keys(
    captured: io.StringIO, app_factory: Callable[..., Flask]
) -> None:
    application = _app_with_failing_route(app_factory, LOG_FORMAT="json")
    application.test_client().get("/boom", headers={"X-Request-Id": "req-json-1"})
    entries = [json.loads(line) for line in _lines(captured)]
    warning = next(e for e in entries if "about to fail" in e["message"])
    failure = next(e for e in entries if "unhandled error" in e["message"])
    assert set(warning) == {"time", "level", "logger", "message", "request_id"}
    assert (warning["level"], warning["logger"], warning["request_id"]) == (
        "WARNING",
        "tests.ops",
        "req-json-1",
    )
    moment = dt.datetime.fromisoformat(warning["time"].replace("Z", "+00:00"))
    assert moment.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - moment) < dt.timedelta(minutes=1)
    assert failure["request_id"] == "req-json-1"
    assert "RuntimeError: failed while holding" in failure["exception"]


def test_json_lines_never_carry_credentials(
    captured: io.StringIO, app_factory: Callable[..., Flask]
) -> None:
    application = _app_with_failing_route(app_factory, LOG_FORMAT="json")
    application.test_client().get("/boom")
    log = logging.getLogger("tests.ops")
    log.error("headers: %s", {"Authorization": "SSWS 00abcDEF123ghiJKL456"})
    log.error("calling with Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature")
    log.error("sendgrid key SG.abcdefghijklmnop.qrstuvwxyz0123456789")
    log.error("link https://scim.example.com/enroll/enr_abc123/ and setup /admin/setup/xyz")
    text = captured.getvalue()
    for secret in (
        SECRET,
        "00abcDEF123ghiJKL456",
        "eyJhbGciOiJSUzI1NiJ9",
        "qrstuvwxyz0123456789",
        "enr_abc123",
        "/admin/setup/xyz",
    ):
        assert secret not in text
    assert all(json.loads(line) for line in _lines(captured))


def test_every_root_handler_keeps_the_redacting_filter(app: Flask) -> None:
    for handler in logging.getLogger().handlers:
        assert any(isinstance(f, logs.RedactTokens) for f in handler.filters)


def test_gunicorn_access_log_stays_off_unless_asked_for(app: Flask) -> None:
    # gunicorn installs its access handler only with --access-logfile; the app adds none.
    assert logging.getLogger("gunicorn.access").handlers == []


def test_under_gunicorn_its_own_log_lines_use_the_same_format(app: Flask, tmp_path: Path) -> None:
    token = make_token(make_integration(name="Gunicorn logging"))
    server = Gunicorn(
        service_env(app.config["DATABASE_URL"], LOG_FORMAT="json", LOG_LEVEL="INFO"),
        logs=tmp_path / "logs",
        workers=1,
        args=(
            "--access-logfile",
            "-",
            "--access-logformat",
            "%(m)s %(U)s %(s)s request_id=%({x-request-id}o)s",
        ),
    )
    with server:
        request = urllib.request.Request(
            f"{server.url}/scim/v2/Users?filter=userName+eq+%22nobody%22",
            headers={**OKTA_HEADERS, "Authorization": f"Bearer {token}", "X-Request-Id": "gu-1"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.headers["X-Request-Id"] == "gu-1"
    access = [json.loads(line) for line in server.stdout_path.read_text().splitlines()]
    scim_line = next(e for e in access if "/scim/v2/Users" in e["message"])
    assert scim_line["logger"] == "gunicorn.access"
    assert scim_line["message"] == "GET /scim/v2/Users 200 request_id=gu-1"
    assert scim_line["request_id"] == "gu-1"
    # The worker's own lines, logged after the app configured gunicorn's handlers.
    stderr = server.stderr_path.read_text().splitlines()
    exiting = next(line for line in stderr if "Worker exiting" in line)
    assert json.loads(exiting)["logger"] == "gunicorn.error"
    assert token not in server.stdout_path.read_text() + "\n".join(stderr)


@pytest.mark.parametrize(
    "line",
    [
        "GET /scim/v2/Users?filter=x%22scim_{token}%22 200",
        "token=abc1scim_{token}&x=1",
        "an admin session id sess_{token} in a message",
        "key=xSG.{token}.{token}",
        "Authorization%3A+Bearer%20{token}",
    ],
)
def test_a_token_is_redacted_on_its_shape_even_right_after_a_letter_or_digit(line: str) -> None:
    token = "Q" * 12 + "abcdefghijklmnopqrstuvwxyz0123"
    redacted = logs.redact(line.format(token=token))
    assert token not in redacted
    assert "[redacted]" in redacted
