"""Terminal colour codes stay out of logs that are not a terminal (files, pipes, the journal)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import time
from pathlib import Path

import requests

import logs
from tests.servers import BIN, ROOT, free_port, service_env

ESC = "\x1b["


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _werkzeug_style_record() -> logging.LogRecord:
    """A request line as werkzeug's dev server logs a 404: its path in yellow."""
    return logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '127.0.0.1 - - "%s" %s -',
        ("\x1b[33mGET /nowhere HTTP/1.1\x1b[0m", "404"),
        None,
    )


def test_the_dev_server_writes_plain_request_lines_to_a_file(tmp_path: Path) -> None:
    env = service_env(f"sqlite:///{tmp_path / 'dev.db'}", LOG_LEVEL="INFO")
    subprocess.run(
        [str(BIN / "flask"), "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    log_file = tmp_path / "dev-server.log"
    with open(log_file, "wb") as out:
        server = subprocess.Popen(
            [str(BIN / "flask"), "--app", "app", "run", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            time.sleep(0.1)
        # Statuses werkzeug colours: 404 yellow, 400 bold red.
        assert requests.get(f"http://127.0.0.1:{port}/no/such/page", timeout=5).status_code == 404
        scim = requests.get(f"http://127.0.0.1:{port}/scim/v2/Users", timeout=5)
        assert scim.status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
    written = log_file.read_text()
    assert '"GET /no/such/page HTTP/1.1" 404' in written
    assert '"GET /scim/v2/Users HTTP/1.1" 401' in written
    assert "Press CTRL+C to quit" in written
    assert ESC not in written


def test_a_terminal_keeps_its_colours() -> None:
    stream = Terminal()
    handler = logs.ServiceHandler(stream)
    handler.setFormatter(logs.formatter_for("text"))
    handler.emit(_werkzeug_style_record())
    assert "\x1b[33mGET /nowhere HTTP/1.1\x1b[0m" in stream.getvalue()


def test_a_stream_that_is_not_a_terminal_gets_plain_text() -> None:
    stream = io.StringIO()
    handler = logs.ServiceHandler(stream)
    handler.setFormatter(logs.formatter_for("text"))
    handler.emit(_werkzeug_style_record())
    assert stream.getvalue().rstrip().endswith('"GET /nowhere HTTP/1.1" 404 -')
    assert ESC not in stream.getvalue()


def test_json_lines_never_carry_colour_codes_even_on_a_terminal() -> None:
    stream = Terminal()
    handler = logs.ServiceHandler(stream)
    handler.setFormatter(logs.formatter_for("json"))
    handler.emit(_werkzeug_style_record())
    entry = json.loads(stream.getvalue())
    assert entry["message"] == '127.0.0.1 - - "GET /nowhere HTTP/1.1" 404 -'
