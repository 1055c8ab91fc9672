"""What one SCIM query may cost: a deadline on every statement, and filters refused up front."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import database
from extensions import db
from models import Integration, User, utcnow
from tests.blueprints.scim.conftest import (
    SEARCH_REQUEST,
    USER_URN,
    Scim,
    assert_scim_error,
    recorded_sql,
)
from tests.conftest import ON_POSTGRES

SLOW_SQLITE = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000)"
    " SELECT count(*) FROM c"
)


def seed_users(integration_id: Any, count: int) -> None:
    """``count`` users with a work email each, inserted in bulk."""
    now = utcnow()
    rows = []
    for i in range(count):
        name = f"seed.{i:06d}.{uuid.uuid4().hex[:6]}@example.com"
        document = {
            "schemas": [USER_URN],
            "userName": name,
            "emails": [{"value": name, "type": "work", "primary": True}],
        }
        rows.append(
            {
                "scim_id": str(uuid.uuid4()),
                "integration": integration_id,
                "user_name": name,
                "user_name_key": name,
                "document": document,
                "created": now,
                "last_modified": now,
            }
        )
    with db.atomic():
        for start in range(0, count, 500):
            User.insert_many(rows[start : start + 500]).execute()


def search(scim: Scim, flt: str) -> Any:
    return scim.post("/Users/.search", {"schemas": [SEARCH_REQUEST], "filter": flt})


@pytest.fixture
def slow_scim(scim_app: Callable[..., Scim]) -> Scim:
    """A SCIM client whose statements may run one millisecond, over 6,000 users."""
    client = scim_app(SCIM_QUERY_TIMEOUT_MS=1)
    seed_users(Integration.get(Integration.name == "Custom Okta").id, 6000)
    return client


def test_query_past_the_timeout_answers_too_many_and_is_logged(
    slow_scim: Scim, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = search(slow_scim, 'emails[value co "nobody-has-this"]')
    body = assert_scim_error(response, 400, "tooMany")
    assert "too expensive" in body["detail"]
    assert any("too expensive" in r.getMessage() for r in caplog.records)


def test_timeout_ends_with_the_request(slow_scim: Scim) -> None:
    assert_scim_error(search(slow_scim, 'emails[value co "nobody-has-this"]'), 400, "tooMany")
    # The pooled connection goes back without the deadline: work outside SCIM is not cut off.
    with database.connection():
        if database.is_postgres():
            assert db.execute_sql("SHOW statement_timeout").fetchone()[0] == "0"
            db.execute_sql("SELECT pg_sleep(0.05)")
        else:
            assert db.execute_sql(SLOW_SQLITE).fetchone()[0] == 400000


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite's deadline is a progress handler, no SQL")
def test_a_run_of_scim_requests_sets_the_postgres_timeout_once(
    scim: Scim, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    sent: list[str] = []
    original = psycopg.Cursor.execute

    def spy(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if str(query).startswith(("SET statement_timeout", "RESET statement_timeout")):
            sent.append(str(query))
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", spy)
    for _ in range(5):
        assert scim.get("/Users").status_code == 200
    assert sent == ["SET statement_timeout = 5000"]
    # Work outside SCIM that takes the connection next gets it without the deadline.
    with database.connection():
        assert db.execute_sql("SHOW statement_timeout").fetchone()[0] == "0"
    assert sent == ["SET statement_timeout = 5000", "RESET statement_timeout"]


def test_ordinary_filter_runs_under_the_default_timeout(scim: Scim) -> None:
    scim.create_user("alice@example.com")
    response = search(scim, 'emails[value co "alice"]')
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["totalResults"] == 1


def or_chain(count: int, clause: str) -> str:
    return " or ".join(clause.format(i=i) for i in range(count))


def nested(depth: int) -> str:
    """``a and (b or (c and (...)))``: ``depth`` levels of parentheses."""
    flt = 'emails[value co "x"]'
    for i in range(depth):
        flt = f'userName eq "u{i}" {"or" if i % 2 else "and"} ({flt})'
    return flt


@pytest.mark.parametrize(
    "flt",
    [
        or_chain(101, 'userName eq "user{i}@example.com"'),
        " and ".join(f'not (userName eq "u{i}")' for i in range(101)),
        or_chain(33, 'userName eq "u{i}" or (displayName eq "d{i}" and active eq true)'),
        nested(15),
        "not (" * 7 + '(emails[value co "u"])' + ")" * 7,
        "(" * 15 + 'emails[type eq "work" and value co "u"]' + ")" * 15,
    ],
    ids=["101 ors", "101 nots", "nested ands", "16 levels", "7 nots", "15 parentheses"],
)
def test_filter_at_our_limits_runs_on_the_database(scim: Scim, flt: str) -> None:
    scim.create_user("user7@example.com")
    response = search(scim, flt)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["totalResults"] in (0, 1)


@pytest.mark.parametrize(
    "flt",
    [
        or_chain(45, 'emails[value co "a{i}" and type ew "k"]'),
        or_chain(11, 'emails co "a{i}"'),
        or_chain(11, 'emails.value sw "a{i}"'),
    ],
    ids=["45 bracketed co and ew", "11 emails co", "11 emails.value sw"],
)
def test_expensive_filter_is_refused_before_it_runs(scim: Scim, flt: str) -> None:
    with recorded_sql() as statements:
        body = assert_scim_error(search(scim, flt), 400, "tooMany")
    assert "too expensive" in body["detail"]
    assert not any("json_each" in s or "jsonb_array_elements" in s for s in statements)


def test_a_few_substring_matches_still_run(scim: Scim) -> None:
    scim.create_user("alice@example.com")
    response = search(scim, or_chain(10, 'emails co "alice{i}"') + ' or emails co "alice"')
    assert_scim_error(response, 400, "tooMany")
    response = search(scim, or_chain(9, 'emails co "zz{i}"') + ' or emails co "alice"')
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["totalResults"] == 1
