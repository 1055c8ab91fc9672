"""The README's sample Event Hook curl commands, run exactly as written against gunicorn: the
verification is echoed, and the sample delivery is accepted and stored once."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from flask import Flask

from models import HookDelivery, OktaEvent
from services.okta.hook_secrets import rotate_hook_secret
from testkit import leaks
from tests.factories import make_integration
from tests.servers import ROOT, Gunicorn, service_env

MARKER = "<!-- tested: tests/ops/test_readme_samples.py -->"


def _tested_blocks() -> list[str]:
    """The ```sh blocks that follow the marker in README.md, in order."""
    readme = (ROOT / "README.md").read_text()
    return re.findall(re.escape(MARKER) + r"\n```sh\n(.*?)```", readme, flags=re.DOTALL)


def _run(block: str, **env: str) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


@pytest.fixture
def served(app: Flask) -> dict[str, str]:
    """The variables the README sets: BASE (gunicorn), INTEGRATION_ID and HOOK_SECRET."""
    integration = make_integration(name="Sample Okta")
    secret = rotate_hook_secret(integration)
    leaks.register("event-hook secret", secret)
    return {"INTEGRATION_ID": str(integration.id), "HOOK_SECRET": secret}


def test_the_readme_has_the_two_tested_samples() -> None:
    verification, delivery = _tested_blocks()
    assert "x-okta-verification-challenge" in verification
    assert '"eventType": "com.okta.event_hook"' in delivery


def test_the_sample_verification_and_delivery_are_accepted(
    app: Flask, served: dict[str, str]
) -> None:
    verification, delivery = _tested_blocks()
    with Gunicorn(service_env(app.config["DATABASE_URL"]), workers=1) as server:
        variables = {**served, "BASE": server.url}
        echoed = _run(verification, **variables)
        first = _run(delivery, **variables)
        again = _run(delivery, **variables)
        wrong = _run(delivery, **{**variables, "HOOK_SECRET": "not-the-secret"})
    assert echoed.strip() == '{"verification":"4Aq9fW2Xh3"}'
    status_line, _, body = first.partition("\r\n\r\n")
    assert status_line.startswith("HTTP/1.1 200 OK")
    assert body == ""
    assert again.startswith("HTTP/1.1 200 OK")
    assert wrong.startswith("HTTP/1.1 401")
    event = OktaEvent.get(OktaEvent.uuid == "a7c1f0de-8b7a-11f0-9a55-5b1f3c2e7d10")
    assert (event.event_type, event.target_login) == (
        "user.lifecycle.suspend",
        "ada.lovelace@example.com",
    )
    assert OktaEvent.select().count() == 1
    accepted = HookDelivery.select().where(HookDelivery.status == 200).count()
    refused = HookDelivery.select().where(HookDelivery.status == 401).count()
    assert (accepted, refused) == (2, 1)
