"""A group PATCH's member operations cost set operations, not one query per operation."""

from __future__ import annotations

from typing import Any

from models import GroupMember, User
from tests.blueprints.scim.conftest import seed_group

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _members(group_id: int) -> list[str]:
    rows = User.select(User.scim_id).join(GroupMember).where(GroupMember.group == group_id)
    return sorted(scim_id for (scim_id,) in rows.tuples())


def _patch(scim: Any, group_scim_id: str, operations: list[dict[str, Any]]) -> Any:
    return scim.patch(
        f"/Groups/{group_scim_id}?excludedAttributes=members",
        json={"schemas": [PATCH_URN], "Operations": operations},
    )


def test_a_thousand_adds_of_present_members_cost_a_handful_of_statements(
    scim, integration, statements
) -> None:
    # The attack from the security review: 1,000 operations of 20 members already in the group.
    group = seed_group(integration, "Everyone", 200)
    present = _members(group.id)
    operations = [
        {"op": "add", "path": "members", "value": [{"value": v} for v in present[i % 10 :][:20]]}
        for i in range(1000)
    ]
    statements.clear()
    answer = _patch(scim, group.scim_id, operations)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert _members(group.id) == present
    # Per-operation work would be thousands of statements; set operations are a few dozen.
    assert len(statements) < 40, len(statements)


def test_folded_operations_keep_the_order_okta_sent(scim, integration) -> None:
    group = seed_group(integration, "Team", 4)
    a, b, c, d = _members(group.id)
    outsider = seed_group(integration, "Other", 1)
    (e,) = _members(outsider.id)
    answer = _patch(
        scim,
        group.scim_id,
        [
            {"op": "remove", "path": f'members[value eq "{a}"]'},  # ends a run: a leaves
            {"op": "add", "path": "members", "value": [{"value": a}, {"value": e}]},  # both in
            {"op": "remove", "path": "members", "value": [{"value": e}, {"value": b}]},  # out
            {"op": "add", "path": "members", "value": [{"value": b}]},  # the last word: b stays
            {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]},
        ],
    )
    assert answer.status_code == 200
    assert _members(group.id) == sorted([a, b, c, d])
    shown = scim.get(f"/Groups/{group.scim_id}").get_json()
    assert sorted(m["value"] for m in shown["members"]) == sorted([a, b, c, d])
    # The member that was added, then removed in the same request, is not left behind.
    assert e not in {m["value"] for m in shown["members"]}


def test_a_replace_between_adds_is_applied_where_it_stands(scim, integration) -> None:
    group = seed_group(integration, "Team", 3)
    a, b, c = _members(group.id)
    answer = _patch(
        scim,
        group.scim_id,
        [
            {"op": "add", "path": "members", "value": [{"value": a}]},
            {"op": "replace", "path": "members", "value": [{"value": b}]},
            {"op": "add", "path": "members", "value": [{"value": c}]},
        ],
    )
    assert answer.status_code == 200
    assert _members(group.id) == sorted([b, c])
