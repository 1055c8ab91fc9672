"""The passwordless group holds exactly the users we want in it, whatever happened in Okta."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from models import AuditEntry, Integration
from services.okta.reconciliation import last_report, open_drift, reconcile

LOGIN = "ada@example.com"


@pytest.fixture
def member(okta, group, enroll, worker) -> str:
    """An enrolled user whom group sync added: its Okta id."""
    okta_id = okta.add_user(LOGIN)
    enroll(externalId=okta_id)
    worker.run_until_idle()
    assert okta.groups[group].members == {okta_id}
    return okta_id


def _integration(integration: Any) -> Integration:
    return Integration.get_by_id(integration.id)


def test_a_member_added_by_hand_in_okta_is_removed_and_audited(
    okta, group, member, integration
) -> None:
    stray = okta.add_user("mallory@example.com")
    okta.groups[group].members.add(stray)
    report = reconcile(_integration(integration), "fix")
    assert okta.groups[group].members == {member}
    assert report.summary() == "added 0, removed 1, unchanged 1"
    entry = AuditEntry.get(AuditEntry.action == "group.member_removed")
    assert (entry.actor_type, entry.detail["okta_user"], entry.detail["reason"]) == (
        "system",
        stray,
        "stray member",
    )


def test_a_member_removed_by_hand_is_added_again_through_the_grant_checks(
    okta, group, member, integration
) -> None:
    okta.groups[group].members.clear()
    okta.requests_log.clear()
    report = reconcile(_integration(integration), "fix")
    assert okta.groups[group].members == {member}
    assert report.summary() == "added 1, removed 0, unchanged 0"
    paths = [(r.method, r.path.split("?")[0]) for r in okta.api_requests]
    assert ("GET", f"/api/v1/users/{member}") in paths  # checked before the PUT
    assert paths[-1] == ("PUT", f"/api/v1/groups/{group}/users/{member}")
    assert AuditEntry.get(AuditEntry.action == "group.member_missing").detail["reason"] == (
        "missing member"
    )


def test_a_missing_member_okta_no_longer_confirms_is_not_added_back(
    okta, group, member, integration
) -> None:
    okta.groups[group].members.clear()
    okta.user_status[member] = "SUSPENDED"
    report = reconcile(_integration(integration), "fix")
    assert okta.groups[group].members == set()
    assert report.added == 0


def test_report_mode_changes_nothing_and_shows_the_drift(okta, group, member, integration) -> None:
    stray = okta.add_user("mallory@example.com")
    okta.groups[group].members.add(stray)
    report = reconcile(_integration(integration), "report")
    assert okta.groups[group].members == {member, stray}
    assert (report.strays, report.summary()) == ([stray], "added 0, removed 0, unchanged 1")
    stored = last_report(_integration(integration))
    assert stored is not None and open_drift(stored) == 1


def test_a_large_group_is_read_in_pages_of_200(okta, group, member, integration) -> None:
    strays = {okta.add_user(f"user{i}@example.com") for i in range(450)}
    okta.groups[group].members |= strays
    okta.requests_log.clear()
    report = reconcile(_integration(integration), "report")
    pages = [
        r.path for r in okta.api_requests if r.path.startswith(f"/api/v1/groups/{group}/users?")
    ]
    assert len(pages) == 3 and all("limit=200" in page for page in pages)
    assert len(report.strays) == 20  # the report keeps the first 20
    stored = last_report(_integration(integration))
    assert stored is not None and stored["strays_total"] == 450


def test_the_cli_prints_the_counts_last_and_fails_plainly_when_okta_is_down(
    app, okta, group, member, integration
) -> None:
    okta.groups[group].members.add(okta.add_user("mallory@example.com"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["integrations", "reconcile", "--integration", "Acme Okta"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "added 0, removed 1, unchanged 1"
    okta.down()
    result = runner.invoke(args=["integrations", "reconcile", "--integration", "Acme Okta"])
    assert result.exit_code != 0
    (line,) = result.output.splitlines()
    assert line.startswith("Error: could not read the group from Okta")


def test_the_worker_reconciles_once_the_interval_has_passed(
    okta, group, member, integration, worker
) -> None:
    stray = okta.add_user("mallory@example.com")
    okta.groups[group].members.add(stray)
    worker.run_until_idle()
    assert stray in okta.groups[group].members  # set up moments ago: not due yet
    Integration.update(updated=dt.datetime(2000, 1, 1)).execute()
    worker.run_until_idle()
    assert okta.groups[group].members == {member}
    worker.run_until_idle()
    assert _integration(integration).reconciled_at is not None


def test_an_okta_id_whose_grant_was_refused_is_removed_when_added_by_hand(
    okta, group, enroll, worker, integration
) -> None:
    victim = okta.add_user("victim@example.com")
    enroll(externalId=victim)  # our invitation went to ada@, not to the victim's address
    worker.run_until_idle()
    assert okta.groups[group].members == set()  # the grant was refused
    okta.groups[group].members.add(victim)  # someone adds the victim by hand
    report = reconcile(_integration(integration), "fix")
    assert okta.groups[group].members == set()
    assert report.summary() == "added 0, removed 1, unchanged 0"
