"""Okta Event Hook deliveries: verification, authentication, validation, storage, effects."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from hooks.receiving import REJECTIONS_KEPT_PER_MINUTE
from models import HookDelivery, Integration, OktaEvent, User
from services.okta.hook_secrets import rotate_hook_secret
from tests.factories import (
    moment,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
    okta_patch_active,
)


@pytest.fixture
def hook_url(integration: Any) -> str:
    return f"/hooks/okta/{integration.id}"


@pytest.fixture
def provisioned(client, scim_headers) -> dict:
    """A user Okta provisioned over SCIM (Okta id 00ujl29u0le5T6Aj10h7)."""
    response = client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    assert response.status_code == 201
    return response.get_json()


def _deliver(client, hook_url: str, headers: dict, *events: dict) -> Any:
    return client.post(hook_url, json=okta_delivery(*events), headers=headers)


def _state(scim_id: str) -> str:
    return User.get(User.scim_id == scim_id).state


def test_verification_echoes_the_challenge(client, hook_url) -> None:
    response = client.get(hook_url, headers={"x-okta-verification-challenge": "abc123XYZ"})
    assert response.status_code == 200
    assert response.get_json() == {"verification": "abc123XYZ"}


def test_verification_without_a_challenge_is_refused(client, hook_url) -> None:
    assert client.get(hook_url).status_code == 400


def test_hooks_for_an_unknown_integration_are_not_found(client, hook_headers) -> None:
    response = client.post("/hooks/okta/nope", json=okta_delivery(), headers=hook_headers)
    assert response.status_code == 404


@pytest.mark.parametrize("authorization", [None, "", "wrong", "Bearer okhs_x"])
def test_a_delivery_without_the_secret_is_refused_and_stores_nothing(
    client, hook_url, hook_secret, authorization
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = _deliver(client, hook_url, headers, okta_event("user.lifecycle.suspend"))
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert OktaEvent.select().count() == 0
    assert HookDelivery.get().status == 401


def test_refusals_kept_are_bounded_so_strangers_cannot_fill_the_database(
    client, hook_url, hook_headers
) -> None:
    wrong = {"Authorization": "wrong", "Content-Type": "application/json"}
    for _ in range(REJECTIONS_KEPT_PER_MINUTE + 20):
        assert _deliver(client, hook_url, wrong, okta_event("x.y")).status_code == 401
    assert HookDelivery.select().count() == REJECTIONS_KEPT_PER_MINUTE
    # Okta's own deliveries are still answered and recorded.
    assert _deliver(client, hook_url, hook_headers, okta_event("x.y")).status_code == 200
    assert HookDelivery.select().where(HookDelivery.status == 200).count() == 1


def test_a_valid_delivery_is_stored_and_answered_with_200(client, hook_url, hook_headers) -> None:
    event = okta_event("user.lifecycle.suspend")
    response = _deliver(client, hook_url, hook_headers, event)
    assert response.status_code == 200
    assert response.data == b""
    stored = OktaEvent.get()
    assert stored.uuid == event["uuid"]
    assert stored.event_type == "user.lifecycle.suspend"
    assert stored.target_id == "00ujl29u0le5T6Aj10h7"
    assert stored.processed_at is None
    assert stored.published.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z" == event["published"]


def test_a_duplicate_delivery_records_each_event_once(client, hook_url, hook_headers) -> None:
    event = okta_event("user.lifecycle.suspend")
    assert _deliver(client, hook_url, hook_headers, event).status_code == 200
    assert _deliver(client, hook_url, hook_headers, event, event).status_code == 200
    assert OktaEvent.select().count() == 1
    deliveries = list(HookDelivery.select().order_by(HookDelivery.id))
    assert [(d.events, d.new_events) for d in deliveries] == [(1, 1), (2, 0)]


MALFORMED = [
    ("not an object", []),
    ("no data", {"eventType": "com.okta.event_hook"}),
    ("events not a list", {"eventType": "com.okta.event_hook", "data": {"events": {}}}),
    # Text no database can store (Postgres refuses NUL): the body as a whole is refused.
    ("NUL in the uuid", okta_delivery({**okta_event("x.y"), "uuid": "ab\x00cd"})),
    (
        "NUL in a target's login",
        okta_delivery(
            {
                **okta_event("x.y"),
                "target": [{"id": "00u", "type": "User", "alternateId": "a\x00b"}],
            }
        ),
    ),
    ("NUL in any other field", okta_delivery({**okta_event("x.y"), "displayMessage": "a\x00b"})),
]

MALFORMED_EVENTS = [
    ("event without uuid", {**okta_event("user.lifecycle.suspend"), "uuid": None}),
    ("bad published", {**okta_event("x.y"), "published": "yesterday"}),
    ("published without zone", {**okta_event("x.y"), "published": 12}),
    ("no eventType", {k: v for k, v in okta_event("x").items() if k != "eventType"}),
    ("target not a list", {**okta_event("x.y"), "target": {"id": "1"}}),
    ("not an object", "user.lifecycle.suspend"),
    # Valid ISO 8601 whose UTC time falls outside years 1 to 9999.
    (
        "published before year 1 in UTC",
        {**okta_event("x.y"), "published": "0001-01-01T00:00:00+05:00"},
    ),
    (
        "published after 9999 in UTC",
        {**okta_event("x.y"), "published": "9999-12-31T23:59:59-05:00"},
    ),
]


@pytest.mark.parametrize(("case", "body"), MALFORMED, ids=[c for c, _ in MALFORMED])
def test_a_malformed_delivery_gets_400_and_stores_no_event(
    client, hook_url, hook_headers, case, body
) -> None:
    good = okta_event("user.lifecycle.suspend")
    if isinstance(body, dict) and "data" in body and isinstance(body["data"]["events"], list):
        # One good event beside the bad one: nothing may be stored half-way.
        body["data"]["events"].insert(0, good)
    response = client.post(hook_url, json=body, headers=hook_headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "malformed"
    assert OktaEvent.select().count() == 0


@pytest.mark.parametrize(("case", "bad"), MALFORMED_EVENTS, ids=[c for c, _ in MALFORMED_EVENTS])
def test_one_malformed_event_is_refused_and_the_good_ones_are_kept(
    client, hook_url, hook_headers, provisioned, worker, case, bad
) -> None:
    # Okta never retries a 4xx: refusing the delivery would lose every good event in it.
    good = okta_event("user.lifecycle.suspend", published=moment(1))
    response = _deliver(client, hook_url, hook_headers, good, bad)
    assert response.status_code == 200
    assert [e.uuid for e in OktaEvent.select()] == [good["uuid"]]
    delivery = HookDelivery.get()
    assert (delivery.events, delivery.new_events) == (2, 1)
    assert delivery.error.startswith("refused 1 malformed event(s): data.events.1")
    worker.run_until_idle()
    assert _state(provisioned["id"]) == "suspended"


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(okta_delivery({**okta_event("x.y"), "displayMessage": "\ud800"})),
        json.dumps(okta_delivery({**okta_event("x.y"), "severity": float("nan")})),
        json.dumps(okta_delivery(okta_event("x.y"))).replace('"data"', '"n": 1e999, "data"'),
    ],
    ids=["an unpaired surrogate", "NaN", "a number too large for a float"],
)
def test_json_no_database_can_store_gets_400(client, hook_url, hook_headers, raw) -> None:
    headers = {**hook_headers, "Content-Type": "application/json"}
    response = client.post(hook_url, data=raw.encode(), headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "malformed"
    assert OktaEvent.select().count() == 0


def test_an_integration_id_with_a_nul_is_not_found(client, hook_headers) -> None:
    assert (
        client.post("/hooks/okta/%00", json=okta_delivery(), headers=hook_headers).status_code
        == 404
    )
    verification = {"x-okta-verification-challenge": "abc"}
    assert client.get("/hooks/okta/a%00b", headers=verification).status_code == 404


def test_a_body_that_is_not_json_gets_400(client, hook_url, hook_headers) -> None:
    response = client.post(hook_url, data=b"\xff{nope", headers=hook_headers)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("event_type", "state"),
    [
        ("user.lifecycle.suspend", "suspended"),
        ("user.lifecycle.deactivate", "deactivated"),
        ("user.lifecycle.delete.initiated", "deleted"),
    ],
)
def test_each_lifecycle_event_changes_the_user(
    client, hook_url, hook_headers, provisioned, worker, event_type, state
) -> None:
    _deliver(client, hook_url, hook_headers, okta_event(event_type))
    worker.run_until_idle()
    assert _state(provisioned["id"]) == state
    assert OktaEvent.get().outcome == "applied"


@pytest.mark.parametrize("event_type", ["user.lifecycle.reactivate", "user.lifecycle.activate"])
def test_reactivation_events_grant_nothing_only_scim_brings_a_user_back(
    client, hook_url, hook_headers, provisioned, worker, mailer, scim_headers, event_type
) -> None:
    _deliver(client, hook_url, hook_headers, okta_event("user.lifecycle.deactivate"))
    worker.run_until_idle()
    emails = len(mailer.sent)
    later = okta_event(event_type, published=moment(60))
    _deliver(client, hook_url, hook_headers, later)
    worker.run_until_idle()
    assert _state(provisioned["id"]) == "deactivated"
    assert len(mailer.sent) == emails  # no new enrollment email
    event = OktaEvent.get(OktaEvent.uuid == later["uuid"])
    assert (event.outcome, event.outcome_detail) == (
        "recorded",
        "recorded only: only SCIM (active: true) brings a user back",
    )
    answer = client.patch(
        f"/scim/v2/Users/{provisioned['id']}", json=okta_patch_active(True), headers=scim_headers
    )
    assert answer.status_code == 200
    assert _state(provisioned["id"]) == "invited"


def test_unsuspend_restores_the_state_before_suspension(
    client, hook_url, hook_headers, provisioned, worker
) -> None:
    _deliver(
        client,
        hook_url,
        hook_headers,
        okta_event("user.lifecycle.suspend", published=moment(1)),
        okta_event("user.lifecycle.unsuspend", published=moment(5)),
    )
    worker.run_until_idle()
    assert _state(provisioned["id"]) == "invited"


def test_a_late_suspend_never_overrides_a_newer_unsuspend(
    client, hook_url, hook_headers, provisioned, worker
) -> None:
    unsuspend = okta_event("user.lifecycle.unsuspend", published=moment(5))
    suspend = okta_event("user.lifecycle.suspend", published=moment(3))
    # Okta suspended then unsuspended, but the deliveries arrive the other way round,
    # and the worker runs between them.
    first = okta_event("user.lifecycle.suspend", published=moment(1))
    _deliver(client, hook_url, hook_headers, first)
    worker.run_until_idle()
    _deliver(client, hook_url, hook_headers, unsuspend)
    worker.run_until_idle()
    _deliver(client, hook_url, hook_headers, suspend)
    worker.run_until_idle()
    assert _state(provisioned["id"]) == "invited"
    late = OktaEvent.get(OktaEvent.uuid == suspend["uuid"])
    assert late.outcome == "stale"
    assert "before the last suspension change" in late.outcome_detail


@pytest.mark.parametrize(
    ("okta_order", "state"),
    [
        # Okta: suspend, unsuspend, suspend again; the unsuspend arrives last.
        (
            ("user.lifecycle.suspend", "user.lifecycle.unsuspend", "user.lifecycle.suspend"),
            "suspended",
        ),
        # Okta: unsuspend, suspend, unsuspend again; the suspend arrives last.
        (
            ("user.lifecycle.unsuspend", "user.lifecycle.suspend", "user.lifecycle.unsuspend"),
            "invited",
        ),
    ],
)
def test_a_late_event_never_undoes_a_newer_one_that_changed_nothing(
    client, hook_url, hook_headers, provisioned, worker, okta_order, state
) -> None:
    first, middle, last = (
        okta_event(kind, published=moment(i + 1)) for i, kind in enumerate(okta_order)
    )
    for event in (first, last, middle):  # the middle one's first delivery timed out
        _deliver(client, hook_url, hook_headers, event)
        worker.run_until_idle()
    assert _state(provisioned["id"]) == state
    assert OktaEvent.get(OktaEvent.uuid == last["uuid"]).outcome_detail.startswith("no change")
    assert OktaEvent.get(OktaEvent.uuid == middle["uuid"]).outcome == "stale"


def test_a_delete_applies_after_a_scim_deactivation_that_reached_us_later(
    client, hook_url, hook_headers, scim_headers, provisioned, worker
) -> None:
    # Okta deactivates then deletes; its asynchronous SCIM PATCH reaches us after both were
    # published, and the event delivery after that. SCIM never sends the delete.
    scim_id = provisioned["id"]
    patched = client.patch(
        f"/scim/v2/Users/{scim_id}", json=okta_patch_active(False), headers=scim_headers
    )
    assert patched.status_code == 200
    _deliver(
        client,
        hook_url,
        hook_headers,
        okta_event("user.lifecycle.deactivate", published=moment(-3)),
        okta_event("user.lifecycle.delete.initiated", published=moment(-2)),
    )
    worker.run_until_idle()
    assert _state(scim_id) == "deleted"
    assert User.get(User.scim_id == scim_id).user_name is None
    assert client.get(f"/scim/v2/Users/{scim_id}", headers=scim_headers).status_code == 404


def test_an_event_that_changes_active_moves_the_scim_etag(
    client, hook_url, hook_headers, scim_headers, provisioned, worker
) -> None:
    before = client.get(f"/scim/v2/Users/{provisioned['id']}", headers=scim_headers)
    _deliver(client, hook_url, hook_headers, okta_event("user.lifecycle.deactivate"))
    worker.run_until_idle()
    stale = {**scim_headers, "If-None-Match": before.headers["ETag"]}
    after = client.get(f"/scim/v2/Users/{provisioned['id']}", headers=stale)
    assert after.status_code == 200
    assert after.get_json()["active"] is False
    assert after.get_json()["meta"]["lastModified"] > before.get_json()["meta"]["lastModified"]


def test_events_in_one_batch_apply_in_order_of_publication(
    client, hook_url, hook_headers, provisioned, worker
) -> None:
    _deliver(
        client,
        hook_url,
        hook_headers,
        okta_event("user.lifecycle.unsuspend", published=moment(10)),
        okta_event("user.lifecycle.suspend", published=moment(5)),
    )
    worker.run_until_idle()
    assert _state(provisioned["id"]) == "invited"


def test_the_user_is_matched_by_login_when_the_okta_id_is_unknown(
    client, hook_url, hook_headers, provisioned, worker
) -> None:
    event = okta_event("user.lifecycle.suspend", okta_id="00uOTHER", login="TEST.User@okta.local")
    _deliver(client, hook_url, hook_headers, event)
    worker.run_until_idle()
    assert _state(provisioned["id"]) == "suspended"


def test_the_target_is_chosen_by_type_not_position(
    client, hook_url, hook_headers, provisioned, worker
) -> None:
    group = {"id": "00g1", "type": "UserGroup", "alternateId": "Group", "displayName": "Group"}
    event = okta_event("user.lifecycle.suspend")
    event["target"] = [group, *event["target"]]
    _deliver(client, hook_url, hook_headers, event)
    worker.run_until_idle()
    assert _state(provisioned["id"]) == "suspended"


@pytest.mark.parametrize(
    ("event", "outcome"),
    [
        (
            okta_event("user.lifecycle.suspend", okta_id="00uNOBODY", login="nobody@x"),
            "pending_user",
        ),
        (okta_event("user.session.start"), "unhandled_type"),
        (okta_event("user.lifecycle.suspend", actor=None), "no_actor"),
        (okta_event("user.lifecycle.suspend", okta_id=None, login=None), "no_target"),
        (okta_event("user.lifecycle.suspend", outcome="FAILURE"), "not_successful"),
        (okta_event("user.account.update_profile"), "recorded"),
        (okta_event("application.user_membership.add"), "recorded"),
        (okta_event("application.user_membership.remove"), "recorded"),
    ],
)
def test_events_that_change_nothing_are_recorded_with_the_reason(
    client, hook_url, hook_headers, provisioned, worker, event, outcome
) -> None:
    assert _deliver(client, hook_url, hook_headers, event).status_code == 200
    worker.run_until_idle()
    stored = OktaEvent.get()
    assert stored.outcome == outcome
    assert stored.outcome_detail
    assert stored.processed_at is not None
    assert _state(provisioned["id"]) == "invited"


def test_null_actor_and_target_as_in_preview_payloads_are_accepted(
    client, hook_url, hook_headers, worker
) -> None:
    event = okta_event("application.user_membership.add", actor=None, okta_id=None, login=None)
    event["debugContext"] = None
    event["outcome"] = {"result": "Success", "reason": None}
    assert _deliver(client, hook_url, hook_headers, event).status_code == 200
    worker.run_until_idle()
    assert OktaEvent.get().outcome == "no_actor"


def test_scim_deactivate_then_the_deactivate_event_is_idempotent(
    client, hook_url, hook_headers, scim_headers, provisioned, worker
) -> None:
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    assert (
        client.patch(
            f"/scim/v2/Users/{provisioned['id']}", json=patch, headers=scim_headers
        ).status_code
        == 200
    )
    event = okta_event("user.lifecycle.deactivate", published=moment(5))
    _deliver(client, hook_url, hook_headers, event)
    worker.run_until_idle()
    assert _state(provisioned["id"]) == "deactivated"
    assert "no change" in OktaEvent.get().outcome_detail


def test_the_previous_secret_works_during_the_grace_period_only(
    client, hook_url, integration, hook_secret
) -> None:
    new_secret = rotate_hook_secret(integration)
    event = okta_event("user.lifecycle.suspend")
    for secret in (hook_secret, new_secret):
        response = _deliver(client, hook_url, {"Authorization": secret}, event)
        assert response.status_code == 200
    Integration.update(hook_secret_previous_expires=dt.datetime(2000, 1, 1)).where(
        Integration.id == integration.id
    ).execute()
    assert _deliver(client, hook_url, {"Authorization": hook_secret}, event).status_code == 401
    assert _deliver(client, hook_url, {"Authorization": new_secret}, event).status_code == 200


def test_the_cli_prints_a_new_hook_secret_and_stores_only_its_hash(runner, integration) -> None:
    result = runner.invoke(args=["integrations", "hook-secret", "--integration", "Acme Okta"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("okhs_") and len(secret) > 40
    stored = Integration.get_by_id(integration.id)
    assert secret not in (stored.hook_secret_hash or "")
