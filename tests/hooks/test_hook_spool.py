"""A hook delivery is answered and kept while another integration holds the database's write
lock longer than Okta waits (3 s): spooled beside SQLite, stored at once on Postgres."""

from __future__ import annotations

import sqlite3
import stat
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import database
from hooks.spool import spool_directory
from models import HookDelivery, OktaEvent, User
from tests.conftest import ON_POSTGRES, POSTGRES_URL
from tests.factories import make_integration, okta_create_user_payload, okta_delivery, okta_event

# Longer than any wait of ours for the lock, so the writer below outlasts the delivery.
HOLD_AT_MOST = 30


@pytest.fixture
def provisioned(client, scim_headers) -> dict:
    response = client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    assert response.status_code == 201
    return response.get_json()


class LongWriter(threading.Thread):
    """Another integration's write transaction, open until released (or HOLD_AT_MOST)."""

    def __init__(self, other_integration_id: str) -> None:
        super().__init__(daemon=True)
        self.other = other_integration_id
        self.holding = threading.Event()
        self.release = threading.Event()

    def run(self) -> None:
        if ON_POSTGRES:
            with psycopg.connect(POSTGRES_URL) as conn, conn.cursor() as cursor:
                cursor.execute('UPDATE "integration" SET name = name WHERE id = %s', (self.other,))
                self.holding.set()
                self.release.wait(HOLD_AT_MOST)
                conn.rollback()
            return
        path = database.sqlite_path()
        assert path is not None
        lite = sqlite3.connect(path, isolation_level=None)
        try:
            lite.execute("BEGIN IMMEDIATE")  # SQLite's one write lock, for the whole file
            lite.execute('UPDATE "integration" SET name = name WHERE id = ?', (self.other,))
            self.holding.set()
            self.release.wait(HOLD_AT_MOST)
            lite.execute("ROLLBACK")
        finally:
            lite.close()


@pytest.fixture
def long_writer() -> Iterator[LongWriter]:
    writer = LongWriter(make_integration(name="Busy Okta").id)
    writer.start()
    assert writer.holding.wait(HOLD_AT_MOST)
    yield writer
    writer.release.set()
    writer.join()


def test_a_delivery_during_another_integrations_long_write_is_answered_and_applied(
    client, integration, hook_headers, provisioned, worker, long_writer: Any
) -> None:
    event = okta_event("user.lifecycle.suspend")
    answer = client.post(
        f"/hooks/okta/{integration.id}", json=okta_delivery(event), headers=hook_headers
    )
    # Answered while the other write still holds its lock: Okta has its 200.
    assert not long_writer.release.is_set()
    assert answer.status_code == 200
    directory = spool_directory()
    if ON_POSTGRES:
        # Postgres locks rows: the other integration's write does not stand in the way.
        assert directory is None
        assert [e.uuid for e in OktaEvent.select()] == [event["uuid"]]
    else:
        assert directory is not None
        spooled = list(directory.glob("*.json"))
        assert len(spooled) == 1
        assert stat.S_IMODE(spooled[0].stat().st_mode) == 0o600
        assert event["uuid"] in spooled[0].read_text()
    long_writer.release.set()
    long_writer.join()
    worker.run_until_idle()
    assert [e.uuid for e in OktaEvent.select()] == [event["uuid"]]
    assert HookDelivery.get().new_events == 1
    assert User.get(User.scim_id == provisioned["id"]).state == "suspended"
    if directory is not None:
        assert list(directory.glob("*.json")) == []


def test_a_spooled_delivery_sent_again_by_okta_is_stored_once(
    client, integration, hook_headers, provisioned, worker, long_writer: Any
) -> None:
    # Okta retries a delivery it thinks failed: the same event, spooled and then stored.
    event = okta_event("user.lifecycle.suspend")
    url = f"/hooks/okta/{integration.id}"
    assert client.post(url, json=okta_delivery(event), headers=hook_headers).status_code == 200
    long_writer.release.set()
    long_writer.join()
    assert client.post(url, json=okta_delivery(event), headers=hook_headers).status_code == 200
    worker.run_until_idle()
    assert [e.uuid for e in OktaEvent.select()] == [event["uuid"]]
    assert User.get(User.scim_id == provisioned["id"]).state == "suspended"


@pytest.mark.skipif(ON_POSTGRES, reason="the spool exists on SQLite only: Postgres locks rows")
def test_a_claim_left_by_a_worker_that_died_is_taken_up_and_a_live_one_is_left(
    integration, provisioned, worker
) -> None:
    import os
    import time

    from hooks.spool import STALE_CLAIM_SECONDS, spool
    from models import utcnow

    directory = spool_directory()
    assert directory is not None
    live_event = okta_event("user.lifecycle.unsuspend")
    dead_event = okta_event("user.lifecycle.suspend")
    claims = {}
    for label, event in (("live", live_event), ("dead", dead_event)):
        path = spool(directory, integration, json_bytes(okta_delivery(event)), utcnow())
        claims[label] = path.rename(path.with_name(f"{path.name}.claimed"))
    long_ago = time.time() - STALE_CLAIM_SECONDS - 1
    os.utime(claims["dead"], (long_ago, long_ago))
    worker.run_until_idle()
    # The abandoned claim was stored; the one another worker is storing right now was not.
    assert [e.uuid for e in OktaEvent.select()] == [dead_event["uuid"]]
    assert User.get(User.scim_id == provisioned["id"]).state == "suspended"
    assert [p.name for p in directory.iterdir()] == [claims["live"].name]


def json_bytes(document: Any) -> bytes:
    import json

    return json.dumps(document).encode()
