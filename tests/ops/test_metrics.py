"""/metrics: token protection, request/SCIM/hook/email/Okta counters, work-queue gauges."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from models import GroupSync, User
from services.email.mailer import MailInDoubtError, MailPermanentError, MailTransientError
from services.okta.client import OktaClient
from services.okta.credentials import SswsCredential
from services.okta.errors import OktaError
from testkit.fakes.okta import FakeOkta
from tests.factories import (
    okta_create_group_payload,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
)
from tests.servers import Gunicorn, service_env

METRICS_TOKEN = "metrics-token-for-tests-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def metrics_client(app: Flask, client: FlaskClient) -> FlaskClient:
    """A client of an app whose /metrics answers to METRICS_TOKEN."""
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    return client


def parse(text: str) -> Samples:
    """Every sample of a scrape, keyed by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: FlaskClient) -> Samples:
    """Scrape /metrics with the right token."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much a counter grew between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_are_not_served_when_no_token_is_configured(client: FlaskClient) -> None:
    response = client.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer wrong", f"Basic {METRICS_TOKEN}", METRICS_TOKEN, f"Bearer {METRICS_TOKEN}x"],
)
def test_a_missing_or_wrong_token_is_refused(
    metrics_client: FlaskClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = metrics_client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert "scim_onboard_" not in response.get_data(as_text=True)


def test_the_right_token_gets_prometheus_text(metrics_client: FlaskClient) -> None:
    response = metrics_client.get(
        "/metrics", headers={"Authorization": f"bearer  {METRICS_TOKEN} "}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "X-Request-Id" in response.headers
    names = {name for name, _ in parse(response.get_data(as_text=True))}
    assert {
        "scim_onboard_emails_total",
        "scim_onboard_emails_waiting",
        "scim_onboard_group_syncs_waiting",
        "scim_onboard_okta_events_unprocessed",
        "scim_onboard_database_up",
    } <= names


def test_http_requests_are_counted_by_endpoint_not_by_path(
    metrics_client: FlaskClient, scim_headers: dict[str, str]
) -> None:
    before = scrape(metrics_client)
    for name in ("a@example.com", "b@example.com"):
        created = metrics_client.post(
            "/scim/v2/Users", json=okta_create_user_payload(name), headers=scim_headers
        ).get_json()
        metrics_client.get(f"/scim/v2/Users/{created['id']}", headers=scim_headers)
    metrics_client.get("/no/such/page")
    after = scrape(metrics_client)
    by_id = {"endpoint": "scim.UserById", "method": "GET", "status": "200"}
    assert delta(before, after, "scim_onboard_http_requests_total", **by_id) == 2
    assert not [key for key in after if "/scim/v2/Users/" in str(key)]
    unmatched = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    assert delta(before, after, "scim_onboard_http_requests_total", **unmatched) == 1
    latency = "scim_onboard_http_request_duration_seconds_count"
    assert delta(before, after, latency, endpoint="scim.UserById") == 2
    assert delta(before, after, latency, endpoint="scim.Users") == 2


def test_scim_operations_are_counted_by_type_resource_and_outcome(
    metrics_client: FlaskClient, scim_headers: dict[str, str]
) -> None:
    client, headers = metrics_client, scim_headers
    before = scrape(client)
    user = client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=headers)
    user_url = f"/scim/v2/Users/{user.get_json()['id']}"
    client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=headers)  # 409
    client.get(user_url, headers=headers)
    client.get('/scim/v2/Users?filter=userName eq "test.user@okta.local"', headers=headers)
    search = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "active eq true",
    }
    client.post("/scim/v2/Users/.search", json=search, headers=headers)
    client.put(user_url, json=okta_create_user_payload(displayName="New"), headers=headers)
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    client.patch(user_url, json=patch, headers=headers)
    group = client.post("/scim/v2/Groups", json=okta_create_group_payload(), headers=headers)
    client.get(f"/scim/v2/Groups/{group.get_json()['id']}", headers=headers)
    client.delete(f"/scim/v2/Groups/{group.get_json()['id']}", headers=headers)
    client.delete(user_url, headers=headers)
    client.get(user_url, headers=headers)  # 404: deleted
    client.get("/scim/v2/Groups", headers={})  # 401: no token
    after = scrape(client)
    expected = {
        ("create", "User", "2xx"): 1,
        ("create", "User", "4xx"): 1,
        ("get", "User", "2xx"): 1,
        ("get", "User", "4xx"): 1,
        ("list", "User", "2xx"): 1,
        ("search", "User", "2xx"): 1,
        ("replace", "User", "2xx"): 1,
        ("patch", "User", "2xx"): 1,
        ("delete", "User", "2xx"): 1,
        ("create", "Group", "2xx"): 1,
        ("get", "Group", "2xx"): 1,
        ("delete", "Group", "2xx"): 1,
        ("list", "Group", "4xx"): 1,
    }
    counted = {
        (labels["operation"], labels["resource"], labels["status_class"]): grown
        for (name, label_set), _ in after.items()
        if name == "scim_onboard_scim_operations_total"
        for labels in [dict(label_set)]
        if (grown := delta(before, after, name, **labels))
    }
    assert counted == expected


def test_hook_deliveries_and_okta_events_are_counted(
    metrics_client: FlaskClient, integration: Any, hook_headers: dict[str, str], worker: Any
) -> None:
    client = metrics_client
    url = f"/hooks/okta/{integration.id}"
    suspend = okta_event("user.lifecycle.suspend", okta_id="00uNOBODY000000000001")
    unknown = okta_event("application.lifecycle.update")
    before = scrape(client)
    refused = {**hook_headers, "Authorization": "wrong"}
    answers = [
        client.post(url, json=okta_delivery(suspend, unknown), headers=hook_headers),
        client.post(url, json=okta_delivery(suspend), headers=hook_headers),  # Okta's retry
        client.post(url, json=okta_delivery(suspend), headers=refused),
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 401]
    waiting = scrape(client)
    worker.run_until_idle()
    after = scrape(client)
    assert delta(before, after, "scim_onboard_okta_hook_deliveries_total", status="200") == 2
    assert delta(before, after, "scim_onboard_okta_hook_deliveries_total", status="401") == 1
    assert delta(before, after, "scim_onboard_okta_events_received_total", kind="new") == 2
    assert delta(before, after, "scim_onboard_okta_events_received_total", kind="duplicate") == 1
    assert value(waiting, "scim_onboard_okta_events_unprocessed") == 2
    assert value(after, "scim_onboard_okta_events_unprocessed") == 0
    processed = "scim_onboard_okta_events_processed_total"
    suspend_labels = {"event_type": "user.lifecycle.suspend", "outcome": "pending_user"}
    assert delta(before, after, processed, **suspend_labels) == 1
    assert delta(before, after, processed, event_type="other", outcome="unhandled_type") == 1


def test_work_queue_gauges_and_email_outcomes_follow_the_database(
    metrics_client: FlaskClient,
    scim_headers: dict[str, str],
    integration: Any,
    mailer: Any,
    worker: Any,
) -> None:
    client = metrics_client
    before = scrape(client)
    for n in range(4):
        payload = okta_create_user_payload(f"user{n}@example.com")
        assert client.post("/scim/v2/Users", json=payload, headers=scim_headers).status_code == 201
    for n, status in enumerate(("pending", "waiting", "waiting", "failed")):
        user = User.create(integration=integration.id, user_name=f"synced{n}@example.com")
        GroupSync.create(user=user.id, integration=integration.id, desired="in", status=status)
    queued = scrape(client)
    assert value(queued, "scim_onboard_emails_waiting", status="queued") == 4
    syncs = "scim_onboard_group_syncs_waiting"
    assert [value(queued, syncs, status=s) for s in ("pending", "waiting", "failed")] == [1, 2, 1]

    mailer.fail_with.extend(
        [MailTransientError("busy"), MailPermanentError("bad address"), MailInDoubtError("?")]
    )
    worker.run_once()
    after = scrape(client)
    outcomes = {
        outcome: delta(before, after, "scim_onboard_emails_total", outcome=outcome)
        for outcome in ("sent", "retry", "failed", "in_doubt", "cancelled")
    }
    assert outcomes == {"sent": 1, "retry": 1, "failed": 1, "in_doubt": 1, "cancelled": 0}
    # The retry waits in the queue again; the email in doubt stays "sending" until resolved.
    emails = "scim_onboard_emails_waiting"
    assert [value(after, emails, status=s) for s in ("queued", "sending", "failed")] == [1, 1, 1]


def test_okta_api_calls_are_counted_by_method_and_status(metrics_client: FlaskClient) -> None:
    with FakeOkta() as fake:
        token = "00" + "t" * 40
        fake.api_tokens.add(token)
        group, user = fake.add_group("Passwordless"), fake.add_user("ada@example.com")
        okta = OktaClient(fake.url, SswsCredential(token), verify=fake.ca_path, timeout=2.0)
        before = scrape(metrics_client)
        try:
            okta.add_user_to_group(group, user)
            fake.fail_next(1, 429)
            fake.fail_next(1, 500)
            for _ in range(2):
                with pytest.raises(OktaError):
                    okta.add_user_to_group(group, user)
            fake.down()  # the port is closed: the connection is refused
            with pytest.raises(OktaError):
                okta.add_user_to_group(group, user)
        finally:
            okta.close()
        after = scrape(metrics_client)
    calls = {
        status: delta(
            before, after, "scim_onboard_okta_api_calls_total", method="PUT", status=status
        )
        for status in ("204", "429", "500", "error")
    }
    assert calls == {"204": 1, "429": 1, "500": 1, "error": 1}
    assert fake.groups[group].members == {user}, "the one call that succeeded reached Okta"


def _readyz_count(path: Path) -> float:
    """Requests to /readyz counted in one process's counter file."""
    total = 0.0
    for key, count, _, _ in MmapedDict.read_all_values_from_file(str(path)):
        _, sample, labels, _ = json.loads(key)
        if sample == "scim_onboard_http_requests_total" and labels["endpoint"] == "health.readyz":
            total += count
    return total


def test_several_gunicorn_workers_report_one_sum_in_multiprocess_mode(
    app: Flask, tmp_path: Path
) -> None:
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    server = Gunicorn(
        service_env(
            app.config["DATABASE_URL"],
            PROMETHEUS_MULTIPROC_DIR=str(multiproc),
            METRICS_TOKEN=METRICS_TOKEN,
        ),
        logs=tmp_path / "logs",
        workers=2,
    )

    def ping(_: int) -> None:
        with urllib.request.urlopen(f"{server.url}/readyz", timeout=5) as answer:
            assert answer.status == 200

    with server:
        # A connection that has not sent its request yet keeps one (sync) worker waiting for
        # it, so the other worker answers the rest: both count a share.
        held = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        time.sleep(0.3)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(ping, range(39)))
        held.sendall(b"GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        assert held.makefile("rb").readline().split()[1] == b"200"
        held.close()
        pids = server.worker_pids()
        request = urllib.request.Request(
            f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            samples = parse(answer.read().decode())
    ready = {"endpoint": "health.readyz", "method": "GET", "status": "200"}
    assert value(samples, "scim_onboard_http_requests_total", **ready) == 40
    # Each worker counted its own share in its own file; the scrape added them up.
    shares = {pid: _readyz_count(multiproc / f"counter_{pid}.db") for pid in pids}
    assert sum(shares.values()) == 40
    assert all(shares.values()), shares
    assert value(samples, "scim_onboard_database_up") == 1
    assert not [name for name, _ in samples if name.startswith("process_")]
