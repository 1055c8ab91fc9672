"""Our service against scim2-server, side by side, under the same Okta-shaped load in one run.

    .venv/bin/python bench/peer.py --n 2000 --c 8
    .venv/bin/python bench/peer.py --n 2000 --c 8 \\
        --database-url postgresql://postgres@127.0.0.1:5432/scim_onboard_peer

The peer is scim2-server (its own CLI, an in-memory store), installed into a separate
environment so that its dependencies never meet ours:

    python3 -m venv /tmp/peer-venv && /tmp/peer-venv/bin/pip install scim2-server

Our service runs under gunicorn with gunicorn.conf.py and 2 workers, on a fresh database,
with default settings except that the per-token rate limit (SCIM_RATE_LIMIT) is lifted.
Against each server in turn, C client threads share the same phases:

  create   N users POSTed (Okta's create body)
  filter   N ``userName eq`` lookups of those users (Okta's match before create)
  get      N gets by id
  patch    N path-less ``PATCH`` of ``active`` (Okta's deactivate and reactivate)
  import   every user paged with ``count=100`` (Okta's import), pages shared by the clients

and prints, per operation, requests per second, p50 and p99, then our/peer ratios of
requests per second and their geometric mean.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Server, free_port
from bench.okta_load import Client, Recorder

OPERATIONS = ("create", "filter", "get", "patch", "import")
PEER_TOKEN = "peer-bench-token"  # noqa: S105 (a bench fixture, not a secret)
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def create_body(i: int) -> dict[str, Any]:
    """The body Okta POSTs for a new user."""
    name = f"peer.{i:07d}@example.com"
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": "Peer", "familyName": f"User{i}"},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "displayName": f"Peer User {i}",
        "externalId": f"00u{i:017d}",
        "locale": "en-US",
        "active": True,
    }


class Target:
    """One server under test: where it answers SCIM, and with which token."""

    def __init__(self, label: str, url: str, prefix: str, token: str) -> None:
        self.label, self.url, self.prefix, self.token = label, url, prefix, token

    def client(self, recorder: Recorder) -> Client:
        return Client(self.url, self.token, recorder)


class PeerServer:
    """scim2-server on a free port, from the bench environment named by --peer-bin."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PeerServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bearer-token", PEER_TOKEN],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                request = urllib.request.Request(
                    f"{self.url}/v2/ServiceProviderConfig",
                    headers={"Authorization": f"Bearer {PEER_TOKEN}"},
                )
                with urllib.request.urlopen(request, timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("scim2-server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)


def run_phase(
    target: Target, op: str, jobs: list[Any], concurrency: int, send: Callable[..., Any]
) -> dict[str, float]:
    """C clients take ``jobs`` in turn and ``send`` each; rps over the phase, p50, p99."""
    recorder = Recorder()
    counter = itertools.count()
    results: list[Any] = [None] * len(jobs)

    def loop() -> None:
        client = target.client(recorder)
        while (i := next(counter)) < len(jobs):
            results[i] = send(client, op, jobs[i])

    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    samples = sorted(recorder.samples[op])
    return {
        "requests": len(samples),
        "rps": len(samples) / elapsed,
        "p50_ms": statistics.median(samples) * 1000,
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
        "errors": recorder.errors.get(op, 0),
        "results": results,  # type: ignore[dict-item]
    }


def run_load(target: Target, n: int, concurrency: int) -> dict[str, dict[str, float]]:
    """The five phases against one server; figures per operation."""
    p = target.prefix

    def create(client: Client, op: str, i: int) -> tuple[str, str]:
        status, body = client.call(op, "POST", "/Users", create_body(i), prefix=p)
        assert status == 201, (target.label, status, body)
        return body["id"], body["userName"]

    def find(client: Client, op: str, user: tuple[str, str]) -> None:
        expression = quote(f'userName eq "{user[1]}"')
        status, body = client.call(op, "GET", f"/Users?filter={expression}", prefix=p)
        assert status == 200 and body["totalResults"] == 1, (target.label, status, body)

    def get(client: Client, op: str, user: tuple[str, str]) -> None:
        status, body = client.call(op, "GET", f"/Users/{user[0]}", prefix=p)
        assert status == 200, (target.label, status, body)

    def patch(client: Client, op: str, job: tuple[int, tuple[str, str]]) -> None:
        body = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {}}]}
        body["Operations"][0]["value"] = {"active": job[0] % 2 == 1}  # type: ignore[index]
        status, answer = client.call(op, "PATCH", f"/Users/{job[1][0]}", body, prefix=p)
        assert status in {200, 204}, (target.label, status, answer)

    def page(client: Client, op: str, start: int) -> None:
        status, body = client.call(op, "GET", f"/Users?startIndex={start}&count=100", prefix=p)
        assert status == 200 and body["itemsPerPage"], (target.label, status, body)

    # Warm both processes (imports, connections) before anything is timed.
    warm = target.client(Recorder())
    for _ in range(10):
        warm.call("warm", "GET", "/ServiceProviderConfig", prefix=p)

    figures: dict[str, dict[str, float]] = {}
    created = run_phase(target, "create", list(range(n)), concurrency, create)
    users: list[tuple[str, str]] = created.pop("results")  # type: ignore[assignment]
    figures["create"] = created
    for op, jobs, send in (
        ("filter", users, find),
        ("get", users, get),
        ("patch", list(enumerate(users)), patch),
        ("import", list(range(1, n + 1, 100)), page),
    ):
        figures[op] = run_phase(target, op, jobs, concurrency, send)
        figures[op].pop("results")
    return figures


def print_table(label: str, figures: dict[str, dict[str, float]]) -> None:
    """One server's figures."""
    print(f"\n{label}")
    print(
        f"{'operation':10} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    for op in OPERATIONS:
        row = figures[op]
        print(
            f"{op:10} {row['requests']:>9} {row['rps']:>8.1f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['errors']:>7}"
        )


def print_ratios(ours: dict[str, dict[str, float]], peer: dict[str, dict[str, float]]) -> float:
    """Our/peer requests per second per operation, and their geometric mean (returned)."""
    print(f"\n{'operation':10} {'ours/peer req/s':>16} {'peer/ours p50':>14}")
    ratios = []
    for op in OPERATIONS:
        ratio = ours[op]["rps"] / peer[op]["rps"]
        ratios.append(ratio)
        print(f"{op:10} {ratio:>15.2f}x {peer[op]['p50_ms'] / ours[op]['p50_ms']:>13.2f}x")
    mean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"{'geometric mean':>10} {mean:>11.2f}x")
    return mean


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="users created (default 2000)")
    parser.add_argument("--c", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--database-url",
        help="our database: a new sqlite:///file or a postgresql://... database this creates "
        "and drops (default: a temporary SQLite file)",
    )
    parser.add_argument(
        "--peer-bin",
        default=os.environ.get("PEER_BIN", "/tmp/peer-venv/bin/scim2-server"),  # noqa: S108
        help="the scim2-server command (default /tmp/peer-venv/bin/scim2-server)",
    )
    parser.add_argument("--workers", type=int, default=2, help="our gunicorn workers")
    args = parser.parse_args()
    if not Path(args.peer_bin).exists():
        parser.error(f"{args.peer_bin} not found: install scim2-server (see --help)")

    with PeerServer(args.peer_bin) as peer_server:
        peer = run_load(Target("peer", peer_server.url, "/v2", PEER_TOKEN), args.n, args.c)
    with Server(workers=args.workers, database_url=args.database_url) as server:
        ours = run_load(Target("ours", server.url, "/scim/v2", server.token()), args.n, args.c)
        database = server.env["DATABASE_URL"].split(":", 1)[0]

    print(f"N={args.n} C={args.c}, ours on {database} with {args.workers} gunicorn workers")
    print_table("scim2-server (in memory)", peer)
    print_table(f"SCIM Onboard ({database})", ours)
    print_ratios(ours, peer)


if __name__ == "__main__":
    main()
