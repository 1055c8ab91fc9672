"""Groups as large as an org: every member comes back, streamed a batch at a time."""

from __future__ import annotations

from models import GroupMember, User
from tests.blueprints.scim.conftest import seed_group


def _member_ids(group_id: int) -> list[str]:
    """The group's members' SCIM ids in the order the service lists them (by user)."""
    rows = (
        User.select(User.scim_id)
        .join(GroupMember)
        .where(GroupMember.group == group_id)
        .order_by(User.id)
        .tuples()
    )
    return [scim_id for (scim_id,) in rows]


def test_a_group_of_2500_is_returned_whole_across_batches(scim, integration) -> None:
    group = seed_group(integration, "Everyone", 2500)
    response = scim.get(f"/Groups/{group.scim_id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/scim+json")
    assert response.headers["ETag"] == f'W/"{group.version}"'
    body = response.get_json()
    assert [m["value"] for m in body["members"]] == _member_ids(group.id)
    first = body["members"][0]
    assert first["display"].endswith("@example.com")
    assert first["$ref"].endswith(f"/scim/v2/Users/{first['value']}")
    assert first["type"] == "User"
    assert body["displayName"] == "Everyone"
    assert body["meta"]["location"].endswith(f"/Groups/{group.scim_id}")


def test_a_listed_page_carries_each_groups_own_members(scim, integration) -> None:
    big, small = seed_group(integration, "Big", 1500), seed_group(integration, "Small", 3)
    seed_group(integration, "Empty", 0)
    listed = scim.get("/Groups").get_json()
    members = {r["displayName"]: [m["value"] for m in r["members"]] for r in listed["Resources"]}
    assert members == {
        "Big": _member_ids(big.id),
        "Small": _member_ids(small.id),
        "Empty": [],
    }


def test_projections_of_members_still_apply(scim, integration) -> None:
    group = seed_group(integration, "Some", 3)
    only_values = scim.get(f"/Groups/{group.scim_id}?attributes=members.value").get_json()
    assert only_values["members"] == [{"value": v} for v in _member_ids(group.id)]
    without = scim.get(f"/Groups/{group.scim_id}?excludedAttributes=members").get_json()
    assert "members" not in without
    assert without["displayName"] == "Some"
