"""``flask export`` / ``flask import``: moving every row to a new database, of either kind."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from peewee import CompositeKey

import database
from models import Integration, Invitation, OktaEvent, User
from services.admin.admins import create_admin
from services.okta.hook_secrets import rotate_hook_secret
from services.okta.org_settings import configure_okta
from services.platform.settings import encryptor
from services.platform.transfer import _all_models
from services.users.enrollment import enroll
from tests.conftest import OKTA_HEADERS, make_app
from tests.factories import (
    moment,
    okta_create_group_payload,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
)
from tests.ops.conftest import close_pool

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
OKTA_API_TOKEN = "00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcd"
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c"]
Tables = dict[str, list[tuple[Any, ...]]]


@cache
def postgres_reachable() -> bool:
    """Whether a Postgres server answers psql on 127.0.0.1 (as the postgres user)."""
    if shutil.which("psql") is None:
        return False
    try:
        result = subprocess.run(
            [*PG_ADMIN, "SELECT 1"], capture_output=True, timeout=10, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def dump_tables() -> Tables:
    """Every row of every table, as the models read them, in primary-key order."""
    tables: Tables = {}
    for model in _all_models():
        key = model._meta.primary_key
        composite = isinstance(key, CompositeKey)
        order = [model._meta.fields[n] for n in key.field_names] if composite else [key]
        fields = model._meta.sorted_fields
        tables[model._meta.table_name] = list(model.select(*fields).order_by(*order).tuples())
    return tables


def _scim(client: FlaskClient, token: str, method: str, path: str, body: Any = None) -> Any:
    headers = {**OKTA_HEADERS, "Authorization": f"Bearer {token}"}
    return client.open(f"/scim/v2{path}", method=method, json=body, headers=headers)


def provision(app: Flask, client: FlaskClient, token: str, integration: Any, worker: Any) -> None:
    """Fill the database through the real services: what an install accumulates."""
    configure_okta(integration, api_token=OKTA_API_TOKEN)
    create_admin("admin@example.com", "a long enough passphrase")
    ids = []
    for n, name in enumerate(["ada@example.com", "zoë.ünïcode@example.com", "grace@example.com"]):
        payload = okta_create_user_payload(name, externalId=f"00u{n:017d}")
        payload["schemas"].append(ENTERPRISE)
        payload[ENTERPRISE] = {"department": "R&D ✓", "manager": {"value": "boss"}}
        ids.append(_scim(client, token, "POST", "/Users", payload).get_json()["id"])
    group = _scim(client, token, "POST", "/Groups", okta_create_group_payload("Engineers"))
    add = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
    }
    assert (
        _scim(client, token, "PATCH", f"/Groups/{group.get_json()['id']}", add).status_code == 200
    )
    deactivate = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    _scim(client, token, "PATCH", f"/Users/{ids[2]}", deactivate)
    worker.run_until_idle()  # welcome emails go out
    link = next(e.text for e in app.extensions["mailer"].sent if e.to_email == "ada@example.com")
    token_in_link = re.search(r"/enroll/(enr_[A-Za-z0-9_%-]+)", link)
    assert token_in_link is not None
    enroll(token_in_link.group(1))
    events = [
        okta_event("user.lifecycle.suspend", okta_id="00u00000000000000001", published=moment(1)),
        okta_event("application.lifecycle.update"),
    ]
    secret = rotate_hook_secret(integration)
    hook = {"Content-Type": "application/json", "Authorization": secret}
    delivered = client.post(
        f"/hooks/okta/{integration.id}", json=okta_delivery(*events), headers=hook
    )
    assert delivered.status_code == 200
    worker.run_until_idle()


def scim_reads(client: FlaskClient, token: str) -> list[tuple[int, str | None, Any]]:
    """Status, ETag and body of every SCIM read Okta might make."""
    paths = ["/Users", "/Groups?attributes=members", "/Users?filter=active eq false"]
    users = _scim(client, token, "GET", "/Users").get_json()["Resources"]
    groups = _scim(client, token, "GET", "/Groups").get_json()["Resources"]
    paths += [f"/Users/{u['id']}" for u in users] + [f"/Groups/{g['id']}" for g in groups]
    answers = []
    for path in paths:
        response = _scim(client, token, "GET", path)
        answers.append((response.status_code, response.headers.get("ETag"), response.get_json()))
    return answers


@pytest.fixture
def exported(
    app: Flask,
    client: FlaskClient,
    runner: Any,
    scim_token: str,
    integration: Any,
    worker: Any,
    tmp_path: Path,
) -> dict[str, Any]:
    """A provisioned database, exported; with its rows and SCIM answers as they were."""
    provision(app, client, scim_token, integration, worker)
    assert User.select().where(User.state == "enrolled").exists()
    assert OktaEvent.select().where(OktaEvent.outcome == "applied").exists()
    before = {"tables": dump_tables(), "scim": scim_reads(client, scim_token)}
    path = tmp_path / "export.jsonl"
    result = runner.invoke(args=["export", str(path)])
    assert result.exit_code == 0, result.output
    close_pool()
    return {**before, "path": path, "token": scim_token}


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Callable[[str], Flask]]:
    """Open an app on a brand-new, migrated database: a SQLite file, or a Postgres database."""
    created: list[str] = []

    def open_new(kind: str) -> Flask:
        if kind == "postgres":
            name = f"scim_onboard_test_xfer_{os.getpid()}"
            subprocess.run([*PG_ADMIN, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
            subprocess.run([*PG_ADMIN, f"CREATE DATABASE {name}"], check=True)
            created.append(name)
            url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        else:
            url = f"sqlite:///{tmp_path / 'target' / 'new.db'}"
        application = make_app(tmp_path / "target", url)
        database.upgrade()
        return application

    yield open_new
    close_pool()
    for name in created:
        subprocess.run([*PG_ADMIN, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_an_import_reproduces_every_row_and_every_scim_answer(
    exported: dict[str, Any], new_database: Callable[[str], Flask], kind: str
) -> None:
    if kind == "postgres" and not postgres_reachable():
        pytest.skip("no Postgres server reachable with psql -h 127.0.0.1 -U postgres")
    target = new_database(kind)
    result = target.test_cli_runner().invoke(args=["import", str(exported["path"])])
    assert result.exit_code == 0, result.output
    with target.app_context():
        assert dump_tables() == exported["tables"]
        integration = Integration.get()
        assert encryptor().decrypt(integration.okta_secret) == OKTA_API_TOKEN
        assert isinstance(Invitation.select().first().created, dt.datetime)
    client = target.test_client()
    assert scim_reads(client, exported["token"]) == exported["scim"]
    # New rows get new ids (on Postgres, the sequences were moved past the imported ids).
    created = _scim(client, exported["token"], "POST", "/Users", okta_create_user_payload())
    assert created.status_code == 201
    with target.app_context():
        assert User.get(User.scim_id == created.get_json()["id"]).id > max(
            row[0] for row in exported["tables"]["user"]
        )


def test_an_import_into_a_database_that_has_data_is_refused(
    exported: dict[str, Any], new_database: Callable[[str], Flask]
) -> None:
    target = new_database("sqlite")
    runner = target.test_cli_runner()
    assert runner.invoke(args=["import", str(exported["path"])]).exit_code == 0
    again = runner.invoke(args=["import", str(exported["path"])])
    assert again.exit_code != 0
    assert "not empty" in again.output
    with target.app_context():
        assert dump_tables() == exported["tables"]


def _rewrite(path: Path, change: Callable[[list[str]], list[str]]) -> Path:
    changed = path.with_name("changed.jsonl")
    changed.write_text("".join(change(path.read_text().splitlines(keepends=True))))
    return changed


def _drop_last_migration(lines: list[str]) -> list[str]:
    header = json.loads(lines[0])
    header["migrations"] = header["migrations"][:-1]
    return [json.dumps(header) + "\n", *lines[1:]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop_last_migration, "different schema migrations"),
        (lambda lines: lines[:-1], "incomplete"),
        (lambda lines: lines[:-2] + lines[-1:], "announces"),
    ],
    ids=["other-migrations", "no-end-line", "missing-row"],
)
def test_an_export_that_does_not_fit_is_refused_and_nothing_is_imported(
    exported: dict[str, Any],
    new_database: Callable[[str], Flask],
    change: Callable[[list[str]], list[str]],
    message: str,
) -> None:
    target = new_database("sqlite")
    result = target.test_cli_runner().invoke(
        args=["import", str(_rewrite(exported["path"], change))]
    )
    assert result.exit_code != 0
    assert message in result.output
    with target.app_context():
        assert all(not rows for rows in dump_tables().values())


def test_an_export_starts_with_the_migrations_and_lists_tables_parents_first(
    exported: dict[str, Any],
) -> None:
    lines = exported["path"].read_text().splitlines()
    header = json.loads(lines[0])
    tables = [json.loads(line)["table"] for line in lines if line.startswith('{"table"')]
    assert header["migrations"] == sorted(m.name for m in database.migration_runner().migrations())
    assert tables == header["tables"]
    assert tables.index("integration") < tables.index("user") < tables.index("invitation")
    assert tables.index("group") < tables.index("group_member")
    assert OKTA_API_TOKEN not in exported["path"].read_text()
