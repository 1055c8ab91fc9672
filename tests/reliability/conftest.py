"""Fixtures for the reliability suite: apps with their own settings, and SCIM clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from extensions import db
from tests.blueprints.scim.conftest import Scim, fresh_app
from tests.conftest import OKTA_HEADERS
from tests.factories import make_integration, make_token


class AddressedScim(Scim):
    """A SCIM client whose requests come from a given client address."""

    def __init__(self, client: FlaskClient, token: str, address: str = "127.0.0.1") -> None:
        super().__init__(client, {**OKTA_HEADERS, "Authorization": f"Bearer {token}"})
        self.address = address

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send from ``self.address``."""
        kwargs.setdefault("environ_base", {"REMOTE_ADDR": self.address})
        return super().request(method, path, body, headers, **kwargs)


@pytest.fixture
def configured_app(tmp_path: Path, migrated_database: str) -> Iterator[Callable[..., Flask]]:
    """Build the app with setting overrides on an empty database, inside its app context."""
    contexts: list[Any] = []

    def build(**overrides: Any) -> Flask:
        application = fresh_app(tmp_path, migrated_database, **overrides)
        context = application.app_context()
        context.push()
        contexts.append(context)
        return application

    yield build
    for context in reversed(contexts):
        context.pop()
    if not db.is_closed():
        db.close()
    db.obj.close_all()


@pytest.fixture
def two_orgs(app: Flask) -> dict[str, Any]:
    """Two integrations (Okta orgs) on one service, each with a SCIM token."""
    ours, theirs = make_integration(name="Ours"), make_integration(name="Theirs")
    return {
        "ours": ours,
        "theirs": theirs,
        "our_token": make_token(ours),
        "their_token": make_token(theirs),
    }
