"""Reconciliation of a large passwordless group against the local fake Okta, side by side with
its floor: the same group's member pages listed and nothing else.

    .venv/bin/python -m bench.reconcile [--members 10000] [--db sqlite,postgres]

Prints, per database: the pass's time and Okta calls with no drift and with 1 % strays
(removed in fix mode), and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.fresh_app import fresh_app, print_side_by_side
from testkit.fakes.okta import FakeOkta, okta_id


def _seed(okta: FakeOkta, count: int) -> tuple[Any, str]:
    from models import GroupSync, User, utcnow
    from services.integrations.registry import create_integration
    from services.okta.org_settings import configure_okta

    okta.api_tokens.add("bench-token")
    group = okta.add_group("Passwordless")
    integration = create_integration("Bench Okta")
    configure_okta(integration, org_url=okta.url, group=group, api_token="bench-token")  # noqa: S106
    now = utcnow()
    for start in range(0, count, 1000):
        ids = [okta_id("00u") for _ in range(start, min(start + 1000, count))]
        users = [
            {
                "integration": integration.id,
                "user_name": f"u{start + i}@example.com",
                "user_name_key": f"u{start + i}@example.com",
                "search_key": f"u{start + i}@example.com",
                "external_id": okta_user,
                "document": {},
                "state": "enrolled",
                "enrolled_at": now,
                "created": now,
                "last_modified": now,
            }
            for i, okta_user in enumerate(ids)
        ]
        User.insert_many(users).execute()
        rows = User.select(User.id, User.external_id).where(User.external_id.in_(ids))
        GroupSync.insert_many(
            [
                {
                    "user": row.id,
                    "integration": integration.id,
                    "okta_user_id": row.external_id,
                    "desired": "in",
                    "confirmed": "in",
                    "status": "done",
                }
                for row in rows
            ]
        ).execute()
        for okta_user in ids:
            okta.users[okta_user] = f"{okta_user}@example.com"
            okta.groups[group].members.add(okta_user)
    return integration, group


def _measure(okta: FakeOkta, count: int) -> dict[str, str]:
    from models import Integration
    from services.okta.connection import client_for
    from services.okta.reconciliation import reconcile

    integration, group = _seed(okta, count)
    integration = Integration.get_by_id(integration.id)
    figures = {}
    okta.requests_log.clear()
    started = time.perf_counter()
    listed = sum(1 for _ in client_for(integration).group_member_ids(group))
    floor = time.perf_counter() - started
    floor_calls = len(okta.api_requests)
    figures["floor (list members)"] = f"{floor:.2f} s, {floor_calls} calls, {listed:,} members"
    for label, strays in (("no drift", 0), ("1 % strays, fix", count // 100)):
        for _ in range(strays):
            okta.groups[group].members.add(okta.add_user(f"{okta_id('x')}@example.com"))
        okta.requests_log.clear()
        started = time.perf_counter()
        report = reconcile(integration, "fix")
        took = time.perf_counter() - started
        calls = len(okta.api_requests)
        figures[label] = (
            f"{took:.2f} s, {calls} calls ({report.summary()}), {took / floor:.1f}x the floor"
        )
    return figures


def _run(database: str, count: int) -> dict[str, str]:
    with FakeOkta(rate_limit=1_000_000) as okta:
        okta_settings = {"OKTA_ALLOWED_HOSTS": [okta.host], "OKTA_CA_BUNDLE": okta.ca_path}
        with fresh_app(database, "reconcile", **okta_settings):
            return _measure(okta, count)


def main() -> None:
    """Seed, measure and print the figures of each database side by side."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--db", default="sqlite,postgres")
    args = parser.parse_args()
    results = {database: _run(database, args.members) for database in args.db.split(",")}
    title = f"Reconciliation of a {args.members:,}-member group (local fake Okta, pages of 200)"
    print_side_by_side(title, results)


if __name__ == "__main__":
    main()
