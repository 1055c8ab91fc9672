"""The integration page shows the last reconciliation of the passwordless group."""

from __future__ import annotations

from typing import Any

from hooks.backfill import backfill
from models import Integration
from services.okta.org_settings import configure_okta
from services.okta.reconciliation import reconcile
from tests.conftest import OKTA_API_TOKEN


def test_the_integration_page_shows_the_last_pass_and_open_drift(
    okta, integration: Any, enroll, worker, admin_client
) -> None:
    group = okta.add_group("Passwordless")
    configure_okta(integration, org_url=okta.url, group=group, api_token=OKTA_API_TOKEN)
    page = admin_client.get(f"/admin/integrations/{integration.id}").get_data(as_text=True)
    assert "Group reconciliation" in page and "Not run yet." in page
    member = okta.add_user("ada@example.com")
    enroll(externalId=member)
    worker.run_until_idle()
    stray = okta.add_user("mallory@example.com")
    okta.groups[group].members.add(stray)
    reconcile(Integration.get_by_id(integration.id), "report")
    page = admin_client.get(f"/admin/integrations/{integration.id}").get_data(as_text=True)
    assert "added 0, removed 0, unchanged 1; 1 stray and 0 missing member(s) found" in page
    assert stray in page
    assert "1 member(s) still differ from what the group should hold" in page


def test_the_dashboard_shows_each_integration_s_last_pass_and_open_drift(
    okta, integration: Any, enroll, worker, admin_client
) -> None:
    group = okta.add_group("Passwordless")
    configure_okta(integration, org_url=okta.url, group=group, api_token=OKTA_API_TOKEN)
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "Group reconciliation" in page and "Acme Okta</a>:\n    not run yet." in page

    member = okta.add_user("ada@example.com")
    enroll(externalId=member)
    worker.run_until_idle()
    stray = okta.add_user("mallory@example.com")
    okta.groups[group].members.add(stray)
    reconcile(Integration.get_by_id(integration.id), "report")
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "(report mode): added 0, removed 0, unchanged 1; strays found: " in page
    assert f"<code>{stray}</code>" in page
    assert "1 member(s) still differ" in page

    reconcile(Integration.get_by_id(integration.id), "fix")
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "(fix mode): added 0, removed 1, unchanged 1" in page
    assert "no open drift" in page and "still differ" not in page


def test_the_integration_page_describes_backfill_and_the_credential_check(
    okta, integration: Any, admin_client
) -> None:
    group = okta.add_group("Passwordless")
    configure_okta(integration, org_url=okta.url, group=group, api_token=OKTA_API_TOKEN)
    page = admin_client.get(f"/admin/integrations/{integration.id}").get_data(as_text=True)
    assert "System Log backfill" in page and "No pass yet." in page
    assert "OKTA_BACKFILL_MINUTES" in page and "OKTA_HEALTH_CHECK_HOURS" in page

    backfill(Integration.get_by_id(integration.id))
    page = admin_client.get(f"/admin/integrations/{integration.id}").get_data(as_text=True)
    assert "The log has been read up to" in page
