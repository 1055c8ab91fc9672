"""An addition to the passwordless group that Okta did not confirm is visible to the admin."""

from __future__ import annotations

from typing import Any

from services.okta.org_settings import configure_okta
from tests.conftest import OKTA_API_TOKEN


def test_the_user_page_work_queue_and_dashboard_show_a_refused_grant(
    okta, integration: Any, enroll, worker, admin_client
) -> None:
    group = okta.add_group("Passwordless")
    configure_okta(integration, org_url=okta.url, group=group, api_token=OKTA_API_TOKEN)
    victim = okta.add_user("victim@example.com")
    scim_id = enroll(externalId=victim)
    worker.run_until_idle()
    reason = f"identity mismatch: Okta user {victim} has login victim@example.com"
    assert reason in admin_client.get(f"/admin/users/{scim_id}").get_data(as_text=True)
    assert reason in admin_client.get("/admin/work").get_data(as_text=True)
    dashboard = admin_client.get("/admin/").get_data(as_text=True)
    assert "Failed group changes" in dashboard and reason in dashboard
