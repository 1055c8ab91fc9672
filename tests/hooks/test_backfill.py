"""Nothing is lost while the hook is down: System Log backfill stores and applies missed events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from prometheus_client import REGISTRY

from hooks.backfill import backfill
from models import AuditEntry, HookDelivery, Integration, OktaEvent, User
from services.okta.errors import OktaError
from services.okta.org_settings import configure_okta
from tests.conftest import OKTA_API_TOKEN
from tests.factories import moment, okta_create_user_payload, okta_delivery, okta_event


@pytest.fixture
def provisioned(client, scim_headers, okta, integration) -> str:
    group = okta.add_group("Passwordless")
    configure_okta(integration, org_url=okta.url, group=group, api_token=OKTA_API_TOKEN)
    response = client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    assert response.status_code == 201
    return str(response.get_json()["id"])


def _missed() -> float:
    return REGISTRY.get_sample_value("scim_onboard_backfill_missed_events_total") or 0.0


def _integration(integration: Any) -> Integration:
    return Integration.get_by_id(integration.id)


def test_a_suspend_the_hook_never_delivered_is_stored_and_applied(
    okta, provisioned, integration, worker
) -> None:
    okta.log_events.append(okta_event("user.lifecycle.suspend", published=moment(-1)))
    before = _missed()
    result = backfill(_integration(integration))
    assert result.summary() == "stored 1 new events (0 already known)"
    worker.run_until_idle()
    assert User.get(User.scim_id == provisioned).state == "suspended"
    assert HookDelivery.get(HookDelivery.source == "backfill").new_events == 1
    assert _missed() == before + 1
    request = next(r for r in okta.api_requests if r.path.startswith("/api/v1/logs"))
    assert "eventType+eq+%22user.lifecycle.suspend%22" in request.path.replace("%20", "+")


def test_an_event_the_hook_delivered_is_not_applied_twice(
    okta, provisioned, integration, worker, client, hook_headers
) -> None:
    event = okta_event("user.lifecycle.suspend", published=moment(-1))
    client.post(f"/hooks/okta/{integration.id}", json=okta_delivery(event), headers=hook_headers)
    worker.run_until_idle()
    okta.log_events.append(event)
    result = backfill(_integration(integration))
    assert result.summary() == "stored 0 new events (1 already known)"
    worker.run_until_idle()
    assert OktaEvent.select().count() == 1
    assert AuditEntry.select().where(AuditEntry.action == "user.suspend").count() == 1


def test_pages_are_followed_and_since_bounds_the_walk(okta, provisioned, integration) -> None:
    okta.log_events.append(okta_event("user.lifecycle.suspend", published=moment(-7200)))
    okta.log_events.extend(
        okta_event("user.account.update_profile", published=moment(-1)) for _ in range(1001)
    )
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
    result = backfill(_integration(integration), since)
    assert result.summary() == "stored 1001 new events (0 already known)"
    pages = [r for r in okta.api_requests if r.path.startswith("/api/v1/logs")]
    assert len(pages) == 3  # 1000, 1, then the empty page that ends a bounded walk


def test_the_cli_prints_its_summary_and_fails_plainly_without_the_log_scope(
    app, okta, provisioned, integration
) -> None:
    okta.log_events.append(okta_event("user.lifecycle.suspend", published=moment(-1)))
    runner = app.test_cli_runner()
    args = ["integrations", "backfill", "--integration", "Acme Okta"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "stored 1 new events (0 already known)"
    client_id, pem = okta.add_oauth_client(scopes=("okta.groups.manage", "okta.users.read"))
    configure_okta(integration, client_id=client_id, private_key=pem)
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert result.output.startswith("Error: could not read Okta's System Log")


def test_events_dropped_before_a_newer_delivered_one_are_still_found(
    okta, provisioned, integration, worker, client, hook_headers
) -> None:
    # The last pass read the log up to 30 minutes ago; then the hook was down for a while.
    Integration.update(backfilled_through=_naive(-1800)).where(
        Integration.id == integration.id
    ).execute()
    dropped = okta_event("user.lifecycle.suspend", published=moment(-900))
    delivered = okta_event("user.account.update_profile", published=moment(-60))
    okta.log_events.extend([dropped, delivered])
    # The hook is back: it delivers the newer event, and never the one it dropped.
    client.post(
        f"/hooks/okta/{integration.id}", json=okta_delivery(delivered), headers=hook_headers
    )

    result = backfill(_integration(integration))

    assert result.summary() == "stored 1 new events (1 already known)"
    worker.run_until_idle()
    assert User.get(User.scim_id == provisioned).state == "suspended"
    assert _integration(integration).backfilled_through > _naive(-5)


def test_a_pass_that_fails_is_read_again_from_the_same_place(
    okta, provisioned, integration
) -> None:
    Integration.update(backfilled_through=_naive(-1800)).where(
        Integration.id == integration.id
    ).execute()
    read_to = _integration(integration).backfilled_through
    okta.log_events.append(okta_event("user.lifecycle.suspend", published=moment(-900)))
    okta.fail_next(1, 500)

    with pytest.raises(OktaError):
        backfill(_integration(integration))

    assert _integration(integration).backfilled_through == read_to
    assert backfill(_integration(integration)).summary() == "stored 1 new events (0 already known)"


def _naive(offset_seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=offset_seconds)
