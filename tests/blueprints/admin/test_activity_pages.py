"""The admin event-hook, audit-log and work-queue pages, and the work queue's retry buttons."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import g
from flask.testing import FlaskClient

from models import GroupSync, HookDelivery, Invitation, OktaEvent, User
from services.email.mailer import MailPermanentError
from services.okta.hook_secrets import rotate_hook_secret
from services.platform import audit
from services.platform.audit import Actor
from tests.blueprints.admin.conftest import post_form
from tests.factories import (
    make_integration,
    moment,
    okta_create_group_payload,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
)

OKTA_USER = "00ujl29u0le5T6Aj10h7"


@pytest.fixture
def admin_client(admin_client: FlaskClient) -> FlaskClient:
    """The signed-in client, without the CSRF token that signing in dropped from the session.

    The test app context outlives each request, so flask-wtf's cache of the token in ``g``
    would keep serving the pre-sign-in token that the new session no longer holds.
    """
    g.pop("csrf_token", None)
    return admin_client


@pytest.fixture
def provisioned(client: FlaskClient, scim_headers: dict[str, str]) -> dict:
    """A user Okta provisioned over SCIM (Okta id 00ujl29u0le5T6Aj10h7)."""
    response = client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=scim_headers)
    assert response.status_code == 201
    return response.get_json()


@pytest.fixture
def post_hook(client: FlaskClient, integration: Any, hook_headers: dict[str, str]) -> Callable:
    """POST a delivery of ``events`` to the integration's event hook."""

    def post_hook(*events: dict, headers: dict[str, str] | None = None) -> int:
        response = client.post(
            f"/hooks/okta/{integration.id}",
            json=okta_delivery(*events),
            headers=headers or hook_headers,
        )
        return response.status_code

    return post_hook


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _older_link(page: str) -> str | None:
    match = re.search(r'rel="next" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


def _deliveries(page: str) -> list[int]:
    """The ids of the deliveries shown, in order."""
    found = re.findall(r'<section class="panel delivery" [^>]*"delivery-(\d+)"', page)
    return [int(i) for i in found]


def _walk(client: FlaskClient, url: str, rows: Callable[[str], list]) -> tuple[list, int]:
    """Follow the "Older" links from ``url``; every row seen, and how many pages."""
    seen: list = []
    pages = 0
    next_url: str | None = url
    while next_url:
        page = client.get(next_url)
        assert page.status_code == 200
        pages += 1
        seen += rows(page.text)
        next_url = _older_link(page.text)
    return seen, pages


# --- event-hook deliveries ------------------------------------------------------------------


def test_deliveries_show_status_counts_and_events_linked_to_their_user(
    admin_client: FlaskClient, provisioned: dict, post_hook: Callable, worker: Any
) -> None:
    suspend = okta_event("user.lifecycle.suspend", published=moment(1))
    stranger = okta_event("user.lifecycle.suspend", okta_id="00uSTRANGER", login="who@x.test")
    assert post_hook(suspend, stranger) == 200
    assert post_hook(suspend) == 200
    assert post_hook(suspend, headers={"Authorization": "wrong"}) == 401
    worker.run_until_idle()

    page = admin_client.get("/admin/hooks").text
    text = _text(page)
    first, duplicate, refused = sorted(d.id for d in HookDelivery.select())
    assert _deliveries(page) == [refused, duplicate, first]
    assert "Status 401 refused" in text
    assert "Error Authorization did not match the event-hook secret" in text
    assert "Events 1 (0 new, 1 duplicate)" in text
    assert "Events 2 (2 new, 0 duplicates)" in text
    assert "Integration Acme Okta" in text
    assert (
        f'<a href="/admin/users/{provisioned["id"]}">test.user@okta.local</a>' in page
    )  # matched: linked to the user's page
    assert "who@x.test" in text
    assert '<a href="/admin/users/' not in page.split("who@x.test")[0].rsplit("<tr>", 1)[1]
    assert "user.lifecycle.suspend" in text
    assert " applied " in text
    assert "pending_user" in text


def test_deliveries_filter_by_status_and_integration(
    admin_client: FlaskClient, client: FlaskClient, post_hook: Callable
) -> None:
    assert post_hook(okta_event("user.lifecycle.suspend")) == 200
    assert post_hook(headers={"Authorization": "wrong"}) == 401
    other = make_integration(name="Globex Okta")
    response = client.post(
        f"/hooks/okta/{other.id}",
        json=okta_delivery(okta_event("user.lifecycle.suspend")),
        headers={"Authorization": rotate_hook_secret(other)},
    )
    assert response.status_code == 200
    ok, refused, globex = sorted(d.id for d in HookDelivery.select())

    assert _deliveries(admin_client.get("/admin/hooks?status=401").text) == [refused]
    assert _deliveries(admin_client.get("/admin/hooks?status=200").text) == [globex, ok]
    page = admin_client.get(f"/admin/hooks?integration={other.id}").text
    assert _deliveries(page) == [globex]
    assert f'<option value="{other.id}" selected>Globex Okta</option>' in page
    assert "No delivery matches." in admin_client.get("/admin/hooks?status=400").text
    # A status that is not offered is no filter.
    assert len(_deliveries(admin_client.get("/admin/hooks?status=999").text)) == 3


def test_deliveries_page_from_newest_to_oldest_without_gaps(
    admin_client: FlaskClient, post_hook: Callable
) -> None:
    for _ in range(55):
        assert post_hook(headers={"Authorization": "wrong"}) == 401
    assert post_hook() == 200
    seen, pages = _walk(admin_client, "/admin/hooks?status=401", _deliveries)
    assert pages == 2
    refused = [d.id for d in HookDelivery.select().where(HookDelivery.status == 401)]
    assert seen == sorted(refused, reverse=True)
    page = admin_client.get(_older_link(admin_client.get("/admin/hooks?status=401").text) or "")
    assert 'href="/admin/hooks?status=401">Newest</a>' in page.text


# --- audit log ------------------------------------------------------------------------------


def _audit_rows(page: str) -> list[str]:
    """The action of each audit row shown, in order."""
    return re.findall(r'<th scope="row"[^>]*><code>([^<]+)</code></th>', page)


def test_the_audit_log_filters_by_action_actor_target_and_integration(
    admin_client: FlaskClient, provisioned: dict, worker: Any
) -> None:
    worker.run_until_idle()
    other = make_integration(name="Globex Okta")
    audit.record(other.id, Actor("okta_event", "u1"), "group.member_added", target_id="x")

    everything = _audit_rows(admin_client.get("/admin/audit").text)
    # Setting up integrations and tokens is audited too; the rest, newest first, is:
    # email.sent rows are hidden until asked for.
    assert [a for a in everything if not a.startswith(("integration.", "token."))] == [
        "group.member_added",
        "user.create",
        "admin.create",
    ]
    with_sent = _audit_rows(admin_client.get("/admin/audit?sent=shown").text)
    assert [a for a in with_sent if not a.startswith(("integration.", "token."))] == [
        "group.member_added",
        "email.sent",
        "user.create",
        "admin.create",
    ]
    assert {"integration.create", "token.create"} <= set(everything)
    assert _audit_rows(admin_client.get("/admin/audit?action=email.").text) == ["email.sent"]
    assert _audit_rows(admin_client.get("/admin/audit?action=user.").text) == ["user.create"]
    admins = admin_client.get("/admin/audit?action=admin.").text
    assert _audit_rows(admins) == ["admin.create"]
    assert "Admin admin@example.com" in _text(admins)
    by_actor = admin_client.get("/admin/audit?actor=scim_token").text
    assert _audit_rows(by_actor) == ["user.create"]
    assert '<option value="scim_token" selected>scim token</option>' in by_actor
    by_target = admin_client.get("/admin/audit", query_string={"target": provisioned["id"]})
    assert _audit_rows(by_target.text) == ["user.create"]
    shown = admin_client.get(
        "/admin/audit", query_string={"target": provisioned["id"], "sent": "shown"}
    )
    assert _audit_rows(shown.text) == ["email.sent", "user.create"]
    user_link = f'<a href="/admin/users/{provisioned["id"]}" title="{provisioned["id"]}">'
    assert f"{user_link}test.user@okta.local</a>" in by_target.text
    assert f'value="{provisioned["id"]}"' in by_target.text
    by_org = admin_client.get(f"/admin/audit?integration={other.id}").text
    assert _audit_rows(by_org) == ["group.member_added", "integration.create"]
    assert "No audit entry matches." in admin_client.get("/admin/audit?action=nope.").text


def test_the_audit_log_names_targets_and_filters_by_actor_id(
    admin_client: FlaskClient, provisioned: dict, client: FlaskClient, scim_headers: dict
) -> None:
    group = client.post(
        "/scim/v2/Groups",
        json=okta_create_group_payload("Passwordless staff"),
        headers=scim_headers,
    )
    assert group.status_code == 201
    audit.record(None, Actor("admin", "other@example.com"), "admin.note", target_id="x")
    page = admin_client.get("/admin/audit?action=group.").text
    assert "Group Passwordless staff" in _text(page)
    assert group.get_json()["id"] not in _text(page)  # the name, not the UUID
    mine = admin_client.get("/admin/audit?actor_id=other@example.com").text
    assert _audit_rows(mine) == ["admin.note"]
    assert 'value="other@example.com"' in mine


def test_one_click_shows_the_hidden_email_sent_rows_and_keeps_the_filters(
    admin_client: FlaskClient, provisioned: dict, worker: Any
) -> None:
    worker.run_until_idle()
    page = admin_client.get("/admin/audit?actor=system").text
    assert "email.sent" not in _audit_rows(page)
    link = re.search(r'<a href="([^"]+)">Show email.sent rows</a>', page)
    assert link is not None
    shown = admin_client.get(html.unescape(link.group(1))).text
    assert "email.sent" in _audit_rows(shown)
    assert '<option value="system" selected>system</option>' in shown
    hide = re.search(r'<a href="([^"]+)">Hide email.sent rows</a>', shown)
    assert hide is not None and "sent=" not in hide.group(1)


def test_the_audit_log_shows_who_changed_what(admin_client: FlaskClient, provisioned: dict) -> None:
    text = _text(admin_client.get("/admin/audit?action=user.create").text)
    assert "scim token test" in text  # the token's label, not its number
    assert "changed: displayName, emails, externalId, locale, name, userName" in text
    assert "state: invited" in text
    assert "Acme Okta" in text


def test_the_audit_log_pages_without_gaps_and_keeps_its_filters(
    admin_client: FlaskClient, integration: Any
) -> None:
    for i in range(60):
        audit.record(integration.id, Actor("system"), f"email.test_{i:02d}", target_id=str(i))
    audit.record(integration.id, Actor("admin", "a@b.c"), "user.other")
    seen, pages = _walk(admin_client, "/admin/audit?action=email.&actor=system", _audit_rows)
    assert pages == 2
    assert seen == [f"email.test_{i:02d}" for i in reversed(range(60))]


# --- work queue -----------------------------------------------------------------------------


def test_a_failed_email_is_listed_and_retried(
    admin_client: FlaskClient, provisioned: dict, worker: Any, mailer: Any
) -> None:
    mailer.fail_with.append(MailPermanentError("400: invalid from address"))
    worker.run_until_idle()
    invitation = Invitation.get()
    assert invitation.email_status == "failed"
    page = admin_client.get("/admin/work").text
    text = _text(page)
    assert "test.user@okta.local failed created 1 none 400: invalid from address" in text
    assert "Retry email #" in text

    response = post_form(admin_client, "/admin/work", f"/admin/work/emails/{invitation.id}/retry")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/work"
    assert "The welcome email is queued again." in admin_client.get("/admin/work").text
    assert Invitation.get().email_status == "queued"
    worker.run_until_idle()
    assert Invitation.get().email_status == "sent"
    assert len(mailer.sent) == 1
    assert "No email is waiting or failed." in admin_client.get("/admin/work").text


def test_retrying_an_email_that_did_not_fail_says_why_not(
    admin_client: FlaskClient, provisioned: dict, worker: Any
) -> None:
    worker.run_until_idle()
    invitation = Invitation.get()
    post_form(admin_client, "/admin/work", f"/admin/work/emails/{invitation.id}/retry")
    page = admin_client.get("/admin/work").text
    assert '<p class="flash flash-error">Nothing was retried: the email is sent, not failed.' in (
        page
    )
    post_form(admin_client, "/admin/work", "/admin/work/emails/999999/retry")
    assert "Nothing was retried: no invitation 999999." in admin_client.get("/admin/work").text


def test_an_unfinished_group_change_is_listed_and_retried(
    admin_client: FlaskClient,
    provisioned: dict,
    worker: Any,
    mailer: Any,
    client: FlaskClient,
) -> None:
    worker.run_until_idle()
    link = next(w for w in mailer.sent[0].text.split() if "/enroll/" in w)
    assert client.post("/api/v1/enrollments", json={"token": link.rsplit("/", 1)[1]}).status_code
    worker.run_until_idle()
    sync = GroupSync.get()
    assert sync.status == "waiting"  # Okta is not configured for this integration
    text = _text(admin_client.get("/admin/work").text)
    assert f"test.user@okta.local in the group waiting {sync.attempts} when retried" in text
    assert sync.last_error in text

    response = post_form(admin_client, "/admin/work", f"/admin/work/group-syncs/{sync.id}/retry")
    assert response.status_code == 302
    assert "The group membership change will be retried now." in (
        admin_client.get("/admin/work").text
    )
    retried = GroupSync.get()
    assert (retried.status, retried.last_error) == ("pending", None)


def test_a_stuck_okta_event_is_listed_and_released(
    admin_client: FlaskClient, provisioned: dict, post_hook: Callable, worker: Any
) -> None:
    assert post_hook(okta_event("user.lifecycle.suspend", published=moment(1))) == 200
    # A worker claimed it and died: its lease holds it for a while.
    OktaEvent.update(
        lease_owner="dead-worker", lease_until=dt.datetime(2100, 1, 1), attempts=1
    ).execute()
    worker.run_until_idle()
    event = OktaEvent.get()
    assert event.processed_at is None
    text = _text(admin_client.get("/admin/work").text)
    assert "user.lifecycle.suspend test.user@okta.local Acme Okta" in text

    response = post_form(admin_client, "/admin/work", f"/admin/work/events/{event.id}/retry")
    assert response.status_code == 302
    assert "The Okta event will be applied now." in admin_client.get("/admin/work").text
    worker.run_until_idle()
    assert OktaEvent.get().outcome == "applied"
    assert User.get().state == "suspended"
    assert "Every Okta event has been applied." in admin_client.get("/admin/work").text


def test_retry_buttons_need_the_csrf_token_and_change_nothing_without_it(
    admin_client: FlaskClient, provisioned: dict, post_hook: Callable, worker: Any, mailer: Any
) -> None:
    mailer.fail_with.append(MailPermanentError("400: invalid from address"))
    worker.run_until_idle()
    assert post_hook(okta_event("user.lifecycle.suspend", published=moment(1))) == 200
    OktaEvent.update(lease_owner="dead-worker", lease_until=dt.datetime(2100, 1, 1)).execute()
    invitation, event = Invitation.get(), OktaEvent.get()
    for url in (
        f"/admin/work/emails/{invitation.id}/retry",
        f"/admin/work/events/{event.id}/retry",
        "/admin/work/group-syncs/1/retry",
    ):
        response = admin_client.post(url)
        assert response.status_code == 400
        assert "CSRF" in response.text
    assert Invitation.get().email_status == "failed"
    assert OktaEvent.get().lease_owner == "dead-worker"


def test_the_work_page_escapes_what_okta_sent(
    admin_client: FlaskClient, provisioned: dict, post_hook: Callable
) -> None:
    evil = okta_event("user.<b>bold</b>", okta_id="00uX", login="<script>alert(1)</script>")
    assert post_hook(evil) == 200
    for url in ("/admin/work", "/admin/hooks"):
        page = admin_client.get(url).text
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<b>bold</b>" not in page
