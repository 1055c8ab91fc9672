"""Browser fixtures: the real app under gunicorn on a fresh database, and one headless Chromium.

Every test in this folder is marked ``browser``; ``pytest -m "not browser"`` skips them.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from tests.conftest import TEST_ENCRYPTION_KEY

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# Playwright cannot download its own browser here: drive Debian's Chromium.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
SETUP_LINK = re.compile(r"(https?://\S+/admin/setup/setup_[\w-]+)")
_BROWSER_STARTED = pytest.StashKey[bool]()
# Settings of the developer's shell that would make the server talk to real services.
_OUTSIDE_SETTINGS = ("SENDGRID_", "ADMIN_OIDC_", "OKTA_", "DATABASE_URL", "PUBLIC_BASE_URL")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``browser`` marker."""
    config.addinivalue_line(
        "markers", "browser: drives the admin console in Chromium against a live server"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder as a browser test."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say where this run's screenshots went and how many there are."""
    if not config.stash.get(_BROWSER_STARTED, False):
        return
    count = len(list(SCREENSHOTS.glob("*.png")))
    terminalreporter.write_sep("-", "browser screenshots")
    terminalreporter.write_line(f"{count} screenshots in {SCREENSHOTS.resolve()}")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG of what the browser shows under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A running gunicorn serving the app, and the file its output goes to."""

    url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        """Everything the server wrote to stderr so far."""
        return self.log_path.read_text(errors="replace")

    def setup_link(self, timeout: float = 10.0) -> str:
        """The first-run setup link the server printed on stderr."""
        deadline = time.monotonic() + timeout
        while True:
            match = SETUP_LINK.search(self.log())
            if match:
                return match.group(1)
            if time.monotonic() > deadline:
                raise AssertionError(f"no setup link on the server's stderr:\n{self.log()}")
            time.sleep(0.05)


def _server_env(url: str, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE_SETTINGS)}
    env.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
            "PUBLIC_BASE_URL": url,
            # The welcome emails go out through the console mailer, from a worker thread
            # inside the web process (app.register_worker starts it outside TESTING).
            "RUN_WORKER_IN_PROCESS": "true",
            "WORKER_POLL_SECONDS": "0.1",
            "LOG_LEVEL": "INFO",
        }
    )
    return env


def _wait_until_healthy(server: LiveServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited on start:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not answer /healthz:\n{server.log()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def live_server(app: Flask, tmp_path: Path) -> Iterator[LiveServer]:
    """The app under gunicorn on this test's fresh, migrated database (``app``'s)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server-stderr.log"
    command = [
        str(GUNICORN),
        "--workers",
        "1",
        "--threads",
        "4",
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        "app:create_app()",
    ]
    env = _server_env(url, app.config["DATABASE_URL"])
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(url=url, log_path=log_path, process=process)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API, for the whole session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright, pytestconfig: pytest.Config) -> Iterator[Browser]:
    """One headless Chromium for every test; earlier runs' screenshots are cleared first."""
    pytestconfig.stash[_BROWSER_STARTED] = True
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for stale in SCREENSHOTS.glob("*.png"):
        stale.unlink()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@dataclass
class PageEvents:
    """What the page said on its console and which dialogs it opened."""

    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        """Console messages about a Content-Security-Policy violation."""
        return [text for text in self.console if "Content Security Policy" in text]


@pytest.fixture
def page_events() -> PageEvents:
    """Console messages and dialogs of ``page``."""
    return PageEvents()


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at 1280 by 800 pixels whose relative URLs go to
    the live server; it closes its connections before the server stops."""
    ctx = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, page_events: PageEvents) -> Page:
    """A tab whose console messages and dialogs are recorded in ``page_events``."""
    tab = context.new_page()
    tab.on("console", lambda message: page_events.console.append(message.text))

    def on_dialog(dialog: Any) -> None:
        page_events.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    return tab
