"""A group's members read in keyset batches, as a streamed GET or PATCH answer sends them."""

from __future__ import annotations

from typing import Any

from models import Group
from services.groups.scim_groups import member_batches
from tests.factories import okta_create_group_payload, okta_create_user_payload

SCIM_JSON = "application/scim+json"


def _create(client: Any, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    answer = client.post(path, json=body, headers={**headers, "Content-Type": SCIM_JSON})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_members_come_in_batches_in_user_order_with_their_display(client, scim_headers) -> None:
    users = [
        _create(client, scim_headers, "/scim/v2/Users", okta_create_user_payload(f"m{i}@ex.com"))
        for i in range(5)
    ]
    body = {
        **okta_create_group_payload("Batched"),
        "members": [{"value": u["id"]} for u in reversed(users)],
    }
    group = _create(client, scim_headers, "/scim/v2/Groups", body)
    group_id = Group.get(Group.scim_id == group["id"]).id

    batches = list(member_batches(group_id, size=2))

    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert [sid for batch in batches for sid, _ in batch] == [u["id"] for u in users]
    assert [shown for batch in batches for _, shown in batch] == [u["displayName"] for u in users]


def test_an_empty_group_has_no_batch(client, scim_headers) -> None:
    group = _create(client, scim_headers, "/scim/v2/Groups", okta_create_group_payload("Empty"))
    assert list(member_batches(Group.get(Group.scim_id == group["id"]).id)) == []
