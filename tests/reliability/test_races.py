"""Races over real sockets: gunicorn with several worker processes and threads, on the
suite's database (SQLite file or Postgres), requests released together by a barrier.

The in-process races of tests/blueprints/scim/test_concurrency.py share one process and
connection pool; these cross processes, as production does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from extensions import db
from models import AuditEntry, GroupMember, Invitation, User
from services.platform.settings import encryptor
from tests.blueprints.scim.conftest import GROUP_URN, PATCH_OP, USER_URN
from tests.conftest import OKTA_HEADERS
from tests.factories import make_integration, make_token, okta_create_user_payload
from tests.servers import Gunicorn, service_env

SCIM_JSON = {**OKTA_HEADERS, "Content-Type": "application/scim+json; charset=utf-8"}


class Client:
    """Okta's SCIM client over a real connection to the server."""

    def __init__(self, base: str, token: str) -> None:
        self.base = f"{base}/scim/v2"
        self.session = requests.Session()
        self.session.headers.update({**SCIM_JSON, "Authorization": f"Bearer {token}"})

    def send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        """One request; the response."""
        return self.session.request(
            method, self.base + path, json=body, headers=headers, timeout=60
        )

    def connect(self) -> None:
        """Open the connection now, so that the race is between requests, not handshakes."""
        self.send("GET", "/ServiceProviderConfig")


@pytest.fixture
def server(app: Any) -> Iterator[Gunicorn]:
    """gunicorn on the test's database: 3 worker processes of 4 threads each."""
    # The test's own connection goes back to the pool: the server's processes write now.
    if not db.is_closed():
        db.close()
    env = service_env(app.config["DATABASE_URL"], DB_POOL_SIZE="5")
    with Gunicorn(env, workers=3, threads=4) as gunicorn:
        yield gunicorn


@pytest.fixture
def token(app: Any) -> str:
    """A SCIM token of a new integration."""
    return make_token(make_integration(name="Racing Okta"))


def race(server: Gunicorn, token: str, count: int, send: Callable[[Client, int], Any]) -> list[Any]:
    """Run ``send`` from ``count`` threads, each on its own connection, released together."""
    clients = [Client(server.url, token) for _ in range(count)]
    for client in clients:
        client.connect()
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[index] = send(clients[index], index)
        except requests.RequestException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request never finished"
    failures = [r for r in results if isinstance(r, Exception)]
    assert not failures, f"{failures}\n{server.output()}"
    return results


def test_50_concurrent_creates_of_one_user_name_give_one_201_and_49_409s(
    server: Gunicorn, token: str
) -> None:
    body = okta_create_user_payload("Race@Example.com", externalId="00uRace")
    results = race(server, token, 50, lambda client, i: client.send("POST", "/Users", body))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * 49, server.output()
    for response in results:
        assert response.headers["Content-Type"].startswith("application/scim+json")
        if response.status_code == 409:
            assert response.json()["scimType"] == "uniqueness"
    created = next(r.json() for r in results if r.status_code == 201)
    assert User.select().where(User.user_name_key == "race@example.com").count() == 1
    assert User.get(User.user_name_key == "race@example.com").scim_id == created["id"]


def test_concurrent_patches_adding_different_members_to_one_group_lose_none(
    server: Gunicorn, token: str
) -> None:
    client = Client(server.url, token)
    ids = [
        client.send("POST", "/Users", okta_create_user_payload(f"m{i}@example.com")).json()["id"]
        for i in range(30)
    ]
    group = client.send(
        "POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "Everyone", "members": []}
    ).json()

    def add(client: Client, i: int) -> Any:
        operation = {"op": "add", "path": "members", "value": [{"value": ids[i]}]}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
        return client.send("PATCH", f"/Groups/{group['id']}", body)

    results = race(server, token, 30, add)
    assert [r.status_code for r in results] == [200] * 30, server.output()
    final = client.send("GET", f"/Groups/{group['id']}").json()
    assert sorted(m["value"] for m in final["members"]) == sorted(ids)
    assert final["meta"]["version"] == 'W/"31"'
    assert GroupMember.select().count() == 30


def test_a_concurrent_put_with_a_stale_if_match_gets_412(server: Gunicorn, token: str) -> None:
    client = Client(server.url, token)
    # Several rounds: each is one race between two PUTs that read the same version.
    for round_number in range(8):
        name = f"ann{round_number}@example.com"
        user = client.send("POST", "/Users", okta_create_user_payload(name)).json()
        etag = client.send("GET", f"/Users/{user['id']}").headers["ETag"]

        def replace(
            racer: Client, i: int, user: Any = user, name: str = name, etag: str = etag
        ) -> Any:
            body = {"schemas": [USER_URN], "userName": name, "title": ["Left", "Right"][i]}
            return racer.send("PUT", f"/Users/{user['id']}", body, **{"If-Match": etag})

        results = race(server, token, 2, replace)
        assert sorted(r.status_code for r in results) == [200, 412], server.output()
        winner = next(i for i, r in enumerate(results) if r.status_code == 200)
        loser = results[1 - winner]
        assert loser.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        stored = client.send("GET", f"/Users/{user['id']}")
        assert stored.json()["title"] == ["Left", "Right"][winner]
        assert stored.headers["ETag"] == results[winner].headers["ETag"] != etag


def test_one_enrollment_link_redeemed_20_times_at_once_enrolls_once(
    app: Any, server: Gunicorn, token: str
) -> None:
    client = Client(server.url, token)
    created = client.send("POST", "/Users", okta_create_user_payload()).json()
    user = User.get(User.scim_id == created["id"])
    invitation = Invitation.get(Invitation.user == user.id)
    link_token = encryptor().decrypt(invitation.token_encrypted)
    if not db.is_closed():
        db.close()

    def redeem(client: Client, i: int) -> Any:
        return client.session.post(
            f"{server.url}/api/v1/enrollments", json={"token": link_token}, timeout=60
        )

    results = race(server, token, 20, redeem)
    assert sorted(r.status_code for r in results) == [201] + [409] * 19, server.output()
    enrolled = AuditEntry.select().where(
        AuditEntry.action == "user.enroll", AuditEntry.target_id == created["id"]
    )
    assert enrolled.count() == 1
