"""A group as large as the org: the time to read it over SCIM and a worker's peak memory.

    .venv/bin/python bench/big_group.py --db sqlite --users 100000
    .venv/bin/python bench/big_group.py --db postgres --users 100000

Seeds ``--users`` users and one group holding every one of them (Okta pushing an
"Everyone"-style group), then reads it as Okta may: ``GET /Groups/{id}`` and the list
``GET /Groups?startIndex=1&count=100`` that "Test API Credentials" sends. Prints the median
time and size of each answer and the peak resident memory (VmHWM) of each gunicorn worker;
the target is a worker under 150 MB at 100,000 users. On Postgres the tables are analyzed
after the bulk seed, as autovacuum does soon after: right after it, the planner still
believes the group small and reads every membership for each batch of members.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, Server, seed_users
from bench.performance import peak_memory_mb

SEED_GROUP = """
import database
from app import create_app
from extensions import db
from models import Group, GroupMember, User
app = create_app()
with app.app_context():
    with db.atomic():
        group = Group.create(integration="{integration}", display_name="Everyone",
                             display_name_key="everyone",
                             document={{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                       "displayName": "Everyone"}})
        ids = [i for (i,) in User.select(User.id).tuples()]
        for start in range(0, len(ids), 1000):
            GroupMember.insert_many([(group.id, i) for i in ids[start:start + 1000]],
                                    fields=["group", "user"]).execute()
    if database.is_postgres():
        db.execute_sql("ANALYZE")  # what autovacuum does within a minute of a bulk change
    print(group.scim_id)
"""


def seed_everyone_group(server: Server) -> str:
    """Put every seeded user into one group ("Everyone"); returns its SCIM id."""
    seeded = subprocess.run(
        [sys.executable, "-c", SEED_GROUP.format(integration=server.integration_id)],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
        text=True,
    )
    return seeded.stdout.strip().splitlines()[-1]


def timed_get(url: str, token: str, runs: int) -> tuple[float, int]:
    """Median seconds and the size in bytes of ``runs`` GETs of ``url``."""
    times, size = [], 0
    for _ in range(runs):
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            size = len(response.read())
        times.append(time.perf_counter() - started)
    return statistics.median(times), size


def main() -> None:
    """Seed, read the group, report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with Server(db=args.db, workers=2) as server:
        token = server.token()
        seed_users(server, args.users, sample=1)
        group_id = seed_everyone_group(server)
        base = f"{server.url}/scim/v2"
        for label, url in (
            ("GET /Groups/{id}", f"{base}/Groups/{group_id}"),
            ("GET /Groups?startIndex=1&count=100", f"{base}/Groups?startIndex=1&count=100"),
        ):
            seconds, size = timed_get(url, token, args.runs)
            print(
                f"{args.db}, {args.users} members: {label}: median {seconds * 1000:.0f} ms, "
                f"{size / 1e6:.1f} MB"
            )
        memory = peak_memory_mb(server.worker_pids())
        print(
            f"{args.db}, {args.users} members: gunicorn worker peak RSS "
            + ", ".join(f"{m:.0f} MB" for m in memory)
        )


if __name__ == "__main__":
    main()
