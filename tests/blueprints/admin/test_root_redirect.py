"""The server's origin, which the quick start prints, opens the admin console."""

from __future__ import annotations

from typing import Any


def test_the_origin_redirects_to_the_console(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    # Not signed in: the console then asks for a sign-in, as an HTML page.
    login = client.get("/", follow_redirects=True)
    assert login.status_code == 200
    assert login.mimetype == "text/html"
    assert "Sign in" in login.text


def test_other_unknown_addresses_still_answer_404(client: Any) -> None:
    assert client.get("/no-such-page").status_code == 404
    assert client.post("/").status_code == 405
