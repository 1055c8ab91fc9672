"""The daily credential check turns an integration unhealthy the moment Okta refuses it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from models import Integration
from services.okta.org_settings import configure_okta
from tests.conftest import OKTA_API_TOKEN


@pytest.fixture
def configured(okta, integration: Any) -> str:
    group = okta.add_group("Passwordless")
    configure_okta(integration, org_url=okta.url, group=group, api_token=OKTA_API_TOKEN)
    return group


def _due() -> None:
    Integration.update(updated=dt.datetime(2000, 1, 1), okta_checked_at=None).execute()


def test_a_revoked_api_token_marks_the_integration_unhealthy(
    okta, configured, integration, worker
) -> None:
    worker.run_until_idle()
    assert okta.api_requests == []  # configured moments ago: not due yet
    okta.api_tokens.clear()  # Okta revoked the token (30 days unused)
    _due()
    worker.run_until_idle()
    row = Integration.get_by_id(integration.id)
    assert row.unhealthy_reason.startswith("daily credential check: Okta rejected the API token")
    assert row.okta_checked_at is not None


def test_a_check_that_passes_again_clears_the_mark(okta, configured, integration, worker) -> None:
    Integration.update(unhealthy_reason="daily credential check: refused").execute()
    _due()
    worker.run_until_idle()
    assert Integration.get_by_id(integration.id).unhealthy_reason is None
    first = okta.api_requests[0]
    assert first.path.split("?")[0] == f"/api/v1/groups/{configured}"


def test_checks_run_once_per_interval(okta, configured, worker) -> None:
    _due()
    worker.run_until_idle()
    calls = len(okta.api_requests)
    worker.run_until_idle()
    assert calls > 0 and len(okta.api_requests) == calls
