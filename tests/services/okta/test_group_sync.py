"""Okta group membership follows enrollment, through the Management API (a local fake Okta)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest

from models import GroupSync, Integration, User
from services.okta import group_sync
from services.okta.connection import check_okta_connection
from services.okta.org_settings import configure_okta
from services.platform.claims import claim
from testkit.fakes.okta import FakeOkta
from tests.factories import (
    moment,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
    okta_patch_active,
)

OKTA_USER = "00ujl29u0le5T6Aj10h7"
LEASE = dt.timedelta(seconds=120)


@pytest.fixture
def group_id(okta: FakeOkta, integration: Any) -> str:
    gid = okta.add_group("Passwordless users")
    okta.add_user("test.user@okta.local", user_id=OKTA_USER)
    configure_okta(
        integration,
        org_url=okta.url,
        group=f"{okta.url}/admin/group/{gid}",
        api_token="ssws-token",
    )
    return gid


@pytest.fixture
def enrolled(client, scim_headers, worker, mailer) -> dict:
    """A user who has enrolled (the group sync is queued, not yet run)."""
    user = client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    worker.run_until_idle()
    link = next(w for w in mailer.sent[0].text.split() if "/enroll/" in w)
    response = client.post("/api/v1/enrollments", json={"token": link.rsplit("/", 1)[1]})
    assert response.status_code == 201
    return user.get_json()


def _sync() -> GroupSync:
    return GroupSync.get()


def test_an_enrolled_user_is_added_to_the_passwordless_group(
    okta, group_id, enrolled, worker
) -> None:
    assert OKTA_USER not in okta.groups[group_id].members
    worker.run_until_idle()
    assert OKTA_USER in okta.groups[group_id].members
    assert (_sync().confirmed, _sync().status) == ("in", "done")
    put = [r for r in okta.api_requests if r.method == "PUT"]
    assert put[0].path == f"/api/v1/groups/{group_id}/users/{OKTA_USER}"
    assert put[0].headers["Authorization"] == "SSWS ssws-token"
    assert put[0].headers["Content-Length"] == "0"


def test_an_invited_user_is_never_added(okta, group_id, client, scim_headers, worker) -> None:
    client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    worker.run_until_idle()
    assert okta.groups[group_id].members == set()
    assert okta.api_requests == []


def test_deactivation_removes_the_user_from_the_group(
    okta, group_id, enrolled, worker, client, scim_headers
) -> None:
    worker.run_until_idle()
    client.patch(
        f"/scim/v2/Users/{enrolled['id']}", json=okta_patch_active(False), headers=scim_headers
    )
    worker.run_until_idle()
    assert OKTA_USER not in okta.groups[group_id].members
    assert (_sync().desired, _sync().confirmed) == ("out", "out")


def test_a_deactivation_racing_the_workers_confirmation_still_takes_the_user_out(
    app, okta, group_id, enrolled, worker, client, scim_headers, monkeypatch
) -> None:
    # The worker is adding the user to the group when Okta deactivates them: the worker's
    # "confirmed in" lands between the lifecycle reading the sync row and writing it.
    (row,) = claim(GroupSync, GroupSync.status == "pending", [GroupSync.id], "w", LEASE, 1)
    read = group_sync._sync_of_user

    def confirm() -> None:
        with app.app_context():
            group_sync.sync_one(row)

    confirming = threading.Thread(target=confirm)

    def read_then_let_the_worker_confirm(user_id: int) -> list[GroupSync]:
        found = read(user_id)
        confirming.start()
        confirming.join(2)  # on SQLite it waits for our write lock, and confirms after us
        return found

    monkeypatch.setattr(group_sync, "_sync_of_user", read_then_let_the_worker_confirm)
    client.patch(
        f"/scim/v2/Users/{enrolled['id']}", json=okta_patch_active(False), headers=scim_headers
    )
    monkeypatch.undo()
    confirming.join()
    GroupSync.update(lease_until=None, next_attempt_at=dt.datetime(2000, 1, 1)).execute()
    worker.run_until_idle()
    assert OKTA_USER not in okta.groups[group_id].members
    assert (_sync().desired, _sync().confirmed, _sync().status) == ("out", "out", "done")


def test_deletion_removes_the_user_even_though_its_okta_id_was_erased(
    okta, group_id, enrolled, worker, client, integration, hook_headers
) -> None:
    worker.run_until_idle()
    event = okta_event("user.lifecycle.delete.initiated", published=moment(1))
    client.post(f"/hooks/okta/{integration.id}", json=okta_delivery(event), headers=hook_headers)
    worker.run_until_idle()
    assert User.get(User.scim_id == enrolled["id"]).external_id is None
    assert OKTA_USER not in okta.groups[group_id].members
    # Once out of the group, the Okta login and id kept for the removal are erased too.
    assert (_sync().okta_login, _sync().okta_user_id) == (None, None)


def test_removing_someone_okta_no_longer_has_counts_as_done(
    okta, group_id, enrolled, worker, client, scim_headers
) -> None:
    worker.run_until_idle()
    del okta.users[OKTA_USER]
    okta.groups[group_id].members.discard(OKTA_USER)
    client.patch(
        f"/scim/v2/Users/{enrolled['id']}", json=okta_patch_active(False), headers=scim_headers
    )
    worker.run_until_idle()
    assert (_sync().confirmed, _sync().status) == ("out", "done")


def test_a_429_pauses_every_call_until_oktas_reset_time(okta, group_id, enrolled, worker) -> None:
    reset = int(time.time()) + 5
    okta.fail_next(
        1, 429, headers={"X-Rate-Limit-Reset": str(reset), "X-Rate-Limit-Remaining": "0"}
    )
    worker.run_until_idle()
    row = _sync()
    assert row.status == "pending"
    assert row.last_error == "rate limited by Okta"
    paused = Integration.get().okta_paused_until
    assert paused == dt.datetime.fromtimestamp(reset, dt.UTC).replace(tzinfo=None)
    assert row.next_attempt_at == paused
    calls = len(okta.api_requests)
    worker.run_until_idle()
    assert len(okta.api_requests) == calls  # nothing is sent before the reset
    GroupSync.update(next_attempt_at=dt.datetime(2000, 1, 1)).execute()
    Integration.update(okta_paused_until=dt.datetime(2000, 1, 1)).execute()
    worker.run_until_idle()
    assert OKTA_USER in okta.groups[group_id].members


def test_429s_whose_reset_is_already_past_back_off_instead_of_looping(
    okta, group_id, enrolled, worker
) -> None:
    # A concurrency 429's reset is only a suggestion, and clocks drift: it may be past.
    past = str(int(time.time()) - 30)
    okta.fail_next(10, 429, headers={"X-Rate-Limit-Reset": past, "X-Rate-Limit-Remaining": "0"})
    worker.run_until_idle()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert _sync().next_attempt_at >= now + dt.timedelta(milliseconds=500)  # not at once
    for attempt in range(2, 5):
        GroupSync.update(next_attempt_at=dt.datetime(2000, 1, 1)).execute()
        Integration.update(okta_paused_until=None).execute()
        worker.run_until_idle()
        wait = _sync().next_attempt_at - dt.datetime.now(dt.UTC).replace(tzinfo=None)
        # Each further refusal waits longer (5 s doubling, with jitter of ±50 %).
        assert wait >= dt.timedelta(seconds=2.5 * 2 ** (attempt - 1) - 1)
        assert (_sync().attempts, _sync().status) == (attempt, "pending")
    assert len(okta.api_requests) == 4  # one refused call per attempt, no loop


def test_low_remaining_quota_slows_down_before_a_429(okta, group_id, enrolled, worker) -> None:
    okta.set_rate_limit(2)
    worker.run_until_idle()
    assert OKTA_USER in okta.groups[group_id].members
    paused = Integration.get().okta_paused_until
    assert paused is not None
    assert paused > dt.datetime.now(dt.UTC).replace(tzinfo=None)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_back_off_and_then_succeed(okta, group_id, enrolled, worker, status) -> None:
    okta.fail_next(1, status)
    worker.run_until_idle()
    row = _sync()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at > dt.datetime.now(dt.UTC).replace(tzinfo=None)
    GroupSync.update(next_attempt_at=dt.datetime(2000, 1, 1)).execute()
    worker.run_until_idle()
    assert OKTA_USER in okta.groups[group_id].members


def test_a_slow_okta_counts_as_a_transient_failure(okta, group_id, enrolled, worker) -> None:
    okta.delay = 3.0
    worker.run_until_idle()
    okta.delay = 0.0
    assert _sync().status == "pending"
    assert _sync().attempts == 1


def test_a_refused_credential_parks_the_work_and_marks_the_integration_unhealthy(
    okta, group_id, enrolled, worker, integration
) -> None:
    okta.api_tokens.clear()
    worker.run_until_idle()
    stored = Integration.get_by_id(integration.id)
    assert "E0000011" in stored.unhealthy_reason
    assert "Invalid token provided" in stored.unhealthy_reason
    assert _sync().status == "waiting"
    calls = len(okta.api_requests)
    worker.run_until_idle()
    assert len(okta.api_requests) == calls
    # The admin pastes a working token: parked work resumes.
    okta.api_tokens.add("new-token")
    configure_okta(stored, api_token="new-token")
    worker.run_until_idle()
    assert OKTA_USER in okta.groups[group_id].members
    assert Integration.get_by_id(integration.id).unhealthy_reason is None


def test_a_group_deleted_in_okta_parks_the_integrations_work(
    okta, group_id, enrolled, worker, integration
) -> None:
    del okta.groups[group_id]
    worker.run_until_idle()
    assert _sync().status == "waiting"
    reason = Integration.get_by_id(integration.id).unhealthy_reason
    assert reason == f"the passwordless group {group_id} was not found in Okta"


def test_a_user_deleted_in_okta_fails_that_change_alone(
    okta, group_id, enrolled, worker, integration
) -> None:
    del okta.users[OKTA_USER]
    worker.run_until_idle()
    assert _sync().status == "failed"
    assert f"Okta has no user {OKTA_USER} (E0000007)" in _sync().last_error
    assert Integration.get_by_id(integration.id).unhealthy_reason is None


def test_without_okta_settings_the_work_waits_with_a_reason(enrolled, worker) -> None:
    worker.run_until_idle()
    assert _sync().status == "waiting"
    assert "Okta API not configured" in _sync().last_error


def test_an_oauth_service_app_credential_works_end_to_end(
    okta, enrolled, worker, integration
) -> None:
    gid = okta.add_group("Passwordless users")
    okta.add_user("test.user@okta.local", user_id=OKTA_USER)
    client_id, private_key = okta.add_oauth_client()
    configure_okta(
        integration, org_url=okta.url, group=gid, client_id=client_id, private_key=private_key
    )
    worker.run_until_idle()
    assert OKTA_USER in okta.groups[gid].members
    assert okta.token_requests == 1
    assert integration.id and Integration.get_by_id(integration.id).okta_secret != private_key


def test_the_okta_credential_is_encrypted_at_rest(okta, group_id, integration) -> None:
    stored = Integration.get_by_id(integration.id)
    assert stored.okta_auth == "ssws"
    assert "ssws-token" not in stored.okta_secret


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("ok", None),
        ("app_group", "APP_GROUP"),
        ("missing_group", "no group with ID 00gmissing"),
        ("bad_token", "E0000011"),
    ],
)
def test_test_connection_reports_a_precise_reason(okta, integration, setup, reason) -> None:
    gid = okta.add_group("Passwordless", type="APP_GROUP" if setup == "app_group" else "OKTA_GROUP")
    if setup == "missing_group":
        gid = "00gmissing0000000000"
    configure_okta(
        integration,
        org_url=okta.url,
        group=gid,
        api_token="wrong" if setup == "bad_token" else "ssws-token",
    )
    result = check_okta_connection(Integration.get_by_id(integration.id))
    assert result.ok is (reason is None)
    if reason:
        assert reason in result.reason


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"org_url": "http://acme.okta.com"}, "Okta org URL"),
        ({"org_url": "https://169.254.169.254"}, "Okta org URL"),
        ({"org_url": "https://evil.example.com"}, "Okta org URL"),
        ({"group": "not a group"}, "passwordless group"),
        ({"api_token": "x", "client_id": "y", "private_key": "z"}, "not both"),
        ({"client_id": "y"}, "both a client id and a private key"),
    ],
)
def test_bad_okta_settings_are_refused_with_a_clear_message(
    app, integration, settings, message
) -> None:
    from services.errors import ValidationError

    with pytest.raises(ValidationError, match=message):
        configure_okta(integration, **settings)


def test_rotating_the_encryption_key_keeps_the_okta_credential_usable(
    app, okta, group_id, enrolled, worker, integration, runner
) -> None:
    from cryptography.fernet import Fernet

    from tests.conftest import TEST_ENCRYPTION_KEY

    before = Integration.get_by_id(integration.id).okta_secret
    new_key = Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEYS"] = [new_key, TEST_ENCRYPTION_KEY]
    result = runner.invoke(args=["rotate-encryption"])
    assert result.exit_code == 0, result.output
    after = Integration.get_by_id(integration.id).okta_secret
    assert after != before
    # Only the new key is needed from now on.
    app.config["ENCRYPTION_KEYS"] = [new_key]
    worker.run_until_idle()
    assert OKTA_USER in okta.groups[group_id].members
