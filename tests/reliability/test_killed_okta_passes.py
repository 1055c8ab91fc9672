"""A reconciliation or backfill pass killed with SIGKILL half-way leaves nothing wrong: the next
pass (and group sync, once the dead process's leases run out) finishes the job exactly once.

The killed pass is a real ``flask --app app integrations ...`` process sharing the test's
database; Okta is the local fake, slowed down so that the kill lands in the middle.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from hooks.backfill import backfill
from models import GroupSync, HookDelivery, Integration, OktaEvent, User
from services.okta.reconciliation import reconcile
from testkit.fakes.okta import FakeOkta
from tests.factories import moment, okta_event
from tests.servers import BIN, ROOT, service_env

LEASE_SECONDS = 2


@pytest.fixture
def cli_env(app: Any, okta: FakeOkta) -> dict[str, str]:
    return service_env(
        app.config["DATABASE_URL"],
        OKTA_ALLOWED_HOSTS=okta.host,
        OKTA_CA_BUNDLE=okta.ca_path,
        WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
        PUBLIC_BASE_URL="https://onboard.example.com",
        LOG_LEVEL="ERROR",
    )


def _kill_when(
    env: dict[str, str], args: list[str], ready: Callable[[], bool], timeout: float = 60
) -> None:
    """Start the CLI pass, SIGKILL it as soon as ``ready()`` holds, and check it was mid-way."""
    process = subprocess.Popen(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert process.poll() is None, "the pass ended before it could be killed"
            assert time.monotonic() < deadline, "the pass never got going"
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def _calls(okta: FakeOkta, method: str, prefix: str = "/api/v1/") -> int:
    return sum(1 for r in okta.api_requests if r.method == method and r.path.startswith(prefix))


@pytest.fixture
def members(okta, group, enroll, worker) -> set[str]:
    """Ten enrolled users whom group sync added: their Okta ids."""
    wanted = set()
    for i in range(10):
        login = f"member{i}@example.com"
        okta_id = okta.add_user(login)
        enroll(userName=login, externalId=okta_id)
        wanted.add(okta_id)
    worker.run_until_idle()
    assert okta.groups[group].members == wanted
    return wanted


def test_a_reconciliation_killed_while_removing_strays_is_finished_by_the_next_pass(
    okta, group, members, integration, cli_env, worker
) -> None:
    strays = {okta.add_user(f"stray{i}@example.com") for i in range(40)}
    okta.groups[group].members |= strays
    okta.delay = 0.05

    _kill_when(
        cli_env,
        ["integrations", "reconcile", "--integration", integration.name],
        lambda: _calls(okta, "DELETE") >= 10,
    )
    assert okta.groups[group].members & strays, "the kill came after the last removal"

    okta.delay = 0
    report = reconcile(Integration.get_by_id(integration.id))
    worker.run_until_idle()

    assert okta.groups[group].members == members
    assert 0 < report.removed < len(strays)  # the rest went before the kill
    assert reconcile(Integration.get_by_id(integration.id)).summary() == (
        f"added 0, removed 0, unchanged {len(members)}"
    )


def test_a_reconciliation_killed_while_re_adding_members_leaves_them_to_group_sync(
    okta, group, members, integration, cli_env, worker
) -> None:
    okta.groups[group].members.clear()  # someone emptied the group by hand
    okta.delay = 0.05

    _kill_when(
        cli_env,
        ["integrations", "reconcile", "--integration", integration.name],
        lambda: _calls(okta, "PUT") >= 10 + 3,  # ten from the fixture, then three re-adds
    )
    assert okta.groups[group].members < members, "the kill came after the last re-add"

    okta.delay = 0
    reconcile(Integration.get_by_id(integration.id))
    time.sleep(LEASE_SECONDS + 0.5)  # the dead process's claims on its rows run out
    worker.run_until_idle()

    assert okta.groups[group].members == members
    assert not GroupSync.select().where(GroupSync.status != "done").exists()


def test_a_backfill_killed_mid_walk_stores_and_applies_every_event_once(
    okta, group, enroll, integration, cli_env, worker
) -> None:
    scim_id = enroll()
    Integration.update(backfilled_through=None).where(Integration.id == integration.id).execute()
    okta.log_events.append(okta_event("user.lifecycle.suspend", published=moment(-5)))
    okta.log_events.extend(
        okta_event("user.account.update_profile", published=moment(-3)) for _ in range(2500)
    )
    okta.delay = 0.3

    _kill_when(
        cli_env,
        ["integrations", "backfill", "--integration", integration.name],
        # The second page of the System Log is being read.
        lambda: _calls(okta, "GET", "/api/v1/logs") >= 2,
    )
    assert OktaEvent.select().count() == 0  # nothing half-stored
    through = Integration.get_by_id(integration.id).backfilled_through
    assert through is None  # the read position did not move

    okta.delay = 0
    first = backfill(Integration.get_by_id(integration.id))
    again = backfill(Integration.get_by_id(integration.id))
    worker.run_until_idle()

    assert first.summary() == "stored 2501 new events (0 already known)"
    assert again.summary() == "stored 0 new events (2501 already known)"
    assert OktaEvent.select().count() == 2501
    assert HookDelivery.select().where(HookDelivery.source == "backfill").count() == 1
    assert User.get(User.scim_id == scim_id).state == "suspended"
