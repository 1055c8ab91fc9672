"""deploy/prometheus-rules.yaml: valid rules (promtool), alerts that fire when they should
(deploy/prometheus-rules.test.yaml), and only metric names the service really exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import yaml
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import ROOT

RULES = ROOT / "deploy" / "prometheus-rules.yaml"
RULE_TESTS = ROOT / "deploy" / "prometheus-rules.test.yaml"
METRICS_TOKEN = "metrics-token-for-rule-tests-0123456789"
# Series Prometheus itself adds to every scrape, not the service.
PROMETHEUS_OWN = {"up"}
METRIC_NAME = re.compile(r"\b(?:scim_onboard_[a-z0-9_]+|up(?=\{))")


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _exported_names(app: Flask, client: FlaskClient) -> set[str]:
    """Every series name /metrics offers, counters with their _total suffix."""
    app.config["METRICS_TOKEN"] = METRICS_TOKEN
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    names = set()
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            # A labelled counter nothing has counted yet shows only its HELP and TYPE lines.
            names.add(family.name + "_total")
    return names


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool is not None
    return subprocess.run(
        [promtool, *args],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_rule_is_an_alert_with_a_severity_a_summary_and_what_to_do() -> None:
    rules = _rules()
    assert rules
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["alert"].startswith("ScimOnboard")
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert set(rule["annotations"]) == {"summary", "description"}
        assert isinstance(rule["expr"], str) and rule["expr"].strip()
    assert len({rule["alert"] for rule in rules}) == len(rules)


def test_expressions_use_only_metrics_the_service_exports(app: Flask, client: FlaskClient) -> None:
    exported = _exported_names(app, client) | PROMETHEUS_OWN
    used = {name for rule in _rules() for name in METRIC_NAME.findall(rule["expr"])}
    assert "scim_onboard_backfill_missed_events_total" in used
    assert used - exported == set()


def test_promtool_accepts_the_rules_and_every_unit_test_passes() -> None:
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
    }
    assert tested <= {rule["alert"] for rule in _rules()}
    if shutil.which("promtool") is None:
        return  # the structure and metric-name tests above still hold
    checked = _promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in checked.stdout
    unit = _promtool("test", "rules", RULE_TESTS.name)
    assert unit.returncode == 0, unit.stdout + unit.stderr
