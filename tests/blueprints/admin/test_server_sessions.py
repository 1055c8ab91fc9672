"""Admin sessions live in the database: ending one ends every copy of its cookie."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

import database
from models import AdminSession, AdminUser
from services.admin import admins
from services.errors import ConflictError
from tests.blueprints.admin.conftest import ADMIN_PASSWORD, csrf_token, sign_in


def _copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(cookie.key, cookie.value)
    return thief


def test_a_cookie_captured_before_sign_out_no_longer_opens_the_console(app, admin_client) -> None:
    captured = _copy_of(app, admin_client)
    assert captured.get("/admin/").status_code == 200
    token = csrf_token(admin_client.get("/admin/").text)
    assert admin_client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    response = captured.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_signing_out_in_one_browser_leaves_the_admins_other_sessions_alone(
    app, admin_client
) -> None:
    laptop = app.test_client()
    assert sign_in(laptop).status_code == 302
    token = csrf_token(admin_client.get("/admin/").text)
    admin_client.post("/admin/logout", data={"csrf_token": token})
    assert laptop.get("/admin/").status_code == 200


def test_a_password_change_ends_every_other_session_but_the_one_that_made_it(
    app, admin_client, admin_user
) -> None:
    laptop = app.test_client()
    assert sign_in(laptop).status_code == 302
    captured = _copy_of(app, admin_client)
    with admin_client.session_transaction() as session:
        keep = session["sid"]
    admins.change_password(admin_user, ADMIN_PASSWORD, "a brand new password", keep_session=keep)
    assert admin_client.get("/admin/").status_code == 200
    assert laptop.get("/admin/").status_code == 302
    # The copy carries the same session id as the browser that changed the password.
    assert captured.get("/admin/").status_code == 200


def test_removing_an_admin_ends_their_sessions_everywhere(app, admin_client, admin_user) -> None:
    other = admins.create_admin("second@example.com", "another long password")
    browser = app.test_client()
    assert sign_in(browser, "second@example.com", "another long password").status_code == 302
    assert browser.get("/admin/").status_code == 200
    admins.remove_admin(other)
    assert browser.get("/admin/").status_code == 302
    assert AdminSession.select().where(AdminSession.admin == other.id).count() == 0
    assert admin_client.get("/admin/").status_code == 200


def test_the_database_keeps_no_session_id_a_copy_of_it_could_use(app, admin_client) -> None:
    with admin_client.session_transaction() as session:
        sid = session["sid"]
    stored = [row.id_hash for row in AdminSession.select()]
    assert len(stored) == 1
    assert sid not in stored


def test_two_admins_removing_each_other_at_once_leave_one_admin(app, monkeypatch) -> None:
    first = admins.create_admin("first@example.com", "first admin password")
    second = admins.create_admin("second@example.com", "second admin password")
    inside = threading.Event()
    end_sessions = admins.end_sessions

    def slow_end_sessions(*args: Any, **kwargs: Any) -> int:
        # The first removal holds its transaction open while the second one tries.
        if not inside.is_set():
            inside.set()
            time.sleep(0.5)
        return end_sessions(*args, **kwargs)

    monkeypatch.setattr(admins, "end_sessions", slow_end_sessions)
    outcomes: dict[str, str] = {}

    def remove(target: AdminUser) -> None:
        with app.app_context(), database.connection():
            try:
                admins.remove_admin(target)
                outcomes[target.email] = "removed"
            except ConflictError:
                outcomes[target.email] = "refused"

    threads = [threading.Thread(target=remove, args=(a,)) for a in (first, second)]
    threads[0].start()
    assert inside.wait(10)
    threads[1].start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes.values()) == ["refused", "removed"]
    assert AdminUser.select().count() == 1
