"""Okta's wire format as every part of the client writes and reads it: ids as path segments,
JSON bodies read leniently, logins, header-safe tokens, our User-Agent."""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import quote

import requests

USER_AGENT: Final = "scim-onboard/1"
HEADER_SAFE: Final = re.compile(r"[\x21-\x7e]+")  # one printable token, nothing to inject


def segment(value: str) -> str:
    if not value:
        raise ValueError("An Okta id must not be empty.")
    return quote(value, safe="")


def json_or_none(response: requests.Response) -> Any:
    """The answer's JSON body, or None when it has none."""
    try:
        return response.json()
    except ValueError:
        return None


def login_of(user: object) -> str:
    """The login in an Okta user object (``profile.login``), or "" when it has none."""
    if isinstance(user, dict) and isinstance(user.get("profile"), dict):
        login = user["profile"].get("login")
        if isinstance(login, str):
            return login
    return ""
