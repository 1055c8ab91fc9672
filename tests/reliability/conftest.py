"""Fixtures for the reliability suite: apps with their own settings, and SCIM clients."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.blueprints.scim.conftest import Scim
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
def two_orgs(app: Flask) -> dict[str, Any]:
    """Two integrations (Okta orgs) on one service, each with a SCIM token."""
    ours, theirs = make_integration(name="Ours"), make_integration(name="Theirs")
    return {
        "ours": ours,
        "theirs": theirs,
        "our_token": make_token(ours),
        "their_token": make_token(theirs),
    }
