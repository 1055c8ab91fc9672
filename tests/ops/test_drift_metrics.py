"""/metrics shows the group drift each integration's last reconciliation found and left."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from models import Integration
from services.okta.reconciliation import reconcile
from tests.ops.test_metrics import METRICS_TOKEN, scrape, value


@pytest.fixture
def metrics_client(app: Flask, client: FlaskClient) -> FlaskClient:
    """A client of an app whose /metrics answers to METRICS_TOKEN."""
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    return client


@pytest.fixture
def member(okta: Any, group: str, enroll: Any, worker: Any) -> str:
    """An enrolled user whom group sync added: its Okta id."""
    okta_id = okta.add_user("ada@example.com")
    enroll(externalId=okta_id)
    worker.run_until_idle()
    assert okta.groups[group].members == {okta_id}
    return okta_id


def _drift(client: FlaskClient) -> tuple[float, float, float]:
    samples = scrape(client)
    return (
        value(samples, "scim_onboard_reconcile_drift", kind="stray"),
        value(samples, "scim_onboard_reconcile_drift", kind="missing"),
        value(samples, "scim_onboard_reconcile_open_drift"),
    )


def test_drift_reads_zero_before_any_pass_and_after_a_clean_one(
    metrics_client: FlaskClient, okta: Any, group: str, member: str, integration: Any
) -> None:
    assert _drift(metrics_client) == (0, 0, 0)
    reconcile(Integration.get_by_id(integration.id), "fix")
    assert _drift(metrics_client) == (0, 0, 0)


def test_report_mode_drift_is_found_and_stays_open(
    metrics_client: FlaskClient, okta: Any, group: str, member: str, integration: Any
) -> None:
    okta.groups[group].members.add(okta.add_user("mallory@example.com"))
    reconcile(Integration.get_by_id(integration.id), "report")
    assert _drift(metrics_client) == (1, 0, 1)


def test_fixed_drift_is_found_but_not_left_open(
    metrics_client: FlaskClient, okta: Any, group: str, member: str, integration: Any
) -> None:
    okta.groups[group].members.add(okta.add_user("mallory@example.com"))
    okta.groups[group].members.discard(member)
    reconcile(Integration.get_by_id(integration.id), "fix")
    assert okta.groups[group].members == {member}
    assert _drift(metrics_client) == (1, 1, 0)
