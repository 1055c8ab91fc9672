"""Abuse: SCIM rate limits per token, failed authentications throttled per address, tenant
isolation on every route, and secrets that never reach a log line or an error body."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_limiter import ApplicationLimit
from werkzeug.exceptions import HTTPException, ServiceUnavailable, TooManyRequests

from blueprints.scim.errors import render_http_exception
from extensions import limiter
from models import (
    Group,
    GroupMember,
    Integration,
    Invitation,
    OktaEvent,
    ScimToken,
    User,
    utcnow,
)
from services.admin.admins import create_admin
from services.email.kept_emails import kept_email
from services.email.mailer import ConsoleMailer
from services.integrations.scim_tokens import create_token
from services.okta.hook_secrets import rotate_hook_secret
from testkit.fakes.okta import FakeOkta
from testkit.fakes.sendgrid import FakeSendGrid
from tests.blueprints.admin.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, post_form, sign_in
from tests.blueprints.scim.conftest import (
    ERROR,
    GROUP_URN,
    SEARCH_REQUEST,
    USER_URN,
    Scim,
    assert_scim_error,
    patch_op,
)
from tests.conftest import OKTA_HEADERS, IsolatedClient
from tests.factories import (
    make_integration,
    make_token,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
    okta_patch_active,
)
from tests.reliability.conftest import AddressedScim
from worker import build_worker

# An address from TEST-NET-3 (RFC 5737), so no real client is named.
OKTA_EGRESS = "203.0.113.7"
OTHER_ADDRESS = "203.0.113.99"


def assert_throttled(response: Any) -> int:
    """A 429 SCIM error whose Retry-After is a whole number of seconds; returns it."""
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.mimetype == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == "429"
    assert body["detail"]
    retry_after = response.headers.get_all("Retry-After")
    assert len(retry_after) == 1, retry_after
    assert re.fullmatch(r"[1-9][0-9]*", retry_after[0]), retry_after
    return int(retry_after[0])


def _sample_request(rule: Any) -> tuple[str, str]:
    """A method and a concrete path for a SCIM URL rule."""
    method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    path = re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "User", rule.rule)
    return method, path


# --- per-token rate limit -------------------------------------------------------------------


@pytest.fixture
def limited(configured_app) -> dict[str, Any]:
    """An app allowing each SCIM token 3 requests a minute, and three tokens of two orgs."""
    app = configured_app(SCIM_RATE_LIMIT="3 per minute")
    ours, theirs = make_integration(name="Ours"), make_integration(name="Theirs")
    client = app.test_client()
    return {
        "app": app,
        "ours": AddressedScim(client, make_token(ours), OKTA_EGRESS),
        "ours_second_token": AddressedScim(client, make_token(ours, "second"), OKTA_EGRESS),
        "theirs": AddressedScim(client, make_token(theirs), OKTA_EGRESS),
    }


def test_a_token_over_its_rate_limit_gets_429_with_an_integer_retry_after(limited) -> None:
    scim = limited["ours"]
    for _ in range(3):
        assert scim.get("/Users").status_code == 200
    retry_after = assert_throttled(scim.get("/Users"))
    assert 1 <= retry_after <= 60


def test_a_throttled_write_changes_nothing(limited) -> None:
    scim = limited["ours"]
    for _ in range(3):
        assert scim.get("/Users").status_code == 200
    assert_throttled(scim.post("/Users", okta_create_user_payload("late@example.com")))
    assert limited["ours_second_token"].get("/Users").get_json()["totalResults"] == 0


def test_other_tokens_keep_their_own_allowance(limited) -> None:
    for _ in range(4):
        limited["ours"].get("/Users")
    assert_throttled(limited["ours"].get("/Users"))
    # Same address, same org, another token; and another org entirely.
    for _ in range(3):
        assert limited["ours_second_token"].get("/Users").status_code == 200
        assert limited["theirs"].get("/Users").status_code == 200


def test_the_limit_applies_to_every_scim_route(limited) -> None:
    scim = limited["ours"]
    for _ in range(3):
        scim.get("/ServiceProviderConfig")
    rules = [r for r in limited["app"].url_map.iter_rules() if r.rule.startswith("/scim/v2")]
    assert len(rules) >= 10
    for rule in rules:
        method, path = _sample_request(rule)
        assert_throttled(scim.request(method, path.removeprefix("/scim/v2")))


def test_flask_limiter_app_wide_limits_and_headers_stay_off_scim(limited, monkeypatch) -> None:
    # An app-wide limit by address would throttle every Okta customer behind one egress
    # address; flask-limiter's X-RateLimit-* headers would add a Retry-After of 0 or a date.
    monkeypatch.setattr(limiter, "_headers_enabled", True)
    app_wide = ApplicationLimit(limit_provider="1 per minute").bind(limiter)
    monkeypatch.setattr(limiter.limit_manager, "_application_limits", [app_wide])
    scim = limited["ours"]
    for _ in range(3):
        ok = scim.get("/Users")
        assert ok.status_code == 200
        assert "Retry-After" not in ok.headers
    throttled = scim.get("/Users")
    assert_throttled(throttled)
    assert not [h for h in throttled.headers if h[0].lower().startswith("x-ratelimit")]


# --- failed authentications per client address ----------------------------------------------


@pytest.fixture
def guarded(configured_app) -> dict[str, Any]:
    """An app allowing 3 failed SCIM authentications a minute per address."""
    app = configured_app(SCIM_AUTH_FAILURE_LIMIT="3 per minute")
    ours = make_integration(name="Ours")
    client = app.test_client()
    return {
        "good": AddressedScim(client, make_token(ours), OKTA_EGRESS),
        "bad": AddressedScim(client, "scim_not-a-real-token-" + "x" * 30, OKTA_EGRESS),
        "bad_elsewhere": AddressedScim(client, "scim_not-a-real-token", OTHER_ADDRESS),
        "client": client,
    }


def test_failed_authentications_from_one_address_are_throttled(guarded) -> None:
    for _ in range(3):
        assert guarded["bad"].get("/Users").status_code == 401
    retry_after = assert_throttled(guarded["bad"].get("/Users"))
    assert 1 <= retry_after <= 60
    # Missing credentials count as failures too, and are throttled the same way.
    anonymous = guarded["client"].get("/scim/v2/Users", environ_base={"REMOTE_ADDR": OKTA_EGRESS})
    assert_throttled(anonymous)


def test_a_valid_token_still_works_from_a_throttled_address(guarded) -> None:
    # Okta's egress addresses are shared by all its customers: someone else's bad token must
    # not cut off this org's provisioning (see blueprints/scim/auth.py).
    for _ in range(4):
        guarded["bad"].get("/Users")
    assert_throttled(guarded["bad"].get("/Users"))
    assert guarded["good"].get("/Users").status_code == 200
    created = guarded["good"].post("/Users", okta_create_user_payload("ann@example.com"))
    assert created.status_code == 201


def test_other_addresses_are_not_throttled(guarded) -> None:
    for _ in range(4):
        guarded["bad"].get("/Users")
    for _ in range(3):
        assert guarded["bad_elsewhere"].get("/Users").status_code == 401


def test_only_401_answers_count_as_failures(guarded) -> None:
    for _ in range(10):
        assert guarded["good"].get("/Users").status_code == 200
        assert guarded["good"].get("/Users/no-such-user").status_code == 404
    for _ in range(3):
        assert guarded["bad"].get("/Users").status_code == 401
    assert_throttled(guarded["bad"].get("/Users"))


# --- tenant isolation on every route --------------------------------------------------------

# Every endpoint of the app, by how its isolation is checked. A new route fails
# test_every_route_of_the_url_map_has_an_isolation_case until it is listed here.
SCIM = "scim"  # a SCIM token: 401 without one; B's token on A's ids is a 404, lists show B's
HOOK = "hook"  # an Okta event hook: B's secret on A's URL is a 401 and stores nothing
ADMIN = "admin"  # an admin page: no session, no entry; A's URL with B's object ids is a 404
PUBLIC = "public"  # open to anyone by design: B's credentials reveal and change nothing of A's
ROUTE_KINDS = {
    "scim.Users": SCIM,
    "scim.UserSearch": SCIM,
    "scim.UserById": SCIM,
    "scim.Groups": SCIM,
    "scim.GroupSearch": SCIM,
    "scim.GroupById": SCIM,
    "scim.RootSearchView": SCIM,
    "scim.ResourceTypes": SCIM,
    "scim.ResourceTypeByName": SCIM,
    "scim.Schemas": SCIM,
    "scim.SchemaById": SCIM,
    "scim.ServiceProviderConfig": SCIM,
    "okta_hooks.verify": HOOK,
    "okta_hooks.deliver": HOOK,
    "admin.dashboard": ADMIN,
    "root": PUBLIC,
    "admin.audit": ADMIN,
    "admin.deliveries": ADMIN,
    "admin.work": ADMIN,
    "admin.work_retry_email": ADMIN,
    "admin.work_retry_event": ADMIN,
    "admin.work_retry_group_sync": ADMIN,
    "admin.integrations": ADMIN,
    "admin.integration_new": ADMIN,
    "admin.integration": ADMIN,
    "admin.integration_branding": ADMIN,
    "admin.integration_hook_secret": ADMIN,
    "admin.integration_edit": ADMIN,
    "admin.integration_okta": ADMIN,
    "admin.integration_test": ADMIN,
    "admin.integration_preview": ADMIN,
    "admin.integration_token_create": ADMIN,
    "admin.integration_token_revoke": ADMIN,
    "admin.users": ADMIN,
    "admin.user": ADMIN,
    "admin.user_email": ADMIN,
    "admin.user_email_html": ADMIN,
    "admin.user_retry_group_sync": ADMIN,
    "admin.user_resend": ADMIN,
    "admin.users_csv": ADMIN,
    "admin.stuck": ADMIN,
    "admin.stuck_resend": ADMIN,
    # Deleting an integration is an admin's act on a whole org (admins are global), behind a
    # session, CSRF and the org's name typed again.
    "admin.integration_delete": ADMIN,
    "admin.integration_deleted": ADMIN,
    # Admin accounts belong to the console, not to any integration.
    "admin.account": ADMIN,
    "admin.admin_list": ADMIN,
    "admin.admin_remove": ADMIN,
    # Signing in, first-run set-up and signing out: reached without a session by design.
    "admin.login": PUBLIC,
    "admin.oidc_login": PUBLIC,
    "admin.oidc_callback": PUBLIC,
    "admin.setup": PUBLIC,
    "admin.logout": PUBLIC,
    # The enrollment page and API take the user's own enrollment token, nothing of an org's.
    "enroll.landing": PUBLIC,
    # A brand colour as CSS, named by the colour alone: no token, nothing of any org's.
    "enroll.brand_stylesheet": PUBLIC,
    "enrollments.Enrollments": PUBLIC,
    # SendGrid's signed webhook, probes, the API description, static files and /metrics
    # (its own token) belong to no integration.
    "sendgrid_hooks.receive": PUBLIC,
    "health.healthz": PUBLIC,
    "health.readyz": PUBLIC,
    "api-docs.openapi_json": PUBLIC,
    "static": PUBLIC,
    "metrics.metrics_page": PUBLIC,
}


def _routes() -> list[tuple[str, str, str]]:
    """(method, rule, endpoint) for every routed operation in the app's URL map."""
    import tempfile

    from tests.conftest import make_app

    with tempfile.TemporaryDirectory(prefix="routes-") as tmp:
        application = make_app(Path(tmp), f"sqlite:///{tmp}/routes.db")
        rules = list(application.url_map.iter_rules())
    return sorted(
        (method, rule.rule, rule.endpoint)
        for rule in rules
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One isolation case per routed operation, read from the app's URL map."""
    if "route" in metafunc.fixturenames:
        routes = _routes()
        metafunc.parametrize("route", routes, ids=[f"{m} {r}" for m, r, _ in routes])


@dataclass
class Tenants:
    """Integration A (the victim, with data) and integration B (the intruder)."""

    app: Flask
    client: FlaskClient
    a: Integration
    b: Integration
    a_scim: Scim
    b_scim: Scim
    a_hook_secret: str
    b_hook_secret: str
    a_user: dict[str, Any]
    a_other_user: dict[str, Any]
    a_group: dict[str, Any]
    b_user: dict[str, Any]
    b_token_id: int
    b_invitation_id: int

    def a_markers(self) -> list[str]:
        """Strings that only A's data contains."""
        return [
            self.a.id,
            self.a.name,
            self.a_user["id"],
            self.a_user["userName"],
            self.a_group["id"],
            self.a_group["displayName"],
        ]


@pytest.fixture
def tenants(configured_app) -> Tenants:
    """Two orgs with users, a group, tokens, hook secrets and kept welcome emails."""
    app = configured_app(MAILER=ConsoleMailer())
    client = app.test_client()
    a, b = make_integration(name="Victim Okta"), make_integration(name="Intruder Okta")
    a_scim = Scim(client, {**OKTA_HEADERS, "Authorization": f"Bearer {make_token(a)}"})
    b_token, b_plain = create_token(b, "intruder")
    b_scim = Scim(client, {**OKTA_HEADERS, "Authorization": f"Bearer {b_plain}"})
    a_user = a_scim.create_user("victim@example.com", externalId="00uVictim000000000001")
    a_other = a_scim.create_user("colleague@example.com", externalId="00uVictim000000000002")
    a_group = a_scim.create_group("Victim Engineers", [a_user["id"], a_other["id"]])
    b_user = b_scim.create_user("intruder@example.com", externalId="00uIntruder0000000001")
    build_worker(app).run_until_idle()  # the console mailer keeps each welcome email
    b_invitation = Invitation.get(Invitation.integration == b.id)
    assert kept_email(b_invitation.id) is not None
    return Tenants(
        app=app,
        client=client,
        a=a,
        b=b,
        a_scim=a_scim,
        b_scim=b_scim,
        a_hook_secret=rotate_hook_secret(a),
        b_hook_secret=rotate_hook_secret(b),
        a_user=a_user,
        a_other_user=a_other,
        a_group=a_group,
        b_user=b_user,
        b_token_id=b_token.id,
        b_invitation_id=b_invitation.id,
    )


def snapshot(integration: Integration) -> dict[str, Any]:
    """Everything of one integration that another must never read or change."""
    row = Integration.get_by_id(integration.id)
    users = User.select().where(User.integration == integration.id).order_by(User.id)
    groups = Group.select().where(Group.integration == integration.id).order_by(Group.id)
    return {
        "integration": {
            k: getattr(row, k)
            for k in (
                "name",
                "okta_org_url",
                "okta_auth",
                "okta_secret",
                "group_id",
                "hook_secret_hash",
                "hook_secret_previous_hash",
                "branding",
                "unhealthy_reason",
            )
        },
        "users": [
            (u.scim_id, u.document, u.active, u.state, u.version, u.deleted_at) for u in users
        ],
        "groups": [(g.scim_id, g.document, g.version) for g in groups],
        "members": sorted(
            (m.group_id, m.user_id)
            for m in GroupMember.select().join(Group).where(Group.integration == integration.id)
        ),
        "tokens": [
            (t.id, t.revoked_at)
            for t in ScimToken.select().where(ScimToken.integration == integration.id)
        ],
        "invitations": [
            (i.id, i.used_at, i.revoked_at, i.email_status)
            for i in Invitation.select().where(Invitation.integration == integration.id)
        ],
        "events": OktaEvent.select().where(OktaEvent.integration == integration.id).count(),
    }


def _scim_body(kind: str, t: Tenants) -> Any:
    if kind == "Users":
        return okta_create_user_payload(t.a_user["userName"], externalId="00uVictim000000000001")
    return {
        "schemas": [GROUP_URN],
        "displayName": t.a_group["displayName"],
        "members": [{"value": t.a_user["id"]}],
    }


def _patch_body(kind: str) -> Any:
    if kind == "Users":
        return patch_op({"op": "replace", "value": {"active": False}})
    return patch_op({"op": "replace", "path": "members", "value": []})


def _assert_reveals_nothing_of_a(response: Any, t: Tenants, sent: str = "") -> None:
    """Nothing of A's is in the answer, except what the caller sent (a 404 names the id)."""
    text = response.get_data(as_text=True)
    for marker in (m for m in t.a_markers() if m not in sent):
        assert marker not in text, f"{marker!r} of integration A leaked"


def _scim_case(method: str, rule: str, t: Tenants) -> None:
    """No token is a 401; B's SCIM token on an A-scoped id is a 404; without an id it sees
    only B's data."""
    path = rule.removeprefix("/scim/v2")
    concrete = re.sub(r"<string:\w+>", t.a_user["id"], rule)
    anonymous = t.client.open(concrete, method=method, headers=OKTA_HEADERS)
    assert_scim_error(anonymous, 401)
    _assert_reveals_nothing_of_a(anonymous, t, sent=concrete)
    kind = "Users" if path.startswith("/Users") else "Groups"
    if "<string:scim_id>" in path:
        target = t.a_user["id"] if kind == "Users" else t.a_group["id"]
        body = {"PUT": _scim_body(kind, t), "PATCH": _patch_body(kind)}.get(method)
        if body is not None and method == "PUT":
            body = {**body, "id": target}
        response = t.b_scim.request(method, path.replace("<string:scim_id>", target), body)
        assert_scim_error(response, 404)
        _assert_reveals_nothing_of_a(response, t, sent=target)
        return
    if path.endswith("/.search"):
        searches = [
            f'id eq "{t.a_user["id"]}"',
            f'userName eq "{t.a_user["userName"]}"',
            f'id eq "{t.a_group["id"]}"',
            f'displayName eq "{t.a_group["displayName"]}"',
            f'members.value eq "{t.a_user["id"]}"',
            f'groups.value eq "{t.a_group["id"]}"',
        ]
        for flt in searches:
            response = t.b_scim.post(path, {"schemas": [SEARCH_REQUEST], "filter": flt})
            assert response.status_code in (200, 400), response.get_data(as_text=True)
            if response.status_code == 200:
                assert response.get_json()["totalResults"] == 0
        unfiltered = t.b_scim.post(path, {"schemas": [SEARCH_REQUEST]})
        _assert_reveals_nothing_of_a(unfiltered, t)
        return
    if path in ("/Users", "/Groups") and method == "GET":
        listed = t.b_scim.get(path)
        assert listed.status_code == 200
        own = [t.b_user["id"]] if kind == "Users" else []
        assert [r["id"] for r in listed.get_json()["Resources"]] == own
        _assert_reveals_nothing_of_a(listed, t)
        return
    if path in ("/Users", "/Groups") and method == "POST":
        response = t.b_scim.post(path, _scim_body(kind, t))
        if kind == "Users":
            # The same userName may live in another org: it is B's own new user.
            assert response.status_code == 201
            assert response.get_json()["id"] not in (t.a_user["id"], t.a_other_user["id"])
        else:
            # A's user cannot become a member of B's group: to B it is an unknown id, skipped.
            assert response.status_code == 201
            assert response.get_json()["members"] == []
        return
    # Discovery: the same for everyone, nothing integration-scoped in it.
    concrete = re.sub(
        r"<string:(name|schema_id)>",
        lambda m: "User" if m.group(1) == "name" else USER_URN,
        path,
    )
    response = t.b_scim.request(method, concrete)
    assert response.status_code == 200, response.get_data(as_text=True)
    _assert_reveals_nothing_of_a(response, t)


def _hook_case(method: str, rule: str, t: Tenants) -> None:
    """B's hook secret on A's hook URL stores nothing; the challenge echo shows nothing."""
    url = rule.replace("<integration_id>", t.a.id)
    headers = {"Authorization": t.b_hook_secret, "Content-Type": "application/json"}
    if method == "GET":
        response = t.client.get(
            url, headers={**headers, "x-okta-verification-challenge": "challenge-123"}
        )
        # Okta's verification request carries no secret (docs/okta.md §3.2): an echo, nothing more.
        assert response.status_code == 200
        assert response.get_json() == {"verification": "challenge-123"}
        return
    delivery = okta_delivery(
        okta_event(
            "user.lifecycle.deactivate",
            okta_id=t.a_user["externalId"],
            login=t.a_user["userName"],
        )
    )
    response = t.client.post(url, json=delivery, headers=headers)
    assert response.status_code == 401
    _assert_reveals_nothing_of_a(response, t)


def _admin_case(method: str, rule: str, endpoint: str, t: Tenants) -> None:
    """An org's SCIM token or hook secret never opens the admin console; a signed-in admin
    who mixes one org's URL with another org's object ids gets a 404."""
    values = {
        "<integration_id>": t.a.id,
        "<int:token_id>": str(t.b_token_id),
        "<scim_id>": t.a_user["id"],
        "<int:invitation_id>": str(t.b_invitation_id),
        # Work items are not scoped to an integration (admins are global): any id will do.
        "<int:event_id>": "1",
        "<int:sync_id>": "1",
        # Admin accounts are not scoped to an integration either.
        "<int:admin_id>": "1",
    }
    url = rule
    for placeholder, value in values.items():
        url = url.replace(placeholder, value)
    assert "<" not in url, f"no value for a placeholder of {rule}: add one above"
    for credential in (f"Bearer {t.b_scim.headers['Authorization'][7:]}", t.b_hook_secret):
        response = t.client.open(url, method=method, headers={"Authorization": credential})
        if response.status_code == 302:
            assert urlsplit(response.headers["Location"]).path == "/admin/login"
        else:
            # A POST without a session is refused by the CSRF check before anything else.
            assert (method, response.status_code) == ("POST", 400), response.status_code
        _assert_reveals_nothing_of_a(response, t, sent=url)
    # A's URL (its integration or user) holding B's object: the mix a signed-in admin must not
    # get through. Work items under /admin/work belong to no integration's URL.
    scoped = "<integration_id>" in rule or "<scim_id>" in rule
    if scoped and ("<int:token_id>" in rule or "<int:invitation_id>" in rule):
        admin_client = t.app.test_client()
        create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert sign_in(admin_client).status_code == 302
        if method == "POST":
            response = post_form(admin_client, f"/admin/integrations/{t.a.id}", url)
        else:
            response = admin_client.open(url, method=method)
        assert response.status_code == 404, (endpoint, response.status_code)
        if "<int:invitation_id>" in rule:
            # The control: B's own email, under B's own user, is there to be shown.
            own = url.replace(t.a_user["id"], t.b_user["id"])
            assert admin_client.get(own).status_code == 200


def _public_case(method: str, rule: str, t: Tenants) -> None:
    """A route open to anyone: B's token or hook secret there gets what anyone gets, never
    anything of A's (with A's ids in the URL where it takes an id)."""
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: f"{t.a.id}-{m.group(1)}", rule)
    for credential in (f"Bearer {t.b_scim.headers['Authorization'][7:]}", t.b_hook_secret):
        response = t.client.open(url, method=method, headers={"Authorization": credential}, json={})
        # 503 is SendGrid's webhook with no verification key configured (it asks for retries).
        assert response.status_code < 500 or response.status_code == 503, (rule, response)
        _assert_reveals_nothing_of_a(response, t, sent=url)


def test_no_route_lets_one_integration_read_or_change_anothers_data(
    tenants: Tenants, route: tuple[str, str, str]
) -> None:
    method, rule, endpoint = route
    before = snapshot(tenants.a)
    kind = ROUTE_KINDS.get(endpoint)
    if kind == SCIM:
        _scim_case(method, rule, tenants)
    elif kind == HOOK:
        _hook_case(method, rule, tenants)
    elif kind == ADMIN:
        _admin_case(method, rule, endpoint, tenants)
    elif kind == PUBLIC:
        _public_case(method, rule, tenants)
    else:
        pytest.fail(f"{endpoint} ({method} {rule}) is not in ROUTE_KINDS: say how it is isolated")
    build_worker(tenants.app).run_until_idle()
    assert snapshot(tenants.a) == before
    # A's own view is intact too: its user is still active and still in its group.
    assert tenants.a_scim.get(f"/Users/{tenants.a_user['id']}").get_json()["active"] is True
    members = tenants.a_scim.get(f"/Groups/{tenants.a_group['id']}").get_json()["members"]
    assert len(members) == 2


def test_every_route_of_the_url_map_has_an_isolation_case() -> None:
    routes = _routes()
    endpoints = {endpoint for _, _, endpoint in routes}
    unclassified = sorted(endpoints - ROUTE_KINDS.keys())
    assert not unclassified, f"new routes with no isolation case in ROUTE_KINDS: {unclassified}"
    assert not ROUTE_KINDS.keys() - endpoints, "ROUTE_KINDS names routes that no longer exist"
    # Every credential-bearing prefix is classified as such, not waved through as public.
    for _, rule, endpoint in routes:
        if rule.startswith("/scim/v2"):
            assert ROUTE_KINDS[endpoint] == SCIM, endpoint
        elif rule.startswith("/hooks/okta"):
            assert ROUTE_KINDS[endpoint] == HOOK, endpoint


# --- secrets never leak ---------------------------------------------------------------------

_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


class LogCapture(logging.Handler):
    """Keeps every record twice: as the app logged it, and as this handler writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.raw: list[str] = []
        self.lines: list[str] = []

    def handle(self, record: logging.LogRecord) -> bool:
        """Keep the record as logged (before any handler filter redacts it), then handle it."""
        parts = [record.name, record.getMessage()]
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        parts += [record.exc_text or "", record.stack_info or ""]
        parts += [repr(v) for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES]
        self.raw.append("\n".join(parts))
        return bool(super().handle(record))

    def emit(self, record: logging.LogRecord) -> None:
        """The written line, traceback included."""
        self.lines.append(self.format(record))


@pytest.fixture
def captured_logs() -> Iterator[LogCapture]:
    """Every log record of every logger at DEBUG, through a handler installed before the app
    exists (so the app's logging set-up treats it like any other handler)."""
    capture = LogCapture()
    root = logging.getLogger()
    level = root.level
    root.handlers.insert(0, capture)
    root.setLevel(logging.DEBUG)
    detached = [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in detached:
        logger.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
        for logger in detached:
            logger.removeHandler(capture)


class RecordingClient(IsolatedClient):
    """A test client that keeps every response."""

    responses: list[tuple[str, str, Any]] = []

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Send, and keep (method, path, response)."""
        response = super().open(*args, **kwargs)
        request = response.request
        self.responses.append((request.method, request.path, response))
        return response


def _okta_api_token() -> str:
    # Okta API tokens: "00" and 40 URL-safe characters (docs/okta.md §4).
    return "00" + secrets.token_urlsafe(30)[:40]


def _sendgrid_key() -> str:
    return f"SG.{secrets.token_urlsafe(16)[:22]}.{secrets.token_urlsafe(32)[:43]}"


def _displayed(admin: Any, response: Any) -> Any:
    """The page that shows a new secret: the redirect after the POST (post/redirect/get)."""
    if response.status_code in (302, 303):
        return admin.get(response.headers["Location"])
    return response


def _shown_once(page: str, prefix: str) -> str:
    match = re.search(rf"\b{prefix}[A-Za-z0-9_-]{{30,}}", page)
    assert match, f"no {prefix}… secret on the page"
    return match.group(0)


def test_no_secret_reaches_a_log_line_or_an_error_body(
    configured_app, captured_logs: LogCapture, monkeypatch
) -> None:
    monkeypatch.setattr(RecordingClient, "responses", [])
    okta_token, wrong_okta_token, sendgrid_key = (
        _okta_api_token(),
        _okta_api_token(),
        _sendgrid_key(),
    )
    with FakeOkta() as okta, FakeSendGrid(api_key=sendgrid_key) as sendgrid:
        okta.api_tokens.add(okta_token)
        group = okta.add_group("Passwordless")
        okta_ids = {f"user{n}@example.com": okta.add_user(f"user{n}@example.com") for n in range(3)}
        client_id, private_key = okta.add_oauth_client()
        sendgrid.activity_available = True
        app = configured_app(
            LOG_LEVEL="DEBUG",
            MAILER=None,
            SENDGRID_API_KEY=sendgrid_key,
            SENDGRID_BASE_URL=sendgrid.url,
            SENDGRID_TIMEOUT_SECONDS=2.0,
            OKTA_ALLOWED_HOSTS=[okta.host],
            OKTA_CA_BUNDLE=okta.ca_path,
            OKTA_TIMEOUT_SECONDS=2.0,
        )
        app.test_client_class = RecordingClient
        worker = build_worker(app)
        admin = app.test_client()
        create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert sign_in(admin, ADMIN_EMAIL, "not the password").status_code == 401
        assert sign_in(admin).status_code == 302

        # The admin sets up an integration: SCIM tokens, a hook secret, Okta credentials.
        created = post_form(
            admin, "/admin/integrations/new", "/admin/integrations/new", name="Acme"
        )
        page_url = urlsplit(created.headers["Location"]).path
        integration_id = page_url.rsplit("/", 1)[1]
        reveal_token = _displayed(
            admin, post_form(admin, page_url, f"{page_url}/tokens", label="okta")
        )
        scim_token = _shown_once(reveal_token.text, "scim_")
        reveal_old = _displayed(
            admin, post_form(admin, page_url, f"{page_url}/tokens", label="old")
        )
        revoked_token = _shown_once(reveal_old.text, "scim_")
        old_id = ScimToken.get(ScimToken.label == "old").id
        post_form(admin, page_url, f"{page_url}/tokens/{old_id}/revoke")
        reveal_first = _displayed(admin, post_form(admin, page_url, f"{page_url}/hook-secret"))
        old_hook_secret = _shown_once(reveal_first.text, "okhs_")
        reveal_second = _displayed(admin, post_form(admin, page_url, f"{page_url}/hook-secret"))
        hook_secret = _shown_once(reveal_second.text, "okhs_")
        reveals = {id(reveal_token), id(reveal_old), id(reveal_first), id(reveal_second)}
        okta_form = {"org_url": okta.url, "group": group}
        refused = post_form(
            admin,
            page_url,
            f"{page_url}/okta",
            **{**okta_form, "org_url": "https://not-allowed.example.com"},
            auth="oauth",
            client_id=client_id,
            private_key=private_key,
        )
        assert refused.status_code == 400
        post_form(
            admin,
            page_url,
            f"{page_url}/okta",
            **okta_form,
            auth="ssws",
            api_token=wrong_okta_token,
        )
        failed_test = post_form(admin, page_url, f"{page_url}/okta/test")
        assert "Connection test failed" in admin.get(failed_test.headers["Location"]).text
        post_form(
            admin, page_url, f"{page_url}/okta", **okta_form, auth="ssws", api_token=okta_token
        )
        post_form(admin, page_url, f"{page_url}/okta/test")

        # Okta provisions users; a revoked and a made-up token are refused.
        scim = Scim(app.test_client(), {**OKTA_HEADERS, "Authorization": f"Bearer {scim_token}"})
        users = [scim.create_user(login, externalId=oid) for login, oid in okta_ids.items()]
        for bad in (revoked_token, "scim_" + secrets.token_urlsafe(32)):
            stale = Scim(app.test_client(), {**OKTA_HEADERS, "Authorization": f"Bearer {bad}"})
            assert stale.get("/Users").status_code == 401

        # SendGrid fails once, then refuses the key once, then sends.
        sendgrid.fail_next(1, 500)
        sendgrid.fail_next(1, 401)
        worker.run_until_idle()
        Invitation.update(next_attempt_at=utcnow()).where(
            Invitation.email_status == "queued"
        ).execute()
        worker.run_until_idle()
        enrollment_tokens = [
            word.rsplit("/", 1)[1]
            for message in sendgrid.messages
            for content in message.body["content"]
            for word in content["value"].split()
            if "/enroll/" in word and content["type"] == "text/plain"
        ]
        assert enrollment_tokens

        # Users enroll (and try their links again); Okta refuses the credential once.
        hooks = app.test_client()
        for token in enrollment_tokens:
            assert hooks.get(f"/enroll/{token}").status_code == 200
            assert hooks.post("/api/v1/enrollments", json={"token": token}).status_code == 201
            assert hooks.post("/api/v1/enrollments", json={"token": token}).status_code == 409
            assert hooks.get(f"/enroll/{token}").status_code in (200, 410)
        okta.fail_next(1, 401)
        worker.run_until_idle()
        post_form(
            admin, page_url, f"{page_url}/okta", **okta_form, auth="ssws", api_token=okta_token
        )
        worker.run_until_idle()

        # Okta's event hook: the current and the previous secret work, a wrong one does not.
        url = f"/hooks/okta/{integration_id}"
        event = okta_event(
            "user.lifecycle.suspend", okta_id=users[0]["externalId"], login=users[0]["userName"]
        )
        for secret, status in ((hook_secret, 200), (old_hook_secret, 200), ("okhs_wrong", 401)):
            headers = {"Authorization": secret, "Content-Type": "application/json"}
            assert hooks.post(url, json=okta_delivery(event), headers=headers).status_code == status
        scim.patch(f"/Users/{users[1]['id']}", okta_patch_active(False))
        worker.run_until_idle()
        assert okta.groups[group].members, "the scenario never reached Okta's group"
        admin.get(page_url)
        admin.get(f"/admin/users/{users[0]['id']}")
        admin.get("/admin/work")
        admin.get("/admin/hooks")
        admin.get("/admin/audit")

    secret_values = {
        "SCIM token": scim_token,
        "revoked SCIM token": revoked_token,
        "hook secret": hook_secret,
        "previous hook secret": old_hook_secret,
        "Okta API token": okta_token,
        "wrong Okta API token": wrong_okta_token,
        "Okta private key": private_key.strip().splitlines()[1],
        "SendGrid API key": sendgrid_key,
        "admin password": ADMIN_PASSWORD,
        **{f"enrollment token {n}": token for n, token in enumerate(enrollment_tokens)},
    }
    assert captured_logs.lines, "no log line was captured"
    leaks = [
        f"{name} in the log line {line[:300]!r}"
        for line in captured_logs.lines
        for name, value in secret_values.items()
        if value in line
    ]
    for method, path, response in RecordingClient.responses:
        body = response.get_data(as_text=True)
        if response.status_code >= 400:
            shown = body
        elif response.request.path.startswith("/admin") and id(response) not in reveals:
            # Admin pages never show a credential again after the one answer that made it.
            shown = body
        else:
            shown = response.headers.get("Location", "")
        leaks += [
            f"{name} in the answer to {method} {path} ({response.status_code})"
            for name, value in secret_values.items()
            if name != "admin password" and value in shown
        ]
    assert not leaks, "\n".join(leaks)
    raw_leaks = [
        f"{name} in a record before redaction: {raw[:300]!r}"
        for raw in captured_logs.raw
        for name, value in secret_values.items()
        if value in raw
    ]
    assert not raw_leaks, "\n".join(raw_leaks)


def _in_90_seconds() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)


@pytest.mark.parametrize(
    ("make_error", "expected"),
    [
        (lambda: TooManyRequests(retry_after=2.5), range(3, 4)),  # type: ignore[arg-type]
        (lambda: TooManyRequests(retry_after=17), range(17, 18)),
        # werkzeug writes a datetime as an HTTP date, which Okta cannot use.
        (lambda: TooManyRequests(retry_after=_in_90_seconds()), range(85, 92)),
        (TooManyRequests, range(1, 3600)),
        (ServiceUnavailable, range(1, 3600)),
    ],
    ids=["a fraction", "seconds", "an HTTP date", "none given (429)", "none given (503)"],
)
def test_any_429_or_503_under_scim_has_a_whole_number_retry_after(
    app, make_error: Callable[[], HTTPException], expected: range
) -> None:
    # E.g. flask-limiter's own RateLimitExceeded, should a SCIM view ever be decorated.
    error = make_error()
    with app.test_request_context("/scim/v2/Users"):
        response = render_http_exception(error)
    assert response.mimetype == "application/scim+json"
    assert response.get_json()["status"] == str(error.code)
    assert re.fullmatch(r"[0-9]+", response.headers["Retry-After"])
    assert int(response.headers["Retry-After"]) in expected


def test_a_rate_limit_setting_that_does_not_parse_stops_start_up(configured_app) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError, match="SCIM_RATE_LIMIT must be a rate"):
        configured_app(SCIM_RATE_LIMIT="lots")
    with pytest.raises(ConfigError, match="SCIM_AUTH_FAILURE_LIMIT must be a rate"):
        configured_app(SCIM_AUTH_FAILURE_LIMIT="a few per minute")
