"""The account commands: admins passwd/list/remove and integrations delete."""

from __future__ import annotations

from models import AuditEntry, Integration, ScimToken, User
from services.admin import admins
from tests.blueprints.admin.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, sign_in
from tests.factories import okta_create_user_payload


def test_admins_passwd_sets_the_password_and_ends_every_session(app, runner, admin_client) -> None:
    result = runner.invoke(
        args=["admins", "passwd", "--email", ADMIN_EMAIL], input="a fresh passphrase here\n"
    )
    assert result.exit_code == 0, result.output
    assert "their sessions have ended" in result.output
    assert admin_client.get("/admin/").status_code == 302
    assert admins.authenticate(ADMIN_EMAIL, "a fresh passphrase here") is not None
    assert admins.authenticate(ADMIN_EMAIL, ADMIN_PASSWORD) is None


def test_admins_passwd_refuses_an_unknown_admin_or_a_short_password(runner, admin_user) -> None:
    unknown = runner.invoke(
        args=["admins", "passwd", "--email", "nobody@example.com"], input="long enough password\n"
    )
    assert unknown.exit_code == 1
    assert "no admin with email nobody@example.com" in unknown.output
    short = runner.invoke(args=["admins", "passwd", "--email", ADMIN_EMAIL], input="short\n")
    assert short.exit_code == 1
    assert "at least 12" in short.output


def test_admins_list_shows_each_admin_with_their_last_sign_in(app, runner, admin_user) -> None:
    admins.create_admin("second@example.com", "second admin password")
    sign_in(app.test_client())
    result = runner.invoke(args=["admins", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    mine = next(line for line in lines if line.startswith(ADMIN_EMAIL))
    signed_in = admins.find_admin(ADMIN_EMAIL).last_sign_in
    assert f"{signed_in:%Y-%m-%d %H:%M:%S}" in mine
    assert "password" in mine
    second = next(line for line in lines if line.startswith("second@example.com"))
    assert "never" in second


def test_admins_remove_ends_their_sessions_but_never_removes_the_last(app, runner) -> None:
    admins.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    admins.create_admin("second@example.com", "second admin password")
    browser = app.test_client()
    sign_in(browser, "second@example.com", "second admin password")
    removed = runner.invoke(args=["admins", "remove", "--email", "second@example.com", "--yes"])
    assert removed.exit_code == 0, removed.output
    assert browser.get("/admin/").status_code == 302
    last = runner.invoke(args=["admins", "remove", "--email", ADMIN_EMAIL, "--yes"])
    assert last.exit_code == 1
    assert "last admin account" in last.output
    assert admins.authenticate(ADMIN_EMAIL, ADMIN_PASSWORD) is not None


def test_admins_remove_asks_first(runner, admin_user) -> None:
    admins.create_admin("second@example.com", "second admin password")
    result = runner.invoke(args=["admins", "remove", "--email", "second@example.com"], input="n\n")
    assert result.exit_code == 1
    assert admins.find_admin("second@example.com")


def test_integrations_delete_names_what_goes_and_erases_it(
    app, client, runner, integration, scim_headers
) -> None:
    # A second of token caching: the command waits that long before dropping the rows.
    app.config["SCIM_TOKEN_CACHE_SECONDS"] = 1
    for n in range(3):
        body = okta_create_user_payload(f"user{n}@example.com", externalId=f"00u{n:017d}")
        client.post("/scim/v2/Users", json=body, headers=scim_headers)
    refused = runner.invoke(
        args=["integrations", "delete", "--integration", "Acme Okta"], input="n\n"
    )
    assert refused.exit_code == 1
    assert "erases 3 users" in refused.output
    assert ScimToken.select().where(ScimToken.revoked_at.is_null()).count() == 1
    result = runner.invoke(args=["integrations", "delete", "--integration", "Acme Okta", "--yes"])
    assert result.exit_code == 0, result.output
    assert "deleted integration 'Acme Okta'" in result.output
    assert Integration.select().count() == 0
    assert User.select().count() == 0
    assert client.get("/scim/v2/Users", headers=scim_headers).status_code == 401
    entry = AuditEntry.get(AuditEntry.action == "integration.delete")
    assert entry.actor_type == "cli"
    assert entry.detail["users"] == 3


def test_integrations_delete_of_an_unknown_integration_is_a_clear_error(runner, app) -> None:
    result = runner.invoke(args=["integrations", "delete", "--integration", "Nope", "--yes"])
    assert result.exit_code == 1
    assert "no integration with id or name 'Nope'" in result.output
