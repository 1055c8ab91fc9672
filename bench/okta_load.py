"""Replay Okta-shaped SCIM traffic against a server and print throughput and latency.

One command starts gunicorn on a fresh database, seeds N users, and runs C concurrent
clients doing what Okta does (filter by userName, create, get, PUT a profile change, PATCH
active), then prints requests per second and p50/p99 latency per operation:

    .venv/bin/python bench/okta_load.py --users 1000 100000 --db sqlite
    .venv/bin/python bench/okta_load.py --users 1000 100000 --db postgres

Against a server that is already running (with users already present):

    .venv/bin/python bench/okta_load.py --url http://127.0.0.1:8000 --token scim_...
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Server, seed_users

OPERATIONS = ("filter", "create", "get", "put", "patch_active")
SCIM_JSON = "application/scim+json; charset=utf-8"


@dataclass
class Recorder:
    """Latencies per operation, shared by the client threads."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.samples[op].append(seconds)
            if not ok:
                self.errors[op] += 1


class Client:
    """One Okta-like SCIM client on its own connection."""

    def __init__(self, url: str, token: str, recorder: Recorder) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/scim+json",
            "User-Agent": "Okta SCIM Client 1.0.0",
        }
        self.recorder = recorder
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def raw_get(self, op: str, path: str) -> tuple[int, Any]:
        """GET a path outside /scim/v2 (the benchmark floor endpoint)."""
        return self.call(op, "GET", path, prefix="")

    def call(
        self, op: str, method: str, path: str, body: Any = None, prefix: str = "/scim/v2"
    ) -> tuple[int, Any]:
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = SCIM_JSON
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.conn.request(method, prefix + path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                # gunicorn's sync workers close the connection after each response.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt:
                    raise
        elapsed = time.perf_counter() - started
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        ok = response.status < 400 or (op == "create" and response.status == 409)
        self.recorder.add(op, elapsed, ok)
        return response.status, json.loads(data) if data else None


def _worker(
    url: str, token: str, known: list[tuple[str, str]], deadline: float, recorder: Recorder
) -> None:
    client = Client(url, token, recorder)
    rng = random.Random()
    while time.perf_counter() < deadline:
        user_id, user_name = rng.choice(known)
        expression = quote(f'userName eq "{user_name}"')
        client.call("filter", "GET", f"/Users?filter={expression}")
        status, body = client.call("get", "GET", f"/Users/{user_id}")
        if status == 200 and body:
            body["name"] = {"givenName": f"G{rng.randint(0, 999)}", "familyName": "Bench"}
            client.call("put", "PUT", f"/Users/{user_id}", body)
        active = rng.random() < 0.5
        client.call(
            "patch_active",
            "PATCH",
            f"/Users/{user_id}",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": active}}],
            },
        )
        new_name = f"bench.{uuid.uuid4().hex[:12]}@example.com"
        client.call(
            "create",
            "POST",
            "/Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": new_name,
                "name": {"givenName": "New", "familyName": "User"},
                "emails": [{"primary": True, "value": new_name, "type": "work"}],
                "displayName": "New User",
                "externalId": f"00u{uuid.uuid4().hex[:17]}",
                "password": "placeholder",
                "active": True,
            },
        )


def run_load(
    url: str, token: str, known: list[tuple[str, str]], concurrency: int, seconds: float
) -> dict[str, Any]:
    """Run the workload and return figures per operation."""
    recorder = Recorder()
    # Warm up each worker process before measuring.
    warm = Client(url, token, Recorder())
    for user_id, _ in known[:20]:
        warm.call("get", "GET", f"/Users/{user_id}")
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    threads = [
        threading.Thread(target=_worker, args=(url, token, known, deadline, recorder))
        for _ in range(concurrency)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    figures: dict[str, Any] = {"seconds": elapsed, "operations": {}}
    total = 0
    for op in OPERATIONS:
        samples = sorted(recorder.samples.get(op, []))
        total += len(samples)
        if not samples:
            continue
        figures["operations"][op] = {
            "requests": len(samples),
            "rps": len(samples) / elapsed,
            "p50_ms": statistics.median(samples) * 1000,
            "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
            "errors": recorder.errors.get(op, 0),
        }
    figures["total_rps"] = total / elapsed
    return figures


def print_figures(label: str, figures: dict[str, Any]) -> None:
    """Print one run's table."""
    print(
        f"\n{label}: {figures['total_rps']:.0f} requests/s overall over {figures['seconds']:.1f}s"
    )
    print(
        f"{'operation':14} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    for op, row in figures["operations"].items():
        print(
            f"{op:14} {row['requests']:>9} {row['rps']:>8.1f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['errors']:>7}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--users", type=int, nargs="+", default=[1000], help="user counts to test")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--url", help="use a running server instead of starting one")
    parser.add_argument("--token", help="SCIM token for --url")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    results: dict[str, Any] = {}
    if args.url:
        if not args.token:
            parser.error("--url needs --token")
        client = Client(args.url, args.token, Recorder())
        _, page = client.call("list", "GET", "/Users?count=1000")
        known = [(r["id"], r["userName"]) for r in page["Resources"]]
        figures = run_load(args.url, args.token, known, args.concurrency, args.seconds)
        print_figures(args.url, figures)
        results[args.url] = figures
    else:
        for users in args.users:
            with Server(db=args.db, workers=args.workers) as server:
                token = server.token()
                known = seed_users(server, users)
                figures = run_load(server.url, token, known, args.concurrency, args.seconds)
                label = (
                    f"{args.db}, {users} users, {args.concurrency} clients, {args.workers} workers"
                )
                print_figures(label, figures)
                results[label] = figures
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
