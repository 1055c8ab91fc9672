"""The setup checklist at the top of the integration page, and its n of m elsewhere."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from models import Integration, utcnow
from services.admin.setup_status import DONE, FAILED, WAITING, setup_status
from services.okta.hook_secrets import rotate_hook_secret
from tests.conftest import OKTA_HEADERS
from tests.factories import make_token, okta_delivery, okta_event


def _steps(html: str) -> dict[str, str]:
    """Step key → state, as the checklist shows them."""
    section = html[html.index('id="checklist"') : html.index('id="setup-heading"')]
    return dict(
        re.findall(r'data-step="(\w+)">\s*<span class="badge [\w-]+">(\w+)</span>', section)
    )


def _states(integration: Any) -> dict[str, str]:
    return {
        step.key: step.state for step in setup_status(Integration.get_by_id(integration.id)).steps
    }


def test_each_step_turns_done_as_okta_is_connected(
    admin_client: FlaskClient, client: FlaskClient, integration: Any
) -> None:
    url = f"/admin/integrations/{integration.id}"
    page = admin_client.get(url).text
    assert "Setup checklist: 0 of 9 done" in page
    assert set(_steps(page).values()) == {WAITING}
    # The checklist comes before the step-by-step instructions, and links to their sections.
    assert page.index('id="checklist"') < page.index('id="setup-heading"')
    assert '<a href="#tokens">SCIM token created</a>' in page

    token = make_token(integration, label="Okta production")
    assert _states(integration)["token"] == DONE
    headers = {**OKTA_HEADERS, "Authorization": f"Bearer {token}"}
    # Okta's Test API Credentials: a filtered GET /Users.
    client.get('/scim/v2/Users?filter=userName eq "x"&startIndex=1&count=1', headers=headers)
    assert _states(integration)["first_request"] == DONE

    secret = rotate_hook_secret(integration)
    assert _states(integration)["hook_verified"] == WAITING
    client.get(f"/hooks/okta/{integration.id}", headers={"x-okta-verification-challenge": "c"})
    assert _states(integration)["hook_verified"] == DONE
    client.post(
        f"/hooks/okta/{integration.id}",
        json=okta_delivery(okta_event("user.session.start")),
        headers={"Authorization": secret, "Accept": "application/json"},
    )
    assert _states(integration)["first_event"] == DONE

    page = admin_client.get(url).text
    assert "Setup checklist: 4 of 9 done" in page
    steps = _steps(page)
    assert [key for key, state in steps.items() if state == DONE] == [
        "token",
        "first_request",
        "hook_verified",
        "first_event",
    ]
    # Finished steps are folded under one summary.
    finished = page[page.index('class="checklist-finished"') :]
    assert "<summary>4 finished steps</summary>" in finished
    assert 'data-step="token"' in finished and 'data-step="group"' not in finished


def test_a_refused_delivery_and_a_failed_test_show_as_failed_with_their_time(
    admin_client: FlaskClient, client: FlaskClient, integration: Any, hook_secret: str
) -> None:
    client.post(
        f"/hooks/okta/{integration.id}",
        json=okta_delivery(okta_event("user.session.start")),
        headers={"Authorization": "okhs_wrong", "Accept": "application/json"},
    )
    tested = utcnow().replace(microsecond=0)
    Integration.update(
        okta_org_url="https://acme.okta.example",
        okta_auth="ssws",
        okta_secret="set",
        group_id="00g1",
        okta_tested_at=tested,
        okta_test_error="Okta answered 403: the role cannot manage this group",
    ).execute()
    states = _states(integration)
    assert states["hook_verified"] == FAILED and states["okta_tested"] == FAILED
    page = admin_client.get(f"/admin/integrations/{integration.id}").text
    assert "Test connection failed: Okta answered 403: the role cannot manage this group" in page
    assert f"{tested:%Y-%m-%d %H:%M:%S} UTC" in page
    assert "its Authorization secret is not this hook&#39;s" in page


def test_the_dashboard_and_the_list_show_the_same_progress(
    admin_client: FlaskClient, integration: Any, scim_token: str
) -> None:
    expected = "1 of 9 setup steps done"
    for path in ("/admin/", "/admin/integrations"):
        page = admin_client.get(path).text
        assert expected in page, path
        assert f'href="/admin/integrations/{integration.id}#checklist"' in page
