"""Shared fixtures: an app on a fresh database (SQLite per test, or DATABASE_URL's Postgres)."""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

import database
import logs
import services.platform.secrets
from app import create_app
from extensions import db
from services.email.mailer import RecordingMailer
from services.okta.hook_secrets import rotate_hook_secret
from services.platform.job_runner import Worker
from testkit import leaks
from testkit.fakes.okta import FakeOkta
from testkit.fakes.sendgrid import FakeSendGrid
from tests.factories import make_integration, make_token, okta_create_user_payload
from worker import build_worker

POSTGRES_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = POSTGRES_URL.startswith(("postgres://", "postgresql://"))
TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()

OKTA_HEADERS = {
    # What Okta's SCIM client sends on every request (docs/okta.md §1.3).
    "Accept": "application/scim+json",
    "Accept-Charset": "utf-8",
    "User-Agent": "Okta SCIM Client 1.0.0",
    "Accept-Encoding": "gzip,deflate",
}


# Settings whose values are secrets no log may show (see testkit/leaks.py).
SECRET_SETTINGS = {
    "SENDGRID_API_KEY": "SendGrid API key",
    "ADMIN_OIDC_CLIENT_SECRET": "Okta client secret",
    "METRICS_TOKEN": "metrics token",
    "SECRET_KEY": "session signing key",
}


def _registering(function: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(function)
    def generate(*args: Any, **kwargs: Any) -> str:
        token = function(*args, **kwargs)
        leaks.register_token(token)
        return token

    return generate


def _registering_passwords(method: Callable[..., Any], position: int) -> Callable[..., Any]:
    @functools.wraps(method)
    def spy(self: PasswordHasher, *args: Any, **kwargs: Any) -> Any:
        leaks.register("admin password", args[position] if len(args) > position else None)
        return method(self, *args, **kwargs)

    return spy


@pytest.fixture(scope="session", autouse=True)
def secrets_registered_where_made() -> Iterator[None]:
    """Register every token the service generates and every admin password it hashes or checks.

    The service makes its tokens in one function (``services.platform.secrets.generate_token``) and
    hashes passwords with argon2; wrapping them lets the leak check know secrets that a test
    never sees (enrollment tokens a worker created, a setup token). Both still do their work.
    """
    original = services.platform.secrets.generate_token
    spy = _registering(original)
    holders = [
        m for m in list(sys.modules.values()) if getattr(m, "generate_token", None) is original
    ]
    for module in holders:
        module.generate_token = spy  # type: ignore[attr-defined]
    hasher_methods = {"hash": 0, "verify": 1}
    originals = {name: getattr(PasswordHasher, name) for name in hasher_methods}
    for name, position in hasher_methods.items():
        setattr(PasswordHasher, name, _registering_passwords(originals[name], position))
    yield
    for module in holders:
        module.generate_token = original  # type: ignore[attr-defined]
    for name, method in originals.items():
        setattr(PasswordHasher, name, method)


@pytest.fixture(autouse=True)
def no_secret_in_logs(secrets_registered_where_made: None) -> Iterator[None]:
    """Fail the test if any secret it created reached a log record or a process's output."""
    registry = leaks.reset()
    catcher = leaks.LeakCatcher()
    # The filter the service puts on every handler when it starts (logs.configure).
    catcher.addFilter(logs.RedactTokens())
    root = logging.getLogger()
    root.addHandler(catcher)
    detached = [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate and logger.handlers
    ]
    for logger in detached:
        logger.addHandler(catcher)
    try:
        yield
    finally:
        root.removeHandler(catcher)
        for logger in detached:
            logger.removeHandler(catcher)
    found = catcher.leaks(registry.secrets) + leaks.output_leaks(registry.outputs, registry.secrets)
    if found:
        pytest.fail("a secret reached a log:\n" + "\n".join(found), pytrace=False)


def _app_tables() -> list[str]:
    return [t for t in db.get_tables() if t != "schema_migration"]


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database URL whose schema was built by running the migrations, once per session."""
    if ON_POSTGRES:
        name = urlparse(POSTGRES_URL).path.lstrip("/")
        if "test" not in name:
            pytest.exit(
                f"refusing to run tests against database {name!r}: the suite empties every table. "
                "Point DATABASE_URL at a database whose name contains 'test'.",
                returncode=2,
            )
        db.initialize(database.open_database(POSTGRES_URL, pool_size=4))
        with database.connection():
            db.execute_sql("DROP SCHEMA public CASCADE")
            db.execute_sql("CREATE SCHEMA public")
        database.upgrade()
        db.obj.close_all()
        return POSTGRES_URL
    template = tmp_path_factory.mktemp("template") / "template.db"
    db.initialize(database.open_database(f"sqlite:///{template}", pool_size=1))
    database.upgrade()
    db.obj.close_all()
    # Fold the WAL into the main file so a plain copy carries the whole schema.
    with sqlite3.connect(template) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=delete")
    return str(template)


def database_url_for(tmp_path: Path, migrated_database: str) -> str:
    """A fresh, migrated database for one test."""
    if ON_POSTGRES:
        return migrated_database
    path = tmp_path / "scim_onboard.db"
    shutil.copyfile(migrated_database, path)
    return f"sqlite:///{path}"


def fresh_app(tmp_path: Path, migrated_database: str, **overrides: Any) -> Flask:
    """An app with config overrides on an empty, migrated database."""
    application = make_app(tmp_path, database_url_for(tmp_path, migrated_database), **overrides)
    if ON_POSTGRES:
        with database.connection():
            tables = ", ".join(f'"{t}"' for t in _app_tables())
            db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return application


@pytest.fixture
def configured_app(tmp_path: Path, migrated_database: str) -> Iterator[Callable[..., Flask]]:
    """Build the app with setting overrides on an empty database, inside its app context."""
    contexts: list[Any] = []

    def build(**overrides: Any) -> Flask:
        application = fresh_app(tmp_path, migrated_database, **overrides)
        context = application.app_context()
        context.push()
        contexts.append(context)
        return application

    yield build
    for context in reversed(contexts):
        context.pop()
    if not db.is_closed():
        db.close()
    db.obj.close_all()


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    The ``app`` fixture keeps an app context open for direct service calls; without this,
    requests would share its ``g`` (Flask reuses an already pushed app context).
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Run the request outside the test's context variables.

        Buffered: a streamed body is read inside that context, as the server would.
        """
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(super().open, *args, **kwargs)
        cookie_name = self.application.config["SESSION_COOKIE_NAME"]
        for header in response.headers.getlist("Set-Cookie"):
            name, _, rest = header.partition("=")
            if name == cookie_name:
                leaks.register("session cookie", rest.split(";", 1)[0])
        return response


def make_app(tmp_path: Path, url: str, **overrides: Any) -> Flask:
    """Create an app for tests with throwaway secrets and a recording mailer."""
    config: dict[str, Any] = {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key",
        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PUBLIC_BASE_URL": "",
        "MAILER": RecordingMailer(),
        "WORKER_THREADS": 2,
    }
    config.update(overrides)
    for setting, kind in SECRET_SETTINGS.items():
        if isinstance(config.get(setting), str):
            leaks.register(kind, config[setting])
    application = create_app(config)
    application.test_client_class = IsolatedClient
    return application


@pytest.fixture
def app(tmp_path: Path, migrated_database: str) -> Iterator[Flask]:
    """The app on an empty, migrated database."""
    url = database_url_for(tmp_path, migrated_database)
    application = make_app(tmp_path, url)
    if ON_POSTGRES:
        with database.connection():
            tables = ", ".join(f'"{t}"' for t in _app_tables())
            if tables:
                db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    with application.app_context():
        yield application
    if not db.is_closed():
        db.close()
    db.obj.close_all()


@pytest.fixture
def mailer(app: Flask) -> RecordingMailer:
    """The recording mailer the app sends through."""
    return app.extensions["mailer"]


@pytest.fixture
def worker(app: Flask) -> Worker:
    """A worker for the app; tests drive it with ``run_until_idle()``."""
    return build_worker(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def integration(app: Flask) -> Any:
    """One integration (an Okta org)."""
    return make_integration(name="Acme Okta")


@pytest.fixture
def scim_token(integration: Any) -> str:
    """A SCIM bearer token for ``integration``."""
    return make_token(integration)


@pytest.fixture
def scim_headers(scim_token: str) -> dict[str, str]:
    """Okta's headers with a valid bearer token."""
    return {**OKTA_HEADERS, "Authorization": f"Bearer {scim_token}"}


@pytest.fixture
def hook_secret(integration: Any) -> str:
    """The integration's event-hook secret."""
    secret = rotate_hook_secret(integration)
    leaks.register("event-hook secret", secret)
    return secret


@pytest.fixture
def hook_headers(hook_secret: str) -> dict[str, str]:
    """What Okta sends with each event-hook delivery (docs/okta.md §3.3)."""
    return {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Authorization": hook_secret,
    }


OKTA_API_TOKEN = "ssws-token"


@pytest.fixture
def okta(app: Flask) -> Iterator[FakeOkta]:
    """A local fake Okta org the app may call, accepting the API token ``OKTA_API_TOKEN``."""
    with FakeOkta() as fake:
        fake.api_tokens.add(OKTA_API_TOKEN)
        app.config["OKTA_ALLOWED_HOSTS"] = [fake.host]
        app.config["OKTA_CA_BUNDLE"] = fake.ca_path
        app.config["OKTA_TIMEOUT_SECONDS"] = 2.0
        yield fake


@pytest.fixture
def sendgrid() -> Iterator[FakeSendGrid]:
    """A local fake SendGrid whose Email Activity API answers."""
    with FakeSendGrid() as fake:
        fake.activity_available = True
        yield fake


@pytest.fixture
def enroll(client: FlaskClient, scim_headers: dict[str, str], worker: Worker, mailer: Any) -> Any:
    """Provision a user over SCIM, enroll from the emailed link, and return its SCIM id."""

    def run(**payload: Any) -> str:
        body = okta_create_user_payload(payload.pop("userName", "ada@example.com"), **payload)
        created = client.post("/scim/v2/Users", json=body, headers=scim_headers)
        assert created.status_code == 201, created.get_json()
        worker.run_until_idle()
        link = next(w for w in mailer.sent[-1].text.split() if "/enroll/" in w)
        answer = client.post("/api/v1/enrollments", json={"token": link.rsplit("/", 1)[1]})
        assert answer.status_code == 201
        return str(created.get_json()["id"])

    return run


@pytest.fixture
def group(okta: FakeOkta, integration: Any) -> str:
    """The passwordless Okta group, configured on the integration with an API token."""
    from services.okta.org_settings import configure_okta

    group_id = okta.add_group("Passwordless")
    configure_okta(integration, org_url=okta.url, group=group_id, api_token=OKTA_API_TOKEN)
    return group_id


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """Every SQL statement peewee sends while the test runs."""
    import peewee

    sent: list[str] = []
    original = peewee.Database.execute_sql

    def spy(self: Any, sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        sent.append(sql)
        return original(self, sql, params, *args, **kwargs)

    monkeypatch.setattr(peewee.Database, "execute_sql", spy)
    return sent
