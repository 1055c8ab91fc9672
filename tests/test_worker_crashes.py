"""Worker processes killed with SIGKILL at random moments lose nothing and repeat nothing.

Real ``flask --app app worker`` processes share the test's database; SendGrid and Okta are
local fakes over real sockets. Okta provisions a batch of users through the app while the
workers keep dying and restarting; users enroll, and some are deactivated; in the end every
welcome email went out exactly once and every Okta group membership is right.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from models import GroupSync, Invitation, User
from services.okta.org_settings import configure_okta
from testkit.fakes.okta import FakeOkta
from testkit.fakes.sendgrid import FakeSendGrid
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.factories import okta_create_user_payload, okta_patch_active
from tests.servers import start_worker

ROOT = Path(__file__).resolve().parent.parent
USERS = 40
CHUNK = 8  # users Okta provisions between two worker kills


@pytest.fixture
def worker_env(app: Any, okta: FakeOkta, sendgrid: FakeSendGrid) -> dict[str, str]:
    """The environment a worker process needs to share the test's database and fakes."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "SENDGRID_API_KEY": sendgrid.api_key,
        "SENDGRID_BASE_URL": sendgrid.url,
        "SENDGRID_TIMEOUT_SECONDS": "2",
        "OKTA_ALLOWED_HOSTS": okta.host,
        "OKTA_CA_BUNDLE": okta.ca_path,
        "PUBLIC_BASE_URL": "https://onboard.example.com",
        "WORKER_LEASE_SECONDS": "2",
        "MAIL_IN_DOUBT_GRACE_SECONDS": "3",
        "WORKER_POLL_SECONDS": "0.05",
        "WORKER_THREADS": "4",
        "LOG_LEVEL": "ERROR",
    }


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def _enroll_everyone_emailed(client: Any, sendgrid: FakeSendGrid, done: set[str]) -> None:
    for message in list(sendgrid.messages):
        text = next(c["value"] for c in message.body["content"] if c["type"] == "text/plain")
        link = next(word for word in text.split() if "/enroll/" in word)
        token = link.rsplit("/", 1)[1]
        if token in done:
            continue
        done.add(token)
        client.post("/api/v1/enrollments", json={"token": token})


def _settled() -> bool:
    pending_mail = Invitation.select().where(Invitation.email_status.in_(["queued", "sending"]))
    pending_sync = GroupSync.select().where(GroupSync.status != "done")
    return not pending_mail.exists() and not pending_sync.exists()


def test_killed_workers_send_every_email_once_and_leave_group_membership_right(
    app, client, scim_headers, integration, okta, sendgrid, worker_env
) -> None:
    group = okta.add_group("Passwordless")
    configure_okta(integration, org_url=okta.url, group=group, api_token="ssws-token")
    rng = random.Random(20261128)
    users: list[str] = []
    refused: list[tuple[str, int]] = []
    provisioning_done = threading.Event()
    kills = threading.Semaphore(0)

    def provision() -> None:
        """Okta pushes the batch one user at a time, at its own pace, through the app.

        After each chunk it waits for the next kill, so the batch spans several worker deaths
        however fast this machine is.
        """
        okta_side = app.test_client()
        pace = random.Random(7)
        try:
            for n in range(USERS):
                if n and n % CHUNK == 0:
                    while kills.acquire(blocking=False):
                        pass  # kills during the chunk do not count: wait for a new one
                    kills.acquire(timeout=30)
                login = f"user{n:02d}@example.com"
                okta_id = okta.add_user(login)
                body = okta_create_user_payload(login, externalId=okta_id)
                response = okta_side.post("/scim/v2/Users", json=body, headers=scim_headers)
                if response.status_code == 201:
                    users.append(response.get_json()["id"])
                else:
                    refused.append((login, response.status_code))
                time.sleep(pace.uniform(0.02, 0.1))
        finally:
            provisioning_done.set()

    enrolled_tokens: set[str] = set()
    deactivated: set[str] = set()
    # Slow answers keep requests in flight, so kills land mid-send, including after SendGrid
    # accepted a message but before the worker recorded it.
    sendgrid.delay = 0.02
    sendgrid.delay_after_accept = 0.04
    okta.delay = 0.04
    accepted_before_kill: set[str] = set()
    kills_during_provisioning = 0
    process = start_worker(worker_env)
    provisioner = threading.Thread(target=provision, name="okta-provisioning")
    provisioner.start()
    try:
        round_number = 0
        while round_number < 10 or not provisioning_done.is_set():
            if round_number in {0, 1} and len(sendgrid.messages) < USERS:
                # Kill the moment SendGrid has accepted a message: its answer is still on
                # the way (delay_after_accept), so the worker has not recorded the send.
                seen = len(sendgrid.messages)
                while len(sendgrid.messages) == seen and process.poll() is None:
                    time.sleep(0.002)
                _kill(process)
                accepted_before_kill.update(
                    m.custom_args["invitation_id"] for m in sendgrid.messages[seen:]
                )
            else:
                time.sleep(rng.uniform(0.05, 0.5))
                _kill(process)
            kills_during_provisioning += not provisioning_done.is_set()
            kills.release()
            _enroll_everyone_emailed(client, sendgrid, enrolled_tokens)
            if round_number in {3, 6}:
                # Some users leave while the workers keep dying: their membership must go.
                for scim_id in rng.sample(sorted(set(users) - deactivated), 3):
                    client.patch(
                        f"/scim/v2/Users/{scim_id}",
                        json=okta_patch_active(False),
                        headers=scim_headers,
                    )
                    deactivated.add(scim_id)
            process = start_worker(worker_env)
            round_number += 1
        provisioner.join(timeout=60)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            _enroll_everyone_emailed(client, sendgrid, enrolled_tokens)
            if _settled() and len(enrolled_tokens) >= len(sendgrid.messages):
                time.sleep(0.5)
                if _settled():
                    break
            time.sleep(0.3)
    finally:
        _kill(process)
        provisioning_done.wait(timeout=60)

    assert not refused, refused
    assert len(users) == USERS
    # The batch was still arriving while workers died: provisioning and kills overlapped.
    assert kills_during_provisioning >= USERS // CHUNK - 1, kills_during_provisioning
    assert _settled(), "work was left undone"
    # The surgical kills landed after SendGrid accepted a message and before the worker
    # could record it: those invitations were settled without a second email.
    assert accepted_before_kill
    for invitation_id in accepted_before_kill:
        assert len(sendgrid.by_invitation(invitation_id)) == 1
    for invitation in Invitation.select():
        sent = sendgrid.by_invitation(invitation.id)
        if invitation.email_status in {"sent", "processed", "delivered"}:
            assert len(sent) == 1, (invitation.id, invitation.email_status, len(sent))
        else:
            assert invitation.email_status == "cancelled"
            assert sent == []
    members = okta.groups[group].members
    for user in User.select():
        should_be_in = user.state == "enrolled"
        assert (user.external_id in members) == should_be_in, (user.user_name, user.state)
    assert {u.scim_id for u in User.select().where(User.state == "deactivated")} == deactivated
    assert (
        len(sendgrid.messages)
        == Invitation.select().where(Invitation.email_status != "cancelled").count()
    )
