"""Schemathesis against the service's own OpenAPI description (/api/openapi.json).

Every documented operation gets a bounded, deterministic set of generated requests, and the
stateful mode chains the SCIM resources through the document's links (create a user or a
group, then read, replace, patch and delete it). Every answer must be no 5xx, match the
schema documented for its status, and carry the documented content type.
"""

from __future__ import annotations

import contextvars
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.conftest import make_app
from tests.factories import make_integration, make_token

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Bounded and deterministic: the same requests on every CI run.
EXAMPLES = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
STATEFUL = settings(EXAMPLES, max_examples=20, stateful_step_count=8)


class CurrentApp:
    """A WSGI callable for whichever app the running test built.

    Each request runs in a fresh context, as in production: the test's own app context
    would otherwise share ``g`` between requests.
    """

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Serve one request with the current test's app."""
        assert self.app is not None, "no app: use the scim_token fixture"
        return contextvars.Context().run(self.app, environ, start_response)


TARGET = CurrentApp()


def _load() -> Any:
    """The OpenAPI document served by an app (loaded once, when tests are collected)."""
    with tempfile.TemporaryDirectory(prefix="openapi-") as tmp:
        TARGET.app = make_app(Path(tmp), f"sqlite:///{tmp}/openapi.db")
        try:
            return schemathesis.openapi.from_wsgi("/api/openapi.json", TARGET)
        finally:
            TARGET.app = None


# schemathesis.pytest.from_fixture() would load it per test, but fails under pytest 9
# (it sets the private Node._nodeid); the document does not depend on the database anyway.
schema = _load()


@pytest.fixture
def scim_token(configured_app) -> Iterator[str]:
    """Serve a fresh app (on the test database) and return its only SCIM token."""
    app = configured_app(SCIM_RATE_LIMIT="100000 per minute")
    served = app.test_client().get("/api/openapi.json").get_json()
    assert served == schema.raw_schema, "the app serves another document than the one loaded"
    TARGET.app = app
    try:
        yield make_token(make_integration(name="Schemathesis Okta"))
    finally:
        TARGET.app = None


def credentials(case: Any, token: str) -> dict[str, str]:
    """The Authorization header for SCIM operations (the others take no bearer token)."""
    return {"Authorization": f"Bearer {token}"} if case.path.startswith("/scim/v2") else {}


@schema.parametrize()
@EXAMPLES
def test_every_documented_operation_answers_as_documented(case: Any, scim_token: str) -> None:
    case.call_and_validate(headers=credentials(case, scim_token), checks=CHECKS)


def test_scim_resources_behave_as_documented_across_linked_calls(scim_token: str) -> None:
    scim_only = schema.include(path_regex=r"^/scim/v2/(Users|Groups)")
    # The document's own links: from each answer carrying a user or a group (POST 201, GET,
    # PUT and PATCH 200) to GET, PUT, PATCH and DELETE of it.
    assert scim_only.statistic.transitions.selected >= 2 * 4 * 4
    base = scim_only.as_state_machine()

    class ScimWorkflow(base):  # type: ignore[valid-type, misc]
        token = scim_token

        def setup(self) -> None:
            # Each scenario is a new Okta org: what an earlier one created cannot change
            # what this one sees (Hypothesis replays scenarios and needs them repeatable).
            self.token = make_token(make_integration())

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": credentials(case, self.token)}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    ScimWorkflow.run(settings=STATEFUL)
