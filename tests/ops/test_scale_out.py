"""Scale-out on Postgres: two web servers and two workers share one database.

Users are provisioned and deactivated through both servers at once, and the same Okta event
deliveries reach both servers (as Okta's retries may land on any instance). In the end every
user is in the right state, each invitation was emailed exactly once, and every event was
stored once and applied once. The test makes its own Postgres database, so it runs the same
in the SQLite and the Postgres suites.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from testkit.fakes.sendgrid import FakeSendGrid
from tests.factories import moment, okta_create_user_payload, okta_delivery, okta_event
from tests.servers import Gunicorn, flask, service_env, start_worker

USERS = 40
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", ADMIN_URL, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, migrated Postgres database of this test's own."""
    name = f"scim_onboard_test_scale_{os.getpid()}"
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _psql(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _query(env: dict[str, str], sql: str) -> int:
    """One integer from the shared database."""
    out = subprocess.run(
        ["psql", env["DATABASE_URL"], "-tAq", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return int(out.strip())


def test_two_servers_and_two_workers_keep_every_user_right_and_every_email_single(
    postgres_url: str, tmp_path: Path
) -> None:
    with FakeSendGrid() as sendgrid:
        sendgrid.activity_available = True
        env = service_env(
            postgres_url,
            SENDGRID_API_KEY=sendgrid.api_key,
            SENDGRID_BASE_URL=sendgrid.url,
            PUBLIC_BASE_URL="https://scim.example.com",
            WORKER_POLL_SECONDS="0.05",
            WORKER_THREADS="4",
            DB_POOL_SIZE="4",
        )
        flask(env, "db", "upgrade")
        integration_id = flask(env, "integrations", "create", "--name", "Acme Okta")
        token = flask(env, "tokens", "create", "--integration", integration_id)
        secret = flask(env, "integrations", "hook-secret", "--integration", integration_id)
        scim = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        hooks = {"Authorization": secret, "Content-Type": "application/json"}

        with (
            Gunicorn(env, workers=2, threads=4, logs=tmp_path / "a") as server_a,
            Gunicorn(env, workers=2, threads=4, logs=tmp_path / "b") as server_b,
        ):
            servers = [server_a.url, server_b.url]
            workers = [start_worker(env), start_worker(env)]
            try:
                # Provision through both servers at once.
                def create(n: int) -> tuple[str, str]:
                    login = f"user{n:02d}@example.com"
                    body = okta_create_user_payload(login, externalId=f"00u{n:017d}")
                    answer = requests.post(
                        f"{servers[n % 2]}/scim/v2/Users", json=body, headers=scim, timeout=30
                    )
                    assert answer.status_code == 201, answer.text
                    return answer.json()["id"], login

                with ThreadPoolExecutor(8) as pool:
                    users = list(pool.map(create, range(USERS)))

                # Deactivate a quarter through both servers at once.
                deactivate = {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "value": {"active": False}}],
                }

                def patch(n: int) -> None:
                    scim_id = users[n][0]
                    answer = requests.patch(
                        f"{servers[(n + 1) % 2]}/scim/v2/Users/{scim_id}",
                        json=deactivate,
                        headers=scim,
                        timeout=30,
                    )
                    assert answer.status_code == 200, answer.text

                deactivated = range(0, USERS, 4)
                with ThreadPoolExecutor(8) as pool:
                    list(pool.map(patch, deactivated))

                # Okta events: suspend a set, then unsuspend half of it; each delivery goes to
                # both servers (a retry may reach either instance).
                suspended = list(range(1, USERS, 4))
                unsuspended = suspended[::2]
                events = [
                    okta_event(
                        "user.lifecycle.suspend",
                        okta_id=f"00u{n:017d}",
                        login=users[n][1],
                        published=moment(1),
                    )
                    for n in suspended
                ] + [
                    okta_event(
                        "user.lifecycle.unsuspend",
                        okta_id=f"00u{n:017d}",
                        login=users[n][1],
                        published=moment(2),
                    )
                    for n in unsuspended
                ]
                deliveries = [okta_delivery(*events[i : i + 5]) for i in range(0, len(events), 5)]

                def deliver(pair: tuple[int, dict[str, Any]]) -> None:
                    index, delivery = pair
                    for server in (servers[index % 2], servers[(index + 1) % 2]):
                        answer = requests.post(
                            f"{server}/hooks/okta/{integration_id}",
                            json=delivery,
                            headers=hooks,
                            timeout=30,
                        )
                        assert answer.status_code == 200, answer.text

                with ThreadPoolExecutor(4) as pool:
                    list(pool.map(deliver, enumerate(deliveries)))

                # Let the two workers finish everything.
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    pending = _query(
                        env,
                        "SELECT (SELECT count(*) FROM invitation WHERE email_status IN "
                        "('queued','sending')) + (SELECT count(*) FROM okta_event WHERE "
                        "processed_at IS NULL)",
                    )
                    if not pending:
                        break
                    time.sleep(0.2)
                assert not pending, "work was left undone"
            finally:
                for worker in workers:
                    worker.terminate()
                    worker.wait(timeout=30)

        # Every user ends in the state its history implies.
        expected = {}
        for n, (scim_id, _) in enumerate(users):
            if n in deactivated:
                expected[scim_id] = "deactivated"
            elif n in suspended and n not in unsuspended:
                expected[scim_id] = "suspended"
            else:
                expected[scim_id] = "invited"
        rows = subprocess.run(
            ["psql", postgres_url, "-tAq", "-F", " ", "-c", 'SELECT scim_id, state FROM "user"'],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
        actual = dict(line.split(" ") for line in rows if line.strip())
        assert actual == expected

        # Each event was stored once (deliveries were duplicated) and applied once.
        assert _query(env, "SELECT count(*) FROM okta_event") == len(events)
        assert _query(env, "SELECT count(*) FROM okta_event WHERE outcome = 'applied'") == len(
            events
        )
        assert _query(
            env, "SELECT count(DISTINCT actor_id) FROM audit_entry WHERE actor_type = 'okta_event'"
        ) == _query(env, "SELECT count(*) FROM audit_entry WHERE actor_type = 'okta_event'")
        assert _query(env, "SELECT count(*) FROM hook_delivery") == 2 * len(deliveries)

        # Exactly one email per invitation that went out, none for the cancelled ones.
        invitation_rows = subprocess.run(
            [
                "psql",
                postgres_url,
                "-tAq",
                "-F",
                " ",
                "-c",
                "SELECT id, email_status FROM invitation",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
        for line in invitation_rows:
            if not line.strip():
                continue
            invitation_id, status = line.split(" ")
            sent = sendgrid.by_invitation(invitation_id)
            if status == "cancelled":
                assert sent == [], invitation_id
            else:
                assert status in {"sent", "processed", "delivered"}, (invitation_id, status)
                assert len(sent) == 1, (invitation_id, len(sent))
