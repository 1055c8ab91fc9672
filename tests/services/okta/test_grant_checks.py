"""Nobody joins the passwordless (MFA-skip) group unless Okta confirms who they are.

A SCIM token names the externalId, userName and email of every user it creates, so holding one
must not be enough to put an Okta account into the group. Each test drives the real path (SCIM
create, the welcome email, enrollment from its link, the worker) against the local fake Okta.
"""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from models import AuditEntry, GroupSync, Integration, User
from services.okta import group_sync
from services.okta.connection import check_okta_connection
from services.okta.org_settings import configure_okta

LOGIN = "ada@example.com"


def _sync_of(scim_id: str) -> GroupSync:
    return GroupSync.get(GroupSync.user == User.get(User.scim_id == scim_id).id)


def _refused(reason: str) -> float:
    value = REGISTRY.get_sample_value("scim_onboard_okta_grants_refused_total", {"reason": reason})
    return value or 0.0


def test_another_persons_okta_id_with_our_own_email_never_reaches_the_group(
    okta, group, enroll, worker, client
) -> None:
    victim = okta.add_user("victim@example.com")
    before = _refused("identity_mismatch")
    # Everything the SCIM body controls points at the victim, except the mailbox.
    scim_id = enroll(
        userName="victim@example.com",
        externalId=victim,
        emails=[{"primary": True, "value": "attacker@evil.example", "type": "work"}],
    )
    worker.run_until_idle()
    assert okta.groups[group].members == set()
    assert [r.method for r in okta.api_requests] == ["GET"]  # the check; no PUT
    row = _sync_of(scim_id)
    assert row.status == "failed"
    assert row.last_error.startswith(f"identity mismatch: Okta user {victim} has login victim@")
    assert "we invited attacker@evil.example" in row.last_error
    audit = AuditEntry.get(AuditEntry.action == "group.grant_refused")
    assert audit.target_id == scim_id and audit.detail["check"] == "identity_mismatch"
    assert _refused("identity_mismatch") == before + 1


def test_a_correct_user_is_added_with_two_extra_calls_at_most(
    okta, group, enroll, worker, integration
) -> None:
    user = okta.add_user(LOGIN)
    app = okta.add_app(user)
    configure_okta(integration, app_id=app)
    enroll(externalId=user)
    worker.run_until_idle()
    assert okta.groups[group].members == {user}
    calls = [(r.method, r.path) for r in okta.api_requests]
    assert calls == [
        ("GET", f"/api/v1/users/{user}"),
        ("GET", f"/api/v1/apps/{app}/users/{user}"),
        ("PUT", f"/api/v1/groups/{group}/users/{user}"),
    ]


def test_a_user_unassigned_from_the_app_before_enrolling_is_not_added(
    okta, group, enroll, worker, integration
) -> None:
    user = okta.add_user(LOGIN)
    app = okta.add_app(user)
    configure_okta(integration, app_id=app)
    okta.app_users[app].discard(user)  # unassigned in Okta; nothing told us over SCIM
    scim_id = enroll(externalId=user)
    worker.run_until_idle()
    assert okta.groups[group].members == set()
    row = _sync_of(scim_id)
    assert (row.status, row.last_error) == (
        "failed",
        f"not assigned to the app: Okta user {user} is not assigned to app {app}",
    )


@pytest.mark.parametrize("status", ["SUSPENDED", "DEPROVISIONED", "STAGED", "PROVISIONED"])
def test_an_okta_user_who_cannot_sign_in_is_not_added(okta, group, enroll, worker, status) -> None:
    user = okta.add_user(LOGIN, status=status)
    scim_id = enroll(externalId=user)
    worker.run_until_idle()
    assert okta.groups[group].members == set()
    row = _sync_of(scim_id)
    assert row.status == "failed"
    assert row.last_error == f"Okta user {user} is {status}; fix the user in Okta"


def test_a_locked_out_user_is_retried_and_added_once_unlocked(okta, group, enroll, worker) -> None:
    user = okta.add_user(LOGIN, status="LOCKED_OUT")
    scim_id = enroll(externalId=user)
    worker.run_until_idle()
    row = _sync_of(scim_id)
    assert (row.status, okta.groups[group].members) == ("pending", set())
    assert "LOCKED_OUT; retrying once Okta shows it ACTIVE" in row.last_error
    okta.user_status[user] = "ACTIVE"
    GroupSync.update(next_attempt_at=row.updated).execute()  # due now
    worker.run_until_idle()
    assert okta.groups[group].members == {user}


def test_a_retry_after_the_admin_fixes_the_mapping_succeeds(
    okta, group, enroll, worker, client
) -> None:
    user = okta.add_user(LOGIN, email="ada.lovelace@example.com")
    scim_id = enroll(externalId=user)
    worker.run_until_idle()
    assert _sync_of(scim_id).status == "failed"
    okta.user_email[user] = LOGIN  # the admin corrected the email in Okta
    assert group_sync.retry(User.get(User.scim_id == scim_id))
    worker.run_until_idle()
    assert okta.groups[group].members == {user}
    assert _sync_of(scim_id).status == "done"


def test_a_user_found_by_login_is_checked_too(okta, group, enroll, worker) -> None:
    # externalId mapped to something other than the Okta id: the user is looked up by login.
    user = okta.add_user(LOGIN, email="someone.else@example.com")
    scim_id = enroll(externalId="employee-4711")
    worker.run_until_idle()
    assert okta.groups[group].members == set()
    assert _sync_of(scim_id).last_error.startswith(f"identity mismatch: Okta user {user}")


def test_the_connection_test_proves_the_apps_assignments_can_be_read(
    okta, group, integration
) -> None:
    app = okta.add_app()
    configure_okta(integration, app_id=app)
    check = check_okta_connection(Integration.get_by_id(integration.id))
    assert check.ok, check.reason
    configure_okta(integration, app_id="0oa" + "x" * 17)
    check = check_okta_connection(Integration.get_by_id(integration.id))
    assert not check.ok
    assert check.reason.startswith("Okta has no app with ID 0oaxxxxxxxxxxxxxxxxx")


def test_a_service_app_without_okta_apps_read_is_told_to_grant_it(okta, group, integration) -> None:
    client_id, pem = okta.add_oauth_client(scopes=("okta.groups.manage", "okta.users.read"))
    configure_okta(integration, client_id=client_id, private_key=pem, app_id=okta.add_app())
    token_requests = okta.token_requests
    check = check_okta_connection(Integration.get_by_id(integration.id))
    assert not check.ok
    assert "okta.apps.read" in check.reason
    assert okta.token_requests == token_requests + 1


def test_the_connection_test_proves_membership_changes_and_log_reads(
    okta, group, integration
) -> None:
    member = okta.add_user("someone@example.com")
    okta.groups[group].members.add(member)
    check = check_okta_connection(Integration.get_by_id(integration.id))
    assert check.ok, check.reason
    assert "members can be listed and changed, and the System Log read" in check.reason
    assert "The group already has members (1)" in check.reason
    puts = [r.path for r in okta.api_requests if r.method == "PUT"]
    assert puts == [f"/api/v1/groups/{group}/users/{member}"]  # idempotent re-add
    assert okta.groups[group].members == {member}


def test_a_credential_that_cannot_read_the_system_log_is_named_with_its_fix(
    okta, group, integration
) -> None:
    client_id, pem = okta.add_oauth_client(scopes=("okta.groups.manage", "okta.users.read"))
    configure_okta(integration, client_id=client_id, private_key=pem)
    check = check_okta_connection(Integration.get_by_id(integration.id))
    assert not check.ok
    assert "not granted: okta.logs.read" in check.reason
    assert "Grant the okta.groups.manage, okta.users.read and okta.logs.read scopes" in check.reason
