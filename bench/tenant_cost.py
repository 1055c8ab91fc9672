"""What one integration's expensive requests cost everyone else.

    .venv/bin/python bench/tenant_cost.py --db sqlite
    .venv/bin/python bench/tenant_cost.py --db postgres

gunicorn (2 workers) on a fresh database with ``--users`` users (default 20,000) in one
integration, all of them members of one group. Three figures, as the security review took
them:

  filter  the worst filters it found, sent by the integration as ``POST /Users/.search``:
          45 ``emails[value co "…" and type ew "…"]`` joined by ``or``, 100 ``emails co``
          joined by ``or``, and the most expensive filter our limits still let through
          (10 unanchored ``emails co``); each answer's time and status
  patch   one group PATCH of 1,000 ``add members`` operations naming 20 members each
          (all already in the group): its time and status
  hook    a second integration's Okta hook deliveries, one every 50 ms, while the first
          integration sends that PATCH over and over: answer p50, p99 and max

Before the fixes (the review's figures, 20,000 users, same machine): the 45-clause filter ran
23-27 s, the PATCH ran past 30 s and was killed (500), and the other integration's hook
delivery got 503 after 10 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.big_group import seed_everyone_group
from bench.harness import Server, latency_ms, seed_users

SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _send(
    server: Server, method: str, path: str, body: object, headers: dict[str, str]
) -> tuple[float, int]:
    """Seconds and status of one request on a new connection."""
    target = urlparse(server.url)
    conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=120)
    started = time.perf_counter()
    conn.request(method, path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return time.perf_counter() - started, response.status


def filters() -> dict[str, str]:
    """The review's worst filters, and the worst one within our limits."""
    clause = 'emails[value co "{0}" and type ew "k"]'
    return {
        "45 emails[value co and type ew] or'ed": " or ".join(
            clause.format(f"x{i}") for i in range(45)
        ),
        "100 emails co or'ed": " or ".join(f'emails co "x{i}"' for i in range(100)),
        "10 emails co or'ed (the most our limits let through)": " or ".join(
            f'emails co "x{i}"' for i in range(10)
        ),
    }


def hook_delivery() -> dict[str, object]:
    """One Okta delivery of one event about a user this integration does not have."""
    event = {
        "uuid": str(uuid.uuid4()),
        "published": "2026-12-04T12:00:00.000Z",
        "eventType": "user.lifecycle.suspend",
        "displayMessage": "Suspend user",
        "target": [
            {"id": "00unobody000000000000", "type": "User", "alternateId": "nobody@example.com"}
        ],
    }
    return {"eventType": "com.okta.event_hook", "data": {"events": [event]}}


def main() -> None:
    """Seed, measure, report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--hook-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with Server(db=args.db, workers=2) as server:
        scim = {
            "Authorization": f"Bearer {server.token()}",
            "Content-Type": "application/scim+json",
        }
        sample = seed_users(server, args.users, sample=20)
        group_id = seed_everyone_group(server)
        other = server.flask("integrations", "create", "--name", "Other Okta")
        secret = server.flask("integrations", "hook-secret", "--integration", other)

        for label, expression in filters().items():
            body = {"schemas": [SEARCH_URN], "filter": expression, "count": 100}
            seconds, status = _send(server, "POST", "/scim/v2/Users/.search", body, scim)
            print(f"{args.db}, {args.users} users, filter {label}: {seconds:.2f} s, HTTP {status}")

        member_ids = [scim_id for (scim_id, _) in sample]
        operations = [
            {"op": "add", "path": "members", "value": [{"value": m} for m in member_ids]}
            for _ in range(1000)
        ]
        patch = {"schemas": [PATCH_URN], "Operations": operations}
        seconds, status = _send(server, "PATCH", f"/scim/v2/Groups/{group_id}", patch, scim)
        print(
            f"{args.db}, group of {args.users}, PATCH of 1,000 ops x 20 present members: "
            f"{seconds:.2f} s, HTTP {status}"
        )

        stop = threading.Event()
        patches: list[tuple[float, int]] = []

        def patch_loop() -> None:
            while not stop.is_set():
                patches.append(_send(server, "PATCH", f"/scim/v2/Groups/{group_id}", patch, scim))

        loader = threading.Thread(target=patch_loop)
        loader.start()
        hook_headers = {"Authorization": secret, "Content-Type": "application/json"}
        latencies, statuses = [], []
        until = time.perf_counter() + args.hook_seconds
        while time.perf_counter() < until:
            seconds, status = _send(
                server, "POST", f"/hooks/okta/{other}", hook_delivery(), hook_headers
            )
            latencies.append(seconds)
            statuses.append(status)
            time.sleep(0.05)
        stop.set()
        loader.join()
        print(
            f"{args.db}, other integration's hook while {len(patches)} such PATCHes ran: "
            f"{len(latencies)} deliveries, {latency_ms(latencies)}, "
            f"statuses {sorted(set(statuses))}, PATCH statuses {sorted({s for _, s in patches})}"
        )


if __name__ == "__main__":
    main()
