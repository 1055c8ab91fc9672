"""The public SCIM conformance suites, run against gunicorn on a fresh database (SQLite, or
DATABASE_URL's Postgres): python-scim's scim2-tester and scim-sanity's live probe.

Every ERROR or CRITICAL result of scim2-tester and every ``fail`` of scim-sanity fails the
test, except where the checker is wrong about the RFC: each such case is named below with
the RFC section, and the test asserts what we answer instead of skipping the check.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import requests
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server
from scim2_tester.utils import CheckResult, Status

from extensions import db
from tests.blueprints.scim.conftest import GROUP_URN, PATCH_OP, USER_URN
from tests.factories import make_integration, make_token
from tests.servers import BIN, ROOT, Gunicorn, service_env

FAILING = (Status.ERROR, Status.CRITICAL)


@pytest.fixture
def server(app: Any) -> Iterator[tuple[Gunicorn, str]]:
    """gunicorn (2 workers) on the test's fresh database, and a SCIM token for it."""
    token = make_token(make_integration(name="Conformance"))
    # The test's own connection goes back to the pool: the server's processes write now.
    if not db.is_closed():
        db.close()
    env = service_env(app.config["DATABASE_URL"], DB_POOL_SIZE="4")
    with Gunicorn(env, workers=2, threads=2, timeout=60) as gunicorn:
        yield gunicorn, token


def _member_display_is_ours(result: CheckResult) -> bool:
    """scim2-tester PATCHes ``members`` with a random ``display`` and expects it echoed.

    RFC 7643 §2.4 gives ``display`` of a multi-valued attribute a mutability of
    "immutable", and §4.2 says the sub-attributes of a group's members are immutable: the
    client chooses *which* resources are members (``value``), not how the server names
    them. We show each member by its user's displayName (else userName), as GET does, so a
    renamed user never leaves a stale name in its groups. Only this difference is excused:
    same members, same value/$ref/type; ``_assert_members_show_their_own_names`` checks
    what we answer instead.
    """
    data = result.data or {}
    if result.resource_type != "Group" or data.get("urn") != "members":
        return False
    expected = list(data.get("expected") or [])
    returned = list(data.get("modify_actual") or [])
    assert returned, result.reason
    assert len(expected) == len(returned), result.reason
    for sent, answered in zip(expected, returned, strict=True):
        assert (sent.value, str(sent.ref), sent.type) == (
            answered.value,
            str(answered.ref),
            answered.type,
        ), result.reason
    return True


def _assert_members_show_their_own_names(base: str, token: str) -> None:
    """A PATCH adding a member with a display of the client's answers with the user's name."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

    def send(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.request(method, base + path, json=body, headers=headers, timeout=30)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    user = send(
        "POST",
        "/Users",
        {"schemas": [USER_URN], "userName": "d@example.com", "displayName": "Dee Shown"},
    )
    group = send("POST", "/Groups", {"schemas": [GROUP_URN], "displayName": "Named"})
    add = {"op": "add", "path": "members", "value": [{"value": user["id"], "display": "other"}]}
    patched = send("PATCH", f"/Groups/{group['id']}", {"schemas": [PATCH_OP], "Operations": [add]})
    assert [(m["value"], m["display"]) for m in patched["members"]] == [(user["id"], "Dee Shown")]


def test_scim2_tester_finds_no_error(server: tuple[Gunicorn, str]) -> None:
    gunicorn, token = server
    base = f"{gunicorn.url}/scim/v2"
    with httpx2.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:
        results = check_server(SyncSCIMClient(http))
    assert len(results) > 100, results
    failing = [r for r in results if r.status in FAILING]
    explained = [r for r in failing if _member_display_is_ours(r)]
    _assert_members_show_their_own_names(base, token)
    unexplained = [
        f"{r.resource_type} {r.title}: {r.reason}" for r in failing if r not in explained
    ]
    assert not unexplained, "\n".join(unexplained) + "\n" + gunicorn.output()
    # What it checks includes what this service added for it: root search, members in the
    # PATCH answer, remove of active.
    passed = {(r.resource_type, r.title) for r in results if r.status is Status.SUCCESS}
    assert ("User", "search_with_attributes") in passed
    assert ("Group", "search_with_attributes") in passed
    assert ("User", "check_remove_attribute") in passed


def test_scim_sanity_probe_has_no_failure(server: tuple[Gunicorn, str]) -> None:
    gunicorn, token = server
    completed = subprocess.run(
        [
            str(BIN / "scim-sanity"),
            "probe",
            f"{gunicorn.url}/scim/v2",
            "--token",
            token,
            "--i-accept-side-effects",
            "--json-output",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(completed.stdout)
    failed = [r for r in report["results"] if r["status"] in ("fail", "error")]
    assert not failed, json.dumps(failed, indent=2) + "\n" + gunicorn.output()
    assert completed.returncode == 0, completed.stderr
    assert report["summary"]["failed"] == report["summary"]["errors"] == 0
    assert report["issues"] == []
    passed = [r for r in report["results"] if r["status"] == "pass"]
    assert len(passed) >= 25, report["summary"]
    # Skipped: the Agent and AgenticApplication resource types of an Internet-Draft
    # (draft-abbey-scim-agent-extension), which we do not serve and do not advertise.
    skipped = [r["name"] for r in report["results"] if r["status"] == "skip"]
    assert all("Agent" in name for name in skipped), skipped
