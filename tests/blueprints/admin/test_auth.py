"""Signing in to the admin pages: first-run setup, passwords, throttling, sessions, CSRF."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest

import database
from app import announce_setup_link
from models import AdminSetup, AdminUser
from services.admin import admins
from services.errors import NotFoundError
from tests.blueprints.admin.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token, sign_in
from tests.servers import BIN, ROOT, flask, free_port, service_env

SETUP_LINK = re.compile(r"/admin/setup/(setup_[\w-]+)")


def _setup_token(app) -> str:
    token = admins.ensure_setup_token()
    assert token
    return token


def test_first_run_prints_a_one_time_setup_link(app, capsys) -> None:
    app.config["TESTING"] = False
    app.config["PUBLIC_BASE_URL"] = "https://onboard.example.com"
    announce_setup_link(app)
    printed = capsys.readouterr().err
    match = re.search(r"https://onboard\.example\.com/admin/setup/(setup_[\w-]+)", printed)
    assert match, printed
    assert admins.setup_token_valid(match.group(1))


def _age_setup_token(by: dt.timedelta) -> None:
    """Pretend the stored setup token was minted ``by`` earlier."""
    minted = AdminSetup.get_by_id(1).created
    AdminSetup.update(created=minted - by).execute()


def test_every_server_start_prints_the_same_setup_link_until_it_is_used(
    app, client, capsys
) -> None:
    app.config["TESTING"] = False
    announce_setup_link(app)
    first = SETUP_LINK.findall(capsys.readouterr().err)
    _age_setup_token(dt.timedelta(hours=1))  # long after several processes started together
    announce_setup_link(app)
    again = SETUP_LINK.findall(capsys.readouterr().err)
    assert len(first) == 1
    assert again == first
    assert client.get(f"/admin/setup/{first[0]}").status_code == 200


def test_an_expired_setup_link_stops_working_and_the_next_start_prints_a_new_one(
    app, client, capsys
) -> None:
    app.config["TESTING"] = False
    announce_setup_link(app)
    old = SETUP_LINK.findall(capsys.readouterr().err)[0]
    _age_setup_token(admins.SETUP_TOKEN_TTL + dt.timedelta(seconds=1))
    expired = client.get(f"/admin/setup/{old}")
    assert expired.status_code == 404
    assert "admins setup-link" in expired.text
    announce_setup_link(app)
    new = SETUP_LINK.findall(capsys.readouterr().err)[0]
    assert new != old
    assert client.get(f"/admin/setup/{new}").status_code == 200


def test_cli_commands_print_no_setup_link_and_leave_the_printed_one_working(app, client) -> None:
    env = service_env(app.config["DATABASE_URL"], PUBLIC_BASE_URL="")
    printed = flask(env, "admins", "setup-link")
    _age_setup_token(dt.timedelta(minutes=5))
    other = subprocess.run(
        [str(BIN / "flask"), "--app", "app", "tokens", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 0, other.stderr
    assert "setup" not in other.stdout + other.stderr
    assert flask(env, "admins", "setup-link") == printed
    assert printed.startswith("http://127.0.0.1:5000/admin/setup/setup_")
    path = printed.removeprefix("http://127.0.0.1:5000")
    assert client.get(path).status_code == 200


def test_flask_run_prints_the_setup_link_that_the_cli_shows(app) -> None:
    env = service_env(app.config["DATABASE_URL"], PUBLIC_BASE_URL="")
    with subprocess.Popen(
        [str(BIN / "flask"), "--app", "app", "run", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        watchdog = threading.Timer(60, server.kill)
        watchdog.start()
        try:
            assert server.stderr is not None
            match = next(filter(None, map(SETUP_LINK.search, server.stderr)), None)
        finally:
            watchdog.cancel()
            server.terminate()
    assert match, "flask run printed no setup link"
    assert flask(env, "admins", "setup-link").endswith(f"/admin/setup/{match.group(1)}")


def test_the_cli_setup_link_refuses_once_an_admin_exists(runner, admin_user) -> None:
    result = runner.invoke(args=["admins", "setup-link"])
    assert result.exit_code == 1
    assert "an admin account already exists" in result.output
    assert "setup_" not in result.output


def test_two_setups_at_once_create_only_one_first_admin(app, monkeypatch) -> None:
    token = _setup_token(app)
    first_inside = threading.Event()
    create_admin = admins.create_admin

    def slow_create_admin(*args, **kwargs):
        # The first completion holds its transaction open while the second one tries.
        if not first_inside.is_set():
            first_inside.set()
            time.sleep(0.5)
        return create_admin(*args, **kwargs)

    monkeypatch.setattr(admins, "create_admin", slow_create_admin)
    outcomes: dict[str, str] = {}

    def complete(email: str) -> None:
        with app.app_context(), database.connection():
            try:
                admins.complete_setup(token, email, "a long enough password")
                outcomes[email] = "created"
            except NotFoundError:
                outcomes[email] = "refused"

    first = threading.Thread(target=complete, args=("first@example.com",))
    second = threading.Thread(target=complete, args=("second@example.com",))
    first.start()
    assert first_inside.wait(10)
    second.start()
    first.join(20)
    second.join(20)
    assert sorted(outcomes.values()) == ["created", "refused"]
    assert AdminUser.select().count() == 1


def test_no_setup_link_is_printed_once_an_admin_exists(app, admin_user, capsys) -> None:
    app.config["TESTING"] = False
    announce_setup_link(app)
    assert "setup" not in capsys.readouterr().err


def test_the_setup_link_creates_the_first_admin_and_then_stops_working(app, client) -> None:
    token = _setup_token(app)
    page = client.get(f"/admin/setup/{token}")
    assert page.status_code == 200
    response = client.post(
        f"/admin/setup/{token}",
        data={
            "email": "First@Example.com",
            "password": "a long enough password",
            "confirm": "a long enough password",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    assert client.get("/admin/").status_code == 200
    assert AdminUser.get().email == "first@example.com"
    assert client.get(f"/admin/setup/{token}").status_code == 404


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [("short", "short", "at least 12"), ("a long enough password", "different one!!", "differ")],
)
def test_setup_refuses_a_weak_or_mistyped_password(app, client, password, confirm, message) -> None:
    token = _setup_token(app)
    page = client.get(f"/admin/setup/{token}")
    response = client.post(
        f"/admin/setup/{token}",
        data={
            "email": "a@example.com",
            "password": password,
            "confirm": confirm,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.status_code == 200
    assert message in response.text
    assert AdminUser.select().count() == 0


def test_a_wrong_setup_token_shows_nothing_useful(app, client) -> None:
    _setup_token(app)
    response = client.get("/admin/setup/setup_wrong")
    assert response.status_code == 404
    assert "form" not in response.text.lower().split("<main", 1)[1]


def test_pages_redirect_to_sign_in_without_a_session(client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login?next=/admin/" in response.headers["Location"]


def test_sign_in_with_the_right_password(client, admin_user) -> None:
    response = sign_in(client)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [(ADMIN_EMAIL, "wrong password!!"), ("nobody@example.com", ADMIN_PASSWORD)],
)
def test_a_wrong_password_or_unknown_email_gets_the_same_answer(
    client, admin_user, email, password
) -> None:
    response = sign_in(client, email, password)
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert client.get("/admin/").status_code == 302


def test_sign_in_sends_you_back_where_you_were_going_but_never_off_site(client, admin_user) -> None:
    page = client.get("/admin/login?next=/admin/users")
    token = csrf_token(page.text)
    response = client.post(
        "/admin/login?next=/admin/users",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/admin/users")
    client.post("/admin/logout", data={"csrf_token": csrf_token(client.get("/admin/").text)})
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login?next=//evil.example.com/admin",
        data={
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert "evil.example.com" not in response.headers["Location"]


def test_repeated_failed_sign_ins_are_throttled(app, client, admin_user) -> None:
    app.config["ADMIN_SIGN_IN_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert sign_in(client, ADMIN_EMAIL, "wrong password!!").status_code == 401
    response = sign_in(client)  # even the right password waits now
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


def test_failures_from_one_address_never_lock_the_admin_out_from_another(app, admin_user) -> None:
    app.config["ADMIN_SIGN_IN_LIMIT"] = "3 per minute"
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "198.51.100.1"
    statuses = [sign_in(stranger, ADMIN_EMAIL, "wrong password!!").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    admin = app.test_client()
    admin.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert sign_in(admin).status_code == 302


@pytest.mark.parametrize(
    ("limit", "failures", "wait", "longest"),
    [
        ("3 per minute", 3, r"Wait (\d+) seconds?, then try again", 60),
        ("1 per 15 minutes", 1, r"Wait 15 minutes, then try again", 900),
    ],
)
def test_a_throttled_sign_in_says_how_long_to_wait_and_links_back_to_sign_in(
    app, client, admin_user, limit, failures, wait, longest
) -> None:
    app.config["ADMIN_SIGN_IN_LIMIT"] = limit
    for _ in range(failures):
        assert sign_in(client, ADMIN_EMAIL, "wrong password!!").status_code == 401
    response = sign_in(client)
    assert response.status_code == 429
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and 0 < int(retry_after) <= longest
    shown = re.search(wait, response.text)
    assert shown, response.text
    if shown.groups():
        assert shown[1] == retry_after
    assert re.search(r'<a class="button" href="/admin/login">Back to sign-in</a>', response.text)
    assert "Back to the dashboard" not in response.text
    assert limit.replace("per", "per 1") not in response.text  # not flask-limiter's bare text
    assert client.get("/admin/login").status_code == 200  # the link needs no session


def test_a_post_without_its_csrf_token_is_refused(client, admin_user) -> None:
    response = client.post("/admin/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_sign_out_needs_a_post_with_csrf(admin_client) -> None:
    assert admin_client.get("/admin/logout").status_code == 405
    assert admin_client.post("/admin/logout").status_code == 400
    assert admin_client.get("/admin/").status_code == 200
    token = csrf_token(admin_client.get("/admin/").text)
    assert admin_client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert admin_client.get("/admin/").status_code == 302


@pytest.mark.parametrize("clock", ["idle", "absolute"])
def test_sessions_expire(app, admin_client, clock) -> None:
    with admin_client.session_transaction() as session:
        if clock == "idle":
            session["seen_at"] = int(time.time()) - app.config["ADMIN_IDLE_MINUTES"] * 60 - 5
        else:
            session["signed_in_at"] = (
                int(time.time()) - app.config["ADMIN_SESSION_HOURS"] * 3600 - 5
            )
    assert admin_client.get("/admin/").status_code == 302


def test_a_password_change_ends_other_sessions(app, admin_client, admin_user) -> None:
    admins.change_password(admin_user, ADMIN_PASSWORD, "a brand new password")
    assert admin_client.get("/admin/").status_code == 302


def test_session_cookie_flags(app, admin_user) -> None:
    client = app.test_client()
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    secure_client = app.test_client()
    page = secure_client.get("/admin/login", base_url="https://localhost")
    response = secure_client.post(
        "/admin/login",
        base_url="https://localhost",
        # Over HTTPS, Flask-WTF also checks that the form came from this site.
        headers={"Referer": "https://localhost/admin/login"},
        data={
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_admin_pages_carry_security_headers(admin_client) -> None:
    response = admin_client.get("/admin/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in response.text  # no inline script


def _admin_routes(app) -> list[tuple[str, str]]:
    """(method, url) of every route under /admin that needs a session, ids filled in."""
    public = {"admin.login", "admin.setup", "admin.oidc_login", "admin.oidc_callback"}
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in public:
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", "1", rule.rule)
        routes += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_every_admin_page_requires_a_session(app, client, admin_user) -> None:
    routes = _admin_routes(app)
    assert {method for method, _ in routes} == {"GET", "POST"}
    # A valid CSRF token, so that a POST reaches the session check instead of stopping at
    # the CSRF check (which answers 400 whether or not anyone is signed in).
    token = csrf_token(client.get("/admin/login").text)
    answers = {
        (method, url): client.open(
            url, method=method, data={"csrf_token": token} if method == "POST" else None
        )
        for method, url in routes
    }
    not_sent_to_sign_in = {
        route: response.status_code
        for route, response in answers.items()
        if response.status_code != 302
        or urlsplit(response.headers["Location"]).path != "/admin/login"
    }
    assert not not_sent_to_sign_in


def test_the_cli_creates_an_admin_reading_the_password_from_stdin(runner) -> None:
    result = runner.invoke(
        args=["admins", "create", "--email", "ops@example.com"], input="a long enough password\n"
    )
    assert result.exit_code == 0, result.output
    assert admins.authenticate("ops@example.com", "a long enough password") is not None


def test_the_cli_refuses_a_short_password(runner) -> None:
    result = runner.invoke(args=["admins", "create", "--email", "ops@example.com"], input="short\n")
    assert result.exit_code != 0
    assert "at least 12" in result.output
