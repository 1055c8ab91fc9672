"""The dashboard warns when System Log backfill finds events the hook never delivered."""

from __future__ import annotations

import datetime as dt

from models import Integration, OktaEvent, User
from services.okta.org_settings import configure_okta
from tests.conftest import OKTA_API_TOKEN
from tests.factories import moment, okta_create_user_payload, okta_event


def test_the_worker_backfills_and_the_dashboard_warns(
    okta, integration, worker, admin_client, client, scim_headers
) -> None:
    group = okta.add_group("Passwordless")
    configure_okta(integration, org_url=okta.url, group=group, api_token=OKTA_API_TOKEN)
    response = client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    provisioned = response.get_json()["id"]
    okta.log_events.append(okta_event("user.lifecycle.suspend", published=moment(-1)))
    worker.run_until_idle()
    assert OktaEvent.select().count() == 0  # set up moments ago: not due yet
    Integration.update(updated=dt.datetime(2000, 1, 1)).execute()
    worker.run_until_idle()
    assert User.get(User.scim_id == provisioned).state == "suspended"
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "System Log backfill found 1 event(s) in the last 24 hours" in page
