"""Rollout-progress queries at 100,000 users, on SQLite and Postgres, side by side.

Each figure is set against a floor measured in the same run: one full ``COUNT(*)`` of the
user table (the cheapest query that reads every user). The CSV export also reports the peak
Python memory it used against the size of what it wrote, which shows that it streams.

    .venv/bin/python -m bench.rollout [--users 100000] [--db sqlite,postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.fresh_app import fresh_app, print_side_by_side


def _best(run: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def _seed(count: int) -> None:
    from extensions import db
    from models import Invitation, User, utcnow
    from services.integrations.registry import create_integration

    integration = create_integration("Bench Okta")
    now = utcnow()
    for start in range(0, count, 1000):
        users, invitations = [], []
        for i in range(start, min(start + 1000, count)):
            created = now - dt.timedelta(minutes=i % (40 * 24 * 60))
            enrolled = i % 3 == 0
            name = f"seed.{i:07d}@example.com"
            users.append(
                {
                    "integration": integration.id,
                    "user_name": name,
                    "user_name_key": name,
                    "search_key": name,
                    "email": name,
                    "document": {},
                    "state": "enrolled" if enrolled else "invited",
                    "enrolled_at": created + dt.timedelta(hours=5) if enrolled else None,
                    "created": created,
                    "last_modified": created,
                }
            )
        with db.atomic():
            User.insert_many(users).execute()
            ids = list(
                User.select(User.id, User.created)
                .where(User.user_name.startswith(f"seed.{start // 1000:04d}"))
                .tuples()
            )
            for number, (user_id, created) in enumerate(ids):
                invitations.append(
                    {
                        "user": user_id,
                        "integration": integration.id,
                        "reason": "provisioned",
                        "token_hash": f"{user_id:064d}",
                        "created": created,
                        "expires_at": created + dt.timedelta(days=7),
                        "email_status": "delivered" if number % 2 else "sent",
                        "opened_at": created if number % 4 == 1 else None,
                    }
                )
            Invitation.insert_many(invitations).execute()


def _measure(count: int) -> dict[str, str]:
    from extensions import db
    from models import User
    from services.admin.rollout import daily_activity, funnels, import_rate
    from services.admin.stuck import stuck_users
    from services.admin.user_directory import UserQuery, search_users
    from services.admin.user_export import users_as_csv
    from services.admin.user_order import Order

    _seed(count)
    db.execute_sql("ANALYZE")
    floor = _best(lambda: User.select().count())
    figures = {"floor: COUNT(*) of users": f"{floor * 1000:.1f} ms"}

    def ratio(name: str, run: Callable[[], Any]) -> None:
        took = _best(run)
        figures[name] = f"{took * 1000:.1f} ms ({took / floor:.1f}x floor)"

    ratio("funnel (per integration)", funnels)
    ratio("30-day activity", daily_activity)
    ratio("import rate", import_rate)
    ratio("stuck list (first 200)", stuck_users)
    for sort in ("name", "state", "invited", "enrolled"):
        order = Order(sort, "asc")
        page_two = UserQuery(order=order, after=search_users(UserQuery(order=order)).next_cursor)
        ratio(f"users sorted by {sort}, page 2", partial(search_users, page_two))
    tracemalloc.start()
    started = time.perf_counter()
    written = sum(len(chunk) for chunk in users_as_csv(UserQuery(), {}))
    took = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    figures["CSV export"] = (
        f"{took:.1f} s, {count / took:,.0f} rows/s, {written / 1e6:.1f} MB written, "
        f"peak Python memory {peak / 1e6:.1f} MB"
    )
    return figures


def _run(database: str, count: int) -> dict[str, str]:
    with fresh_app(database, "rollout"):
        return _measure(count)


def main() -> None:
    """Seed, measure and print the figures of each database side by side."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite,postgres")
    args = parser.parse_args()
    results = {database: _run(database, args.users) for database in args.db.split(",")}
    print_side_by_side(f"Rollout progress at {args.users:,} users", results)


if __name__ == "__main__":
    main()
