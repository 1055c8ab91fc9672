"""Account actions in the console: your password, the admins, deleting an integration."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from models import AuditEntry, Integration, User
from services.admin import admins
from services.integrations import deletion
from services.okta.org_settings import configure_okta
from testkit.fakes.okta import FakeOkta
from tests.blueprints.admin.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, post_form, sign_in
from tests.factories import make_token, okta_create_user_payload

NEW_PASSWORD = "a much better passphrase"


@pytest.fixture(autouse=True)
def no_token_cache(app: Any) -> None:
    """No process caches tokens, so a deletion need not wait for caches to forget them."""
    app.config["SCIM_TOKEN_CACHE_SECONDS"] = 0


OKTA_USER = "00ujl29u0le5T6Aj10h7"


def test_changing_your_password_needs_the_current_one(admin_client) -> None:
    response = post_form(
        admin_client,
        "/admin/account",
        "/admin/account",
        current="not my password at all",
        password=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    assert response.status_code == 400
    assert "The current password is wrong." in response.text
    assert admins.authenticate(ADMIN_EMAIL, ADMIN_PASSWORD) is not None


def test_changing_your_password_signs_out_your_other_browsers_only(app, admin_client) -> None:
    laptop = app.test_client()
    assert sign_in(laptop).status_code == 302
    response = post_form(
        admin_client,
        "/admin/account",
        "/admin/account",
        current=ADMIN_PASSWORD,
        password=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    assert response.status_code == 302
    page = admin_client.get("/admin/account")
    assert "Every other session of yours has ended." in page.text
    assert laptop.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 302
    assert sign_in(app.test_client()).status_code == 401


def test_the_admins_page_lists_admins_with_their_last_sign_in(admin_client, admin_user) -> None:
    page = admin_client.get("/admin/admins")
    assert page.status_code == 200
    assert ADMIN_EMAIL in page.text
    signed_in = admins.find_admin(ADMIN_EMAIL).last_sign_in
    assert f"{signed_in:%Y-%m-%d %H:%M:%S} UTC" in page.text
    assert "the last admin cannot be removed" in page.text


def test_an_admin_adds_another_who_can_then_sign_in(app, admin_client) -> None:
    response = post_form(
        admin_client,
        "/admin/admins",
        "/admin/admins",
        email="Second@Example.com",
        password="second admin password",
    )
    assert response.status_code == 302
    page = admin_client.get("/admin/admins")
    assert "second@example.com" in page.text
    assert "never" in page.text
    assert (
        sign_in(app.test_client(), "second@example.com", "second admin password").status_code == 302
    )
    second = admins.find_admin("second@example.com")
    entry = AuditEntry.get(
        AuditEntry.action == "admin.create", AuditEntry.target_id == str(second.id)
    )
    assert (entry.actor_type, entry.actor_id) == ("admin", ADMIN_EMAIL)


def test_removing_an_admin_signs_them_out_everywhere(app, admin_client) -> None:
    other = admins.create_admin("second@example.com", "second admin password")
    browser = app.test_client()
    sign_in(browser, "second@example.com", "second admin password")
    response = post_form(admin_client, "/admin/admins", f"/admin/admins/{other.id}/remove")
    assert response.status_code == 302
    assert "Removed second@example.com" in admin_client.get("/admin/admins").text
    assert browser.get("/admin/").status_code == 302
    assert (
        sign_in(app.test_client(), "second@example.com", "second admin password").status_code == 401
    )


def test_the_last_admin_cannot_be_removed(admin_client, admin_user) -> None:
    response = post_form(admin_client, "/admin/admins", f"/admin/admins/{admin_user.id}/remove")
    assert response.status_code == 302
    page = admin_client.get("/admin/admins")
    assert "This is the last admin account" in page.text
    assert admin_client.get("/admin/").status_code == 200


def _provision(client, scim_headers, count: int) -> None:
    for n in range(count):
        body = okta_create_user_payload(f"user{n}@example.com", externalId=f"00u{n:017d}")
        assert client.post("/scim/v2/Users", json=body, headers=scim_headers).status_code == 201


def test_the_delete_confirmation_names_what_will_be_erased(
    admin_client, integration, scim_headers
) -> None:
    _provision(admin_client, scim_headers, 3)
    page = admin_client.get(f"/admin/integrations/{integration.id}/delete")
    assert page.status_code == 200
    assert "Delete Acme Okta" in page.text
    assert "<strong>3</strong> users" in page.text
    assert "<strong>3</strong> invitations" in page.text
    assert "<strong>1</strong> SCIM token " in page.text


def test_a_wrongly_typed_name_deletes_nothing(admin_client, integration, scim_headers) -> None:
    url = f"/admin/integrations/{integration.id}/delete"
    response = post_form(admin_client, url, url, name="Acme")
    assert response.status_code == 400
    assert "not this integration&#39;s name" in response.text
    assert admin_client.get("/scim/v2/Users", headers=scim_headers).status_code == 200


def test_deleting_an_integration_revokes_its_tokens_erases_its_users_and_is_audited(
    admin_client, integration, scim_headers, mailer
) -> None:
    _provision(admin_client, scim_headers, 2)
    url = f"/admin/integrations/{integration.id}/delete"
    response = post_form(admin_client, url, url, name="Acme Okta")
    assert response.status_code == 302
    assert admin_client.get("/scim/v2/Users", headers=scim_headers).status_code == 401
    assert Integration.get_or_none(Integration.id == integration.id) is None
    assert User.select().count() == 0
    followed = admin_client.get(response.headers["Location"], follow_redirects=True)
    assert "The integration and all its data are erased." in followed.text
    entries = {
        e.action: e for e in AuditEntry.select().where(AuditEntry.target_id == integration.id)
    }
    assert entries["integration.delete"].actor_id == ADMIN_EMAIL
    assert entries["integration.delete"].detail["users"] == 2
    assert entries["integration.deleted"].detail["name"] == "Acme Okta"
    assert "Acme Okta" not in admin_client.get("/admin/integrations").text
    audit_page = admin_client.get("/admin/audit")
    assert audit_page.status_code == 200
    assert "integration.delete" in audit_page.text


def test_a_large_integration_is_erased_by_the_worker_with_progress(
    admin_client, integration, scim_headers, worker, monkeypatch
) -> None:
    monkeypatch.setattr(deletion, "INLINE_LIMIT", 2)
    _provision(admin_client, scim_headers, 5)
    url = f"/admin/integrations/{integration.id}/delete"
    response = post_form(admin_client, url, url, name="Acme Okta")
    progress = admin_client.get(response.headers["Location"], follow_redirects=True)
    assert "0 of 5 users erased" in progress.text
    assert admin_client.get(f"/admin/integrations/{integration.id}").status_code == 302
    assert deletion.erase_batch(integration.id, size=3) == 3
    assert "3 of 5 users erased" in admin_client.get(url).text
    listed = admin_client.get("/admin/integrations").text
    assert "being deleted: 3 of 5 users erased" in listed
    worker.run_until_idle()
    assert Integration.get_or_none(Integration.id == integration.id) is None
    assert User.select().count() == 0


@pytest.fixture
def passwordless_group(okta: FakeOkta, integration: Any) -> str:
    gid = okta.add_group("Passwordless users")
    okta.add_user("test.user@okta.local", user_id=OKTA_USER)
    configure_okta(integration, org_url=okta.url, group=gid, api_token="ssws-token")
    return gid


def test_deleted_integrations_users_leave_the_passwordless_group_in_okta(
    admin_client, okta, passwordless_group, integration, worker, mailer
) -> None:
    headers = {"Authorization": f"Bearer {make_token(integration)}"}
    admin_client.post("/scim/v2/Users", json=okta_create_user_payload(), headers=headers)
    worker.run_until_idle()
    link = next(w for w in mailer.sent[0].text.split() if "/enroll/" in w)
    admin_client.post("/api/v1/enrollments", json={"token": link.rsplit("/", 1)[1]})
    worker.run_until_idle()
    assert OKTA_USER in okta.groups[passwordless_group].members
    url = f"/admin/integrations/{integration.id}/delete"
    post_form(admin_client, url, url, name="Acme Okta")
    # Still there until Okta has confirmed the removal.
    assert Integration.get_or_none(Integration.id == integration.id) is not None
    worker.run_until_idle()
    assert OKTA_USER not in okta.groups[passwordless_group].members
    assert Integration.get_or_none(Integration.id == integration.id) is None


def test_the_rows_stay_until_no_process_can_still_hold_a_cached_token(
    app, admin_client, integration, scim_headers, worker
) -> None:
    app.config["SCIM_TOKEN_CACHE_SECONDS"] = 5
    _provision(admin_client, scim_headers, 1)
    url = f"/admin/integrations/{integration.id}/delete"
    post_form(admin_client, url, url, name="Acme Okta")
    assert User.select().where(User.deleted_at.is_null()).count() == 0
    worker.run_until_idle()
    assert "1 of 1 users erased" in admin_client.get(url).text
    started = Integration.get_by_id(integration.id).deleting_at
    Integration.update(deleting_at=started - dt.timedelta(seconds=6)).execute()
    worker.run_until_idle()
    assert Integration.get_or_none(Integration.id == integration.id) is None
