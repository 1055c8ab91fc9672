"""Group pushes naming members we do not have: the known ones apply, the rest are skipped and
written to the audit log with the group and the ids, and the answer is 200."""

from __future__ import annotations

from typing import Any

import pytest

from models import AuditEntry, ScimToken
from tests.blueprints.scim.conftest import GROUP_URN, patch_op


@pytest.fixture
def ann(scim) -> str:
    return scim.create_user("ann@example.com")["id"]


def _members(response: Any) -> list[str]:
    return sorted(m["value"] for m in response.get_json()["members"])


def _skipped(integration) -> list[AuditEntry]:
    return list(
        AuditEntry.select()
        .where(
            AuditEntry.integration == integration,
            AuditEntry.action == "group.members_skipped",
        )
        .order_by(AuditEntry.id)
    )


def _push(scim, group_id: str, how: str, values: list[str]) -> Any:
    members = [{"value": v} for v in values]
    if how == "put":
        body = {"schemas": [GROUP_URN], "displayName": "Engineers", "members": members}
        return scim.put(f"/Groups/{group_id}", body)
    return scim.patch(
        f"/Groups/{group_id}",
        patch_op(
            {"op": "replace", "path": "displayName", "value": "Engineers"},
            {"op": how, "path": "members", "value": members},
        ),
    )


@pytest.mark.parametrize("how", ["add", "replace", "put"])
def test_a_stale_member_id_is_skipped_and_audited(scim, integration, ann, how) -> None:
    group = scim.create_group("Engineers")
    response = _push(scim, group["id"], how, ["gone-1", ann, "gone-2"])
    assert response.status_code == 200, response.get_json()
    assert _members(response) == [ann]
    assert _members(scim.get(f"/Groups/{group['id']}")) == [ann]
    [entry] = _skipped(integration)
    token = ScimToken.get(ScimToken.integration == integration)
    assert (entry.actor_type, entry.actor_id) == ("scim_token", str(token.id))
    assert (entry.target_type, entry.target_id) == ("Group", group["id"])
    assert entry.detail["unknown_member_ids"] == ["gone-1", "gone-2"]
    assert entry.detail["unknown_member_count"] == 2


def test_a_member_of_another_integration_counts_as_unknown(
    scim, other_scim, integration, ann
) -> None:
    theirs = other_scim.create_user("theirs@example.com")["id"]
    group = scim.create_group("Engineers", [theirs, ann])
    assert _members(scim.get(f"/Groups/{group['id']}")) == [ann]
    response = _push(scim, group["id"], "add", [theirs])
    assert response.status_code == 200
    assert _members(response) == [ann]
    assert [e.detail["unknown_member_ids"] for e in _skipped(integration)] == [[theirs], [theirs]]
    assert [e.detail["request"] for e in _skipped(integration)] == ["group.create", "group.patch"]
    # The other integration's user never sees the group.
    assert other_scim.get(f"/Users/{theirs}").get_json()["groups"] == []


def test_a_push_of_only_unknown_ids_changes_nothing_but_is_audited(scim, integration, ann) -> None:
    group = scim.create_group("Engineers", [ann])
    response = _push(scim, group["id"], "add", ["gone"])
    assert response.status_code == 200
    assert response.get_json()["meta"]["version"] == group["meta"]["version"]
    assert _members(response) == [ann]
    assert len(_skipped(integration)) == 1


def test_the_audit_entry_keeps_the_first_100_ids_and_the_exact_count(
    scim, integration, ann
) -> None:
    group = scim.create_group("Engineers")
    stale = [f"gone-{i:03}" for i in range(150)]
    response = _push(scim, group["id"], "add", stale)
    assert response.status_code == 200
    [entry] = _skipped(integration)
    assert entry.detail["unknown_member_ids"] == stale[:100]
    assert entry.detail["unknown_member_count"] == 150
