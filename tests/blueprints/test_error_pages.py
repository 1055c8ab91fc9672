"""One HTML and one JSON rendering of HTTP errors, whichever door the error reaches."""

from __future__ import annotations

from werkzeug.exceptions import MethodNotAllowed, TooManyRequests

from blueprints.html_errors import html_error_page
from blueprints.json_errors import render_http_exception


def test_an_error_page_keeps_the_errors_headers(app) -> None:
    with app.test_request_context("/admin/users"):
        page = html_error_page(MethodNotAllowed(valid_methods=["GET"]), "admin/error.html")
    assert page.status_code == 405
    assert page.headers["Allow"] == "GET"
    assert page.mimetype == "text/html"
    assert "Method Not Allowed" in page.get_data(as_text=True)


def test_an_unrouted_admin_url_answers_an_html_page_and_an_api_url_json(client) -> None:
    page = client.get("/admin/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Not Found" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.get_json() == {"error": "not_found", "message": api.get_json()["message"]}


def test_a_json_error_keeps_the_errors_headers(app) -> None:
    with app.test_request_context("/api/v1/enrollments"):
        response = render_http_exception(TooManyRequests(retry_after=30))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response.get_json()["error"] == "too_many_requests"
