"""Okta events may only take access away; SCIM grants it (unassignment, clock skew, events that
beat the SCIM create)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from models import OktaEvent, User
from services.okta.org_settings import configure_okta
from services.users import pending_events
from tests.factories import moment, okta_create_user_payload, okta_delivery, okta_event

APP = "0oa1ab2cd3EF4gh5ij6k"


@pytest.fixture
def hook_url(integration: Any) -> str:
    return f"/hooks/okta/{integration.id}"


def _deliver(client, hook_url: str, headers: dict, *events: dict) -> Any:
    return client.post(hook_url, json=okta_delivery(*events), headers=headers)


def _create(client, scim_headers) -> str:
    response = client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    assert response.status_code == 201
    return str(response.get_json()["id"])


def _state(scim_id: str) -> str:
    return User.get(User.scim_id == scim_id).state


def _unassigned(app_id: str, **kwargs: Any) -> dict:
    app = {"id": app_id, "type": "AppInstance", "alternateId": "Authenticator", "displayName": "A"}
    return okta_event("application.user_membership.remove", extra_targets=[app], **kwargs)


def test_unassignment_from_our_app_deactivates_like_scim_would(
    client, hook_url, hook_headers, scim_headers, worker, integration
) -> None:
    configure_okta(integration, app_id=APP)
    scim_id = _create(client, scim_headers)
    _deliver(client, hook_url, hook_headers, _unassigned(APP, published=moment(1)))
    worker.run_until_idle()
    assert _state(scim_id) == "deactivated"
    scim = client.get(f"/scim/v2/Users/{scim_id}", headers=scim_headers).get_json()
    assert scim["active"] is False


def test_unassignment_from_another_app_changes_nothing(
    client, hook_url, hook_headers, scim_headers, worker, integration
) -> None:
    configure_okta(integration, app_id=APP)
    scim_id = _create(client, scim_headers)
    _deliver(
        client, hook_url, hook_headers, _unassigned("0oaOTHERAPP000000000", published=moment(1))
    )
    worker.run_until_idle()
    assert _state(scim_id) == "invited"
    event = OktaEvent.get()
    assert event.outcome == "recorded"
    assert "0oaOTHERAPP000000000, not this integration's app" in event.outcome_detail


def test_without_an_app_id_unassignment_is_only_recorded(
    client, hook_url, hook_headers, scim_headers, worker
) -> None:
    scim_id = _create(client, scim_headers)
    _deliver(client, hook_url, hook_headers, _unassigned(APP, published=moment(1)))
    worker.run_until_idle()
    assert _state(scim_id) == "invited"
    assert "no Okta app id is set" in OktaEvent.get().outcome_detail


def test_unsuspend_never_grants_more_than_scim_says(
    client, hook_url, hook_headers, scim_headers, worker
) -> None:
    from tests.factories import okta_patch_active

    scim_id = _create(client, scim_headers)
    _deliver(
        client, hook_url, hook_headers, okta_event("user.lifecycle.suspend", published=moment(1))
    )
    worker.run_until_idle()
    patched = client.patch(
        f"/scim/v2/Users/{scim_id}", json=okta_patch_active(False), headers=scim_headers
    )
    assert patched.status_code == 200
    _deliver(
        client, hook_url, hook_headers, okta_event("user.lifecycle.unsuspend", published=moment(3))
    )
    worker.run_until_idle()
    assert _state(scim_id) == "deactivated"


@pytest.mark.parametrize(
    ("okta_behind", "state", "outcome"),
    [
        # Okta's clock 3 s behind ours: within OKTA_CLOCK_SKEW_SECONDS (5), revoking wins.
        (3, "deactivated", "applied"),
        # A minute older than our SCIM create: beyond the tolerance, stale.
        (60, "invited", "stale"),
    ],
)
def test_a_deactivate_just_before_our_scim_create_applies_within_the_clock_skew(
    client, hook_url, hook_headers, scim_headers, worker, okta_behind, state, outcome
) -> None:
    scim_id = _create(client, scim_headers)
    event = okta_event("user.lifecycle.deactivate", published=moment(-okta_behind))
    _deliver(client, hook_url, hook_headers, event)
    worker.run_until_idle()
    assert (_state(scim_id), OktaEvent.get().outcome) == (state, outcome)
    if outcome == "stale":
        assert "more than the allowed clock skew" in OktaEvent.get().outcome_detail


def test_an_event_that_beats_the_scim_create_applies_once_the_user_arrives(
    client, hook_url, hook_headers, scim_headers, worker
) -> None:
    early = okta_event("user.lifecycle.suspend", published=moment(-30))
    _deliver(client, hook_url, hook_headers, early)
    worker.run_until_idle()
    assert OktaEvent.get().outcome == "pending_user"
    scim_id = _create(client, scim_headers)
    worker.run_until_idle()
    assert _state(scim_id) == "suspended"
    assert OktaEvent.get().outcome == "applied"


def test_a_pending_event_becomes_unknown_user_after_24_hours(
    client, hook_url, hook_headers, worker, monkeypatch
) -> None:
    _deliver(client, hook_url, hook_headers, okta_event("user.lifecycle.suspend"))
    worker.run_until_idle()
    OktaEvent.update(received=dt.datetime(2000, 1, 1)).execute()
    monkeypatch.setattr(pending_events, "_last_expiry", [0.0])
    worker.run_until_idle()
    assert OktaEvent.get().outcome == "unknown_user"
