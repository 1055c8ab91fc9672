"""The dashboard's rollout section: funnel and 30-day chart as server-side SVG, import rate."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from models import User
from models.base import utcnow
from security import CONTENT_SECURITY_POLICY
from tests.factories import okta_create_user_payload


def _provision(client: Any, headers: dict[str, str], count: int) -> None:
    for number in range(count):
        body = okta_create_user_payload(f"user{number}@okta.example", externalId=f"00u{number}")
        assert client.post("/scim/v2/Users", json=body, headers=headers).status_code == 201


def _funnel_title(page: str) -> str:
    match = re.search(r'<title id="funnel-1">([^<]+)</title>', page)
    assert match, "no funnel chart on the dashboard"
    return match.group(1)


def test_the_dashboard_draws_the_funnel_and_the_chart_without_script_or_inline_style(
    admin_client, client, scim_headers, integration, worker
) -> None:
    _provision(client, scim_headers, 3)
    worker.run_until_idle()
    response = admin_client.get("/admin/")
    page = response.text
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert _funnel_title(page) == (
        "Onboarding funnel of Acme Okta: provisioned: 3 (100%); email delivered: 0 (0%); "
        "link opened: 0 (0%); enrolled: 0 (0%)"
    )
    assert 'role="img" aria-labelledby="activity-chart"' in page
    assert "3 invitations, 0 enrollments" in page
    today = utcnow().date().isoformat()
    assert f'<tr><th scope="row">{today}</th><td>3</td><td>0</td></tr>' in page
    assert "<script>" not in page
    assert " style=" not in page
    assert "css/admin-rollout.css" in page


def test_the_dashboard_refreshes_itself_and_shows_the_rate_while_users_are_created(
    admin_client, client, scim_headers
) -> None:
    _provision(client, scim_headers, 10)
    page = admin_client.get("/admin/").text
    assert '<meta http-equiv="refresh" content="15">' in page
    assert "2 users created per minute" in page

    User.update(created=utcnow() - dt.timedelta(hours=1)).execute()
    page = admin_client.get("/admin/").text
    assert 'http-equiv="refresh"' not in page
    assert "users created per minute" not in page
