"""What a SCIM request costs beyond its own work: no thread per request, SQL compiled once."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from database import is_postgres
from tests.factories import (
    make_integration,
    make_token,
    okta_create_group_payload,
    okta_create_user_payload,
    okta_patch_active,
)

SCIM_JSON = "application/scim+json"


@pytest.fixture
def limited_client(configured_app: Any) -> tuple[Any, dict[str, str]]:
    """A client of an app that counts every SCIM request against a 1,000-a-minute limit."""
    app = configured_app(SCIM_RATE_LIMIT="1000 per minute")
    headers = {"Authorization": f"Bearer {make_token(make_integration())}"}
    return app.test_client(), headers


def test_counted_scim_requests_start_no_thread(limited_client, monkeypatch) -> None:
    client, headers = limited_client
    started: list[threading.Thread] = []
    original = threading.Thread.start

    def spy(self: threading.Thread) -> None:
        started.append(self)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", spy)
    for i in range(10):
        created = client.post(
            "/scim/v2/Users",
            json=okta_create_user_payload(f"cost{i}@example.com"),
            headers={**headers, "Content-Type": SCIM_JSON},
        )
        assert created.status_code == 201
        assert (
            client.get(f"/scim/v2/Users/{created.get_json()['id']}", headers=headers).status_code
            == 200
        )
    assert [t.name for t in started] == []


def test_the_rate_limit_still_counts_without_the_timer(configured_app) -> None:
    app = configured_app(SCIM_RATE_LIMIT="2 per minute")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {make_token(make_integration())}"}
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    throttled = client.get("/scim/v2/Users", headers=headers)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60


def _create(client: Any, headers: dict[str, str], user_name: str) -> Any:
    return client.post(
        "/scim/v2/Users",
        json=okta_create_user_payload(user_name),
        headers={**headers, "Content-Type": SCIM_JSON},
    )


def test_a_create_writes_the_user_row_once(limited_client, statements) -> None:
    client, headers = limited_client
    assert _create(client, headers, "warm@example.com").status_code == 201
    statements.clear()
    created = _create(client, headers, "once@example.com")
    assert created.status_code == 201
    # On Postgres the create's rows are one WITH statement: count the writes inside it.
    user_writes = sum(s.count('INSERT INTO "user"') + s.count('UPDATE "user"') for s in statements)
    assert user_writes == 1
    # Its state and status time were derived before the INSERT, and GET shows the user.
    shown = client.get(f"/scim/v2/Users/{created.get_json()['id']}", headers=headers)
    assert shown.get_json()["userName"] == "once@example.com"
    assert shown.get_json()["active"] is True


def test_a_create_builds_no_insert_or_update_sql_after_the_first(
    limited_client, monkeypatch
) -> None:
    import peewee

    client, headers = limited_client
    assert _create(client, headers, "first@example.com").status_code == 201
    built: list[str] = []
    for query in (peewee.Insert, peewee.Update):
        original = query.__sql__

        def spy(self: Any, ctx: Any, original: Any = original) -> Any:
            built.append(f"{type(self).__name__} {self.table.__name__}")
            return original(self, ctx)

        monkeypatch.setattr(query, "__sql__", spy)
    assert _create(client, headers, "second@example.com").status_code == 201
    assert built == []


def test_a_create_compiles_no_sql_function_after_the_first(limited_client, monkeypatch) -> None:
    import peewee

    client, headers = limited_client
    assert _create(client, headers, "json-first@example.com").status_code == 201
    compiled: list[str] = []
    original = peewee.Function.__sql__

    def spy(self: Any, ctx: Any) -> Any:
        compiled.append(self.name)
        return original(self, ctx)

    monkeypatch.setattr(peewee.Function, "__sql__", spy)
    created = _create(client, headers, "json-second@example.com")
    assert created.status_code == 201
    # SQLite stores JSON columns through json(?): written out, not compiled per row.
    assert compiled == []
    shown = client.get(f"/scim/v2/Users/{created.get_json()['id']}", headers=headers).get_json()
    assert shown["name"] == created.get_json()["name"]


def test_a_create_draws_and_encrypts_its_link_before_the_write_lock(
    limited_client, monkeypatch
) -> None:
    from cryptography.fernet import MultiFernet

    from extensions import db

    client, headers = limited_client
    assert _create(client, headers, "lock-first@example.com").status_code == 201
    steps: list[str] = []
    begin, encrypt = type(db.obj).begin, MultiFernet.encrypt

    def spy_begin(self: Any, *args: Any, **kwargs: Any) -> Any:
        steps.append("BEGIN")
        return begin(self, *args, **kwargs)

    def spy_encrypt(self: Any, data: bytes) -> bytes:
        steps.append("encrypt")
        return encrypt(self, data)

    monkeypatch.setattr(type(db.obj), "begin", spy_begin)
    monkeypatch.setattr(MultiFernet, "encrypt", spy_encrypt)
    created = _create(client, headers, "lock-second@example.com")
    assert created.status_code == 201
    # The write transaction (SQLite's write lock) holds the INSERTs, not the crypto. On
    # Postgres the rows are one statement, atomic by itself: no transaction at all.
    assert steps == (["encrypt"] if is_postgres() else ["encrypt", "BEGIN"]), steps
    from models import Invitation, User

    user = User.get(User.scim_id == created.get_json()["id"])
    (invitation,) = Invitation.select().where(Invitation.user == user.id)
    assert invitation.email_status == "queued" and invitation.token_encrypted


def test_patch_active_builds_no_update_sql_after_the_first(limited_client, monkeypatch) -> None:
    import peewee

    client, headers = limited_client
    user_id = _create(client, headers, "toggle@example.com").get_json()["id"]

    def set_active(active: bool) -> None:
        answer = client.patch(
            f"/scim/v2/Users/{user_id}",
            json=okta_patch_active(active),
            headers={**headers, "Content-Type": SCIM_JSON},
        )
        assert answer.status_code == 200
        assert answer.get_json()["active"] is active

    set_active(False)
    set_active(True)
    built: list[str] = []
    original = peewee.Update.__sql__

    def spy(self: Any, ctx: Any) -> Any:
        built.append(self.table.__name__)
        return original(self, ctx)

    monkeypatch.setattr(peewee.Update, "__sql__", spy)
    set_active(False)
    set_active(True)
    assert built == []


def test_a_create_reads_no_group_memberships_and_answers_no_groups(
    limited_client, statements
) -> None:
    client, headers = limited_client
    assert _create(client, headers, "warm-groups@example.com").status_code == 201
    statements.clear()
    created = _create(client, headers, "fresh@example.com")
    assert created.status_code == 201
    assert created.get_json().get("groups", []) == []
    assert not [s for s in statements if "group_member" in s]
    # The user, its invitation and its audit entry, and the reopening of early Okta events
    # (on Postgres all four in one WITH statement).
    writes = re.findall(r'INSERT INTO "\w+"|UPDATE "\w+" SET', " ".join(statements))
    assert writes == [
        'INSERT INTO "user"',
        'INSERT INTO "invitation"',
        'INSERT INTO "audit_entry"',
        'UPDATE "okta_event" SET',
    ], writes


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_a_user_write_reads_the_user_and_its_groups_in_one_query(
    limited_client, statements, method
) -> None:
    client, headers = limited_client
    scim_headers = {**headers, "Content-Type": SCIM_JSON}
    user = _create(client, headers, "member@example.com").get_json()
    group = client.post(
        "/scim/v2/Groups",
        json={**okta_create_group_payload("Engineering"), "members": [{"value": user["id"]}]},
        headers=scim_headers,
    ).get_json()
    statements.clear()
    if method == "PATCH":
        answer = client.patch(
            f"/scim/v2/Users/{user['id']}", json=okta_patch_active(False), headers=scim_headers
        )
    else:
        body = {**user, "displayName": "Renamed"}
        answer = client.put(f"/scim/v2/Users/{user['id']}", json=body, headers=scim_headers)
    assert answer.status_code == 200
    assert [(g["value"], g["display"]) for g in answer.get_json()["groups"]] == [
        (group["id"], "Engineering")
    ]
    reads = [s for s in statements if s.startswith("SELECT") and '"group_member"' in s]
    assert len(reads) == 1 and '"user"' in reads[0], reads
    # The row read with its groups is clean: the UPDATE writes what changed, not the keys.
    (update,) = [s for s in statements if s.startswith('UPDATE "user"')]
    assert '"scim_id" =' not in update and '"integration_id" =' not in update


def test_scim_requests_skip_flask_limiters_limit_lookup(configured_app, monkeypatch) -> None:
    from extensions import limiter

    app = configured_app()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {make_token(make_integration())}"}
    looked_up: list[str | None] = []
    original = limiter.limit_manager.resolve_limits

    def spy(flask_app: Any, endpoint: str | None, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(endpoint)
        return original(flask_app, endpoint, *args, **kwargs)

    monkeypatch.setattr(limiter.limit_manager, "resolve_limits", spy)
    assert client.get("/scim/v2/Users", headers=headers).status_code == 200
    assert looked_up == []
    # Elsewhere flask-limiter still applies its limits (the sign-in page has one).
    assert client.get("/admin/login").status_code == 200
    assert looked_up
