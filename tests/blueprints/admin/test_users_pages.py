"""The admin users pages: search, filters and paging; one user's attributes, answers and fixes."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import g
from flask.testing import FlaskClient

from extensions import db
from models import AuditEntry, GroupSync, Invitation, User, utcnow
from scim.resources import load_resource
from scim.schemas import USER_RESOURCE
from services.admin import user_directory
from services.okta.org_settings import configure_okta
from services.resources.user_columns import columns_from
from testkit.fakes.okta import FakeOkta
from testkit.fakes.sendgrid import WebhookSigner, sendgrid_event
from tests.blueprints.admin.conftest import ADMIN_EMAIL, csrf_token, post_form
from tests.factories import (
    make_integration,
    make_token,
    moment,
    okta_create_user_payload,
    okta_delivery,
    okta_event,
    okta_patch_active,
)

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:okta:acme_app:1.0:user:custom"
OKTA_USER = "00ujl29u0le5T6Aj10h7"

Create = Callable[..., dict]


@pytest.fixture
def admin_client(admin_client: FlaskClient) -> FlaskClient:
    """The signed-in client, without the CSRF token that signing in dropped from the session.

    The test app context outlives each request, so flask-wtf's cache of the token in ``g``
    would keep serving the pre-sign-in token that the new session no longer holds.
    """
    g.pop("csrf_token", None)
    return admin_client


@pytest.fixture
def create(client: FlaskClient, scim_headers: dict[str, str]) -> Create:
    """Provision a user over SCIM the way Okta does; returns the SCIM response body."""

    def create(user_name: str = "test.user@okta.local", **overrides: Any) -> dict:
        response = client.post(
            "/scim/v2/Users",
            json=okta_create_user_payload(user_name, **overrides),
            headers=scim_headers,
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return create


@pytest.fixture
def deliver(client: FlaskClient, integration: Any, hook_headers: dict[str, str]) -> Callable:
    """Deliver Okta events through the event hook."""

    def deliver(*events: dict) -> None:
        response = client.post(
            f"/hooks/okta/{integration.id}", json=okta_delivery(*events), headers=hook_headers
        )
        assert response.status_code == 200

    return deliver


@pytest.fixture
def group_id(okta: FakeOkta, integration: Any) -> str:
    """The passwordless group in the fake Okta, configured on the integration."""
    gid = okta.add_group("Passwordless users")
    okta.add_user("test.user@okta.local", user_id=OKTA_USER)
    configure_okta(
        integration, org_url=okta.url, group=f"{okta.url}/admin/group/{gid}", api_token="ssws-token"
    )
    return gid


def _token_from(email: Any) -> str:
    link = next(word for word in email.text.split() if "/enroll/" in word)
    return str(link.rsplit("/", 1)[1])


def _enroll(client: FlaskClient, token: str) -> Any:
    return client.post("/api/v1/enrollments", json={"token": token})


def _listed(page: str) -> list[str]:
    """The user names in a users table, in order."""
    names = re.findall(r'<th scope="row"[^>]*><a href="/admin/users/[^"]+">([^<]*)</a></th>', page)
    return [html.unescape(name) for name in names]


def _older_link(page: str) -> str | None:
    match = re.search(r'rel="next" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


def _text(page: str) -> str:
    """A page's visible text, tags dropped and whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _seed(integration: Any, count: int, prefix: str = "seed") -> None:
    """Insert ``count`` users as a SCIM create stores them (fast, like bench/harness.py)."""
    now = utcnow()
    rows = []
    for i in range(count):
        name = f"{prefix}.{i:04d}@example.com"
        document = load_resource(
            {
                "schemas": [CORE],
                "userName": name,
                "name": {"givenName": "Seed", "familyName": f"User{i}"},
                "emails": [{"primary": True, "value": name, "type": "work"}],
                "displayName": f"Seed User {i}",
                "externalId": f"00u{prefix}{i:013d}",
                "active": True,
            },
            USER_RESOURCE,
        )
        document.pop("active")
        rows.append(
            {
                "integration": integration.id,
                "document": document,
                "active": True,
                "state": "invited",
                "created": now,
                "last_modified": now,
                "status_changed_at": now,
                **columns_from(document),
            }
        )
    with db.atomic():
        User.insert_many(rows).execute()


# --- the list -------------------------------------------------------------------------------


@pytest.fixture
def people(create: Create) -> None:
    """Two users whose names, emails and Okta ids differ in every searchable way."""
    create(
        "alice.smith@example.com",
        name={"givenName": "Alice", "familyName": "Smith"},
        displayName="Alice Smith",
        externalId="00uALICE000000000001",
    )
    create(
        "bob.jones@example.com",
        name={"givenName": "Robert", "familyName": "Jones"},
        emails=[{"value": "rob@mail.example.org", "type": "work", "primary": True}],
        displayName="Bob Jones",
        externalId="00uBOB00000000000002",
    )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ALICE.SMITH@EXAMPLE", ["alice.smith@example.com"]),
        ("bob.jones", ["bob.jones@example.com"]),
        ("mail.example.ORG", ["bob.jones@example.com"]),
        ("obert", ["bob.jones@example.com"]),
        ("smith", ["alice.smith@example.com"]),
        ("jOnEs", ["bob.jones@example.com"]),
        ("00ualice", ["alice.smith@example.com"]),
        ("example", ["bob.jones@example.com", "alice.smith@example.com"]),
        ("nobody", []),
        ("50%_", []),
    ],
    ids=[
        "user name",
        "user name part",
        "email",
        "given name part",
        "family name",
        "mixed case",
        "okta id",
        "several",
        "none",
        "like wildcards are literal",
    ],
)
def test_search_matches_any_part_of_name_email_or_okta_id_ignoring_case(
    admin_client: FlaskClient, people: None, text: str, found: list[str]
) -> None:
    response = admin_client.get("/admin/users", query_string={"q": text})
    assert response.status_code == 200
    assert _listed(response.text) == found
    assert f'value="{html.escape(text)}"' in response.text


def test_the_list_shows_the_columns_an_admin_scans(
    admin_client: FlaskClient, people: None, integration: Any
) -> None:
    page = admin_client.get("/admin/users?q=bob").text
    row = _text(page[page.index("<tbody>") : page.index("</tbody>")])
    assert "bob.jones@example.com Bob Jones rob@mail.example.org invited Acme Okta" in row
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", row)
    assert "1 user matches." in _text(page)


def test_the_state_filter_shows_only_users_in_that_state(
    admin_client: FlaskClient, create: Create, client: FlaskClient, scim_headers: dict[str, str]
) -> None:
    create("stays@example.com")
    leaving = create("leaves@example.com")
    client.patch(
        f"/scim/v2/Users/{leaving['id']}", json=okta_patch_active(False), headers=scim_headers
    )
    deactivated = admin_client.get("/admin/users?state=deactivated").text
    assert _listed(deactivated) == ["leaves@example.com"]
    assert '<option value="deactivated" selected>' in deactivated
    assert _listed(admin_client.get("/admin/users?state=invited").text) == ["stays@example.com"]
    assert _listed(admin_client.get("/admin/users?state=enrolled").text) == []
    # An unknown state is no filter at all.
    assert len(_listed(admin_client.get("/admin/users?state=bogus").text)) == 2


def test_the_integration_filter_shows_only_that_orgs_users(
    admin_client: FlaskClient, client: FlaskClient, create: Create, integration: Any
) -> None:
    create("acme.user@example.com")
    other = make_integration(name="Globex Okta")
    client.post(
        "/scim/v2/Users",
        json=okta_create_user_payload("globex.user@example.com"),
        headers={"Authorization": f"Bearer {make_token(other)}"},
    )
    page = admin_client.get("/admin/users", query_string={"integration": other.id}).text
    assert _listed(page) == ["globex.user@example.com"]
    assert f'<option value="{other.id}" selected>Globex Okta</option>' in page
    assert f'<option value="{integration.id}" >Acme Okta</option>' in page
    both = admin_client.get("/admin/users").text
    assert _listed(both) == ["globex.user@example.com", "acme.user@example.com"]


def test_paging_walks_every_match_once_and_keeps_the_filters(
    admin_client: FlaskClient, integration: Any, create: Create
) -> None:
    _seed(integration, 120)
    create("outsider@example.com")
    seen: list[str] = []
    url: str | None = "/admin/users?q=SEED.&state=invited"
    pages = 0
    while url:
        page = admin_client.get(url).text
        pages += 1
        seen += _listed(page)
        assert "120 users match" in _text(page)
        url = _older_link(page)
        if url:
            assert "q=SEED." in url
            assert "state=invited" in url
        if pages > 1:
            assert 'href="/admin/users?q=SEED.&amp;state=invited">First</a>' in page
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    assert seen == [f"seed.{i:04d}@example.com" for i in reversed(range(120))]


def test_the_total_says_when_it_stopped_counting(
    admin_client: FlaskClient, integration: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(integration, 60)
    monkeypatch.setattr(user_directory, "COUNT_CAP", 50)
    assert "50+ users" in _text(admin_client.get("/admin/users").text)


@pytest.mark.parametrize("cursor", ["x'1", "\u00b2", "-1", "99999999999999999999"])
def test_a_bad_paging_cursor_shows_the_first_page(
    admin_client: FlaskClient, people: None, cursor: str
) -> None:
    response = admin_client.get("/admin/users", query_string={"before": cursor})
    assert response.status_code == 200
    assert len(_listed(response.text)) == 2


def test_the_users_pages_need_a_signed_in_admin(client: FlaskClient, admin_user: Any) -> None:
    response = client.get("/admin/users?q=a")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


# --- one user -------------------------------------------------------------------------------


def _user(scim_id: str) -> User:
    return User.get(User.scim_id == scim_id)


def _page(admin_client: FlaskClient, scim_id: str) -> str:
    response = admin_client.get(f"/admin/users/{scim_id}")
    assert response.status_code == 200
    return response.text


def _findings(page: str) -> str:
    start = page.index('id="troubleshooting"')
    return _text(page[start : page.index("</section>", start)])


def _timeline(page: str) -> list[tuple[str, str, str]]:
    """(time, kind, what) rows of the timeline table."""
    start = page.index('class="timeline-table')
    body = page[start : page.index("</table>", start)]
    return [
        (at, kind, html.unescape(what))
        for at, kind, what in re.findall(
            r'<time datetime="([^"]+)">.*?class="kind kind-([a-z_]+)">.*?'
            r'<th scope="row"[^>]*>([^<]*)</th>',
            body,
            re.S,
        )
    ]


def test_the_user_page_shows_every_synced_attribute_and_the_raw_document(
    admin_client: FlaskClient, create: Create
) -> None:
    user = create(
        "ada@example.com",
        schemas=[CORE, ENTERPRISE, CUSTOM],
        name={"givenName": "Ada", "familyName": "Lovelace"},
        title="Analyst",
        **{
            ENTERPRISE: {"department": "R&D", "employeeNumber": "1815"},
            CUSTOM: {"costCenter": "CC-7"},
        },
    )
    page = _page(admin_client, user["id"])
    text = _text(page)
    for label, value in [
        ("userName", "ada@example.com"),
        ("externalId", OKTA_USER),
        ("name.givenName", "Ada"),
        ("name.familyName", "Lovelace"),
        ("emails[0].value (work, primary)", "ada@example.com"),
        ("title", "Analyst"),
        ("enterprise:department", "R&D"),
        ("enterprise:employeeNumber", "1815"),
        ("okta acme_app custom:costCenter", "CC-7"),
    ]:
        assert f"{label} {value}" in text
    raw = re.search(r"<pre><code>(.*?)</code></pre>", page, re.S)
    assert raw is not None
    assert '"department": "R&D"' in html.unescape(raw.group(1))
    assert "&#34;department&#34;: &#34;R&amp;D&#34;" in raw.group(1)
    for fact in [
        f"SCIM id {user['id']}",
        f"Okta user id (externalId) {OKTA_USER}",
        "State invited",
        "Active yes",
        "Suspended no",
        "Enrolled at never",
        "Integration Acme Okta",
    ]:
        assert fact in text


def test_a_script_in_a_display_name_is_shown_as_text(
    admin_client: FlaskClient, create: Create
) -> None:
    user = create(displayName="<script>alert(1)</script>")
    for page in (_page(admin_client, user["id"]), admin_client.get("/admin/users").text):
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_unknown_user_is_not_found(admin_client: FlaskClient) -> None:
    response = admin_client.get("/admin/users/no-such-user")
    assert response.status_code == 404
    assert "There is no user with this id." in response.text
    assert "<h1>404" in response.text


def test_the_timeline_shows_scim_okta_email_and_group_changes_newest_first(
    admin_client: FlaskClient,
    create: Create,
    deliver: Callable,
    worker: Any,
    mailer: Any,
    client: FlaskClient,
    app: Any,
    okta: FakeOkta,
    group_id: str,
) -> None:
    user = create()
    worker.run_until_idle()
    signer = WebhookSigner()
    app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"] = signer.public_key_b64
    invitation = Invitation.get()
    body, headers = signer.delivery(
        [
            sendgrid_event(
                None,
                "delivered",
                email="test.user@okta.local",
                sg_message_id=f"{invitation.message_id}.filter-1",
                invitation_id=str(invitation.id),
            )
        ]
    )
    assert client.post("/hooks/sendgrid", data=body, headers=headers).status_code == 200
    assert _enroll(client, _token_from(mailer.sent[0])).status_code == 201
    worker.run_until_idle()
    deliver(okta_event("user.lifecycle.suspend", published=moment(1)))
    worker.run_until_idle()

    rows = _timeline(_page(admin_client, user["id"]))
    kinds = {kind for _, kind, _ in rows}
    assert {"scim", "okta_event", "email", "group", "lifecycle"} <= kinds
    titles = [what for _, _, what in rows]
    for title in [
        "user.create",
        "email.sent",
        "invitation #1 (created)",
        "SendGrid: delivered (invitation #1)",
        "user.enroll",
        "group.member_added",
        "user.lifecycle.suspend",
        "user.suspend",
    ]:
        assert title in titles
    times = [dt.datetime.fromisoformat(at.removesuffix("Z")) for at, _, _ in rows]
    assert times == sorted(times, reverse=True)
    page = _page(admin_client, user["id"])
    event_row = page[page.index("user.lifecycle.suspend") :]
    assert "applied" in event_row[: event_row.index("</tr>")]


# --- troubleshooting ------------------------------------------------------------------------


def test_an_invited_user_with_the_email_sent_gets_good_answers(
    admin_client: FlaskClient, create: Create, worker: Any
) -> None:
    user = create()
    worker.run_until_idle()
    answers = _findings(_page(admin_client, user["id"]))
    assert "OK Yes: invited, waiting for the user to enroll." in answers
    assert "OK The welcome email was handed to the mail provider. (to test.user@okta.local)" in (
        answers
    )
    assert "Can the enrollment link still be used? OK Yes, until" in answers


def test_a_bounced_email_is_explained_and_can_be_resent(
    admin_client: FlaskClient, create: Create, worker: Any
) -> None:
    user = create()
    worker.run_until_idle()
    Invitation.update(
        email_status="bounced", last_error="550 5.1.1 mailbox does not exist"
    ).execute()
    page = _page(admin_client, user["id"])
    assert (
        "Was the welcome email sent? Problem The welcome email bounced: check the address, "
        "then resend. Reason: 550 5.1.1 mailbox does not exist"
    ) in _findings(page)
    assert "Resend welcome email" in page


def test_an_expired_link_is_explained(
    admin_client: FlaskClient, create: Create, worker: Any
) -> None:
    user = create()
    worker.run_until_idle()
    Invitation.update(expires_at=utcnow() - dt.timedelta(minutes=1)).execute()
    answers = _findings(_page(admin_client, user["id"]))
    assert "Can the enrollment link still be used? Problem No: it expired." in answers


def test_a_suspended_user_is_explained(
    admin_client: FlaskClient, create: Create, deliver: Callable, worker: Any
) -> None:
    user = create()
    worker.run_until_idle()
    deliver(okta_event("user.lifecycle.suspend", published=moment(1)))
    worker.run_until_idle()
    page = _page(admin_client, user["id"])
    answers = _findings(page)
    assert "Problem The user is suspended in Okta: sign-in and enrollment are blocked." in answers
    # The advice names what to do in Okta, not a resend that the page does not offer.
    assert (
        "Can the enrollment link still be used? Problem No: the user is suspended in Okta. "
        "In Okta, Directory → People → the user → More Actions → Unsuspend"
    ) in answers
    assert "Resend the email" not in answers
    assert "Suspended yes" in _text(page)
    assert "Resend welcome email" not in page


def test_a_deactivated_user_is_explained(
    admin_client: FlaskClient,
    create: Create,
    client: FlaskClient,
    scim_headers: dict[str, str],
    worker: Any,
) -> None:
    user = create()
    worker.run_until_idle()
    client.patch(
        f"/scim/v2/Users/{user['id']}", json=okta_patch_active(False), headers=scim_headers
    )
    page = _page(admin_client, user["id"])
    answers = _findings(page)
    assert "Problem No: the user is deactivated" in answers
    assert "In Okta, assign the user to the app again (Applications → the app → Assignments)" in (
        answers
    )
    assert "Resend" not in answers
    assert "Resend welcome email" not in page
    assert "Active no" in _text(page)


def test_a_failed_group_sync_shows_the_reason_and_can_be_retried(
    admin_client: FlaskClient,
    create: Create,
    worker: Any,
    mailer: Any,
    client: FlaskClient,
    okta: FakeOkta,
    group_id: str,
) -> None:
    user = create()
    worker.run_until_idle()
    _enroll(client, _token_from(mailer.sent[0]))
    okta.fail_next(1, 400)
    worker.run_until_idle()
    assert GroupSync.get().status == "failed"
    url = f"/admin/users/{user['id']}"
    page = _page(admin_client, user["id"])
    assert "Is the Okta group membership right? Problem The group change (in) is failed:" in (
        _findings(page)
    )
    assert GroupSync.get().last_error in html.unescape(page)
    assert "Retry group sync" in page

    response = post_form(admin_client, url, f"{url}/group-sync/retry")
    assert response.status_code == 302
    assert response.headers["Location"] == url
    assert GroupSync.get().status == "pending"
    page = admin_client.get(url).text
    assert "The group membership change will be retried now." in page
    worker.run_until_idle()
    assert OKTA_USER in okta.groups[group_id].members
    page = _page(admin_client, user["id"])
    assert "OK Yes: Okta confirmed the user is in the group." in _findings(page)
    assert "Retry group sync" not in page


def test_retrying_a_group_sync_with_nothing_to_do_says_so(
    admin_client: FlaskClient, create: Create
) -> None:
    user = create()
    url = f"/admin/users/{user['id']}"
    response = post_form(admin_client, url, f"{url}/group-sync/retry")
    assert response.status_code == 302
    assert "There is no unfinished group membership change to retry." in (
        admin_client.get(url).text
    )


# --- actions --------------------------------------------------------------------------------


def test_resending_sends_a_new_email_and_kills_the_old_link(
    admin_client: FlaskClient, create: Create, worker: Any, mailer: Any, client: FlaskClient
) -> None:
    user = create()
    worker.run_until_idle()
    url = f"/admin/users/{user['id']}"
    response = post_form(admin_client, url, f"{url}/resend")
    assert response.status_code == 302
    assert response.headers["Location"] == url
    assert "A new welcome email is on its way" in admin_client.get(url).text
    worker.run_until_idle()
    assert len(mailer.sent) == 2
    assert _enroll(client, _token_from(mailer.sent[0])).status_code == 410
    assert _enroll(client, _token_from(mailer.sent[1])).status_code == 201
    resent = AuditEntry.get(AuditEntry.action == "user.invitation_resent")
    assert (resent.actor_type, resent.actor_id, resent.target_id) == (
        "admin",
        ADMIN_EMAIL,
        user["id"],
    )


def test_resending_to_a_deactivated_user_is_refused_with_a_reason(
    admin_client: FlaskClient,
    create: Create,
    client: FlaskClient,
    scim_headers: dict[str, str],
    worker: Any,
    mailer: Any,
) -> None:
    user = create()
    worker.run_until_idle()
    client.patch(
        f"/scim/v2/Users/{user['id']}", json=okta_patch_active(False), headers=scim_headers
    )
    url = f"/admin/users/{user['id']}"
    assert "Resend welcome email" not in admin_client.get(url).text
    response = post_form(admin_client, url, f"{url}/resend")
    assert response.status_code == 302
    page = admin_client.get(url).text
    assert '<p class="flash flash-error">No email was sent: a deactivated user is not waiting' in (
        page
    )
    worker.run_until_idle()
    assert len(mailer.sent) == 1
    assert Invitation.select().count() == 1


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    admin_client: FlaskClient, create: Create, worker: Any, mailer: Any
) -> None:
    user = create()
    worker.run_until_idle()
    url = f"/admin/users/{user['id']}"
    for action in ("resend", "group-sync/retry"):
        response = admin_client.post(f"{url}/{action}")
        assert response.status_code == 400
        assert "CSRF" in response.text
    worker.run_until_idle()
    assert len(mailer.sent) == 1
    assert Invitation.get().revoked_at is None


def test_actions_on_an_unknown_user_are_not_found(admin_client: FlaskClient) -> None:
    token = csrf_token(admin_client.get("/admin/users").text)
    for action in ("resend", "group-sync/retry"):
        response = admin_client.post(f"/admin/users/nobody/{action}", data={"csrf_token": token})
        assert response.status_code == 404


def test_a_deleted_users_page_is_a_tombstone_without_personal_data(
    admin_client: FlaskClient,
    create: Create,
    client: FlaskClient,
    scim_headers: dict[str, str],
    worker: Any,
) -> None:
    user = create(
        "ada@example.com",
        schemas=[CORE, ENTERPRISE],
        name={"givenName": "Ada", "familyName": "Lovelace"},
        displayName="Ada Lovelace",
        **{ENTERPRISE: {"department": "Analytical Engines"}},
    )
    worker.run_until_idle()
    assert client.delete(f"/scim/v2/Users/{user['id']}", headers=scim_headers).status_code == 204
    page = _page(admin_client, user["id"])
    text = _text(page)
    for personal in ("ada@example.com", "Ada", "Lovelace", OKTA_USER, "Analytical Engines"):
        assert personal not in page
    assert "Deleted user deleted" in text
    assert "Deleted at 20" in text
    assert "Deleted by scim_token:" in text
    assert "personal data was erased" in text
    assert "<pre>" not in page
    assert "Resend welcome email" not in page
    assert "user.delete" in [what for _, _, what in _timeline(page)]
    listed = admin_client.get("/admin/users?state=deleted").text
    assert _listed(listed) == ["(deleted user)"]
