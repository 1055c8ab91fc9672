"""The users list sorted by name, state, invited and enrolled time, paged both ways, and its
CSV export of the current filtered list, streamed in bounded batches."""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import html
import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import g
from flask.testing import FlaskClient

from extensions import db
from models import User, utcnow
from services.admin import user_export
from services.resources.user_columns import columns_from


@pytest.fixture
def admin_client(admin_client: FlaskClient) -> FlaskClient:
    """The signed-in client, without flask-wtf's cached pre-sign-in CSRF token."""
    g.pop("csrf_token", None)
    return admin_client


def _seed(integration: Any, count: int) -> None:
    """``count`` users; names run backwards against creation time, every third enrolled."""
    start = utcnow() - dt.timedelta(days=count)
    rows = []
    for i in range(count):
        name = f"user.{count - i:04d}@example.com"
        document = {
            "userName": name,
            "displayName": f"User {i}",
            "emails": [{"primary": True, "value": name, "type": "work"}],
            "externalId": f"00u{i:017d}",
        }
        created = start + dt.timedelta(days=i)
        enrolled = i % 3 == 0
        rows.append(
            {
                "integration": integration.id,
                "document": document,
                "state": "enrolled" if enrolled else "invited",
                "enrolled_at": created + dt.timedelta(hours=i) if enrolled else None,
                "created": created,
                "last_modified": created,
                **columns_from(document),
            }
        )
    with db.atomic():
        User.insert_many(rows).execute()


def _listed(page: str) -> list[str]:
    names = re.findall(r'<th scope="row"[^>]*><a href="/admin/users/[^"]+">([^<]*)</a></th>', page)
    return [html.unescape(name) for name in names]


def _link(page: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


def _expected(order_by: Any) -> list[str]:
    return [user.user_name for user in User.select().order_by(*order_by)]


@pytest.mark.parametrize(
    ("sort", "order", "order_by"),
    [
        ("name", "asc", (User.user_name_key, User.id)),
        ("name", "desc", (User.user_name_key.desc(), User.id.desc())),
        ("invited", "asc", (User.created, User.id)),
        ("invited", "desc", (User.created.desc(), User.id.desc())),
        ("state", "asc", (User.state, User.id)),
        ("enrolled", "desc", (User.enrolled_at.desc(nulls="LAST"), User.id.desc())),
    ],
)
def test_every_sort_pages_forward_over_every_user_once_in_order(
    admin_client: FlaskClient, integration: Any, sort: str, order: str, order_by: Any
) -> None:
    _seed(integration, 120)
    seen: list[str] = []
    url: str | None = f"/admin/users?sort={sort}&order={order}"
    while url:
        page = admin_client.get(url).text
        seen += _listed(page)
        url = _link(page, "next")
        if url and (sort, order) != ("invited", "desc"):  # the default order needs no parameter
            assert f"sort={sort}" in url and f"order={order}" in url
    assert seen == _expected(order_by)


def test_previous_walks_back_over_the_same_pages(
    admin_client: FlaskClient, integration: Any
) -> None:
    _seed(integration, 120)
    forward = []
    url: str | None = "/admin/users?sort=name&order=asc"
    while url:
        page = admin_client.get(url).text
        forward.append(_listed(page))
        last, url = page, _link(page, "next")
    assert [len(names) for names in forward] == [50, 50, 20]
    assert _link(admin_client.get("/admin/users?sort=name").text, "prev") is None
    backward = [_listed(last)]
    url = _link(last, "prev")
    while url:
        page = admin_client.get(url).text
        backward.append(_listed(page))
        url = _link(page, "prev")
    assert backward == list(reversed(forward))


def test_the_sorted_header_says_its_direction_and_links_to_the_reverse(
    admin_client: FlaskClient, integration: Any
) -> None:
    _seed(integration, 3)
    page = admin_client.get("/admin/users?sort=name&order=asc&state=invited").text
    assert 'aria-sort="ascending"' in page
    assert 'href="/admin/users?sort=name&amp;order=desc&amp;state=invited"' in page
    assert _listed(page) == ["user.0001@example.com", "user.0002@example.com"]


def test_a_forged_cursor_or_sort_shows_the_first_page(
    admin_client: FlaskClient, integration: Any
) -> None:
    _seed(integration, 3)
    for query in (
        "sort=evil&after=AAAA",
        "sort=name&after=W1sibmFtZSJd",
        "before=!!%FF",
        "after=" + "A" * 500,
    ):
        response = admin_client.get(f"/admin/users?{query}")
        assert response.status_code == 200
        assert len(_listed(response.text)) == 3


def _csv(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_export_holds_the_filtered_list_in_its_order(
    admin_client: FlaskClient, integration: Any
) -> None:
    _seed(integration, 9)
    response = admin_client.get("/admin/users.csv?state=enrolled&sort=name&order=desc")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="users.csv"' in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert [row["user_name"] for row in rows] == [
        "user.0009@example.com",
        "user.0006@example.com",
        "user.0003@example.com",
    ]
    assert {row["state"] for row in rows} == {"enrolled"}
    assert all(row["enrolled"].endswith("Z") and row["integration"] == "Acme Okta" for row in rows)
    page = admin_client.get("/admin/users?state=enrolled&sort=name&order=desc").text
    assert 'href="/admin/users.csv?q=&amp;' not in page
    assert "/admin/users.csv?state=enrolled&amp;sort=name&amp;order=desc" in page


def test_a_cell_that_a_spreadsheet_would_run_as_a_formula_is_quoted(
    admin_client: FlaskClient, integration: Any
) -> None:
    _seed(integration, 1)
    User.update(display_name='=HYPERLINK("http://evil")').execute()
    [row] = _csv(admin_client.get("/admin/users.csv"))
    assert row["display_name"] == '\'=HYPERLINK("http://evil")'


def test_the_csv_export_streams_in_bounded_queries(
    admin_client: FlaskClient,
    integration: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _seed(integration, 25)
    monkeypatch.setattr(user_export, "EXPORT_BATCH", 10)
    caplog.set_level(logging.DEBUG, logger="peewee")

    def user_queries() -> list[str]:
        return [r.getMessage() for r in caplog.records if 'FROM "user"' in r.getMessage()]

    def download() -> None:
        # Unbuffered, as a browser downloads it, in one context from request to last chunk.
        response = FlaskClient.open(admin_client, "/admin/users.csv", buffered=False)
        assert response.is_streamed
        chunks: Iterator[bytes] = iter(response.response)  # type: ignore[arg-type]
        assert next(chunks).startswith(b"user_name,")
        caplog.clear()
        assert next(chunks).count(b"\n") == 10
        assert len(user_queries()) == 1  # one batch read so far, not the whole list
        rest = b"".join(chunks)
        response.close()
        assert rest.count(b"\n") == 15
        assert len(user_queries()) == 3
        assert all("LIMIT" in query for query in user_queries())

    contextvars.Context().run(download)
