"""Requests that race each other: the database decides, nothing is lost or duplicated."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask

from extensions import db
from models import GroupMember, User
from tests.blueprints.scim.conftest import USER_URN, Scim, patch_op

THREADS = 10


def _race(app: Flask, headers: dict[str, str], send: Callable[[Scim, int], Any]) -> list[Any]:
    """Run ``send`` in THREADS threads, each with its own client, released together."""
    # The main thread's connection goes back to the pool so every thread can have one.
    if not db.is_closed():
        db.close()
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def run(index: int) -> None:
        scim = Scim(app.test_client(), headers)
        barrier.wait(timeout=30)
        response = send(scim, index)
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_identical_creates_racing_give_one_201_and_409s(app, scim_headers) -> None:
    body = {"schemas": [USER_URN], "userName": "Race@Example.com", "externalId": "00uRace"}
    results = _race(app, scim_headers, lambda scim, i: scim.post("/Users", body))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (THREADS - 1)
    assert all(b["scimType"] == "uniqueness" for status, b in results if status == 409)
    assert User.select().where(User.user_name_key == "race@example.com").count() == 1


def test_creates_differing_only_in_case_racing_give_one_user(app, scim_headers) -> None:
    def send(scim: Scim, i: int) -> Any:
        name = "".join(c.upper() if (i >> n) & 1 else c for n, c in enumerate("race@example.com"))
        return scim.post("/Users", {"schemas": [USER_URN], "userName": name})

    results = _race(app, scim_headers, send)
    assert sorted(status for status, _ in results) == [201] + [409] * (THREADS - 1)
    assert User.select().where(User.user_name_key == "race@example.com").count() == 1


def test_concurrent_patches_adding_different_members_lose_none(app, scim, scim_headers) -> None:
    ids = [scim.create_user(f"user{i}@example.com")["id"] for i in range(THREADS)]
    group = scim.create_group("Everyone")

    def send(client: Scim, i: int) -> Any:
        operation = {"op": "add", "path": "members", "value": [{"value": ids[i]}]}
        return client.patch(f"/Groups/{group['id']}", patch_op(operation))

    results = _race(app, scim_headers, send)
    assert [status for status, _ in results] == [200] * THREADS
    members = scim.get(f"/Groups/{group['id']}").get_json()["members"]
    assert sorted(m["value"] for m in members) == sorted(ids)
    final = scim.get(f"/Groups/{group['id']}").get_json()["meta"]["version"]
    assert final == f'W/"{1 + THREADS}"'
    assert GroupMember.select().count() == THREADS


def test_concurrent_patches_of_one_user_apply_every_change(app, scim, scim_headers) -> None:
    user = scim.create_user("ann@example.com")

    def send(client: Scim, i: int) -> Any:
        operation = {"op": "add", "path": "phoneNumbers", "value": [{"value": f"+1 555 01{i:02}"}]}
        return client.patch(f"/Users/{user['id']}", patch_op(operation))

    results = _race(app, scim_headers, send)
    assert [status for status, _ in results] == [200] * THREADS
    phones = scim.get(f"/Users/{user['id']}").get_json()["phoneNumbers"]
    assert sorted(p["value"] for p in phones) == [f"+1 555 01{i:02}" for i in range(THREADS)]
